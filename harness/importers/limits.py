"""Every size the importer accepts, in one table, and the checks that enforce them.

A district's export and policy files are untrusted input: a 50 MB cell, JSON nested 100,000
deep, a million columns, a PDF or DOCX that unpacks to gigabytes, or front matter holding a
YAML bomb must end in a clear message naming the file (and line), never a traceback, a hang or
a machine out of memory. An export past a limit is refused; a policy file past one is skipped
with its reason while the other files import. Tests lower a limit with
``monkeypatch.setitem(LIMITS, name, value)``.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

from harness.data.guard import MAX_JSON_DEPTH

# name -> the most the importer accepts (what each means: LIMIT_TEXT)
LIMITS: dict[str, int] = {
    "export_bytes": 200_000_000,
    "rows": 1_000_000,
    "columns": 1_000,
    "field_chars": 131_072,
    "json_depth": MAX_JSON_DEPTH,
    "document_bytes": 50_000_000,
    "document_pages": 2_000,
    "document_chars": 5_000_000,
    "unpacked_bytes": 200_000_000,
    "zip_entries": 10_000,
    "front_matter_bytes": 64_000,
}
LIMIT_TEXT: dict[str, str] = {
    "export_bytes": "bytes in an export file (CSV, XLSX, JSON, JSONL)",
    "rows": "rows or records in an export",
    "columns": "columns in an export (distinct keys for JSON)",
    "field_chars": "characters in one cell or field of an export",
    "json_depth": "nesting of arrays and objects in a JSON or JSONL export and in items.jsonl",
    "document_bytes": "bytes in one policy file",
    "document_pages": "pages in one PDF",
    "document_chars": "characters of text taken from one policy file",
    "unpacked_bytes": "bytes an XLSX or DOCX unpacks to (its parts' declared sizes, which "
    "the zip reader enforces), or a PDF's page contents inflate to",
    "zip_entries": "parts inside an XLSX or DOCX",
    "front_matter_bytes": "bytes of YAML front matter in a Markdown policy (read by the one "
    "safe loader, harness/data/safeyaml.py, with its alias and value limits)",
}


class LimitError(ValueError):
    """An input is past one of :data:`LIMITS`: the message says which and how to fix it."""

    def __init__(self, message: str, hint: str, line: int | None = None):
        self.message = message
        self.hint = hint
        self.line = line
        super().__init__(message)


def over(name: str, size: int) -> bool:
    """Whether ``size`` is past the limit ``name``."""
    return size > LIMITS[name]


def check_size(path: Path, name: str, hint: str) -> None:
    """Refuse a file larger than the limit ``name`` (bytes), before reading it."""
    size = path.stat().st_size
    if over(name, size):
        raise LimitError(f"is {size:,} bytes, more than the {LIMITS[name]:,} accepted", hint)


def check_zip(path: Path, what: str) -> None:
    """Refuse an XLSX/DOCX whose parts unpack to more than the limits (a decompression bomb).

    The sizes are the ones the zip declares; Python's zip reader stops at the declared size
    and fails the CRC check on a part that unpacks to more, so they bound what is read.
    """
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
    except (zipfile.BadZipFile, OSError) as exc:
        raise LimitError(
            f"cannot be read as {what} ({exc})", "open it in its program and save it again"
        ) from None
    if over("zip_entries", len(infos)):
        raise LimitError(
            f"holds {len(infos):,} parts, more than the {LIMITS['zip_entries']:,} accepted",
            "save it again from its program, or export the text",
        )
    total = sum(i.file_size for i in infos)
    if over("unpacked_bytes", total):
        raise LimitError(
            f"unpacks to {total:,} bytes, more than the {LIMITS['unpacked_bytes']:,} accepted "
            "(a decompression bomb, or a very large file)",
            "split it, or save the text as a smaller file",
        )


def limits_table() -> list[tuple[str, int, str]]:
    """(name, limit, what it bounds) for every limit, as the README's table lists them."""
    return [(k, v, LIMIT_TEXT[k]) for k, v in LIMITS.items()]
