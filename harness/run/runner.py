"""Run a plan over a dataset: one generation per item x candidate x sample.

Async calls with a per-provider concurrency limit and optional requests-per-minute cap;
retries with capped, jittered exponential backoff that honours Retry-After; a persistent
response cache; resume after a kill; a budget cap. No plotting or report logic here.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from harness import aio
from harness.candidates.baselines import Draft, NoDraft, get_baseline
from harness.data.dataset import Dataset, load_dataset
from harness.errors import RunError
from harness.plan.content import check_unchanged
from harness.plan.spec import CandidateSpec, Plan
from harness.run.model_calls import run_models
from harness.run.names import load_plan, resolve_names
from harness.run.provenance import manifest_base, now_iso
from harness.run.selection import select_items
from harness.run.work import Counts, RunOptions, Unit, candidate_kind, run_candidates
from harness.store.runs import RunStore, check_run_id, counts_from_journal, default_results_dir

if TYPE_CHECKING:
    pass


def _check_providers(plan: Plan) -> list[str]:
    """Refuse a plan that would send district data to a destination governance did not
    approve (any call site: the model candidates and the judge), before anything is sent."""
    from harness.engine.calls import check_plan

    return check_plan(plan)


def run_plan(
    plan: Plan | str | Path,
    *,
    dataset: str | Path | None = None,
    results_dir: str | Path | None = None,
    run_id: str | None = None,
    resume: str | None = None,
    options: RunOptions | None = None,
    score: bool = True,
) -> RunStore:
    """Run (or resume) a plan, score it (as ``harness run`` does), and return its run folder.

    Args:
        plan: a Plan or the path of a plan YAML file.
        dataset: run on this dataset folder instead of the plan's.
        results_dir: where run folders live (default ``results/`` or $HARNESS_RESULTS).
        run_id: name for a new run (default: time + plan name + random suffix).
        resume: an existing run id to complete: only missing generations are made.
        options: overrides (concurrency, cache mode, budget, retry_errors, progress, limit).
        score: score the run with the plan's scorers afterwards (``--no-score`` turns it off);
            a run stopped by the budget or an error is not scored.
    """
    opts = options or RunOptions()
    root = Path(results_dir) if results_dir is not None else default_results_dir()
    if isinstance(plan, Plan):  # loaded elsewhere: its names resolve before the first call
        resolve_names(plan)
    if resume:
        store = RunStore(root / resume)
        manifest = store.read_manifest()
        ds_path = dataset if dataset is not None else manifest["dataset"]["path"]
        if not isinstance(plan, Plan):
            plan = load_plan(plan if plan else manifest["plan_path"], dataset=ds_path)
        elif dataset is not None:
            plan = plan.model_copy(update={"dataset": str(Path(dataset).resolve())})
        ds = load_dataset(ds_path)
        check_unchanged(plan, ds, manifest, resume)  # content, never paths: from any folder
        _check_providers(plan)
        items = ds.items.loc[manifest["selection"]["item_ids"]]
    else:
        if not isinstance(plan, Plan):
            plan = load_plan(plan, dataset=dataset)
        elif dataset is not None:
            plan = plan.model_copy(update={"dataset": str(Path(dataset).resolve())})
        approved = _check_providers(plan)  # before anything is created or sent
        ds = load_dataset(plan.dataset_path())
        items, uncovered = select_items(plan, ds, opts.limit, opts.shard)
        run_id = run_id or (
            datetime.now().strftime("%Y%m%d-%H%M%S") + f"-{plan.name}-{uuid.uuid4().hex[:4]}"
        )
        check_run_id(run_id)
        store = RunStore(root / run_id)
        if store.path.exists():
            raise RunError(
                f"run folder {store.path} already exists; pick another --run-id "
                f"or resume it with --resume {run_id}"
            )
        store.path.mkdir(parents=True)
        store.write_manifest(
            manifest_base(plan, ds, run_id, items, uncovered, opts.limit, opts.shard, approved)
        )
    assert isinstance(plan, Plan)
    with store.lock():  # one writer per run folder: a second resume is refused, naming us
        if resume:
            store.update_manifest(status="running", resumed_at=now_iso())
        _generate(plan, ds, items, store, opts, root)
    if score and store.read_manifest().get("status") == "complete":
        from harness.scorers.scoring import score_run

        score_run(store, dataset=ds)  # the dataset the run used, not read again
    return store


def _generate(
    plan: Plan, ds: Dataset, items: pd.DataFrame, store: RunStore, opts: RunOptions, root: Path
) -> None:
    """Make the missing generations and close the run: the journal, the tables, the manifest
    (its counts and spending derived from the journal, so they are exact after a kill)."""
    store.open_journal()
    counts = Counts()
    started = time.monotonic()
    status = "complete"
    try:
        aio.run(_execute(plan, ds, items, store, opts, counts, root))
        if counts.skipped_budget:
            status = "stopped_budget"
    except (KeyboardInterrupt, asyncio.CancelledError):
        status = "interrupted"
        raise
    except BaseException:
        status = "error"
        raise
    finally:
        store.close_journal()
        gens = store.finalize()
        m = store.read_manifest()
        store.update_manifest(
            status=status,
            finished_at=now_iso(),
            elapsed_s=round(m.get("elapsed_s", 0.0) + time.monotonic() - started, 3),
            counts={
                "units": len(gens) + counts.skipped_budget,
                "ok": int((gens["status"] == "ok").sum()),
                "failed": int((gens["status"] == "failed").sum()),
                # of which baselines with nothing to draft from (retrying changes nothing)
                "failed_baseline": int(
                    ((gens["status"] == "failed") & (gens["kind"] == "baseline")).sum()
                ),
                "no_output": int((gens["status"] == "no_output").sum()),
                "cached": int(gens["cached"].sum()),
                "skipped_budget": counts.skipped_budget,
            },
            spent=counts_from_journal(store.read_journal()),
        )


async def _execute(
    plan: Plan,
    ds: Dataset,
    items: pd.DataFrame,
    store: RunStore,
    opts: RunOptions,
    counts: Counts,
    root: Path,
) -> None:
    from tqdm.auto import tqdm

    done: dict[str, str] = {r["key"]: r["status"] for r in store.read_journal()}
    todo_status = {"ok", "no_output"} if opts.retry_errors else {"ok", "no_output", "failed"}
    records = [item_dict(row) for _, row in items.iterrows()]
    specs = run_candidates(plan)
    units = [
        Unit(rec, spec, s)
        for spec in specs
        for rec in records
        for s in range(spec.samples if spec.is_model else 1)
    ]
    units = [u for u in units if done.get(u.key) not in todo_status]
    bar = tqdm(
        total=len(units),
        desc=f"run {store.run_id}",
        unit="gen",
        disable=not opts.progress,
        dynamic_ncols=True,
        mininterval=0.5,
    )

    def record(u: Unit, **fields: Any) -> None:
        rec = {
            "key": u.key,
            "item_id": u.item["id"],
            "candidate": u.spec.name,
            "sample": u.sample,
            "task": u.item["task"],
            "category": u.item["category"],
            "kind": candidate_kind(u.spec),
            "model": _model_label(u.spec),
            "output": None,
            "status": "ok",
            "error": None,
            "latency_s": None,
            "tokens_in": None,
            "tokens_out": None,
            "cost_usd": None,
            "cached": False,
            "attempts": 0,
            "finished_at": now_iso(),
        }
        rec.update(fields)
        store.append(rec)
        if rec["status"] == "failed":
            counts.failed += 1
        else:
            counts.ok += 1
        counts.cached += bool(rec["cached"])
        bar.update(1)
        bar.set_postfix(done=counts.ok, failed=counts.failed, cached=counts.cached, refresh=False)

    if units:
        _record_answer_privacy(ds, specs, store, root)
    # Baselines and the reference row: deterministic and local, computed in process.
    for spec in specs:
        if spec.is_model:
            continue
        mine = [u for u in units if u.spec is spec]
        if not mine:
            continue
        fn = (
            get_baseline(spec.baseline, ds, _baseline_options(spec, root), plan.folder)
            if spec.baseline is not None
            else _reference
        )
        for u in mine:
            t0 = time.perf_counter()
            try:
                out = fn(u.item)
            except NoDraft as exc:  # counted as failed, with the reason
                record(u, status="failed", error=str(exc), latency_s=time.perf_counter() - t0)
                continue
            given: dict[str, Any] = {}
            if isinstance(out, Draft):
                given = {"context": out.context, "passage_ids": json.dumps(list(out.passage_ids))}
                out = out.text
            record(
                u,
                output=out,
                status="ok" if out is not None else "no_output",
                latency_s=time.perf_counter() - t0,
                error=None if out is not None else _no_output(spec),
                **given,
            )

    model_units = [u for u in units if u.spec.is_model]
    if not model_units:
        bar.close()
        return
    try:
        await run_models(plan, ds, model_units, opts, counts, record, store, root)
    finally:
        bar.close()


def _record_answer_privacy(
    ds: Dataset, specs: list[CandidateSpec], store: RunStore, root: Path
) -> None:
    """The manifest says what was kept out of other families' approved answers before any
    prompt or retrieval draft used them (``data_protection.retrieved_answers``)."""
    if not any(
        s.context == "retrieved" and (s.is_model or s.baseline == "retrieval") for s in specs
    ):
        return
    from harness.knowledge import knowledge_base
    from harness.knowledge.private import RULE

    kb = knowledge_base(ds, root / ".cache" / "knowledge")
    m = store.read_manifest()
    m.setdefault("data_protection", {})["retrieved_answers"] = {
        "rule": RULE,
        "withheld": dict(kb.withheld),
    }
    store.write_manifest(m)


def _baseline_options(spec: CandidateSpec, root: Path) -> dict[str, Any]:
    """A baseline's options plus the plan's context choice and the knowledge base's cache."""
    return {
        **spec.options,
        "context": spec.context,
        "top_k": spec.top_k,
        "cache_dir": root / ".cache" / "knowledge",
    }


def _no_output(spec: CandidateSpec) -> str:
    if spec.baseline == "drafts":
        return f"{spec.options.get('path')} has no draft for this item (unscored, never 0)"
    return "this baseline has no output for the item"


def _model_label(spec: CandidateSpec) -> str:
    """What produced a generation: the model string, the baseline, the drafts file, or the
    reference row."""
    if spec.model:
        return spec.model
    if spec.baseline == "drafts":
        return f"drafts:{spec.options.get('path')}"
    return f"baseline:{spec.baseline}" if spec.baseline else f"reference:{spec.name}"


def _reference(item: dict[str, Any]) -> str | None:
    """The reference row's "draft": the approved answer itself."""
    return item.get("reference") or None


def item_dict(row: pd.Series) -> dict[str, Any]:
    """An item row as a plain dict; missing optional fields are None (not NaN)."""
    d = {str(k): (None if isinstance(v, float) and v != v else v) for k, v in row.items()}
    d["id"] = str(row.name)
    return d
