"""Load and validate a dataset folder into pandas DataFrames.

A dataset folder holds ``items.jsonl`` (or ``items.csv`` / ``items.parquet``), ``sources/``
(approved source documents, one file each, id = file stem), and optionally ``ratings.csv``,
``pilot_log.csv`` and ``people.csv``. The contract is written down in ``datasets/README.md``.

Every problem is collected (not only the first) and reported with file, line or row, field
and a hint; :class:`~harness.errors.DatasetError` carries them all.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from harness.data.files import YES_NO, Collector
from harness.data.guard import LINK_HINT, escape_reason
from harness.data.items import (
    LIST_FIELDS,
    OPTIONAL_TEXT_FIELDS,
    REQUIRED_ITEM_FIELDS,
    check_items,
    items_frame,
    look_alike,
    read_items,
)
from harness.data.sources import SOURCE_STATUSES, SOURCE_SUFFIXES, read_sources
from harness.data.tables import (
    DIRECTORY_KINDS,
    PILOT_MAX,
    PILOT_NUMERIC,
    PILOT_PHASES,
    PILOT_REQUIRED,
    RATINGS_NON_CRITERIA,
    RATINGS_REQUIRED,
    pilot_log_frame,
    read_csv_rows,
    read_directory,
    read_pilot_log,
    read_ratings,
)
from harness.errors import DatasetError, Problem
from harness.paths import resolve_path

__all__ = [
    "DIRECTORY_KINDS",
    "ITEM_FILES",
    "LIST_FIELDS",
    "OPTIONAL_TEXT_FIELDS",
    "PILOT_MAX",
    "PILOT_NUMERIC",
    "PILOT_PHASES",
    "PILOT_REQUIRED",
    "RATINGS_NON_CRITERIA",
    "RATINGS_REQUIRED",
    "REQUIRED_ITEM_FIELDS",
    "SOURCE_STATUSES",
    "SOURCE_SUFFIXES",
    "YES_NO",
    "Dataset",
    "items_for_tasks",
    "load_dataset",
    "look_alike",
    "read_pilot_log",
    "scored_tasks",
]

ITEM_FILES = ("items.jsonl", "items.csv", "items.parquet")


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
    items_file: Path | None = None  # the items file, and each item's line (or row) in it
    item_lines: dict[str, int] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.path.name

    def item(self, item_id: str) -> dict[str, Any]:
        """One item as a plain dict (lists stay lists)."""
        return {**{str(k): v for k, v in self.items.loc[item_id].items()}, "id": item_id}

    def item_tasks(self) -> dict[str, str]:
        """Item id -> task (workflow): what a pilot log entry naming the item belongs to."""
        if "task" not in self.items.columns:
            return {str(i): "" for i in self.items.index}
        return {str(i): str(t) for i, t in self.items["task"].items()}

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
    col = Collector(root, display)
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
    sources = read_sources(root / "sources", col)
    rows = read_items(present[0], col) if len(present) == 1 else []
    if present and len(present) == 1:
        check_items(present[0], rows, {str(k): str(v) for k, v in sources["status"].items()}, col)
    item_ids = {r["id"] for _, r in rows if isinstance(r.get("id"), str)}
    ratings = pilot = people = None
    if confined["ratings.csv"] and (root / "ratings.csv").is_file():
        ratings = read_ratings(root / "ratings.csv", item_ids, col)
    if confined["pilot_log.csv"] and (root / "pilot_log.csv").is_file():
        tasks = {r["id"]: str(r.get("task") or "") for _, r in rows if isinstance(r.get("id"), str)}
        pilot = pilot_log_frame(root / "pilot_log.csv", tasks, col)
    if confined["people.csv"] and (root / "people.csv").is_file():
        got = read_csv_rows(root / "people.csv", col, ("name",), "one row per person")
        if got is not None:
            people = pd.DataFrame([r for _, r in got[1]])
    directory = None
    if confined["directory.csv"] and (root / "directory.csv").is_file():
        directory = read_directory(root / "directory.csv", col)
    if col.problems:
        raise DatasetError(f"dataset {display}", col.problems)
    items = items_frame([r for _, r in rows])
    files = [p for p in present] + [root / "sources" / f for f in sources["file"]]
    files += [root / f for f in optional if (root / f).is_file()]
    fp, digests = _fingerprint(root, files)
    lines = {str(r["id"]): line for line, r in rows if isinstance(r.get("id"), str)}
    return Dataset(
        root,
        items,
        sources,
        ratings,
        pilot,
        people,
        fp,
        digests,
        directory=directory,
        items_file=present[0],
        item_lines=lines,
    )


def scored_tasks(items: pd.DataFrame, item_ids: Iterable[Any]) -> set[str] | None:
    """The workflows (item tasks) of these items, e.g. a run's scored ones: the one definition
    the gates, the pilot protocol and a run's pilot log read (None: the items carry no task)."""
    if "task" not in items.columns:
        return None
    known = items.index.intersection(pd.Index(list(item_ids)))
    return {str(t) for t in items.loc[known, "task"].dropna()}


def items_for_tasks(dataset: Dataset, tasks: list[str] | None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split items into those the tasks cover and those they do not (reported, never dropped)."""
    if not tasks:
        return dataset.items, dataset.items.iloc[0:0]
    mask = dataset.items["task"].isin(tasks)
    return dataset.items[mask], dataset.items[~mask]
