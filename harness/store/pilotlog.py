"""A run's pilot log: the one place a report, a gate or the review pages get it from.

The review station's measured log of this run (``review/pilot_log.csv``) comes first, else the
dataset's ``pilot_log.csv``; either way only the entries of the run's workflows (the tasks of
its scored items, :func:`harness.data.scored_tasks`) are kept, each entry's task decided at
load (:func:`harness.data.tables.entry_task`). A summary-only run therefore never reads the FAQ
pilot's minutes: its log is empty ("no pilot log entries for this workflow") and the pilot
gates say what they need.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

import pandas as pd

from harness.data.dataset import scored_tasks
from harness.store.runs import RunData, station_pilot_log

NO_ENTRIES = "no pilot log entries for this workflow"


def for_workflows(log: pd.DataFrame, tasks: Collection[str] | None) -> pd.DataFrame:
    """The log's entries of these workflows (the log itself when they are unknown or hold all).

    The result's ``attrs`` keep the log's (its ``source``) and add ``tasks`` and ``entries``
    (how many entries the whole log holds), so a reader can say what was left out.
    """
    if not tasks or "task" not in log.columns:
        return log
    keep = log["task"].isin(list(tasks))
    if bool(keep.all()):
        return log
    out = log[keep].reset_index(drop=True)
    out.attrs = {**log.attrs, "tasks": sorted(tasks), "entries": len(log)}
    return out


def run_workflows(run: RunData) -> set[str] | None:
    """The workflows (item tasks) of the run's scored items (None: the items carry no task)."""
    scores = run.scores
    ids: Any = scores["item_id"].unique() if "item_id" in scores.columns else []
    return scored_tasks(run.dataset.items, ids)


def run_pilot_log(run: RunData) -> pd.DataFrame | None:
    """The run's pilot log (station's first, else the dataset's) for the run's workflows only.

    Returns None when there is no pilot log at all; an empty frame (``attrs['tasks']`` naming
    the workflows) when the log holds no entry of the run's workflows.
    """
    ds = run.dataset
    store = getattr(run, "store", None)  # a run-like object without a folder has no station
    station = None if store is None else station_pilot_log(store, ds.item_tasks())
    log = station if station is not None else ds.pilot_log
    if log is None:
        return None
    return for_workflows(log, run_workflows(run))


def none_for_workflow(log: pd.DataFrame | None) -> bool:
    """Whether a pilot log exists but holds no entry of the run's workflows."""
    return log is not None and log.empty and bool(log.attrs.get("tasks"))


def missing_entries(log: pd.DataFrame | None) -> str:
    """Why a run's pilot log is empty or absent, in the words the gates and reports use."""
    if log is None:
        return "the dataset has no pilot_log.csv"
    if none_for_workflow(log):
        tasks = log.attrs["tasks"]
        return (
            f"{NO_ENTRIES} ({', '.join(tasks)}): the pilot log's {log.attrs.get('entries', 0)} "
            f"entries are of other workflows; add pilot_log.csv entries with task "
            f"{' or '.join(tasks)}"
        )
    return "the pilot log has no entries"
