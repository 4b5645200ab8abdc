"""Read a district's export (CSV, XLSX, JSON or JSONL) into rows of text cells.

CSV exports come from many tools: the delimiter (comma, semicolon, tab, pipe) is sniffed from
the first lines and the encoding from the bytes (UTF-8 with or without a byte-order mark, else
charset-normalizer's best guess, e.g. Windows-1252 from older Excel versions).
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.errors import InputError, Problem

TABLE_SUFFIXES = (".csv", ".tsv", ".txt", ".xlsx", ".json", ".jsonl")


class DatasetImportError(InputError):
    """An export or a source folder cannot be imported (every problem listed)."""


@dataclass
class Table:
    """An export's rows as text cells, with the row or line number each came from."""

    path: Path
    columns: list[str]
    rows: list[dict[str, str]]
    line_numbers: list[int]
    encoding: str = "utf-8"
    delimiter: str | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def kind(self) -> str:
        suffix = self.path.suffix.lower()
        return {".xlsx": "row", ".json": "record"}.get(suffix, "line")


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value != value:
        return ""
    if isinstance(value, (list, dict)):
        return json.dumps(value, ensure_ascii=False)
    if hasattr(value, "isoformat"):
        return str(value.isoformat())
    return str(value).strip()


def decode(raw: bytes, encoding: str | None = None) -> tuple[str, str]:
    """Bytes as text and the encoding used.

    UTF-8 (with or without a byte-order mark) or UTF-16 first; else Windows-1252 (what Excel
    writes in the US and western Europe) when every byte is defined there; else
    charset-normalizer's guess. ``encoding`` forces one.
    """
    if encoding:
        return raw.decode(encoding), encoding
    if raw.startswith(b"\xef\xbb\xbf"):
        return raw[3:].decode("utf-8"), "utf-8-sig"
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        return raw.decode("utf-16"), "utf-16"
    try:
        return raw.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        return raw.decode("cp1252"), "cp1252"
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    best = from_bytes(raw[:200_000]).best()
    enc = best.encoding if best is not None else "cp1252"
    try:
        return raw.decode(enc), enc
    except (UnicodeDecodeError, LookupError):
        return raw.decode("cp1252", errors="replace"), "cp1252"


def _sniff(text: str) -> str:
    sample = text[:65536]
    try:
        return csv.Sniffer().sniff(sample, delimiters=",;\t|").delimiter
    except csv.Error:
        first = sample.splitlines()[0] if sample else ""
        return max(",;\t|", key=first.count)


def _unique_columns(path: Path, header: list[str]) -> list[str]:
    cols = [h.strip() for h in header]
    dupes = sorted({c for c in cols if c and cols.count(c) > 1})
    if dupes:
        raise DatasetImportError(
            f"export {path}",
            [
                Problem(
                    str(path),
                    1,
                    None,
                    f"names column(s) {', '.join(dupes)} more than once",
                    "rename the repeated columns so each header is unique",
                )
            ],
        )
    return cols


def _read_csv(path: Path, encoding: str | None) -> Table:
    text, enc = decode(path.read_bytes(), encoding)
    delim = "\t" if path.suffix.lower() == ".tsv" else _sniff(text)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delim)
    try:
        header = next(reader)
    except StopIteration:
        raise DatasetImportError(
            f"export {path}",
            [Problem(str(path), None, None, "is empty", "export the table with a header row")],
        ) from None
    cols = _unique_columns(path, header)
    rows, lines = [], []
    start = reader.line_num + 1
    for rec in reader:
        if any(c.strip() for c in rec):
            rows.append({c: rec[i].strip() if i < len(rec) else "" for i, c in enumerate(cols)})
            lines.append(start)
        start = reader.line_num + 1
    return Table(path, cols, rows, lines, enc, delim)


def _read_xlsx(path: Path, sheet: str | None) -> Table:
    try:
        import openpyxl
    except ImportError:  # pragma: no cover - a dependency of the package
        raise DatasetImportError(
            f"export {path}",
            [Problem(str(path), None, None, "needs openpyxl", "pip install openpyxl")],
        ) from None
    wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    try:
        if sheet is not None and sheet not in wb.sheetnames:
            raise DatasetImportError(
                f"export {path}",
                [
                    Problem(
                        str(path),
                        None,
                        "sheet",
                        f"'{sheet}' is not a sheet of this workbook",
                        f"sheets: {', '.join(wb.sheetnames)}",
                    )
                ],
            )
        ws = wb[sheet] if sheet is not None else wb.worksheets[0]
        it = ws.iter_rows(values_only=True)
        header = next(it, None)
        if header is None:
            raise DatasetImportError(
                f"export {path}",
                [Problem(str(path), None, None, "has an empty first sheet", "")],
            )
        cols = _unique_columns(path, [_cell(h) for h in header])
        rows, lines = [], []
        for n, rec in enumerate(it, start=2):
            cells = [_cell(v) for v in rec]
            if any(cells):
                rows.append({c: cells[i] if i < len(cells) else "" for i, c in enumerate(cols)})
                lines.append(n)
        notes = [f"sheet '{ws.title}'"] + (
            [f"other sheets not read: {', '.join(s for s in wb.sheetnames if s != ws.title)}"]
            if len(wb.sheetnames) > 1
            else []
        )
        return Table(path, cols, rows, lines, "xlsx", None, notes)
    finally:
        wb.close()


def _records_table(path: Path, records: list[tuple[int, Any]]) -> Table:
    problems, rows, lines = [], [], []
    cols: dict[str, None] = {}
    for n, rec in records:
        if not isinstance(rec, dict):
            problems.append(
                Problem(
                    str(path), n, None, "is not a JSON object", 'each record is {"question": ...}'
                )
            )
            continue
        row = {str(k).strip(): _cell(v) for k, v in rec.items()}
        cols.update(dict.fromkeys(row))
        rows.append(row)
        lines.append(n)
    if problems:
        raise DatasetImportError(f"export {path}", problems)
    columns = list(cols)
    return Table(path, columns, [{c: r.get(c, "") for c in columns} for r in rows], lines)


def _read_json(path: Path, encoding: str | None) -> Table:
    text, enc = decode(path.read_bytes(), encoding)
    if path.suffix.lower() == ".jsonl":
        records, problems = [], []
        for n, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                records.append((n, json.loads(line)))
            except json.JSONDecodeError as exc:
                problems.append(
                    Problem(
                        str(path),
                        n,
                        None,
                        f"is not valid JSON ({exc.msg} at column {exc.colno})",
                        "each line must be one complete JSON object",
                    )
                )
        if problems:
            raise DatasetImportError(f"export {path}", problems)
        table = _records_table(path, records)
    else:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise DatasetImportError(
                f"export {path}",
                [
                    Problem(
                        str(path),
                        exc.lineno,
                        None,
                        f"is not valid JSON ({exc.msg} at column {exc.colno})",
                        "check quotes and commas",
                    )
                ],
            ) from None
        if isinstance(data, dict):
            lists = [k for k, v in data.items() if isinstance(v, list)]
            if len(lists) != 1:
                raise DatasetImportError(
                    f"export {path}",
                    [
                        Problem(
                            str(path),
                            1,
                            None,
                            "is an object without exactly one list of records",
                            'give a list of records, or {"items": [...]}',
                        )
                    ],
                )
            data = data[lists[0]]
        if not isinstance(data, list):
            raise DatasetImportError(
                f"export {path}",
                [Problem(str(path), 1, None, "is not a list of records", "")],
            )
        table = _records_table(path, list(enumerate(data, start=1)))  # record numbers
    table.encoding = enc
    return table


def read_table(path: str | Path, sheet: str | None = None, encoding: str | None = None) -> Table:
    """Read an export file into a :class:`Table`.

    Args:
        path: a .csv/.tsv/.txt, .xlsx, .json or .jsonl file.
        sheet: for XLSX, the sheet to read (default: the first).
        encoding: force a text encoding (default: detected, see :func:`decode`).

    Raises:
        DatasetImportError: the file is missing, empty, of an unknown kind or malformed.
    """
    p = Path(path)
    if not p.is_file():
        raise DatasetImportError(
            f"export {p}", [Problem(str(p), None, None, "does not exist", "check the path")]
        )
    suffix = p.suffix.lower()
    if suffix in (".csv", ".tsv", ".txt"):
        return _read_csv(p, encoding)
    if suffix == ".xlsx":
        return _read_xlsx(p, sheet)
    if suffix in (".json", ".jsonl"):
        return _read_json(p, encoding)
    raise DatasetImportError(
        f"export {p}",
        [
            Problem(
                str(p),
                None,
                None,
                f"has suffix '{p.suffix}', which the importer does not read",
                f"export as one of {', '.join(TABLE_SUFFIXES)} (Excel: Save As CSV UTF-8 or .xlsx)",
            )
        ],
    )
