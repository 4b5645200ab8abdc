"""The staff review station: a small local web app where staff review a run's drafts.

Public API (one call per ``harness review`` use):

- :func:`start` serves from a background thread and returns a :class:`Station` with each
  reviewer's link (Python scripts, JupyterLab cells); :func:`serve` blocks (the CLI).
- :func:`prepare` builds or finds the run's queue; :func:`progress` shows who has done what.
- :func:`export` writes ``ratings.csv``, ``pilot_log.csv`` and ``corrected_replies.csv``
  (never over files it did not write; ``merge=True`` appends to them, keeping a backup).
- :mod:`harness.review.evidence` turns the stored reviews into the report's tables.

Modules: ``queue`` (blind, seeded, balanced queues), ``timing`` (active time, idle discount),
``db`` (SQLite in the run folder), ``app`` (Starlette + Jinja2 templates + static assets),
``station`` (opening and serving), ``exports``, ``evidence``, ``text`` (drafts as plain text,
placeholders), ``wording`` (what the page calls the message and the draft, per workflow).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from harness.review.exports import export
from harness.review.station import ReviewError, Station, prepare, serve, start

__all__ = ["ReviewError", "Station", "export", "prepare", "progress", "serve", "start"]


def progress(run_id: str, results_dir: str | Path | None = None) -> pd.DataFrame:
    """Per reviewer: tasks, done and share done in the run's review queue; with approvers, each
    person's approval states beside it (:func:`harness.review.approval.states`: a drafter's
    replies waiting, sent back and approved; an approver's waiting, sent back and approved)."""
    from harness.review import approval, db
    from harness.store.runs import load_run

    path = db.db_path(load_run(run_id, results_dir).store.path)
    if not db.exists(path):
        raise ReviewError(f"run {run_id} has no review queue yet; open it with harness review")
    with db.connect(path) as c:
        done = db.progress(c).assign(role="reviewer")
        states = approval.states(c)
    if states.empty:
        return done.drop(columns="role")
    out = done.merge(states, on=["reviewer", "role"], how="outer")
    counts = ["tasks", "done", *approval.STATE_COLUMNS[2:]]
    out[counts] = out[counts].fillna(0).astype("int64")
    cols = ["reviewer", "role", "tasks", "done", "share_done", *approval.STATE_COLUMNS[2:]]
    return out[cols].sort_values(["role", "reviewer"], ignore_index=True)
