"""The run folder ``results/<run_id>/``: manifest, generations journal, tables.

Generations are appended to ``generations.jsonl`` one line each, flushed as they finish, so a
killed run loses at most the calls in flight; a line cut short by a kill is dropped on resume.
``generations.parquet`` and ``scores.parquet`` are the deduplicated tables (last record per
key wins) that DuckDB, Spark or pandas read without the harness.

Runs stay whole: one writer per run folder (an ``fcntl.flock`` on ``.lock``, which names the
holder: pid, host, start time), every table and the manifest written atomically (a temporary
file in the same folder, fsync, ``os.replace``), the manifest's ``spent`` counts re-derived
from the journal whenever the journal is opened (exact after a kill -9), and a full disk or a
read-only folder raised as :class:`~harness.errors.InfrastructureError` (exit 3). The file
mechanics live in :mod:`harness.store.files`.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import time
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from harness.errors import InfrastructureError, RunError
from harness.paths import resolve_path
from harness.store.files import (
    acquire,
    atomic_write,
    check_run_id,
    counts_from_journal,
    free_reserve,
    infrastructure_error,
    is_infrastructure,
    release,
    reserve,
)

__all__ = ["atomic_write", "check_run_id", "counts_from_journal", "infrastructure_error"]

if TYPE_CHECKING:
    from harness.data.dataset import Dataset

GENERATION_COLUMNS = [
    "key",
    "item_id",
    "candidate",
    "sample",
    "task",
    "category",
    "kind",
    "model",
    "output",
    "status",
    "error",
    "latency_s",
    "tokens_in",
    "tokens_out",
    "cost_usd",
    "cached",
    "attempts",
    "finished_at",
    "finish_reason",  # the provider's: "length" means the draft was cut off at max_tokens
    "context",  # what the writer was given: retrieved | linked (None: nothing, or not known)
    "passage_ids",  # a JSON list: retrieved passage ids, or linked source ids
]
SCORE_COLUMNS = ["key", "item_id", "candidate", "sample", "metric", "value"]


def default_results_dir() -> Path:
    return resolve_path(os.environ.get("HARNESS_RESULTS", "results"))


def unit_key(item_id: str, candidate: str, sample: int) -> str:
    return f"{item_id}|{candidate}|{sample}"


class RunStore:
    """One run folder."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self._journal: Any = None
        self._last_sync = 0.0

    @property
    def run_id(self) -> str:
        return self.path.name

    # manifest -------------------------------------------------------------------------------
    @property
    def manifest_path(self) -> Path:
        return self.path / "manifest.json"

    def read_manifest(self) -> dict[str, Any]:
        if not self.manifest_path.is_file():
            raise RunError(f"{self.path} has no manifest.json: it is not a run folder")
        return dict(json.loads(self.manifest_path.read_text(encoding="utf-8")))

    def write_manifest(self, manifest: dict[str, Any]) -> None:
        """Atomic replace: a kill leaves the old or the new manifest, never half of one."""
        text = json.dumps(manifest, indent=2, default=str, sort_keys=False)
        with self.lock(), self._infra(f"write {self.manifest_path}"):
            atomic_write(self.manifest_path, lambda t: t.write_text(text, encoding="utf-8"))

    def update_manifest(self, **fields: Any) -> dict[str, Any]:
        with self.lock():
            m = self.read_manifest()
            m.update(fields)
            self.write_manifest(m)
        return m

    # one writer per run folder -------------------------------------------------------------
    @contextlib.contextmanager
    def _infra(self, what: str) -> Iterator[None]:
        """Turn a disk-full / read-only OSError into one clear InfrastructureError."""
        try:
            yield
        except OSError as exc:
            if is_infrastructure(exc):
                free_reserve(self.path)
                raise infrastructure_error(exc, what, self.run_id) from None
            raise

    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        """Hold the run folder's writer lock (re-entrant within one process).

        Raises:
            InfrastructureError: another process holds it (naming pid, host and start time),
                or the folder cannot be written.
        """
        acquire(self.path, self.run_id)
        try:
            yield
        finally:
            release(self.path)

    # journal --------------------------------------------------------------------------------
    @property
    def journal_path(self) -> Path:
        return self.path / "generations.jsonl"

    def read_journal(self, repair: bool = False) -> list[dict[str, Any]]:
        """Every complete record; a trailing partial line (killed mid-write) is dropped."""
        p = self.journal_path
        if not p.is_file():
            return []
        data = p.read_bytes()
        records = []
        good_end = 0
        pos = 0
        while pos < len(data):
            nl = data.find(b"\n", pos)
            if nl == -1:
                break
            line = data[pos:nl]
            try:
                if line.strip():
                    records.append(json.loads(line))
            except json.JSONDecodeError:
                break
            pos = nl + 1
            good_end = pos
        if repair and good_end < len(data):
            with p.open("r+b") as f:
                f.truncate(good_end)
        return records

    def open_journal(self) -> None:
        """Take the run's writer lock (held until :meth:`close_journal`), drop a line cut by
        a kill, set the manifest's ``spent`` from the journal, and open it for appending."""
        acquire(self.path, self.run_id)
        try:
            with self._infra(f"open {self.journal_path}"):
                records = self.read_journal(repair=True)
                if self.manifest_path.is_file():
                    spent = counts_from_journal(records)
                    m = self.read_manifest()
                    if m.get("spent", counts_from_journal([])) != spent:
                        self.write_manifest({**m, "spent": spent})
                self._journal = self.journal_path.open("a", encoding="utf-8")
            reserve(self.path)
        except BaseException:
            release(self.path)
            raise

    def append(self, record: dict[str, Any]) -> None:
        """Write one finished generation; flushed at once, fsynced at most every 2 s."""
        assert self._journal is not None, "open_journal() first"
        try:
            self._journal.write(json.dumps(record, ensure_ascii=False, default=str) + "\n")
            self._journal.flush()
            now = time.monotonic()
            if now - self._last_sync > 2.0:
                os.fsync(self._journal.fileno())
                self._last_sync = now
        except OSError as exc:
            if is_infrastructure(exc):
                free_reserve(self.path)
                raise infrastructure_error(exc, f"write {self.journal_path}", self.run_id) from None
            raise

    def close_journal(self) -> None:
        if self._journal is not None:
            with contextlib.suppress(OSError):
                self._journal.flush()
                os.fsync(self._journal.fileno())
            with contextlib.suppress(OSError):
                self._journal.close()
            self._journal = None
            free_reserve(self.path)
            release(self.path)

    # tables ---------------------------------------------------------------------------------
    def finalize(self) -> pd.DataFrame:
        """Deduplicate the journal (last record per key wins) into generations.parquet.

        Written atomically, so a kill or a full disk never leaves a partial table. Called while
        the run is already failing (in a ``finally``), a write failure the machine caused is not
        raised over the run's own error: the journal stays the record, and
        :meth:`generations` reads it while it is newer than the table.
        """
        in_flight = sys.exc_info()[1]
        frame = generations_frame(self.read_journal())
        pq = self.path / "generations.parquet"
        try:
            with self.lock(), self._infra(f"write {pq}"):
                atomic_write(pq, lambda t: frame.to_parquet(t, index=False))
        except InfrastructureError:
            if in_flight is None:
                raise
        return frame

    def generations(self) -> pd.DataFrame:
        """The run's generations, one row per item x candidate x sample."""
        pq = self.path / "generations.parquet"
        if pq.is_file() and (
            not self.journal_path.is_file()
            or pq.stat().st_mtime_ns >= self.journal_path.stat().st_mtime_ns
        ):
            return pd.read_parquet(pq)
        return generations_frame(self.read_journal())

    def write_scores(self, scores: pd.DataFrame) -> None:
        """Write scores.parquet atomically, holding the run's writer lock."""
        pq = self.path / "scores.parquet"
        with self.lock(), self._infra(f"write {pq}"):
            atomic_write(pq, lambda t: scores.to_parquet(t, index=False))

    def scores(self) -> pd.DataFrame:
        p = self.path / "scores.parquet"
        if not p.is_file():
            raise RunError(f"run {self.run_id} has no scores yet; run: harness score {self.run_id}")
        return pd.read_parquet(p)


def generations_frame(records: list[dict[str, Any]]) -> pd.DataFrame:
    frame = pd.DataFrame.from_records(records, columns=GENERATION_COLUMNS)
    if len(frame):
        frame = frame.drop_duplicates("key", keep="last").reset_index(drop=True)
    frame["sample"] = frame["sample"].astype("int64")
    frame["cached"] = frame["cached"].astype(bool)
    for c in ("latency_s", "cost_usd"):
        frame[c] = pd.to_numeric(frame[c], errors="coerce").astype("float64")
    for c in ("tokens_in", "tokens_out", "attempts"):
        frame[c] = pd.to_numeric(frame[c], errors="coerce").astype("Int64")
    return frame


def is_run_folder(path: str | Path) -> bool:
    """Does ``path`` hold a run (its manifest)?"""
    return (Path(path) / "manifest.json").is_file()


def open_run(run_id: str, results_dir: Path | str | None = None) -> RunStore:
    """An existing run by id (or 'latest'); an unknown id lists the runs that exist."""
    given = results_dir is not None and str(results_dir) != ""  # "": a notebook's default
    root = resolve_path(results_dir) if given else default_results_dir()  # type: ignore[arg-type]
    if run_id != "latest":
        check_run_id(run_id)
    if run_id == "latest":
        runs = list_runs(root)
        if runs.empty:
            env = "$HARNESS_RESULTS" if os.environ.get("HARNESS_RESULTS") else ""
            how = "the folder given" if given else env or "the default; set HARNESS_RESULTS"
            raise RunError(
                f"there are no runs under {root}/ yet (looked there: {how}); start one with: "
                "harness run PLAN"
            )
        run_id = str(runs.iloc[-1]["run_id"])
    path = root / run_id
    if not (path / "manifest.json").is_file():
        known = list_runs(root)["run_id"].tolist()[-5:]
        raise RunError(
            f"no run '{run_id}' under {root}/"
            + (f"; recent runs: {', '.join(known)}" if known else "")
        )
    return RunStore(path)


def list_runs(results_dir: Path | str | None = None) -> pd.DataFrame:
    """Runs under the results folder, oldest first."""
    root = resolve_path(results_dir) if results_dir is not None else default_results_dir()
    rows = []
    for m in sorted(root.glob("*/manifest.json")):
        try:
            man = json.loads(m.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            continue
        rows.append(
            {
                "run_id": m.parent.name,
                "plan": man.get("plan_name"),
                "dataset": man.get("dataset", {}).get("name"),
                "status": man.get("status"),
                "started_at": man.get("started_at"),
                "generations": man.get("counts", {}).get("ok"),
                "scored": (m.parent / "scores.parquet").is_file(),
            }
        )
    frame = pd.DataFrame(
        rows,
        columns=["run_id", "plan", "dataset", "status", "started_at", "generations", "scored"],
    )
    return frame.sort_values("started_at", kind="stable").reset_index(drop=True)


# -- the judge's calibration, stored with a run (or in any folder) ------------------------------

CALIBRATION_SUMMARY = "calibration.parquet"
CALIBRATION_DRAFTS = "calibration_drafts.parquet"
CALIBRATION_JSON = "calibration.json"


def write_calibration(
    folder: str | Path, summary: pd.DataFrame, drafts: pd.DataFrame, data: dict[str, Any]
) -> None:
    """Write a calibration's summary, per-draft table and JSON (each replaced whole)."""
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    text = json.dumps(data, indent=2)
    atomic_write(out / CALIBRATION_SUMMARY, lambda t: summary.to_parquet(t, index=False))
    atomic_write(out / CALIBRATION_DRAFTS, lambda t: drafts.to_parquet(t, index=False))
    atomic_write(out / CALIBRATION_JSON, lambda t: t.write_text(text, encoding="utf-8"))


CALIBRATION_HISTORY = "calibration-history"


def archive_calibration(folder: str | Path) -> Path | None:
    """Move a run's calibration files into ``calibration-history/<UTC time>/`` before a new
    calibration replaces them (so ``harness calibrate`` never overwrites one silently).
    Returns the folder they were moved to, or None when there was no calibration."""
    src = Path(folder)
    files = [src / n for n in (CALIBRATION_JSON, CALIBRATION_SUMMARY, CALIBRATION_DRAFTS)]
    if not files[0].is_file():
        return None
    dst = src / CALIBRATION_HISTORY / time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    dst = dst.with_name(f"{dst.name}-{time.time_ns() % 10**6:06d}") if dst.exists() else dst
    dst.mkdir(parents=True)
    for f in files:
        if f.is_file():
            os.replace(f, dst / f.name)
    return dst


def read_calibration(folder: str | Path) -> dict[str, Any] | None:
    """The judge calibration of a run (``calibration.json``), or None when never calibrated."""
    p = Path(folder) / CALIBRATION_JSON
    if not p.is_file():
        return None
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return {"calibrated": False, "error": f"{p} is not readable JSON"}
    return data if isinstance(data, dict) else {"calibrated": False}


def calibration_summary(store: RunStore) -> pd.DataFrame:
    """A run's stored calibration summary (one row per criterion, with ``calibrated``)."""
    p = store.path / CALIBRATION_SUMMARY
    if not p.is_file():
        raise RunError(
            f"run {store.run_id} has no judge calibration; run: harness calibrate {store.run_id}"
        )
    return pd.read_parquet(p)


def calibration_files(store: RunStore) -> dict[str, pd.DataFrame]:
    """Every stored calibration table of a run by file name (Parquet or CSV), sorted."""
    out = {}
    for p in sorted(store.path.glob("calibration*")):
        if p.suffix == ".parquet":
            out[p.name] = pd.read_parquet(p)
        elif p.suffix == ".csv":
            out[p.name] = pd.read_csv(p)
    return out


# -- the review station's evidence, stored in the run folder ------------------------------------

REVIEW_FOLDER = "review"
STATION_SOURCE = "measured in the review station"


def station_pilot_log(store: RunStore, items: Collection[str]) -> pd.DataFrame | None:
    """The run's own review-station pilot log (``review/pilot_log.csv``), when it has entries.
    Minutes measured by ``harness review`` on this run's drafts are better evidence than a
    dataset's logged estimate, so the pilot gates and the phase comparison use them and say so.
    ``items``: item id -> task, so each entry gets its item's task (``data.pilot_log_frame``).
    """
    from harness.data.dataset import read_pilot_log
    from harness.errors import DatasetError

    p = store.path / REVIEW_FOLDER / "pilot_log.csv"
    if not p.is_file():
        return None
    try:
        frame = read_pilot_log(p, items)
    except DatasetError:
        return None
    if frame is None or frame.empty:
        return None
    frame.attrs["source"] = STATION_SOURCE
    return frame


# -- the run reader: everything a report, a check or a notebook needs, loaded once --------------


@dataclass
class RunData:
    """One stored run, read lazily and once: manifest, generations, scores, calibration and
    dataset. The reports, ``harness check`` and the gates read runs through this."""

    store: RunStore

    @cached_property
    def manifest(self) -> dict[str, Any]:
        return self.store.read_manifest()

    @cached_property
    def generations(self) -> pd.DataFrame:
        return self.store.generations()

    @cached_property
    def scores(self) -> pd.DataFrame:
        return self.store.scores()

    @cached_property
    def calibration(self) -> dict[str, Any] | None:
        """The judge's stored calibration (calibration.json), if the run has one."""
        return read_calibration(self.store.path)

    @cached_property
    def dataset(self) -> Dataset:
        from harness.data.dataset import load_dataset

        return load_dataset(self.manifest["dataset"]["path"])

    @property
    def run_id(self) -> str:
        return self.store.run_id

    def candidate_kinds(self) -> dict[str, str]:
        return {c["name"]: c["kind"] for c in self.manifest["candidates"]}

    def candidate_names(self, kind: str | None = None) -> list[str]:
        """Candidates in plan order, optionally only ``model`` or ``baseline`` ones."""
        return [c["name"] for c in self.manifest["candidates"] if kind in (None, c["kind"])]

    def metric_names(self) -> list[str]:
        """Metrics this run has scores for: headline metrics first, then the rest sorted."""
        from harness.metrics import HEADLINE_METRICS

        have = set(self.scores.loc[self.scores["value"].notna(), "metric"].unique())
        head = [m for m in HEADLINE_METRICS if m in have]
        return head + sorted(have - set(head))

    def wide_scores(self) -> pd.DataFrame:
        """One row per generation, one column per metric."""
        # pivot, not pivot_table(dropna=False): the latter builds the cartesian product of the
        # index levels (keys x items x candidates x samples), gigabytes at a few thousand items.
        wide = self.scores.pivot(
            index=["key", "item_id", "candidate", "sample"], columns="metric", values="value"
        )
        wide.columns.name = None
        return wide.reset_index()


def load_run(run_id: str, results_dir: str | Path | None = None) -> RunData:
    """Load a stored run for a notebook (``'latest'`` picks the newest run)."""
    return RunData(open_run(run_id, results_dir))
