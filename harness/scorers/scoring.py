"""Score a stored run: pure functions of item + output, re-runnable without generating again."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from harness.data.dataset import Dataset, load_dataset
from harness.errors import RunError
from harness.knowledge import use_cache_dir
from harness.plan.spec import Plan, ScorerSpec
from harness.scorers import ScoreContext, get_scorer, scorer_info
from harness.store.runs import SCORE_COLUMNS, RunStore, open_run


def scoring_frame(generations: pd.DataFrame, dataset: Dataset) -> pd.DataFrame:
    """Generations joined with the item fields scorers need."""
    cols = [
        "reference",
        "input",
        "source_ids",
        "required_facts",
        "paraphrase_group",
        "sensitive",
        "sensitive_reason",
        "staff_first_draft",
        "language",
    ]
    missing = sorted(set(generations["item_id"]) - set(dataset.items.index))
    if missing:
        raise RunError(
            f"the run has items the dataset lacks ({', '.join(missing[:5])}); "
            "was the dataset edited after the run? (harness verify tells)"
        )
    items = dataset.items[cols]
    return generations.join(items, on="item_id")


def score_generations(
    generations: pd.DataFrame,
    dataset: Dataset,
    scorers: list[ScorerSpec],
    context: ScoreContext | None = None,
) -> pd.DataFrame:
    """Long table: one row per generation x metric; failed generations are NaN (unscored).

    ``context`` (the run's plan and folder) reaches the scorers registered to need it.
    """
    frame = scoring_frame(generations, dataset)
    ok = frame["status"].eq("ok") & frame["output"].notna()
    parts = []
    for spec in scorers:
        fn = get_scorer(spec.name, context, **spec.options)
        wide = fn(frame[ok], dataset).reindex(frame.index)  # unscored rows stay NaN
        long = wide.assign(
            key=frame["key"],
            item_id=frame["item_id"],
            candidate=frame["candidate"],
            sample=frame["sample"],
        ).melt(
            id_vars=["key", "item_id", "candidate", "sample"], var_name="metric", value_name="value"
        )
        parts.append(long)
    if not parts:
        return pd.DataFrame(columns=SCORE_COLUMNS)
    out = pd.concat(parts, ignore_index=True)[SCORE_COLUMNS]
    out["value"] = out["value"].astype(np.float64)
    return out


def prepare_scorers(specs: list[ScorerSpec], dataset: Dataset) -> None:
    """Let each scorer make ahead what it needs from the dataset alone (its ``prepare``):
    ``harness run`` calls this while its calls are in flight."""
    for spec in specs:
        prepare = scorer_info(spec.name).prepare
        if prepare is not None:
            prepare(dataset, **spec.options)


def score_run(
    run: str | RunStore,
    results_dir: str | Path | None = None,
    scorers: list[ScorerSpec] | None = None,
    dataset: Dataset | None = None,
) -> pd.DataFrame:
    """(Re-)score a stored run with the plan's scorers (or the ones given); writes scores.parquet.

    ``dataset``: the run's dataset when the caller has it loaded (the run that just made the
    generations), else it is loaded from the path the manifest records.
    """
    store = run if isinstance(run, RunStore) else open_run(run, results_dir)
    manifest = store.read_manifest()
    if dataset is None:
        dataset = load_dataset(manifest["dataset"]["path"])
    # the scorers read the knowledge base this run's results folder holds, not the default one
    use_cache_dir(dataset, store.path.parent / ".cache" / "knowledge")
    specs = (
        scorers
        or [ScorerSpec(**s) for s in manifest["plan"].get("scorers", [])]
        or [ScorerSpec(name="edit")]
    )
    context = ScoreContext(
        plan=_plan(manifest),
        store=store,
        cache_path=store.path.parent / ".cache" / "responses.sqlite",
    )
    scores = score_generations(store.generations(), dataset, specs, context)
    store.write_scores(scores)
    calls = context.records
    endpoints = sorted(
        {
            *manifest.get("endpoints", []),
            *(e for r in calls.values() for e in r.get("endpoints", [])),
        }
    )
    store.update_manifest(
        scorers=[s.model_dump() for s in specs], scoring_calls=calls, endpoints=endpoints
    )
    return scores


def _plan(manifest: dict[str, Any]) -> Plan | None:
    """The run's plan as the run stored it (its path, so relative files resolve as then)."""
    if not manifest.get("plan"):
        return None
    plan = Plan.model_validate(manifest["plan"])
    plan.path = Path(manifest["plan_path"]) if manifest.get("plan_path") else None
    return plan
