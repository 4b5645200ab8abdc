"""Run: a plan's run, from item selection and model calls to the manifest.

This file is the stage's public API (``__all__``). Names load lazily on first use, so
importing one module of the stage does not import the others.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from harness.run.audit import RUBRICS, audit_files, sha256_file, verify
    from harness.run.merge import merge_runs
    from harness.run.model_calls import run_models
    from harness.run.names import load_plan, plan_names, resolve_names
    from harness.run.provenance import (
        EMBEDDED_DESCRIPTION,
        PACKAGES,
        default_description,
        district_of,
        git_state,
        manifest_base,
        model_identities,
        now_iso,
        package_versions,
    )
    from harness.run.runner import item_dict, run_plan
    from harness.run.selection import round_robin, select_items
    from harness.run.work import (
        REFERENCE_DESCRIPTION,
        Counts,
        RunOptions,
        Unit,
        candidate_kind,
        reference_spec,
        run_candidates,
    )

_API = {
    "Counts": "harness.run.work",
    "EMBEDDED_DESCRIPTION": "harness.run.provenance",
    "PACKAGES": "harness.run.provenance",
    "REFERENCE_DESCRIPTION": "harness.run.work",
    "RUBRICS": "harness.run.audit",
    "RunOptions": "harness.run.work",
    "Unit": "harness.run.work",
    "audit_files": "harness.run.audit",
    "candidate_kind": "harness.run.work",
    "default_description": "harness.run.provenance",
    "district_of": "harness.run.provenance",
    "git_state": "harness.run.provenance",
    "item_dict": "harness.run.runner",
    "load_plan": "harness.run.names",
    "manifest_base": "harness.run.provenance",
    "merge_runs": "harness.run.merge",
    "model_identities": "harness.run.provenance",
    "now_iso": "harness.run.provenance",
    "plan_names": "harness.run.names",
    "package_versions": "harness.run.provenance",
    "reference_spec": "harness.run.work",
    "resolve_names": "harness.run.names",
    "round_robin": "harness.run.selection",
    "run_candidates": "harness.run.work",
    "run_models": "harness.run.model_calls",
    "run_plan": "harness.run.runner",
    "select_items": "harness.run.selection",
    "sha256_file": "harness.run.audit",
    "verify": "harness.run.audit",
}

__all__ = [
    "EMBEDDED_DESCRIPTION",
    "PACKAGES",
    "REFERENCE_DESCRIPTION",
    "RUBRICS",
    "Counts",
    "RunOptions",
    "Unit",
    "audit_files",
    "candidate_kind",
    "default_description",
    "district_of",
    "git_state",
    "item_dict",
    "load_plan",
    "manifest_base",
    "merge_runs",
    "model_identities",
    "now_iso",
    "package_versions",
    "plan_names",
    "reference_spec",
    "resolve_names",
    "round_robin",
    "run_candidates",
    "run_models",
    "run_plan",
    "select_items",
    "sha256_file",
    "verify",
]


def __getattr__(name: str) -> Any:
    if name in _API:
        return getattr(importlib.import_module(_API[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
