"""Importing a district's export again into the folder an earlier import wrote: a merge.

A person's verdicts on the suggestions (accepted or rejected required facts, an accepted or
rejected sensitive flag, :mod:`harness.importers.review`) live in ``items.jsonl``, not in the
export, so rewriting the items from the export alone would silently drop them. The merge keeps
every verdict whose basis did not change: fact verdicts while the item's approved answer is the
same, the sensitive verdict while its question is the same (spacing ignored); a column of the
export itself (``required_facts``, ``sensitive``) always wins. The difference is returned row by
row (added / changed / removed items, with the fields that changed) and counted, so the import
can print it and record it in the README.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

from harness.data.guard import JsonKeyError, json_depth_line, strict_json
from harness.errors import Problem
from harness.importers.tables import DatasetImportError

CHANGE_COLUMNS = ["change", "id", "question", "fields", "note"]
FACT_VERDICTS = ("accepted_required_facts", "rejected_required_facts")
SENSITIVE_VERDICT = "suggested_sensitive_review"
LINK_VERDICTS = ("accepted_source_ids", "rejected_source_ids")
# fields the importer proposes itself: never a difference of the export
_PROPOSED = {
    "suggested_required_facts",
    "suggested_sensitive",
    "suggested_sensitive_reason",
    "suggested_source_ids",
    "language_detected",
}


def read_items(path: Path) -> list[dict[str, Any]]:
    """The records of an ``items.jsonl``, strictly (a key twice, bad JSON, deep nesting and
    NaN are refused naming the line: a record read wrongly would merge wrongly).

    Raises:
        DatasetImportError: every line that cannot be read, with its number.
    """
    problems: list[Problem] = []
    records: list[dict[str, Any]] = []
    hint = "fix that line (harness validate lists every problem of the dataset)"
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise DatasetImportError(
            f"dataset {path.parent}",
            [Problem(str(path), None, None, f"is not UTF-8 text ({exc.reason})", hint)],
        ) from None
    for n, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        if json_depth_line(line) is not None:
            problems.append(Problem(str(path), n, None, "nests arrays or objects too deeply", hint))
            continue
        try:
            rec = strict_json(line)
        except JsonKeyError as exc:
            problems.append(Problem(str(path), n, exc.field or None, exc.message, exc.hint))
            continue
        except json.JSONDecodeError as exc:
            problems.append(Problem(str(path), n, None, f"is not valid JSON ({exc.msg})", hint))
            continue
        if not isinstance(rec, dict) or not isinstance(rec.get("id"), str):
            problems.append(Problem(str(path), n, "id", "is not an item with an id", hint))
            continue
        records.append(rec)
    if problems:
        raise DatasetImportError(f"dataset {path.parent}", problems)
    return records


def _same_text(a: Any, b: Any) -> bool:
    if a == b:
        return True
    if isinstance(a, str) and isinstance(b, str):
        return " ".join(a.split()) == " ".join(b.split())
    return False


def _compared(prev: dict[str, Any]) -> set[str]:
    """The fields of an earlier record that came from the export (not from a person's review)."""
    skip = set(_PROPOSED) | set(FACT_VERDICTS) | set(LINK_VERDICTS) | {SENSITIVE_VERDICT}
    if any(k in prev for k in LINK_VERDICTS):
        skip.add("source_ids")
    if any(k in prev for k in FACT_VERDICTS):
        skip.add("required_facts")
    if SENSITIVE_VERDICT in prev:
        skip |= {"sensitive", "sensitive_reason"}
    return skip


def _carry(rec: dict[str, Any], prev: dict[str, Any]) -> tuple[int, int, list[str]]:
    """Copy the verdicts of ``prev`` whose basis is unchanged into ``rec``: (kept, dropped, notes)."""
    kept = dropped = 0
    notes: list[str] = []
    facts = sum(len(prev.get(k) or []) for k in FACT_VERDICTS)
    if facts:
        if "required_facts" in rec:
            dropped += facts
            notes.append("the export's required facts replace the reviewed ones")
        elif _same_text(rec.get("reference"), prev.get("reference")):
            kept += facts
            # the verdicts name the proposals they judged: keep those with them (a re-spaced
            # answer can split a claim differently)
            for k in (*FACT_VERDICTS, "suggested_required_facts"):
                if prev.get(k):
                    rec[k] = list(prev[k])
            if prev.get("required_facts"):
                rec["required_facts"] = list(prev["required_facts"])
        else:
            dropped += facts
            notes.append("answer changed: its fact suggestions are pending again")
    links = sum(len(prev.get(k) or []) for k in LINK_VERDICTS)
    if links:
        if rec.get("source_ids"):
            dropped += links
            notes.append("the export's source links replace the reviewed ones")
        elif _same_text(rec.get("reference"), prev.get("reference")):
            kept += links
            for k in (*LINK_VERDICTS, "suggested_source_ids", "source_ids"):
                if prev.get(k):
                    rec[k] = list(prev[k])
        else:
            dropped += links
            notes.append("answer changed: its source-link suggestions are pending again")
    if SENSITIVE_VERDICT in prev:
        if "sensitive" in rec:
            dropped += 1
            notes.append("the export's sensitive column replaces the reviewed flag")
        elif _same_text(rec.get("input"), prev.get("input")):
            kept += 1
            rec[SENSITIVE_VERDICT] = prev[SENSITIVE_VERDICT]
            for k in ("sensitive", "sensitive_reason", "suggested_sensitive",
                      "suggested_sensitive_reason"):  # fmt: skip
                if k in prev:
                    rec[k] = prev[k]
        else:
            dropped += 1
            notes.append("question changed: its sensitive suggestion is pending again")
    return kept, dropped, notes


def merge(
    previous: list[dict[str, Any]], records: list[dict[str, Any]]
) -> tuple[list[dict[str, Any]], pd.DataFrame, dict[str, int]]:
    """The export's ``records`` with the reviews of ``previous`` kept where still valid.

    Returns:
        The merged records (in the export's order), one row per added / changed / removed item
        (CHANGE_COLUMNS) and the counts: added, changed, removed, unchanged, reviews_kept,
        reviews_dropped (verdicts whose answer or question changed, or whose item was removed).
    """
    old = {r["id"]: r for r in previous}
    rows: list[dict[str, Any]] = []
    counts = dict.fromkeys(
        ("added", "changed", "removed", "unchanged", "reviews_kept", "reviews_dropped"), 0
    )
    merged: list[dict[str, Any]] = []
    for rec in records:
        prev = old.pop(rec["id"], None)
        out = dict(rec)
        if prev is None:
            counts["added"] += 1
            rows.append({"change": "added", "id": rec["id"], "question": rec["input"]})
            merged.append(out)
            continue
        skip = _compared(prev)
        fields = sorted(
            k
            for k in (set(rec) | set(prev)) - skip
            if not _same_text(rec.get(k), prev.get(k)) or (k in rec) != (k in prev)
        )
        kept, dropped, notes = _carry(out, prev)
        counts["reviews_kept"] += kept
        counts["reviews_dropped"] += dropped
        if fields:
            counts["changed"] += 1
            rows.append(
                {
                    "change": "changed",
                    "id": rec["id"],
                    "question": rec["input"],
                    "fields": ", ".join(fields),
                    "note": "; ".join(notes),
                }
            )
        else:
            counts["unchanged"] += 1
        merged.append(out)
    for prev in old.values():
        counts["removed"] += 1
        lost = sum(len(prev.get(k) or []) for k in FACT_VERDICTS) + (SENSITIVE_VERDICT in prev)
        counts["reviews_dropped"] += lost
        rows.append(
            {
                "change": "removed",
                "id": prev["id"],
                "question": prev.get("input", ""),
                "note": f"{lost} reviewed suggestions go with it" if lost else "",
            }
        )
    frame = pd.DataFrame(rows, columns=CHANGE_COLUMNS).fillna("")
    return merged, frame, counts
