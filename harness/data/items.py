"""The items file of a dataset (items.jsonl, items.csv or items.parquet): read and check.

Every problem goes to the :class:`~harness.data.files.Collector` with file, line or row,
field and a hint.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections import defaultdict
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd

from harness.data.files import YES_NO, Collector, blank, read_text
from harness.data.guard import (
    MAX_JSON_DEPTH,
    JsonKeyError,
    csv_error,
    header_problems,
    json_depth_line,
    strict_json,
)
from harness.metrics import RECEIVED_AT_HINT, received_time

REQUIRED_ITEM_FIELDS = ("id", "task", "input", "reference", "source_ids", "category")
LIST_FIELDS = ("source_ids", "required_facts")
OPTIONAL_TEXT_FIELDS = (
    "staff_first_draft",
    "paraphrase_group",
    "channel",
    "language",
    "sensitive_reason",
)
_SLUG = re.compile(r"^[a-z][a-z0-9_]*$")
_HINTS = {
    "id": "every item needs a unique id",
    "task": "name the workflow, e.g. faq_reply, inbound_summary or newsletter",
    "input": "every item needs the question or request it answers",
    "reference": "every item needs the approved answer",
    "source_ids": 'list the approved sources the answer may use, e.g. ["bus-pass-policy"]',
    "category": "every item needs a category, e.g. transportation",
}


def look_alike(fld: str, present: Any) -> str:
    """A hint naming a present column that looks like the missing field ``fld``, or ""."""
    from harness.data.mapping import infer_mapping

    cols = [str(c) for c in present if c != fld]
    hit = infer_mapping(cols).get(fld)
    return f"`{hit}` looks like `{fld}`; rename it or run harness import" if hit else ""


def _as_list(value: Any) -> Any:
    """CSV cells hold lists as JSON arrays or ';'-separated text; parquet gives arrays."""
    if isinstance(value, str):
        s = value.strip()
        if s.startswith("["):
            if json_depth_line(s) is not None:  # reported as not a list of text
                return value
            try:
                return strict_json(s)
            except ValueError:  # not JSON, a repeated key or NaN: reported as not a list
                return value
        return [p.strip() for p in s.split(";") if p.strip()]
    if hasattr(value, "tolist"):
        return value.tolist()
    return value


def read_items(path: Path, col: Collector) -> list[tuple[int, dict[str, Any]]]:
    """Rows of the items file as (line or row number, record)."""
    rows: list[tuple[int, dict[str, Any]]] = []
    if path.suffix == ".parquet":
        try:
            frame = pd.read_parquet(path)
        except Exception as exc:  # pyarrow raises many kinds
            col.add(
                path,
                None,
                None,
                f"cannot be read as Parquet ({exc})",
                "write it with pandas.DataFrame.to_parquet",
            )
            return rows
        for i, rec in enumerate(frame.to_dict(orient="records"), start=1):
            rows.append(
                (
                    i,
                    {
                        str(k): _as_list(v) if k in LIST_FIELDS else v
                        for k, v in rec.items()
                        if k in REQUIRED_ITEM_FIELDS
                        or hasattr(v, "tolist")
                        or isinstance(v, list)
                        or not blank(v)
                    },
                )
            )
        if not rows:
            col.add(path, None, None, "has no items", "add at least one item", kind="row")
        return rows
    text = read_text(path, col)
    if text is None:
        return rows
    if not text.strip():
        col.add(
            path,
            None,
            None,
            "is empty",
            "add one item per line (JSON object)"
            if path.suffix == ".jsonl"
            else "add a header row and one item per row",
        )
        return rows
    if path.suffix == ".jsonl":
        for lineno, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            if json_depth_line(line) is not None:
                col.add(
                    path,
                    lineno,
                    None,
                    f"nests arrays or objects more than {MAX_JSON_DEPTH} levels deep",
                    "each item is one object of text fields and lists of text",
                )
                continue
            try:
                rec = strict_json(line)
            except JsonKeyError as exc:
                col.add(path, lineno, exc.field or None, exc.message, exc.hint)
                continue
            except json.JSONDecodeError as exc:
                col.add(
                    path,
                    lineno,
                    None,
                    f"is not valid JSON ({exc.msg} at column {exc.colno})",
                    "each line must be one complete JSON object; check quotes and commas",
                )
                continue
            if not isinstance(rec, dict):
                col.add(
                    path,
                    lineno,
                    None,
                    "is not a JSON object",
                    'each line must look like {"id": "...", "task": "...", ...}',
                )
                continue
            rows.append((lineno, {str(k): v for k, v in rec.items()}))
        return rows
    reader = csv.DictReader(io.StringIO(text))
    try:
        reader.fieldnames  # noqa: B018 - reads the header row, which may be what fails
    except csv.Error as exc:
        col.add(path, 1, None, *csv_error(exc))
        return rows
    header = header_problems(text.split("\n", 1)[0], reader.fieldnames or [], REQUIRED_ITEM_FIELDS)
    for fld, msg, hint in header:
        col.add(path, 1, fld, msg, hint)
    if header:
        return rows
    missing = [f for f in REQUIRED_ITEM_FIELDS if f not in (reader.fieldnames or [])]
    if missing:
        alike = [h for h in (look_alike(f, reader.fieldnames or []) for f in missing) if h]
        col.add(
            path,
            1,
            None,
            f"header lacks column(s) {', '.join(missing)}",
            "; ".join(
                alike or [f"the header row must name at least {', '.join(REQUIRED_ITEM_FIELDS)}"]
            ),
        )
        return rows
    start = 2
    try:
        for rec in reader:
            clean: dict[str, Any] = {
                str(k): (_as_list(v) if k in LIST_FIELDS else v)
                for k, v in rec.items()
                if k is not None
                and not (isinstance(v, str) and v == "" and k not in REQUIRED_ITEM_FIELDS)
            }
            rows.append((start, clean))
            start = reader.line_num + 1
    except csv.Error as exc:
        col.add(path, start, None, *csv_error(exc))
    return rows


def check_items(
    path: Path,
    rows: list[tuple[int, dict[str, Any]]],
    source_status: dict[str, str],
    col: Collector,
) -> None:
    """Check every item row against the contract and the sources' status."""
    kind = "row" if path.suffix == ".parquet" else "line"
    seen: dict[str, int] = {}
    groups: dict[str, list[int]] = defaultdict(list)
    sources_dir = f"{col.display_root}/sources/"
    for line, rec in rows:

        def bad(fld: str | None, msg: str, hint: str = "", _line: int = line) -> None:
            col.add(path, _line, fld, msg, hint, kind)

        for fld in REQUIRED_ITEM_FIELDS:
            if fld not in rec:
                bad(fld, "is missing", look_alike(fld, rec) or _HINTS[fld])
            elif fld != "source_ids" and blank(rec[fld]):
                bad(fld, "is empty", _HINTS[fld])
            elif fld != "source_ids" and not isinstance(rec[fld], str):
                bad(fld, f"must be text, not {type(rec[fld]).__name__}", _HINTS[fld])
        item_id = rec.get("id")
        if isinstance(item_id, str) and item_id.strip():
            if item_id in seen:
                bad(
                    "id",
                    f"'{item_id}' is a duplicate (first used on {kind} {seen[item_id]})",
                    "give every item its own id",
                )
            else:
                seen[item_id] = line
        task = rec.get("task")
        if isinstance(task, str) and task.strip() and not _SLUG.match(task):
            bad(
                "task",
                f"'{task}' is not a task name",
                "use lower_case_with_underscores, e.g. faq_reply",
            )
        for fld in LIST_FIELDS:
            if fld not in rec or rec[fld] is None:
                continue
            value = rec[fld]
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                bad(fld, "must be a list of text", 'write it as ["a", "b"] (or a;b in CSV)')
            elif fld == "required_facts" and any(not v.strip() for v in value):
                bad(fld, "holds an empty fact", "remove the empty string")
        sids = rec.get("source_ids")
        for sid in sids if isinstance(sids, list) else []:
            if not isinstance(sid, str):
                continue
            status = source_status.get(sid)
            if status is None:
                bad(
                    "source_ids",
                    f"names source '{sid}', which does not exist",
                    f"add {sources_dir}{sid}.md or fix the id",
                )
            elif status == "superseded":
                bad(
                    "source_ids",
                    f"names source '{sid}', which is superseded",
                    "cite the current source; superseded ones stay only to catch outdated answers",
                )
        for fld in OPTIONAL_TEXT_FIELDS:
            if fld in rec and rec[fld] is not None and not isinstance(rec[fld], str):
                bad(fld, f"must be text, not {type(rec[fld]).__name__}", "")
            elif fld in rec and isinstance(rec[fld], str) and not rec[fld].strip():
                bad(fld, "is empty", "leave the field out instead of giving an empty value")
        if (
            "sensitive" in rec
            and not isinstance(rec["sensitive"], bool)
            and str(rec["sensitive"]).lower() not in YES_NO
        ):
            bad("sensitive", f"must be true or false, not {rec['sensitive']!r}", "")
        if rec.get("date") not in (None, ""):
            try:
                date.fromisoformat(str(rec["date"])[:10])
            except ValueError:
                bad("date", f"'{rec['date']}' is not a date", "write dates as YYYY-MM-DD")
        if rec.get("received_at") not in (None, ""):
            when = received_time(rec["received_at"])
            if isinstance(when, str):
                bad("received_at", when, RECEIVED_AT_HINT)
        pg = rec.get("paraphrase_group")
        if isinstance(pg, str) and pg.strip():
            groups[pg].append(line)
    for pg, lines in groups.items():
        if len(lines) == 1:
            col.add(
                path,
                lines[0],
                "paraphrase_group",
                f"'{pg}' has only this item",
                "a paraphrase group needs 2 or more items that ask the same thing; "
                "add the others or remove the field",
                kind,
            )


def items_frame(records: list[dict[str, Any]]) -> pd.DataFrame:
    """The checked item records as a DataFrame indexed by item id."""
    frame = pd.DataFrame.from_records(records)
    for fld in (
        "paraphrase_group",
        "staff_first_draft",
        "required_facts",
        "date",
        "channel",
        "language",
        "sensitive_reason",
    ):
        if fld not in frame:
            frame[fld] = None
    frame["sensitive"] = [
        bool(v)
        if isinstance(v, bool)
        else YES_NO.get(str(v).lower(), False)
        if not blank(v)
        else False
        for v in frame.get("sensitive", pd.Series([None] * len(frame)))
    ]
    frame["required_facts"] = [v if isinstance(v, list) else [] for v in frame["required_facts"]]
    frame["source_ids"] = [v if isinstance(v, list) else [] for v in frame["source_ids"]]
    for fld in (
        "staff_first_draft",
        "paraphrase_group",
        "date",
        "channel",
        "language",
        "sensitive_reason",
    ):
        frame[fld] = [None if blank(v) else v for v in frame[fld]]
    return frame.set_index("id", drop=False).rename_axis("item_id")
