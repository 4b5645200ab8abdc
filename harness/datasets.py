"""Load and validate a dataset folder into pandas DataFrames.

A dataset folder holds ``items.jsonl`` (or ``items.csv`` / ``items.parquet``), ``sources/``
(approved source documents, one file each, id = file stem), and optionally ``ratings.csv``,
``pilot_log.csv`` and ``people.csv``. The contract is written down in ``datasets/README.md``.

Every problem is collected (not only the first) and reported with file, line or row, field
and a hint; :class:`~harness.errors.DatasetError` carries them all.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd

from harness import safeyaml
from harness.dataset_guard import (
    LINK_HINT,
    JsonKeyError,
    escape_reason,
    finite_number,
    header_problems,
    strict_json,
)
from harness.errors import DatasetError, Problem
from harness.paths import resolve_path

ITEM_FILES = ("items.jsonl", "items.csv", "items.parquet")
REQUIRED_ITEM_FIELDS = ("id", "task", "input", "reference", "source_ids", "category")
LIST_FIELDS = ("source_ids", "required_facts")
OPTIONAL_TEXT_FIELDS = (
    "staff_first_draft",
    "paraphrase_group",
    "channel",
    "language",
    "sensitive_reason",
)
SOURCE_SUFFIXES = (".md", ".txt")
SOURCE_STATUSES = ("current", "superseded")
RATINGS_REQUIRED = ("draft_id", "item_id", "draft", "rater")
RATINGS_NON_CRITERIA = ("draft_id", "item_id", "draft_origin", "draft", "rater", "comment")
PILOT_REQUIRED = ("entry_id", "phase", "final_text", "review_minutes", "revision_count", "approved")
PILOT_NUMERIC = ("drafting_minutes", "review_minutes", "revision_count", "turnaround_hours")
PILOT_PHASES = ("baseline", "pilot")
PILOT_MAX = 100_000.0  # minutes, hours or revisions: larger is a typo, and sums would overflow
YES_NO = {
    "yes": True,
    "no": False,
    "true": True,
    "false": False,
    "y": True,
    "n": False,
    "1": True,
    "0": False,
}
_SLUG = re.compile(r"^[a-z][a-z0-9_]*$")
_HINTS = {
    "id": "every item needs a unique id",
    "task": "name the workflow, e.g. faq_reply, inbound_summary or newsletter",
    "input": "every item needs the question or request it answers",
    "reference": "every item needs the approved answer",
    "source_ids": 'list the approved sources the answer may use, e.g. ["bus-pass-policy"]',
    "category": "every item needs a category, e.g. transportation",
}


@dataclass
class Dataset:
    """A validated dataset: every public table is a pandas DataFrame."""

    path: Path
    items: pd.DataFrame
    sources: pd.DataFrame
    ratings: pd.DataFrame | None = None
    pilot_log: pd.DataFrame | None = None
    people: pd.DataFrame | None = None
    fingerprint: str = ""
    files: dict[str, str] = field(default_factory=dict)
    directory: pd.DataFrame | None = None  # the district's official contacts (directory.csv)

    @property
    def name(self) -> str:
        return self.path.name

    def item(self, item_id: str) -> dict[str, Any]:
        """One item as a plain dict (lists stay lists)."""
        return {**{str(k): v for k, v in self.items.loc[item_id].items()}, "id": item_id}

    def source_texts(self, source_ids: list[str]) -> list[dict[str, Any]]:
        """The given sources as dicts with id, title and text, in the order given."""
        return [
            {**{str(k): v for k, v in self.sources.loc[s].items()}, "id": s}
            for s in source_ids
            if s in self.sources.index
        ]

    def superseded_for(self, source_ids: list[str]) -> list[str]:
        """Ids of superseded sources whose replacement is one of ``source_ids``."""
        s = self.sources
        return list(s.index[(s["status"] == "superseded") & s["superseded_by"].isin(source_ids)])

    def summary(self) -> dict[str, pd.DataFrame]:
        """Counts an analyst checks first: items by task and category, sources, groups."""
        items = self.items
        by_task_cat = items.groupby(["task", "category"]).size().rename("items").reset_index()
        groups = items["paraphrase_group"].dropna()
        overview = pd.DataFrame(
            [
                ("items", len(items)),
                ("tasks", items["task"].nunique()),
                ("categories", items["category"].nunique()),
                ("sources (current)", int((self.sources["status"] == "current").sum())),
                ("sources (superseded)", int((self.sources["status"] == "superseded").sum())),
                ("paraphrase groups", groups.nunique()),
                ("items in paraphrase groups", len(groups)),
                ("items with staff first draft", int(items["staff_first_draft"].notna().sum())),
                ("items marked sensitive", int(items["sensitive"].sum())),
                ("ratings (rows)", 0 if self.ratings is None else len(self.ratings)),
                ("pilot log entries", 0 if self.pilot_log is None else len(self.pilot_log)),
            ],
            columns=["what", "count"],
        )
        return {"overview": overview, "items_by_task_and_category": by_task_cat}


class _Collector:
    """Collects problems relative to the dataset folder's display path."""

    def __init__(self, root: Path, display_root: str):
        self.root = root
        self.display_root = display_root.rstrip("/")
        self.problems: list[Problem] = []

    def add(
        self,
        path: Path,
        line: int | None,
        fld: str | None,
        message: str,
        hint: str = "",
        kind: str = "line",
    ) -> None:
        try:
            rel = path.relative_to(self.root).as_posix()
        except ValueError:
            rel = path.as_posix()
        self.problems.append(Problem(f"{self.display_root}/{rel}", line, fld, message, hint, kind))


def look_alike(fld: str, present: Any) -> str:
    """A hint naming a present column that looks like the missing field ``fld``, or ""."""
    from harness.importers.mapping import infer_mapping

    cols = [str(c) for c in present if c != fld]
    hit = infer_mapping(cols).get(fld)
    return f"`{hit}` looks like `{fld}`; rename it or run harness import" if hit else ""


def _read_text(path: Path, col: _Collector) -> str | None:
    """Read UTF-8 text, reporting the first line that is not UTF-8."""
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        col.add(
            path,
            line,
            None,
            f"is not UTF-8 text (byte 0x{raw[exc.start]:02x})",
            "save the file as UTF-8 (in Excel: 'CSV UTF-8'; in an editor: encoding UTF-8)",
        )
        return None
    return text.removeprefix("\ufeff")


def _blank(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, float) and pd.isna(value):
        return True
    return isinstance(value, str) and not value.strip()


def _as_list(value: Any) -> Any:
    """CSV cells hold lists as JSON arrays or ';'-separated text; parquet gives arrays."""
    if isinstance(value, str):
        s = value.strip()
        if s.startswith("["):
            try:
                return strict_json(s)
            except ValueError:  # not JSON, a repeated key or NaN: reported as not a list
                return value
        return [p.strip() for p in s.split(";") if p.strip()]
    if hasattr(value, "tolist"):
        return value.tolist()
    return value


def _read_items(path: Path, col: _Collector) -> list[tuple[int, dict[str, Any]]]:
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
                        or not _blank(v)
                    },
                )
            )
        if not rows:
            col.add(path, None, None, "has no items", "add at least one item", kind="row")
        return rows
    text = _read_text(path, col)
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
    for rec in reader:
        clean: dict[str, Any] = {
            str(k): (_as_list(v) if k in LIST_FIELDS else v)
            for k, v in rec.items()
            if k is not None
            and not (isinstance(v, str) and v == "" and k not in REQUIRED_ITEM_FIELDS)
        }
        rows.append((start, clean))
        start = reader.line_num + 1
    return rows


def _check_items(
    path: Path,
    rows: list[tuple[int, dict[str, Any]]],
    source_status: dict[str, str],
    col: _Collector,
) -> None:
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
            elif fld != "source_ids" and _blank(rec[fld]):
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


_FRONT = re.compile(r"\A---\s*\n(.*?)\n---\s*\n", re.S)


def _read_sources(folder: Path, col: _Collector) -> pd.DataFrame:
    records: list[dict[str, Any]] = []
    cols = [
        "id",
        "title",
        "category",
        "status",
        "superseded_by",
        "effective",
        "text",
        "file",
        "titled",  # the title came from front matter (else: the first heading or line)
    ]
    if not folder.is_dir():
        col.add(
            folder,
            None,
            None,
            "is missing",
            "create sources/ with one approved source document per file (id = file stem)",
        )
        return pd.DataFrame(columns=cols).set_index("id")
    why = escape_reason(col.root, folder)
    if why is not None:
        col.add(folder, None, None, why, LINK_HINT)
        return pd.DataFrame(columns=cols).set_index("id")
    files = []
    for p in sorted(folder.iterdir()):
        if p.name.startswith("."):
            continue
        why = escape_reason(col.root, p)
        if why is not None:
            col.add(p, None, None, why, LINK_HINT)
        elif p.is_file():
            files.append(p)
    for p in files:
        if p.suffix not in SOURCE_SUFFIXES:
            col.add(
                p,
                None,
                None,
                f"has suffix '{p.suffix}'",
                "source documents are plain text: use .md or .txt",
            )
            continue
        text = _read_text(p, col)
        if text is None:
            continue
        meta: dict[str, Any] = {}
        body = text
        m = _FRONT.match(text)
        if m:
            try:
                loaded, _ = safeyaml.parse(m.group(1), line_offset=1, max_bytes=64_000)
            except safeyaml.YamlProblem as exc:
                col.add(
                    p,
                    exc.line or 2,
                    None,
                    f"front matter {exc.message}",
                    exc.hint or "write 'key: value' lines between the two '---' lines",
                )
                loaded = {}
            if not isinstance(loaded, dict):
                col.add(p, 2, None, "front matter is not a mapping", "write 'key: value' lines")
                loaded = {}
            meta = loaded
            body = text[m.end() :]
        if not body.strip():
            col.add(p, None, None, "is empty", "a source document needs its approved text")
        status = str(meta.get("status", "current"))
        if status not in SOURCE_STATUSES:
            col.add(p, 2, "status", f"'{status}' is not a status", "use current or superseded")
        records.append(
            {
                "id": p.stem,
                "title": str(meta.get("title") or _first_line_title(body)),
                "category": meta.get("category"),
                "status": status,
                "superseded_by": meta.get("superseded_by"),
                "effective": str(meta["effective"]) if meta.get("effective") else None,
                "text": body.strip(),
                "file": p.name,
                "titled": bool(str(meta.get("title") or "").strip()),
            }
        )
    ids = Counter(r["id"] for r in records)
    for sid, n in ids.items():
        if n > 1:
            col.add(
                folder,
                None,
                None,
                f"has {n} files with the id '{sid}'",
                "keep one file per source id (the id is the file name without suffix)",
            )
    known = set(ids)
    for r in records:
        if r["status"] == "superseded":
            nxt = r["superseded_by"]
            if not nxt:
                col.add(
                    folder / r["file"],
                    2,
                    "superseded_by",
                    "is missing",
                    "name the source that replaced this one",
                )
            elif nxt not in known:
                col.add(
                    folder / r["file"],
                    2,
                    "superseded_by",
                    f"names '{nxt}', which does not exist",
                    "fix the id",
                )
    # an empty sources/ is a warning (harness.dataset_checks), not an error: a fresh import
    # of a question,answer export is a valid dataset before its policy files are added
    frame = pd.DataFrame(records, columns=cols)
    return frame.drop_duplicates("id").set_index("id")


def _read_csv_rows(
    path: Path, col: _Collector, required: tuple[str, ...], what: str
) -> tuple[list[str], list[tuple[int, dict[str, str]]]] | None:
    text = _read_text(path, col)
    if text is None:
        return None
    if not text.strip():
        col.add(path, None, None, "is empty", f"add a header row and {what}, or remove the file")
        return None
    reader = csv.DictReader(io.StringIO(text))
    header = [h.strip() for h in (reader.fieldnames or [])]
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
            (start, {k.strip(): (v or "").strip() for k, v in rec.items() if k is not None})
        )
        start = reader.line_num + 1
    return header, rows


def _read_ratings(path: Path, item_ids: set[str], col: _Collector) -> pd.DataFrame | None:
    got = _read_csv_rows(path, col, RATINGS_REQUIRED, "one row per rated draft")
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


def _read_pilot_log(path: Path, item_ids: set[str], col: _Collector) -> pd.DataFrame | None:
    got = _read_csv_rows(path, col, PILOT_REQUIRED, "one row per pilot entry")
    if got is None:
        return None
    _, rows = got
    out = []
    for line, rec in rows:
        row: dict[str, Any] = dict(rec)
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


def read_pilot_log(path: str | Path, item_ids: set[str]) -> pd.DataFrame | None:
    """A pilot log CSV on its own (outside a dataset folder), validated like a dataset's.

    Raises:
        DatasetError: every problem with file, line and field.
    """
    p = Path(path)
    col = _Collector(p.parent, str(p.parent))
    frame = _read_pilot_log(p, item_ids, col)
    if col.problems:
        raise DatasetError(f"pilot log {path}", col.problems)
    return frame


def _fingerprint(root: Path, files: list[Path]) -> tuple[str, dict[str, str]]:
    digests = {}
    for p in sorted(files):
        digests[p.relative_to(root).as_posix()] = hashlib.sha256(p.read_bytes()).hexdigest()
    total = hashlib.sha256(json.dumps(digests, sort_keys=True).encode()).hexdigest()
    return total, digests


def load_dataset(path: str | Path) -> Dataset:
    """Load and validate a dataset folder.

    Args:
        path: the dataset folder (holding items.jsonl/.csv/.parquet and sources/).

    Returns:
        The validated :class:`Dataset`; ``items`` is indexed by item id.

    Raises:
        DatasetError: listing every problem found, each with file, line or row, field and a hint.
    """
    display = str(path)
    root = resolve_path(path)  # from a notebook in notebooks/ too
    col = _Collector(root, display)
    if not root.is_dir():
        raise DatasetError(
            f"dataset {display}",
            [
                Problem(
                    display,
                    None,
                    None,
                    "is not a folder",
                    "give the path of a dataset folder (holding items.jsonl and sources/)",
                )
            ],
        )
    optional = ("ratings.csv", "pilot_log.csv", "people.csv", "directory.csv")
    confined = {}
    for f in ITEM_FILES + optional:
        why = escape_reason(root, root / f)
        confined[f] = why is None
        if why is not None:
            col.add(root / f, None, None, why, LINK_HINT)
    present = [root / f for f in ITEM_FILES if confined[f] and (root / f).is_file()]
    if not present:
        col.add(
            root / "items.jsonl",
            None,
            None,
            "is missing",
            "a dataset folder needs items.jsonl (or items.csv / items.parquet)",
        )
    elif len(present) > 1:
        col.add(
            root,
            None,
            None,
            f"holds {len(present)} item files ({', '.join(p.name for p in present)})",
            "keep exactly one",
        )
    sources = _read_sources(root / "sources", col)
    rows = _read_items(present[0], col) if len(present) == 1 else []
    if present and len(present) == 1:
        _check_items(present[0], rows, {str(k): str(v) for k, v in sources["status"].items()}, col)
    item_ids = {r["id"] for _, r in rows if isinstance(r.get("id"), str)}
    ratings = pilot = people = None
    if confined["ratings.csv"] and (root / "ratings.csv").is_file():
        ratings = _read_ratings(root / "ratings.csv", item_ids, col)
    if confined["pilot_log.csv"] and (root / "pilot_log.csv").is_file():
        pilot = _read_pilot_log(root / "pilot_log.csv", item_ids, col)
    if confined["people.csv"] and (root / "people.csv").is_file():
        got = _read_csv_rows(root / "people.csv", col, ("name",), "one row per person")
        if got is not None:
            people = pd.DataFrame([r for _, r in got[1]])
    directory = None
    if confined["directory.csv"] and (root / "directory.csv").is_file():
        directory = _read_directory(root / "directory.csv", col)
    if col.problems:
        raise DatasetError(f"dataset {display}", col.problems)
    items = _items_frame([r for _, r in rows])
    files = [p for p in present] + [root / "sources" / f for f in sources["file"]]
    files += [root / f for f in optional if (root / f).is_file()]
    fp, digests = _fingerprint(root, files)
    return Dataset(root, items, sources, ratings, pilot, people, fp, digests, directory=directory)


def _first_line_title(body: str) -> str:
    """A source without a front-matter title: its first heading, else its first line (cut at
    a sentence end or 80 characters), never the file name (a model copies ids into drafts)."""
    lines = [ln.strip() for ln in body.strip().splitlines() if ln.strip()]
    for ln in lines:
        if ln.startswith("#"):
            return ln.lstrip("#").strip()
    first = lines[0] if lines else ""
    cut = re.split(r"(?<=[.!?])\s", first, maxsplit=1)[0]
    return cut[:80].rstrip() if len(cut) > 80 else cut


DIRECTORY_KINDS = ("phone", "email", "url", "office", "name")


def _read_directory(path: Path, col: _Collector) -> pd.DataFrame | None:
    """The district directory: official phone numbers, emails, web addresses, offices and
    officials' names. What it lists supports a claim in any draft and is never personal data."""
    got = _read_csv_rows(path, col, ("kind", "value"), "one row per official contact")
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


def _items_frame(records: list[dict[str, Any]]) -> pd.DataFrame:
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
        if not _blank(v)
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
        frame[fld] = [None if _blank(v) else v for v in frame[fld]]
    return frame.set_index("id", drop=False).rename_axis("item_id")


def items_for_tasks(dataset: Dataset, tasks: list[str] | None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split items into those the tasks cover and those they do not (reported, never dropped)."""
    if not tasks:
        return dataset.items, dataset.items.iloc[0:0]
    mask = dataset.items["task"].isin(tasks)
    return dataset.items[mask], dataset.items[~mask]
