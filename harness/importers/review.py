"""The CSV round trip in which a person accepts or rejects the importer's suggestions.

:func:`export_suggestions` writes every pending ``suggested_*`` proposal of a dataset to a CSV
with an ``accept`` column (and an editable ``accepted_text``); :func:`accept_suggestions`
reads it back, moves the accepted rows into ``required_facts`` / ``source_ids`` / ``sensitive`` and records
every verdict in the items, so :func:`harness.importers.suggest.suggestion_counts` can count
them. Cells a spreadsheet would run as a formula are quoted on the way out and unquoted on the
way back (families' messages are untrusted text).
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pandas as pd

from harness.errors import Problem
from harness.importers.encoding import EncodingError, decode
from harness.importers.reimport import read_items
from harness.importers.suggest import add_suggestions, suggestion_counts
from harness.importers.tables import DatasetImportError

EXPORT_COLUMNS = [
    "item_id",
    "kind",
    "suggestion",
    "accepted_text",
    "accept",
    "question",
    "reference",
]
_YES = {"yes", "y", "true", "1", "accept", "accepted", "x"}
_NO = {"no", "n", "false", "0", "reject", "rejected"}


_FORMULA = ("=", "+", "-", "@", "\t", "\r")


def _sheet_safe(text: Any) -> Any:
    """A cell a spreadsheet will not run as a formula: ``'`` before a leading = + - @."""
    return "'" + text if isinstance(text, str) and text.startswith(_FORMULA) else text


def _sheet_text(text: str) -> str:
    """The text :func:`_sheet_safe` protected, as it was."""
    return text[1:] if text.startswith("'") and text[1:].startswith(_FORMULA) else text


def _items_path(dataset: str | Path) -> Path:
    p = Path(dataset) / "items.jsonl"
    if not p.is_file():
        raise DatasetImportError(
            f"dataset {dataset}",
            [
                Problem(
                    str(p),
                    None,
                    None,
                    "is missing",
                    "suggestions work on items.jsonl; make one with harness import",
                )
            ],
        )
    return p


def read_records(dataset: str | Path) -> list[dict[str, Any]]:
    """The items of ``dataset/items.jsonl`` as dicts, in file order (read strictly: a key given
    twice is refused naming the line, see :func:`harness.importers.reimport.read_items`)."""
    return read_items(_items_path(dataset))


def write_records(dataset: str | Path, records: list[dict[str, Any]]) -> None:
    """Replace ``dataset/items.jsonl`` atomically (write a temporary file, then rename)."""
    p = Path(dataset) / "items.jsonl"
    tmp = p.with_suffix(".jsonl.tmp")
    with tmp.open("w", encoding="utf-8", newline="\n") as fh:
        for r in records:
            fh.write(json.dumps(r, ensure_ascii=False) + "\n")
    tmp.replace(p)


def export_suggestions(dataset: str | Path, out: str | Path) -> pd.DataFrame:
    """Write every pending suggestion of a dataset to a CSV a person fills in (``accept``).

    Items that have no ``suggested_*`` fields yet (a dataset not made by ``harness import``)
    get proposals computed on the fly. A row already accepted or rejected is not exported again.

    Args:
        dataset: the dataset folder (its items.jsonl).
        out: the CSV to write; columns item_id, kind, suggestion, accepted_text, accept,
            question, reference.

    Returns:
        The rows written, as a DataFrame.
    """
    rows = []
    for rec in read_records(dataset):
        if "suggested_required_facts" not in rec and "suggested_sensitive" not in rec:
            rec = add_suggestions(rec)
        done = set(rec.get("accepted_required_facts", [])) | set(
            rec.get("rejected_required_facts", [])
        )
        ctx = {"question": rec.get("input", ""), "reference": rec.get("reference", "")}
        for fact in rec.get("suggested_required_facts", []):
            if fact not in done and fact not in rec.get("required_facts", []):
                rows.append(
                    {
                        "item_id": rec["id"],
                        "kind": "required_fact",
                        "suggestion": fact,
                        "accepted_text": fact,
                        "accept": "",
                        **ctx,
                    }
                )
        linked = set(rec.get("source_ids", [])) | set(rec.get("accepted_source_ids", []))
        for sid in rec.get("suggested_source_ids", []):
            if sid not in linked and sid not in rec.get("rejected_source_ids", []):
                rows.append(
                    {
                        "item_id": rec["id"],
                        "kind": "source_link",
                        "suggestion": sid,
                        "accepted_text": sid,
                        "accept": "",
                        **ctx,
                    }
                )
        if rec.get("suggested_sensitive") and "suggested_sensitive_review" not in rec:
            reason = rec.get("suggested_sensitive_reason", "")
            rows.append(
                {
                    "item_id": rec["id"],
                    "kind": "sensitive",
                    "suggestion": reason,
                    "accepted_text": reason,
                    "accept": "",
                    **ctx,
                }
            )
    frame = pd.DataFrame(rows, columns=EXPORT_COLUMNS)
    # families' messages are untrusted: a cell starting with = or @ would run in Excel
    frame.map(_sheet_safe).to_csv(out, index=False, encoding="utf-8")
    return frame


def accept_suggestions(dataset: str | Path, reviewed: str | Path) -> pd.DataFrame:
    """Apply a reviewed suggestions CSV: ``accept`` yes moves a row into the item, no rejects it.

    Args:
        dataset: the dataset folder whose items.jsonl is updated in place.
        reviewed: the CSV written by :func:`export_suggestions`, with ``accept`` filled in
            (yes/no; blank leaves the row pending). ``accepted_text`` may be edited.

    Returns:
        :func:`suggestion_counts` after applying.

    Raises:
        DatasetImportError: a row names an unknown item, kind or accept value (all listed).
    """
    path = Path(reviewed)
    try:
        text, _ = decode(path.read_bytes())
    except EncodingError as exc:
        raise DatasetImportError(
            f"suggestions {path}", [Problem(str(path), exc.line, None, exc.message, exc.hint)]
        ) from None
    reader = csv.DictReader(text.splitlines())
    missing = [
        c for c in ("item_id", "kind", "suggestion", "accept") if c not in (reader.fieldnames or [])
    ]
    if missing:
        raise DatasetImportError(
            f"suggestions {path}",
            [
                Problem(
                    str(path),
                    1,
                    None,
                    f"header lacks column(s) {', '.join(missing)}",
                    "use the CSV written by harness suggestions export",
                )
            ],
        )
    records = read_records(dataset)
    by_id = {r["id"]: r for r in records}
    problems = []
    for line, raw in enumerate(reader, start=2):
        row = {k: _sheet_text(v or "") for k, v in raw.items() if k is not None}
        verdict = (row.get("accept") or "").strip().lower()
        if not verdict:
            continue
        rec = by_id.get(row["item_id"])
        if rec is None:
            problems.append(
                Problem(
                    str(path),
                    line,
                    "item_id",
                    f"names item '{row['item_id']}', which does not exist",
                    "keep the item_id column as exported",
                )
            )
            continue
        if verdict not in _YES | _NO:
            problems.append(
                Problem(
                    str(path),
                    line,
                    "accept",
                    f"'{row['accept']}' is not yes or no",
                    "write yes to accept, no to reject, or leave it blank",
                )
            )
            continue
        ok = verdict in _YES
        final = (row.get("accepted_text") or row["suggestion"]).strip()
        if row["kind"] == "required_fact":
            key = "accepted_required_facts" if ok else "rejected_required_facts"
            rec.setdefault(key, [])
            if row["suggestion"] not in rec[key]:
                rec[key].append(row["suggestion"])
            if ok and final and final not in rec.setdefault("required_facts", []):
                rec["required_facts"].append(final)
        elif row["kind"] == "source_link":
            key = "accepted_source_ids" if ok else "rejected_source_ids"
            rec.setdefault(key, [])
            if row["suggestion"] not in rec[key]:
                rec[key].append(row["suggestion"])
            if ok and final and final not in rec.setdefault("source_ids", []):
                rec["source_ids"].append(final)
        elif row["kind"] == "sensitive":
            rec["suggested_sensitive_review"] = "accepted" if ok else "rejected"
            if ok:
                rec["sensitive"] = True
                rec["sensitive_reason"] = final or rec.get("suggested_sensitive_reason")
        else:
            problems.append(
                Problem(
                    str(path),
                    line,
                    "kind",
                    f"'{row['kind']}' is not a kind",
                    "use required_fact, source_link or sensitive",
                )
            )
    if problems:
        raise DatasetImportError(f"suggestions {path}", problems)
    write_records(dataset, records)
    return suggestion_counts(records)
