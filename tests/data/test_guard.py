"""Dataset files arrive by pull request: nothing outside the folder is read, nothing lies."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from harness.cli.commands import main
from harness.data.dataset import load_dataset
from harness.errors import DatasetError


def _problems(path: Path) -> list[str]:
    with pytest.raises(DatasetError) as err:
        load_dataset(path)
    return [str(p) for p in err.value.problems]


@pytest.mark.parametrize(
    ("link", "target"),
    [
        ("sources/environ.txt", "/proc/self/environ"),
        ("sources/passwd.md", "/etc/passwd"),
        ("sources/inside.md", "sources/lunch-2025.md"),  # even a link inside the folder
        ("sources/dir.md", "/etc"),
        ("ratings.csv", "/etc/passwd"),
        ("pilot_log.csv", "/etc/passwd"),
        ("people.csv", "/etc/passwd"),
    ],
)
def test_symlinked_dataset_files_are_refused_with_a_hint(mini_copy, link, target):
    p = mini_copy / link
    if p.exists():
        p.unlink()
    os.symlink(target if target.startswith("/") else mini_copy / target, p)
    problems = _problems(mini_copy)
    mine = [s for s in problems if link in s]
    assert mine and "symbolic link" in mine[0] and "copy the file" in mine[0], problems


def test_symlinked_items_file_and_sources_folder_are_refused(mini_copy, tmp_path):
    outside = tmp_path / "elsewhere"
    (mini_copy / "sources").rename(outside)
    os.symlink(outside, mini_copy / "sources")
    items = mini_copy / "items.jsonl"
    real = tmp_path / "items.jsonl"
    items.rename(real)
    os.symlink(real, items)
    text = "\n".join(_problems(mini_copy))
    assert "sources: is a symbolic link" in text
    assert "items.jsonl: is a symbolic link" in text


def test_environment_never_becomes_a_source(mini_copy, monkeypatch):
    monkeypatch.setenv("CI_DEPLOY_TOKEN", "canary-not-a-source-1234")
    os.symlink("/proc/self/environ", mini_copy / "sources" / "environ.txt")
    with pytest.raises(DatasetError) as err:
        load_dataset(mini_copy)
    assert "canary-not-a-source-1234" not in str(err.value)


def test_validate_cli_exits_2_naming_the_link(mini_copy, capsys):
    os.symlink("/etc/passwd", mini_copy / "sources" / "passwd.md")
    assert main(["validate", str(mini_copy)]) == 2
    assert "sources/passwd.md: is a symbolic link (to /etc/passwd)" in capsys.readouterr().err


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "1e308", "Infinity", "1e6", "-1"])
def test_pilot_log_numbers_must_be_finite_and_sane(mini_copy, value):
    p = mini_copy / "pilot_log.csv"
    lines = p.read_text().splitlines()
    cells = lines[1].split(",")
    cells[-1] = value  # turnaround_hours
    lines[1] = ",".join(cells)
    p.write_text("\n".join(lines) + "\n")
    problems = _problems(mini_copy)
    assert any("line 2: field 'turnaround_hours'" in s and value in s for s in problems), problems


@pytest.mark.parametrize("file", ["pilot_log.csv", "ratings.csv", "people.csv"])
def test_duplicate_csv_columns_are_refused(mini_copy, file):
    p = mini_copy / file
    lines = p.read_text().splitlines()
    first = lines[0].split(",")[0]
    lines = [lines[0] + "," + first] + [line + ",x" for line in lines[1:]]
    p.write_text("\n".join(lines) + "\n")
    problems = _problems(mini_copy)
    assert any(
        f"{file} line 1: field '{first}' is a column name used twice" in s for s in problems
    ), problems


@pytest.mark.parametrize(("delim", "label"), [(";", "semicolon"), ("\t", "tab")])
def test_a_csv_with_another_delimiter_gets_one_clear_error(mini_copy, delim, label):
    import csv
    import io

    p = mini_copy / "pilot_log.csv"
    rows = list(csv.reader(io.StringIO(p.read_text())))
    buf = io.StringIO()
    csv.writer(buf, delimiter=delim).writerows(rows)
    p.write_text(buf.getvalue())
    problems = [s for s in _problems(mini_copy) if "pilot_log.csv" in s]
    assert len(problems) == 1, problems
    assert f"is {label}-delimited" in problems[0] and "comma-separated" in problems[0]


def test_a_semicolon_items_csv_gets_one_clear_error(mini_copy):
    items = [json.loads(line) for line in (mini_copy / "items.jsonl").read_text().splitlines()]
    (mini_copy / "items.jsonl").unlink()
    head = ["id", "task", "input", "reference", "source_ids", "category"]
    rows = [";".join(head)] + [
        ";".join(f'"{it[h]}"' if h != "source_ids" else '"' + "|".join(it[h]) + '"' for h in head)
        for it in items
    ]
    (mini_copy / "items.csv").write_text("\n".join(rows) + "\n")
    problems = [s for s in _problems(mini_copy) if "items.csv" in s]
    assert len(problems) == 1 and "semicolon-delimited" in problems[0], problems


@pytest.mark.parametrize(
    ("edit", "field", "words"),
    [
        (lambda line: line[:-1] + ', "category": "other"}', "category", "appears twice"),
        (lambda line: line[:-1] + ', "meta": {"a": 1, "a": 2}}', "a", "appears twice"),
        (lambda line: line[:-1] + ', "score": NaN}', None, "NaN"),
        (lambda line: line[:-1] + ', "score": Infinity}', None, "Infinity"),
    ],
)
def test_items_jsonl_refuses_duplicate_keys_and_non_json_numbers(mini_copy, edit, field, words):
    p = mini_copy / "items.jsonl"
    lines = p.read_text().splitlines()
    lines[1] = edit(lines[1])
    p.write_text("\n".join(lines) + "\n")
    problems = _problems(mini_copy)
    where = "items.jsonl line 2: " + (f"field '{field}' " if field else "")
    assert any(
        s.split(mini_copy.name + "/", 1)[-1].startswith(where) and words in s for s in problems
    ), problems


def test_billion_laughs_in_front_matter_is_refused_fast(mini_copy):
    import time

    from .test_safeyaml import LAUGHS

    p = mini_copy / "sources" / "lunch-2025.md"
    body = p.read_text().split("---", 2)[2]
    p.write_text("---\n" + LAUGHS.replace("a: &a", "title: &a", 1) + "\n---" + body)
    t0 = time.process_time()
    problems = _problems(mini_copy)
    assert time.process_time() - t0 < 2
    assert any("lunch-2025.md line" in s and "front matter expands" in s for s in problems), (
        problems
    )


def _deep_item(mini: Path) -> str:
    p = mini / "items.jsonl"
    lines = p.read_text().splitlines()
    lines[1] = lines[1][:-1] + ', "meta": ' + "[" * 100_000 + "]" * 100_000 + "}"
    p.write_text("\n".join(lines) + "\n")
    return "items.jsonl line 2: nests arrays or objects more than 64 levels deep"


def _deep_list_cell(mini: Path) -> str:
    recs = [json.loads(x) for x in (mini / "items.jsonl").read_text().splitlines()]
    (mini / "items.jsonl").unlink()
    import csv

    with (mini / "items.csv").open("w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=["id", "task", "input", "reference", "source_ids",
                                           "category"], extrasaction="ignore")  # fmt: skip
        w.writeheader()
        for r in recs:
            w.writerow({**r, "source_ids": json.dumps(r["source_ids"])})
        w.writerow({**recs[0], "id": "deep", "source_ids": "[" * 50_000 + "]" * 50_000})
    lines = (mini / "items.csv").read_text().splitlines()
    line = next(n for n, ln in enumerate(lines, start=1) if ln.startswith("deep,"))
    return f"items.csv line {line}: field 'source_ids' must be a list of text"


def _long_field(name: str, line: int) -> object:
    def edit(mini: Path) -> str:
        p = mini / name
        rows = p.read_text().splitlines()
        rows[line - 1] = rows[line - 1].replace(",", ',"' + "x" * 200_000 + '",', 1)
        p.write_text("\n".join(rows) + "\n")
        return f"{name} line {line}: holds a field longer than 131,072 characters"

    return edit


@pytest.mark.parametrize(
    "edit", [_deep_item, _deep_list_cell, _long_field("pilot_log.csv", 3),
             _long_field("ratings.csv", 2), _long_field("people.csv", 2)],
)  # fmt: skip
def test_deep_json_and_long_csv_fields_are_problems_with_a_line_not_a_crash(
    mini_copy, capsys, edit
):
    where = edit(mini_copy)
    problems = _problems(mini_copy)
    assert any(s.split(mini_copy.name + "/", 1)[-1].startswith(where) for s in problems), problems
    assert main(["validate", str(mini_copy)]) == 2
    assert "Traceback" not in capsys.readouterr().err
