"""Pilot: the pilot's design, frozen from the gates before the pilot starts.

Submodules imported by their full names: ``protocol`` (written from the pre-pilot run and the
gates, frozen before the pilot, changes listed), ``sample`` (closed-form size confirmed by
simulating the gate's rule), ``spread`` (each measure's spread before the pilot and its source)
and ``field`` (published results, ``rubrics/field_evidence.yaml``). The stage comes after
``gates`` (a protocol freezes the gates file's pilot gates); the pilot log's outcome measures,
which the post-pilot gates judge, live below it in :mod:`harness.gates.pilot_log` and are the
names below.

This file is the stage's public API (``__all__``). Names load lazily on first use, so
importing one module of the stage does not import the others.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from harness.gates.pilot_log import (
        HAND_WRITTEN_BELOW,
        MEASURES,
        OUTCOME_COLUMNS,
        by_staff,
        hand_written,
        kept_share,
        minutes_per_reply,
        outcome_value,
        outcomes,
    )

_API = {
    "HAND_WRITTEN_BELOW": "harness.gates.pilot_log",
    "MEASURES": "harness.gates.pilot_log",
    "OUTCOME_COLUMNS": "harness.gates.pilot_log",
    "by_staff": "harness.gates.pilot_log",
    "hand_written": "harness.gates.pilot_log",
    "kept_share": "harness.gates.pilot_log",
    "minutes_per_reply": "harness.gates.pilot_log",
    "outcome_value": "harness.gates.pilot_log",
    "outcomes": "harness.gates.pilot_log",
}

__all__ = [
    "HAND_WRITTEN_BELOW",
    "MEASURES",
    "OUTCOME_COLUMNS",
    "by_staff",
    "hand_written",
    "kept_share",
    "minutes_per_reply",
    "outcome_value",
    "outcomes",
]


def __getattr__(name: str) -> Any:
    if name in _API:
        return getattr(importlib.import_module(_API[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
