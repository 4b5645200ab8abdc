"""Read a district's export (CSV, XLSX, JSON or JSONL) into rows of text cells.

CSV exports come from many tools: the delimiter (comma, semicolon, tab, pipe) is sniffed from
the first lines and the encoding from the bytes (UTF-8 with or without a byte-order mark, else
charset-normalizer's best guess, e.g. Windows-1252 from older Excel versions).
"""

from __future__ import annotations

import csv
import io
import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

from harness.data.guard import JsonKeyError, duplicate_key_line, json_depth_line, strict_json
from harness.errors import InputError, Problem
from harness.importers.encoding import EncodingError, decode
from harness.importers.limits import LIMITS, LimitError, check_size, check_zip, over

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


def _sniff(text: str) -> str:
    sample = text[:65536]
    try:
        return csv.Sniffer().sniff(sample, delimiters=",;\t|").delimiter
    except csv.Error:
        first = sample.splitlines()[0] if sample else ""
        return max(",;\t|", key=first.count)


def _fail(path: Path, line: int | None, fld: str | None, message: str, hint: str) -> NoReturn:
    raise DatasetImportError(f"export {path}", [Problem(str(path), line, fld, message, hint)])


def _unique_columns(path: Path, header: list[str]) -> list[str]:
    if over("columns", len(header)):
        _fail(
            path,
            1,
            None,
            f"has {len(header):,} columns, more than the {LIMITS['columns']:,} accepted",
            "export only the columns the dataset needs (question, answer, category, date, ...)",
        )
    cols = [h.strip() for h in header]
    counts = Counter(cols)
    dupes = sorted(c for c, n in counts.items() if c and n > 1)
    if dupes:
        _fail(
            path,
            1,
            None,
            f"names column(s) {', '.join(dupes)} more than once",
            "rename the repeated columns so each header is unique",
        )
    return cols


def _too_many_rows(path: Path, n: int) -> None:
    if over("rows", n):
        _fail(
            path,
            None,
            None,
            f"has more than {LIMITS['rows']:,} rows",
            "split the export (by year or by category) and import each part into its own dataset",
        )


MAX_LISTED = 20


def _lost_cells(
    path: Path, cells: list[str], width: int, line: int, kind: str, lost: list[Problem]
) -> None:
    """A row with text right of the last named column: that text would be dropped unseen."""
    extra = [c for c in cells[width:] if c.strip()]
    if not extra or len(lost) >= MAX_LISTED:
        return
    shown = extra[0] if len(extra[0]) <= 40 else extra[0][:39] + "…"
    lost.append(
        Problem(
            str(path),
            line,
            None,
            f"has {len(cells)} cells but the header names {width} columns: {shown!r} would be lost",
            "quote cells that contain the delimiter, or give every column a name in the header",
            kind,
        )
    )


def _check_cells(table: Table) -> Table:
    """Refuse a cell longer than the field limit, naming its line (or row) and column."""
    limit = LIMITS["field_chars"]
    for row, line in zip(table.rows, table.line_numbers, strict=True):
        for col, value in row.items():
            if len(value) > limit:
                raise DatasetImportError(
                    f"export {table.path}",
                    [
                        Problem(
                            str(table.path),
                            line,
                            col,
                            f"holds {len(value):,} characters, more than the {limit:,} a field "
                            "may hold",
                            "shorten it, or check that the export's quotes are balanced",
                            table.kind,
                        )
                    ],
                )
    return table


def _read_csv(path: Path, encoding: str | None) -> Table:
    try:
        text, enc = decode(path.read_bytes(), encoding)
    except EncodingError as exc:
        _fail(path, exc.line, None, exc.message, exc.hint)
    delim = "\t" if path.suffix.lower() == ".tsv" else _sniff(text)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delim)
    # the csv module's limit is one setting for the whole process: raised past ours while
    # reading (so a long field gets our message, with its column), then put back
    old_limit = csv.field_size_limit(max(LIMITS["field_chars"] + 1, csv.field_size_limit()))
    try:
        try:
            header = next(reader)
        except StopIteration:
            _fail(path, None, None, "is empty", "export the table with a header row")
        cols = _unique_columns(path, header)
        rows, lines = [], []
        start = reader.line_num + 1  # the line the next record starts on
        lost: list[Problem] = []
        width, most = len(cols), LIMITS["rows"]
        for rec in reader:
            if any(c.strip() for c in rec):
                rows.append({c: rec[i].strip() if i < len(rec) else "" for i, c in enumerate(cols)})
                lines.append(start)
                if len(rows) > most:
                    _too_many_rows(path, len(rows))
                if len(rec) > width:
                    _lost_cells(path, rec, width, start, "line", lost)
            start = reader.line_num + 1
        if lost:
            raise DatasetImportError(f"export {path}", lost)
    except csv.Error as exc:
        long = "field larger than field limit" in str(exc)
        _fail(
            path,
            start,
            None,
            f"holds a field longer than {LIMITS['field_chars']:,} characters"
            if long
            else f"cannot be read as CSV ({exc})",
            "shorten it, or check that the export's quotes are balanced",
        )
    finally:
        csv.field_size_limit(old_limit)
    return Table(path, cols, rows, lines, enc, delim)


def _unreadable_xlsx(path: Path, exc: Exception) -> NoReturn:
    _fail(
        path,
        None,
        None,
        f"cannot be read as XLSX ({type(exc).__name__}: {exc})",
        "open it in Excel and save it again as .xlsx, or save it as CSV UTF-8",
    )


def _read_xlsx(path: Path, sheet: str | None) -> Table:
    try:
        import openpyxl
    except ImportError:  # pragma: no cover - a dependency of the package
        _fail(path, None, None, "needs openpyxl", "pip install openpyxl")
    try:
        check_zip(path, "XLSX")
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except LimitError as exc:
        _fail(path, None, None, exc.message, exc.hint)
    except Exception as exc:  # openpyxl raises many kinds for a broken workbook
        _unreadable_xlsx(path, exc)
    try:
        if sheet is not None and sheet not in wb.sheetnames:
            _fail(
                path,
                None,
                "sheet",
                f"'{sheet}' is not a sheet of this workbook",
                f"sheets: {', '.join(wb.sheetnames)}",
            )
        ws = wb[sheet] if sheet is not None else wb.worksheets[0]
        # read-only mode reads only the rows and columns the sheet's <dimension> claims, which a
        # tool that edits the file may leave stale: forget it and read every row there is
        ws.reset_dimensions()
        it = ws.iter_rows(values_only=True)
        header = next(it, None)
        if header is None:
            _fail(path, None, None, "has an empty first sheet", "put the header in row 1")
        cols = _unique_columns(path, [_cell(h) for h in header])
        rows, lines = [], []
        lost: list[Problem] = []
        for n, rec in enumerate(it, start=2):
            cells = [_cell(v) for v in rec[: len(cols)]]
            if any(cells):
                rows.append({c: cells[i] if i < len(cells) else "" for i, c in enumerate(cols)})
                lines.append(n)
                _too_many_rows(path, len(rows))
            if len(rec) > len(cols):
                _lost_cells(path, [_cell(v) for v in rec], len(cols), n, "row", lost)
        if lost:
            raise DatasetImportError(f"export {path}", lost)
        notes = [f"sheet '{ws.title}'"] + (
            [f"other sheets not read: {', '.join(s for s in wb.sheetnames if s != ws.title)}"]
            if len(wb.sheetnames) > 1
            else []
        )
        return Table(path, cols, rows, lines, "xlsx", None, notes)
    except (DatasetImportError, MemoryError):
        raise
    except Exception as exc:  # a broken sheet part (bad XML, a part the zip lied about)
        _unreadable_xlsx(path, exc)
    finally:
        wb.close()


def _records_table(path: Path, records: list[tuple[int, Any]]) -> Table:
    problems, rows, lines = [], [], []
    cols: dict[str, None] = {}
    _too_many_rows(path, len(records))
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
        if over("columns", len(cols)):
            _unique_columns(path, list(cols))
        rows.append(row)
        lines.append(n)
    if problems:
        raise DatasetImportError(f"export {path}", problems)
    columns = list(cols)
    return Table(path, columns, [{c: r.get(c, "") for c in columns} for r in rows], lines)


def _json(path: Path, text: str, line: int | None) -> Any:
    """One JSON document, strictly: nesting bounded, a key given twice refused with its line."""
    deep = json_depth_line(text, LIMITS["json_depth"])
    if deep is not None:
        _fail(
            path,
            (line or 1) + deep - 1,
            None,
            f"nests arrays or objects more than {LIMITS['json_depth']} levels deep",
            "each record is an object of plain fields",
        )
    try:
        return strict_json(text, allow_nan=True)
    except JsonKeyError as exc:
        at = line if line is not None else duplicate_key_line(text, exc.field)
        _fail(path, at, exc.field, "appears twice in one record", "keep one; the later would win")
    except json.JSONDecodeError as exc:
        _fail(
            path,
            line if line is not None else exc.lineno,
            None,
            f"is not valid JSON ({exc.msg} at column {exc.colno})",
            "each line must be one complete JSON object"
            if line is not None
            else "check quotes and commas",
        )


def _read_json(path: Path, encoding: str | None) -> Table:
    try:
        text, enc = decode(path.read_bytes(), encoding)
    except EncodingError as exc:
        _fail(path, exc.line, None, exc.message, exc.hint)
    if path.suffix.lower() == ".jsonl":
        records, problems = [], []
        for n, line in enumerate(text.splitlines(), start=1):
            if line.strip():
                try:
                    records.append((n, _json(path, line, n)))
                except DatasetImportError as exc:  # every bad line is listed at once
                    problems += exc.problems
        if problems:
            raise DatasetImportError(f"export {path}", problems)
        table = _records_table(path, records)
    else:
        data = _json(path, text, None)
        if isinstance(data, dict):
            lists = [k for k, v in data.items() if isinstance(v, list)]
            if len(lists) != 1:
                _fail(
                    path,
                    1,
                    None,
                    "is an object without exactly one list of records",
                    'give a list of records, or {"items": [...]}',
                )
            data = data[lists[0]]
        if not isinstance(data, list):
            _fail(path, 1, None, "is not a list of records", 'give [{"question": ...}, ...]')
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
        _fail(p, None, None, "does not exist", "check the path")
    suffix = p.suffix.lower()
    if suffix in TABLE_SUFFIXES:
        try:
            check_size(p, "export_bytes", "split the export and import each part on its own")
        except LimitError as exc:
            _fail(p, None, None, exc.message, exc.hint)
    if suffix in (".csv", ".tsv", ".txt"):
        return _check_cells(_read_csv(p, encoding))
    if suffix == ".xlsx":
        return _check_cells(_read_xlsx(p, sheet))
    if suffix in (".json", ".jsonl"):
        return _check_cells(_read_json(p, encoding))
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
