"""Nothing lost silently, clear errors and bounded work on import (issue 20, items 4-5).

Every export here is a real file written in the test (CSV bytes, JSON text, an XLSX from
openpyxl with its XML patched); limits are lowered with ``monkeypatch.setitem(LIMITS, ...)``
so each case stays fast, and the cases that used to hang or crash assert a time bound.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import pytest

from harness.cli.commands import main
from harness.importers.limits import LIMITS

from .makedocs import FAQ_ROWS, patch_zip

HEADER = "question,answer,category\n"


def _items(folder: Path) -> list[dict]:
    return [json.loads(x) for x in (folder / "items.jsonl").read_text().splitlines()]


def _xlsx(path: Path, rows: int) -> Path:
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["question", "answer", "category", "school"])
    for i in range(rows):
        ws.append([f"Question number {i}?", f"Answer number {i}.", "General", f"School {i}"])
    wb.save(path)
    return path


def _xlsx_extra(path: Path) -> Path:
    import openpyxl

    _xlsx(path, 3)
    wb = openpyxl.load_workbook(path)
    wb.active["E4"] = "Call 555-0100."
    wb.save(path)
    return path


def test_stale_xlsx_dimension_still_reads_every_row_and_column(tmp_path):
    src = patch_zip(
        _xlsx(tmp_path / "export.xlsx", 10),
        "xl/worksheets/sheet1.xml",
        lambda xml: re.sub(rb'<dimension ref="[^"]*"', b'<dimension ref="A1:C3"', xml),
    )
    assert main(["import", str(src), str(tmp_path / "ds")]) == 0
    recs = _items(tmp_path / "ds")
    assert [r["input"] for r in recs] == [f"Question number {i}?" for i in range(10)]
    assert [r["school"] for r in recs] == [f"School {i}" for i in range(10)]  # column D too


def _bytes_csv(tmp_path: Path, parts: list[bytes]) -> Path:
    p = tmp_path / "export.csv"
    p.write_bytes(b"".join(parts))
    return p


UTF8 = "Où est l’école?,Au 12 rue Main.,général\n".encode()
CP1252 = "Où est l’école à midi?,Au 14 rue Main.,général\n".encode("cp1252")
ASCII = b"Bus?,At 8.,transport\n"


def _ds(tmp_path: Path) -> str:
    return str(tmp_path / "ds")


# (name, build the export, extra CLI args, what stderr must say, its line number)
CASES = [
    (
        "mixed utf-8 then cp1252",
        lambda t: _bytes_csv(t, [HEADER.encode(), UTF8, ASCII, CP1252]),
        [],
        "mixes text encodings: line 2 is UTF-8 but line 4 is not (byte 0xf9)",
        4,
    ),
    (
        "mixed cp1252 then utf-8",
        lambda t: _bytes_csv(t, [HEADER.encode(), CP1252, UTF8]),
        [],
        "mixes text encodings: line 3 is UTF-8 but line 2 is not",
        2,
    ),
    (
        "byte-order mark then cp1252",
        lambda t: _bytes_csv(t, [b"\xef\xbb\xbf", HEADER.encode(), ASCII, CP1252]),
        [],
        "mixes text encodings: it starts as UTF-8 but line 3 is not",
        3,
    ),
    (
        "forced encoding that does not fit",
        lambda t: _bytes_csv(t, [HEADER.encode(), ASCII, CP1252]),
        ["--encoding", "utf-8"],
        "is not utf-8 text (byte 0xf9)",
        3,
    ),
    (
        "unknown encoding name",
        lambda t: _bytes_csv(t, [HEADER.encode(), ASCII]),
        ["--encoding", "klingon"],
        "'klingon' is not an encoding name",
        None,
    ),
    (
        "duplicate key in a JSON export",
        lambda t: _write(
            t / "export.json",
            '[\n  {"question": "Bus?", "answer": "At 8."},\n'
            '  {"question": "Lunch?",\n   "answer": "$3.",\n   "answer": "$4."}\n]',
        ),
        [],
        "field 'answer' appears twice in one record",
        5,
    ),
    (
        "duplicate key in a nested object",
        lambda t: _write(
            t / "export.json",
            '{"items": [\n{"question": "Bus?", "answer": "At 8.",\n'
            ' "meta": {"a": 1, "b": {"a": 2}, "a": 3}}]}',
        ),
        [],
        "field 'a' appears twice in one record",
        3,
    ),
    (
        "duplicate key in a JSONL export",
        lambda t: _write(
            t / "export.jsonl",
            '{"question": "Bus?", "answer": "At 8."}\n\n'
            '{"question": "Lunch?", "answer": "$3.", "question": "Dinner?"}\n',
        ),
        [],
        "field 'question' appears twice in one record",
        3,
    ),
    (
        "JSON nested 100,000 deep",
        lambda t: _write(t / "export.json", "[" * 100_000 + "]" * 100_000),
        [],
        "nests arrays or objects more than 64 levels deep",
        1,
    ),
    (
        "JSONL line nested 100,000 deep",
        lambda t: _write(
            t / "export.jsonl",
            '{"question": "Bus?", "answer": "At 8."}\n'
            + '{"question": "x", "answer": '
            + "[" * 100_000
            + "]" * 100_000
            + "}\n",
        ),
        [],
        "nests arrays or objects more than 64 levels deep",
        2,
    ),
    (
        "a 2 MB CSV field (past the csv module's own limit)",
        lambda t: _bytes_csv(t, [HEADER.encode(), ASCII, b'"q?","' + b"a" * 2_000_000 + b'",c\n']),
        [],
        "holds a field longer than 131,072 characters",
        3,
    ),
    (
        "a million-column CSV",
        lambda t: _bytes_csv(
            t, [",".join(f"c{i}" for i in range(1_000_000)).encode() + b"\n", ASCII]
        ),
        [],
        "has 1,000,000 columns, more than the 1,000 accepted",
        1,
    ),
    (
        "an unquoted comma cuts an answer in two",
        lambda t: _bytes_csv(
            t, [HEADER.encode(), ASCII, b"Lunch?,It costs $3, or $4 for adults.,nutrition\n"]
        ),
        [],
        "has 4 cells but the header names 3 columns: 'nutrition' would be lost",
        3,
    ),
    (
        "XLSX data right of the last named column",
        lambda t: _xlsx_extra(t / "export.xlsx"),
        [],
        "has 5 cells but the header names 4 columns: 'Call 555-0100.' would be lost",
        "row 4",
    ),
    (
        "a broken XLSX",
        lambda t: _write(t / "export.xlsx", "not a zip at all"),
        [],
        "cannot be read as XLSX",
        None,
    ),
]


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("build", "args", "words", "line"),
    [pytest.param(b, a, w, n, id=name) for name, b, a, w, n in CASES],
)
def test_a_bad_export_exits_2_with_one_clear_problem_naming_file_and_line(
    tmp_path, capsys, build, args, words, line
):
    src = build(tmp_path)
    start = time.perf_counter()
    assert main(["import", str(src), _ds(tmp_path), *args]) == 2
    elapsed = time.perf_counter() - start
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1, err  # one line: the file, the line, what, how to fix
    at = line if isinstance(line, str) else f"line {line}"
    assert err.startswith(f"error: {src} {at}: " if line else f"error: {src}: "), err
    assert words in err, err
    assert "; " in err.split(words, 1)[1] or words.endswith(")")  # a hint follows
    assert not (tmp_path / "ds" / "items.jsonl").exists()
    assert elapsed < 15, f"took {elapsed:.1f} s"


# (limit lowered, its value, the export, what stderr says)
LOWERED = [
    ("field_chars", 1000, lambda t: _bytes_csv(t, [HEADER.encode(), ASCII,
     b"q?," + b"a" * 1001 + b",c\n"]), "line 3: field 'answer' holds 1,001 characters, more than "
     "the 1,000 a field may hold"),
    ("field_chars", 1000, lambda t: _write(t / "e.json", json.dumps(
        [{"question": "q?", "answer": "a"}, {"question": "q?", "answer": "a" * 1001}])),
     "record 2: field 'answer' holds 1,001 characters"),
    ("rows", 3, lambda t: _bytes_csv(t, [HEADER.encode(), ASCII * 4]),
     "has more than 3 rows"),
    ("rows", 3, lambda t: _xlsx(t / "e.xlsx", 4), "has more than 3 rows"),
    ("columns", 3, lambda t: _write(t / "e.jsonl", '{"question": "q", "answer": "a"}\n'
     '{"question": "q", "answer": "a", "x": 1, "y": 2}\n'), "has 4 columns, more than the 3"),
    ("export_bytes", 50, lambda t: _bytes_csv(t, [HEADER.encode(), ASCII * 3]),
     "more than the 50 accepted"),
    ("unpacked_bytes", 20_000, lambda t: _xlsx(t / "e.xlsx", 200),
     "more than the 20,000 accepted (a decompression bomb"),
]  # fmt: skip


@pytest.mark.parametrize(("name", "value", "build", "words"), LOWERED)
def test_every_export_limit_has_a_message(tmp_path, capsys, monkeypatch, name, value, build, words):
    monkeypatch.setitem(LIMITS, name, value)
    src = build(tmp_path)
    assert main(["import", str(src), _ds(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert str(src) in err and words in err, err
    assert "Traceback" not in err


def test_every_bad_jsonl_line_is_listed_at_once(tmp_path, capsys):
    src = _write(
        tmp_path / "e.jsonl",
        '{"question": "q", "answer": "a", "answer": "b"}\n{"question": "q2", "answer": "a2"}\n'
        '{"question": "q3",\n' + "[" * 100 + "]" * 100 + "\n",
    )
    assert main(["import", str(src), _ds(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "3 problems" in err
    for words in ("line 1: field 'answer' appears twice", "line 3: is not valid JSON",
                  "line 4: nests arrays or objects"):  # fmt: skip
        assert f"{src} {words}" in err, err


def test_one_cp1252_file_still_imports(tmp_path):
    src = _bytes_csv(tmp_path, [HEADER.encode(), CP1252, ASCII])
    assert main(["import", str(src), _ds(tmp_path)]) == 0
    assert _items(tmp_path / "ds")[0]["input"] == "Où est l’école à midi?"


def test_nan_in_a_json_export_is_still_an_empty_cell(tmp_path):
    src = _write(tmp_path / "e.json", '[{"question": "Bus?", "answer": "At 8.", "note": NaN}]')
    assert main(["import", str(src), _ds(tmp_path)]) == 0
    assert "note" not in _items(tmp_path / "ds")[0]


def test_limits_are_one_table_with_a_description_each():
    from harness.importers.limits import LIMIT_TEXT, limits_table

    assert set(LIMITS) == set(LIMIT_TEXT)
    assert all(isinstance(v, int) and v > 0 for v in LIMITS.values())
    assert [r[0] for r in limits_table()] == list(LIMITS)


def test_faq_rows_fit_the_limits():
    assert max(len(c) for row in FAQ_ROWS for c in row) < LIMITS["field_chars"]
