"""Exports of the stored reviews in the dataset contract (``datasets/README.md``).

- ``ratings.csv``: one row per reviewer x rated draft (approved or rejected, at least one
  criterion rated); a draft reviewed twice has two rows with the same ``draft_id``, so
  ``harness calibrate`` reads the pair as its human-human ceiling. ``draft_origin`` names the
  candidate (``approved_answer`` for the hidden control).
- ``pilot_log.csv``: ``baseline`` rows from replies written from scratch (their active minutes
  are ``drafting_minutes``, ``review_minutes`` 0) and ``pilot`` rows from reviewed AI drafts
  (active minutes as ``review_minutes``; approved yes/no). With approvers (the approval path,
  :mod:`harness.review.approval`), ``revision_count`` is the times the reply was sent back
  before its approval, the drafter's minutes on revisions are added to the reply's minutes,
  ``turnaround_hours`` is :data:`harness.metrics.TURNAROUND` (from the message's
  ``received_at`` to the approval) for live pilot messages only,
  and ``approver`` / ``approved_at`` say who approved it when; a reply not approved yet (or a
  station without approvers) leaves them empty; ``task`` is the reviewed item's workflow. Extra
  columns ``candidate``, ``draft_id``, ``active_seconds``, ``approver`` and ``approved_at`` are
  kept as metadata.
- ``corrected_replies.csv``: every approved or rejected draft with the text staff would send.

Skipped tasks are in none of them. The files are written together, each atomically. Text
cells that a spreadsheet would run as a formula (``=``, ``+``, ``-``, ``@``...) are written
with a leading apostrophe (:func:`harness.textsafe.spreadsheet`); the harness's CSV reader
restores them exactly.

An export never replaces a file it did not write: the station records a hash of every file it
writes; a file of the same name that it did not write (a dataset's own ``ratings.csv``, or one
edited since) makes the export refuse, naming the files, unless ``merge=True``: then the
station's rows are appended to the file's (rows it already holds are not added again), after a
copy of the file is kept beside it as ``NAME.csv.bak-<time>``.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Iterator, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pandas as pd

from harness.errors import ReviewError
from harness.review import db
from harness.review.queue import CONTROL
from harness.store.runs import load_run
from harness.textsafe import spreadsheet

RATINGS_BASE = ["draft_id", "item_id", "draft_origin", "draft", "rater"]
PILOT_COLUMNS = [
    "entry_id",
    "phase",
    "date",
    "staff_member",
    "category",
    "task",
    "item_id",
    "question",
    "ai_draft",
    "final_text",
    "drafting_minutes",
    "review_minutes",
    "revision_count",
    "approved",
    "turnaround_hours",
    "candidate",
    "draft_id",
    "active_seconds",
    "approver",
    "approved_at",
]
CORRECTED_COLUMNS = [
    "draft_id",
    "item_id",
    "candidate",
    "reviewer",
    "decision",
    "changed",
    "draft",
    "final_text",
    "flags",
    "placeholders",
    "comment",
    "active_seconds",
    "submitted_at",
]
FILES = ("ratings.csv", "pilot_log.csv", "corrected_replies.csv")
# the columns that name one row: a merge adds a station row only when no row has its key
ROW_KEYS = {
    "ratings.csv": ["draft_id", "rater"],
    "pilot_log.csv": ["entry_id"],
    "corrected_replies.csv": ["draft_id", "reviewer"],
}
WRITTEN_KEY = "exports"  # review.sqlite meta: path -> sha256 of each file the station wrote


def _rows(frame: pd.DataFrame) -> Iterator[Any]:
    """Rows as named tuples (typed loosely: the columns are the review table's)."""
    return frame.itertuples(index=False)


def _judged(reviews: pd.DataFrame) -> pd.DataFrame:
    if reviews.empty:
        return reviews
    return reviews[
        (reviews["mode"] == "drafts") & reviews["decision"].isin(["approved", "rejected"])
    ]


def ratings_frame(reviews: pd.DataFrame, criteria: Sequence[str]) -> pd.DataFrame:
    """Rows of ``ratings.csv`` (criteria as whole numbers 1-5, empty where not rated)."""
    cols = [*RATINGS_BASE, *criteria, "comment"]
    j = _judged(reviews)
    rows = []
    for r in _rows(j):
        rated = {c: r.ratings.get(c) for c in criteria}
        if all(v is None for v in rated.values()):
            continue
        rows.append(
            {
                "draft_id": r.draft_id,
                "item_id": r.item_id,
                "draft_origin": r.candidate,
                "draft": r.draft,
                "rater": r.reviewer,
                **rated,
                "comment": r.comment,
            }
        )
    frame = pd.DataFrame(rows, columns=cols)
    for c in criteria:
        frame[c] = pd.to_numeric(frame[c]).astype("Int64")
    return frame


def pilot_log_frame(
    reviews: pd.DataFrame,
    questions: dict[str, str],
    pilot_candidates: Sequence[str] | None = None,
    path: pd.DataFrame | None = None,
    tasks: dict[str, str] | None = None,
) -> pd.DataFrame:
    """Rows of ``pilot_log.csv``: baseline from from-scratch replies, pilot from AI drafts.

    Args:
        reviews: :func:`harness.review.db.reviews_frame`.
        questions: item id -> the family's message.
        pilot_candidates: candidates whose drafts count as the pilot's AI drafts (default: every
            candidate but the approved-answer control).
        path: the approval path per reply (:func:`harness.review.approval.paths`), if any.
        tasks: item id -> task: each row's ``task`` is its item's (empty when not given: the
            loader then takes the item's task, :func:`harness.data.tables.entry_task`).
    """
    rows: list[dict[str, Any]] = []
    if reviews.empty:
        return pd.DataFrame(columns=PILOT_COLUMNS)
    steps = path.set_index("task_id") if path is not None and len(path) else None
    for r in _rows(reviews):
        p = steps.loc[int(r.task_id)] if steps is not None and r.task_id in steps.index else None
        extra = float(p["revision_seconds"]) if p is not None else 0.0
        minutes = round((float(r.active_seconds) + extra) / 60.0, 4)
        base = {
            "entry_id": f"rv-{int(r.task_id)}",
            "date": str(r.submitted_at)[:10],
            "staff_member": r.reviewer,
            "category": r.category if isinstance(r.category, str) else "",
            "task": (tasks or {}).get(r.item_id, ""),
            "item_id": r.item_id,
            "question": questions.get(r.item_id, ""),
            "revision_count": p["revisions"] if p is not None else None,
            "turnaround_hours": p["turnaround_hours"] if p is not None else None,
            "active_seconds": round(float(r.active_seconds) + extra, 3),
            "approver": p["approver"] if p is not None else "",
            "approved_at": p["approved_at"] if p is not None else "",
        }
        if r.mode == "scratch" and r.decision == "written":
            rows.append(
                base
                | {
                    "phase": "baseline",
                    "ai_draft": "",
                    "final_text": r.final_text,
                    "drafting_minutes": minutes,
                    "review_minutes": 0.0,
                    "approved": "yes",
                    "candidate": "",
                    "draft_id": "",
                }
            )
        elif r.mode == "drafts" and r.decision in ("approved", "rejected"):
            if r.candidate == CONTROL or (
                pilot_candidates is not None and r.candidate not in pilot_candidates
            ):
                continue
            rows.append(
                base
                | {
                    "phase": "pilot",
                    "ai_draft": r.draft,
                    "final_text": r.final_text or r.draft,
                    "drafting_minutes": None,
                    "review_minutes": minutes,
                    "approved": "yes" if r.decision == "approved" else "no",
                    "candidate": r.candidate,
                    "draft_id": r.draft_id,
                }
            )
    frame = pd.DataFrame(rows, columns=PILOT_COLUMNS)
    for c in (
        "drafting_minutes",
        "review_minutes",
        "revision_count",
        "turnaround_hours",
        "active_seconds",
    ):
        frame[c] = pd.to_numeric(frame[c], errors="coerce").astype("float64")
    return frame


def corrected_frame(reviews: pd.DataFrame) -> pd.DataFrame:
    """Rows of ``corrected_replies.csv``: each judged draft and the reply staff would send."""
    j = _judged(reviews)
    rows = [
        {
            "draft_id": r.draft_id,
            "item_id": r.item_id,
            "candidate": r.candidate,
            "reviewer": r.reviewer,
            "decision": r.decision,
            "changed": int((r.final_text or r.draft).strip() != str(r.draft).strip()),
            "draft": r.draft,
            "final_text": r.final_text or r.draft,
            "flags": ";".join(r.flags),
            "placeholders": ";".join(getattr(r, "placeholders", None) or []),
            "comment": r.comment,
            "active_seconds": float(r.active_seconds),
            "submitted_at": r.submitted_at,
        }
        for r in _rows(j)
    ]
    return pd.DataFrame(rows, columns=CORRECTED_COLUMNS)


def _neutral(frame: pd.DataFrame) -> pd.DataFrame:
    """Text cells no spreadsheet runs as a formula (numbers stay numbers)."""
    out = frame.copy()
    for c in out.columns:
        if out[c].dtype == object or pd.api.types.is_string_dtype(out[c].dtype):
            out[c] = out[c].map(spreadsheet)
    return out


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _write(frame: pd.DataFrame, path: Path) -> str:
    """Write atomically; returns the file's sha256."""
    tmp = path.with_suffix(".csv.tmp")
    frame.to_csv(tmp, index=False)
    digest = _sha256(tmp)
    os.replace(tmp, path)
    return digest


def _merged(frame: pd.DataFrame, path: Path, name: str) -> pd.DataFrame:
    """The file's rows as they are, then the station's rows whose key it does not hold yet."""
    old = pd.read_csv(path, dtype=str, keep_default_na=False)
    new = frame.astype(object).where(frame.notna(), "").astype(str)
    key = [k for k in ROW_KEYS[name] if k in old.columns]
    if key:
        have = set(old[key].astype(str).agg("\x1f".join, axis=1))
        new = new[~new[key].agg("\x1f".join, axis=1).isin(have)]
    cols = list(old.columns) + [c for c in new.columns if c not in old.columns]
    return pd.concat([old, new], ignore_index=True)[cols].fillna("")


def _recorded(path: Path) -> dict[str, str]:
    with db.connect(path) as c:
        return dict(json.loads(db.meta(c, WRITTEN_KEY) or "{}"))


def _record(path: Path, written: dict[str, str]) -> None:
    with db.connect(path) as c:
        c.execute(
            "INSERT OR REPLACE INTO meta VALUES (?, ?)",
            (WRITTEN_KEY, json.dumps(_recorded(path) | written, sort_keys=True)),
        )


def export(
    run_id: str,
    out_dir: str | Path | None = None,
    *,
    results_dir: str | Path | None = None,
    pilot_candidates: Sequence[str] | None = None,
    merge: bool = False,
) -> dict[str, Path]:
    """Write ratings.csv, pilot_log.csv and corrected_replies.csv; returns name -> path.

    Args:
        run_id: the run whose review queue to export.
        out_dir: where to write (default ``results/<run_id>/review/``); a dataset folder works:
            the files then sit where ``harness validate`` and ``harness calibrate`` read them.
        results_dir: where runs live.
        pilot_candidates: candidates whose drafts are pilot rows (default: all but the control).
        merge: append the station's rows to files it did not write (a backup of each is kept
            beside it) instead of refusing.

    Raises:
        ReviewError: a file of the same name is there that the station did not write (or that
            changed since), and ``merge`` is off: nothing is written.
    """
    run = load_run(run_id, results_dir)
    path = db.db_path(run.store.path)
    if not db.exists(path):
        raise ReviewError(f"run {run.run_id} has no review queue to export; run harness review")
    reviews = db.reviews_frame(path)
    criteria = _criteria(path)
    items = run.dataset.items
    questions = {str(i): str(q) for i, q in items["input"].items()}
    steps = approval_path(path, reviews, run.dataset)
    out = Path(out_dir) if out_dir is not None else path.parent
    out.mkdir(parents=True, exist_ok=True)
    frames = {
        "ratings.csv": ratings_frame(reviews, criteria),
        "pilot_log.csv": pilot_log_frame(
            reviews, questions, pilot_candidates, steps, run.dataset.item_tasks()
        ),
        "corrected_replies.csv": corrected_frame(reviews),
    }
    ours = _recorded(path)
    own_folder = out.resolve() == path.parent.resolve()
    foreign = [
        n
        for n in frames
        if (out / n).exists()
        and not own_folder
        and ours.get(str((out / n).resolve())) != _sha256(out / n)
    ]
    if foreign and not merge:
        raise ReviewError(
            f"not exporting into {out}: {', '.join(foreign)} "
            f"{'is' if len(foreign) == 1 else 'are'} there and the review station did not "
            "write it (or it changed since); nothing was written. Export into another folder, "
            "or add --merge (Python: merge=True) to append the station's rows and keep every "
            "existing row (a backup copy is kept beside each file)"
        )
    written: dict[str, Path] = {}
    record: dict[str, str] = {}
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    for name, frame in frames.items():
        target = out / name
        if name in foreign:
            backup = out / f"{name}.bak-{stamp}"
            shutil.copy2(target, backup)
            written[f"{name} (backup)"] = backup
            _write(_merged(_neutral(frame), target, name), target)
        else:
            record[str(target.resolve())] = _write(_neutral(frame), target)
        written[name] = target
    _record(path, record)
    return written


def approval_path(path: Path, reviews: pd.DataFrame, dataset: Any) -> pd.DataFrame:
    """The queue's approval path per reply (:func:`harness.review.approval.paths`), live
    messages told from replayed history by the queue's ``live_from`` day, each timed from its
    ``received_at`` (a live message without one, in a queue started before the station checked
    it, gets no turnaround rather than a guessed one)."""
    from harness.review import approval

    with db.connect(path) as c:
        config = json.loads(db.meta(c, "config") or "{}")
    items = dataset.items
    dates = {str(k): v for k, v in items["date"].items()} if "date" in items else {}
    live = approval.live_items(dates, config.get("live_from"))
    received = approval.received_times(dataset, live, strict=False)
    return approval.paths(reviews, approval.events(path), live, received)


def _criteria(path: Path) -> list[str]:
    from harness.scorers.judge import load_rubric

    with db.connect(path) as c:
        config = json.loads(db.meta(c, "config"))
    return [c.name for c in load_rubric(config.get("rubric")).criteria]
