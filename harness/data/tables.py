"""A dataset's optional CSV tables: ratings, pilot log, people and the district directory."""

from __future__ import annotations

import csv
import io
from collections.abc import Collection, Mapping
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd

from harness.data.files import YES_NO, Collector, read_text
from harness.data.guard import csv_error, finite_number, header_problems
from harness.errors import DatasetError
from harness.textsafe import from_spreadsheet

RATINGS_REQUIRED = ("draft_id", "item_id", "draft", "rater")
RATINGS_NON_CRITERIA = ("draft_id", "item_id", "draft_origin", "draft", "rater", "comment")
PILOT_REQUIRED = ("entry_id", "phase", "final_text", "review_minutes", "revision_count", "approved")
PILOT_NUMERIC = ("drafting_minutes", "review_minutes", "revision_count", "turnaround_hours")
PILOT_PHASES = ("baseline", "pilot")
PILOT_DEFAULT_TASK = "faq_reply"  # a pilot log without a task: what districts log today, replies
PILOT_MAX = 100_000.0  # minutes, hours or revisions: larger is a typo, and sums would overflow
DIRECTORY_KINDS = ("phone", "email", "url", "office", "name")


def read_csv_rows(
    path: Path, col: Collector, required: tuple[str, ...], what: str
) -> tuple[list[str], list[tuple[int, dict[str, str]]]] | None:
    """A CSV file's header and (line, row) pairs, or None when it cannot be read."""
    text = read_text(path, col)
    if text is None:
        return None
    if not text.strip():
        col.add(path, None, None, "is empty", f"add a header row and {what}, or remove the file")
        return None
    reader = csv.DictReader(io.StringIO(text))
    try:
        header = [h.strip() for h in (reader.fieldnames or [])]
    except csv.Error as exc:
        col.add(path, 1, None, *csv_error(exc))
        return None
    refused = header_problems(text.split("\n", 1)[0], reader.fieldnames or [], required)
    for fld, msg, hint in refused:
        col.add(path, 1, fld, msg, hint)
    if refused:
        return None
    missing = [c for c in required if c not in header]
    if missing:
        col.add(
            path,
            1,
            None,
            f"header lacks column(s) {', '.join(missing)}",
            f"the header row must name {', '.join(required)}",
        )
        return None
    rows = []
    start = 2
    try:
        for rec in reader:
            if None in rec:
                col.add(
                    path,
                    start,
                    None,
                    "has more cells than the header",
                    "quote cells that contain commas",
                )
            rows.append(
                (
                    start,
                    {
                        k.strip(): from_spreadsheet((v or "").strip())
                        for k, v in rec.items()
                        if k is not None
                    },
                )
            )
            start = reader.line_num + 1
    except csv.Error as exc:
        col.add(path, start, None, *csv_error(exc))
        return None
    return header, rows


def read_ratings(path: Path, item_ids: set[str], col: Collector) -> pd.DataFrame | None:
    """The ratings table, checked: criterion scores 1-5, known item ids."""
    got = read_csv_rows(path, col, RATINGS_REQUIRED, "one row per rated draft")
    if got is None:
        return None
    header, rows = got
    criteria = [h for h in header if h not in RATINGS_NON_CRITERIA]
    if not criteria:
        col.add(
            path,
            1,
            None,
            "has no criterion columns",
            "add one column per rubric criterion (e.g. accuracy, completeness, tone), scores 1-5",
        )
        return None
    out = []
    for line, rec in rows:
        for fld in RATINGS_REQUIRED:
            if not rec.get(fld):
                col.add(path, line, fld, "is empty", "every rating row needs it")
        if rec.get("item_id") and rec["item_id"] not in item_ids:
            col.add(
                path,
                line,
                "item_id",
                f"names item '{rec['item_id']}', which does not exist",
                "use an id from the items file",
            )
        row: dict[str, Any] = dict(rec)
        for c in criteria:
            v = rec.get(c, "")
            if v == "":
                row[c] = None
                continue
            try:
                score = float(v)
            except ValueError:
                score = -1.0
            if score not in (1, 2, 3, 4, 5):
                col.add(path, line, c, f"'{v}' is not a score", "scores are whole numbers 1-5")
                row[c] = None
            else:
                row[c] = int(score)
        out.append(row)
    frame = pd.DataFrame(out)
    for c in criteria:
        frame[c] = pd.to_numeric(frame[c], errors="coerce").astype("Int64")
    frame.attrs["criteria"] = criteria
    return frame


def _item_tasks(items: Collection[str]) -> dict[str, str]:
    """Item id -> task ("" when only the ids are known)."""
    if isinstance(items, Mapping):
        return {str(k): str(v) for k, v in items.items()}
    return {str(i): "" for i in items}


def entry_task(
    path: Path, line: int, rec: dict[str, str], items: dict[str, str], col: Collector
) -> str:
    """The workflow of one pilot log entry, decided here only: its ``task`` cell (one of the
    dataset's item tasks, or faq_reply), else the task of the item it names, else faq_reply."""
    known = sorted({t for t in items.values() if t} | {PILOT_DEFAULT_TASK})
    own, item = rec.get("task", ""), items.get(rec.get("item_id", ""), "")
    if own and own not in known:
        col.add(
            path,
            line,
            "task",
            f"'{own}' is not a task of this dataset",
            f"use one of {', '.join(known)}, or leave it empty "
            f"(the item's task, else {PILOT_DEFAULT_TASK})",
        )
    elif own and item and own != item:
        col.add(
            path,
            line,
            "task",
            f"is '{own}' but item '{rec['item_id']}' is a {item} item",
            f"write {item} or leave it empty",
        )
    return own or item or PILOT_DEFAULT_TASK


def pilot_log_frame(path: Path, items: Collection[str], col: Collector) -> pd.DataFrame | None:
    """The pilot log table, checked: phases, numbers, yes/no, item ids, dates and tasks.

    Args:
        items: item id -> task (a mapping: the dataset's items); a bare collection of ids
            gives no task, so its rows take their ``task`` cell or faq_reply.

    Every row gets a ``task`` (:func:`entry_task`).
    """
    got = read_csv_rows(path, col, PILOT_REQUIRED, "one row per pilot entry")
    if got is None:
        return None
    _, rows = got
    tasks = _item_tasks(items)
    item_ids = set(tasks)
    out = []
    for line, rec in rows:
        row: dict[str, Any] = dict(rec)
        row["task"] = entry_task(path, line, rec, tasks, col)
        if not rec.get("entry_id"):
            col.add(path, line, "entry_id", "is empty", "every entry needs an id")
        if rec.get("phase") not in PILOT_PHASES:
            col.add(
                path,
                line,
                "phase",
                f"'{rec.get('phase')}' is not a phase",
                "use baseline (before the pilot) or pilot",
            )
        if rec.get("phase") == "pilot" and not rec.get("ai_draft"):
            col.add(path, line, "ai_draft", "is empty", "a pilot entry records the AI draft")
        if not rec.get("final_text"):
            col.add(path, line, "final_text", "is empty", "record the staff-approved final text")
        for fld in PILOT_NUMERIC:
            v = rec.get(fld, "")
            if v == "":
                row[fld] = None
                continue
            num = finite_number(v, 0.0, PILOT_MAX)
            if num is None:
                col.add(
                    path,
                    line,
                    fld,
                    f"'{v}' is not a number from 0 to {PILOT_MAX:g}",
                    "write a finite number >= 0 (nan, inf and 1e308 are not numbers of minutes)",
                )
            row[fld] = num
        appr = rec.get("approved", "").lower()
        if appr not in YES_NO:
            col.add(path, line, "approved", f"'{rec.get('approved')}' is not yes or no", "")
            row["approved"] = None
        else:
            row["approved"] = YES_NO[appr]
        if rec.get("item_id") and rec["item_id"] not in item_ids:
            col.add(
                path,
                line,
                "item_id",
                f"names item '{rec['item_id']}', which does not exist",
                "use an id from the items file or leave it empty",
            )
        if rec.get("date"):
            try:
                date.fromisoformat(rec["date"])
            except ValueError:
                col.add(path, line, "date", f"'{rec['date']}' is not a date", "use YYYY-MM-DD")
        out.append(row)
    frame = pd.DataFrame(out)
    for fld in PILOT_NUMERIC:
        if fld in frame:
            frame[fld] = pd.to_numeric(frame[fld], errors="coerce")
    return frame


def read_pilot_log(path: str | Path, items: Collection[str]) -> pd.DataFrame | None:
    """A pilot log CSV on its own (outside a dataset folder), validated like a dataset's
    (``items``: the dataset's item id -> task, as :func:`pilot_log_frame` takes them).

    Raises:
        DatasetError: every problem with file, line and field.
    """
    p = Path(path)
    col = Collector(p.parent, str(p.parent))
    frame = pilot_log_frame(p, items, col)
    if col.problems:
        raise DatasetError(f"pilot log {path}", col.problems)
    return frame


def read_directory(path: Path, col: Collector) -> pd.DataFrame | None:
    """The district directory: official phone numbers, emails, web addresses, offices and
    officials' names. What it lists supports a claim in any draft and is never personal data."""
    got = read_csv_rows(path, col, ("kind", "value"), "one row per official contact")
    if got is None:
        return None
    rows = []
    for line, r in got[1]:
        kind, value = (r.get("kind") or "").strip().lower(), (r.get("value") or "").strip()
        if kind not in DIRECTORY_KINDS:
            col.add(path, line, "kind", f"is '{kind}'", f"use one of {', '.join(DIRECTORY_KINDS)}")
        elif not value:
            col.add(path, line, "value", "is empty", "give the number, address or name")
        else:
            rows.append({"kind": kind, "value": value, "label": (r.get("label") or "").strip()})
    return pd.DataFrame(rows, columns=["kind", "value", "label"])
