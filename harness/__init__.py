"""District drafting evaluation harness: the public API, one call per CLI command.

Names are imported lazily, so ``import harness`` stays cheap (a cached re-run never pays for
litellm, scikit-learn or the notebook stack).
"""

from __future__ import annotations

import importlib
from typing import Any

_API = {
    "load_dataset": "harness.data.dataset",
    "load_plan": "harness.run",  # every name resolved (harness.run.names)
    "run_plan": "harness.run.runner",
    "RunOptions": "harness.run.runner",
    "score_run": "harness.scorers.scoring",
    "load_run": "harness.report",
    "render_report": "harness.report",
    "decide": "harness.gates",
    "check": "harness.gates.ci",
    "verify": "harness.run.audit",
    "merge_runs": "harness.run.merge",
    "list_runs": "harness.store",
    "get_scorer": "harness.scorers",
    "scorer_names": "harness.scorers",
}

__all__ = sorted(_API)


def __getattr__(name: str) -> Any:
    if name == "review":  # the review station package (harness.review.start / serve / export)
        return importlib.import_module("harness.review")
    if name in _API:
        return getattr(importlib.import_module(_API[name]), name)
    raise AttributeError(
        f"module 'harness' has no attribute '{name}'; public API: {', '.join(__all__)}"
    )
