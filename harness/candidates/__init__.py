"""Candidates: a model candidate's prompt, and the baselines a plan compares models against
(canned reply, retrieval, staff drafts).

This file is the stage's public API (``__all__``). Names load lazily on first use, so
importing one module of the stage does not import the others.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from harness.candidates.baselines import (
        BASELINES,
        DEFAULT_CANNED,
        DESCRIPTIONS,
        Baseline,
        depersonalize,
        get_baseline,
        retrieval_baseline,
        staff_first_draft_baseline,
        template_baseline,
    )
    from harness.candidates.drafts import DraftFn, drafts_baseline, load_drafts
    from harness.candidates.prompts import PromptBuilder

_API = {
    "BASELINES": "harness.candidates.baselines",
    "Baseline": "harness.candidates.baselines",
    "DEFAULT_CANNED": "harness.candidates.baselines",
    "DESCRIPTIONS": "harness.candidates.baselines",
    "DraftFn": "harness.candidates.drafts",
    "PromptBuilder": "harness.candidates.prompts",
    "depersonalize": "harness.candidates.baselines",
    "drafts_baseline": "harness.candidates.drafts",
    "get_baseline": "harness.candidates.baselines",
    "load_drafts": "harness.candidates.drafts",
    "retrieval_baseline": "harness.candidates.baselines",
    "staff_first_draft_baseline": "harness.candidates.baselines",
    "template_baseline": "harness.candidates.baselines",
}

__all__ = [
    "BASELINES",
    "DEFAULT_CANNED",
    "DESCRIPTIONS",
    "Baseline",
    "DraftFn",
    "PromptBuilder",
    "depersonalize",
    "drafts_baseline",
    "get_baseline",
    "load_drafts",
    "retrieval_baseline",
    "staff_first_draft_baseline",
    "template_baseline",
]


def __getattr__(name: str) -> Any:
    if name in _API:
        return getattr(importlib.import_module(_API[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
