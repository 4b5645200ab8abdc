"""Pilot: the staff pilot's outcomes from its log.

This file is the stage's public API (``__all__``). Names load lazily on first use, so
importing one module of the stage does not import the others.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from harness.pilot.analysis import (
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
    "HAND_WRITTEN_BELOW": "harness.pilot.analysis",
    "MEASURES": "harness.pilot.analysis",
    "OUTCOME_COLUMNS": "harness.pilot.analysis",
    "by_staff": "harness.pilot.analysis",
    "hand_written": "harness.pilot.analysis",
    "kept_share": "harness.pilot.analysis",
    "minutes_per_reply": "harness.pilot.analysis",
    "outcome_value": "harness.pilot.analysis",
    "outcomes": "harness.pilot.analysis",
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
