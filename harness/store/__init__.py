"""Store: the run folder and its files, owned in one place.

This file is the stage's public API (``__all__``). Names load lazily on first use, so
importing one module of the stage does not import the others.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from harness.store.files import (
        INFRA_ERRNOS,
        LOCK_FILE,
        RESERVE_BYTES,
        RESERVE_FILE,
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
    from harness.store.pilotlog import (
        NO_ENTRIES,
        for_workflows,
        missing_entries,
        none_for_workflow,
        run_pilot_log,
        run_workflows,
    )
    from harness.store.runs import (
        CALIBRATION_DRAFTS,
        CALIBRATION_JSON,
        CALIBRATION_SUMMARY,
        GENERATION_COLUMNS,
        REVIEW_FOLDER,
        SCORE_COLUMNS,
        STATION_SOURCE,
        RunData,
        RunStore,
        calibration_files,
        calibration_summary,
        default_results_dir,
        generations_frame,
        is_run_folder,
        list_runs,
        load_run,
        open_run,
        read_calibration,
        station_pilot_log,
        unit_key,
        write_calibration,
    )

_API = {
    "NO_ENTRIES": "harness.store.pilotlog",
    "for_workflows": "harness.store.pilotlog",
    "missing_entries": "harness.store.pilotlog",
    "none_for_workflow": "harness.store.pilotlog",
    "run_pilot_log": "harness.store.pilotlog",
    "run_workflows": "harness.store.pilotlog",
    "CALIBRATION_DRAFTS": "harness.store.runs",
    "CALIBRATION_JSON": "harness.store.runs",
    "CALIBRATION_SUMMARY": "harness.store.runs",
    "GENERATION_COLUMNS": "harness.store.runs",
    "INFRA_ERRNOS": "harness.store.files",
    "LOCK_FILE": "harness.store.files",
    "RESERVE_BYTES": "harness.store.files",
    "RESERVE_FILE": "harness.store.files",
    "REVIEW_FOLDER": "harness.store.runs",
    "RunData": "harness.store.runs",
    "RunStore": "harness.store.runs",
    "SCORE_COLUMNS": "harness.store.runs",
    "STATION_SOURCE": "harness.store.runs",
    "acquire": "harness.store.files",
    "atomic_write": "harness.store.files",
    "calibration_files": "harness.store.runs",
    "calibration_summary": "harness.store.runs",
    "check_run_id": "harness.store.files",
    "counts_from_journal": "harness.store.files",
    "default_results_dir": "harness.store.runs",
    "free_reserve": "harness.store.files",
    "generations_frame": "harness.store.runs",
    "infrastructure_error": "harness.store.files",
    "is_infrastructure": "harness.store.files",
    "is_run_folder": "harness.store.runs",
    "list_runs": "harness.store.runs",
    "load_run": "harness.store.runs",
    "open_run": "harness.store.runs",
    "read_calibration": "harness.store.runs",
    "release": "harness.store.files",
    "reserve": "harness.store.files",
    "station_pilot_log": "harness.store.runs",
    "unit_key": "harness.store.runs",
    "write_calibration": "harness.store.runs",
}

__all__ = [
    "CALIBRATION_DRAFTS",
    "CALIBRATION_JSON",
    "CALIBRATION_SUMMARY",
    "GENERATION_COLUMNS",
    "INFRA_ERRNOS",
    "LOCK_FILE",
    "NO_ENTRIES",
    "RESERVE_BYTES",
    "RESERVE_FILE",
    "REVIEW_FOLDER",
    "SCORE_COLUMNS",
    "STATION_SOURCE",
    "RunData",
    "RunStore",
    "acquire",
    "atomic_write",
    "calibration_files",
    "calibration_summary",
    "check_run_id",
    "counts_from_journal",
    "default_results_dir",
    "for_workflows",
    "free_reserve",
    "generations_frame",
    "infrastructure_error",
    "is_infrastructure",
    "is_run_folder",
    "list_runs",
    "load_run",
    "missing_entries",
    "none_for_workflow",
    "open_run",
    "read_calibration",
    "release",
    "reserve",
    "run_pilot_log",
    "run_workflows",
    "station_pilot_log",
    "unit_key",
    "write_calibration",
]


def __getattr__(name: str) -> Any:
    if name in _API:
        return getattr(importlib.import_module(_API[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
