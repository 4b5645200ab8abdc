"""The model candidates' units, through the one model-call engine, in named steps.

:func:`run_models` approves every destination, renders and redacts each prompt, answers what
the cache holds, starts the calls' machinery (the embedded server, litellm or the call
workers), then makes the rest of the calls and journals each as it finishes.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from pathlib import Path

from harness.data.dataset import Dataset
from harness.engine.cache import ResponseCache, response_cache_path
from harness.engine.calls import Engine, Target
from harness.plan.spec import CandidateSpec, Plan, ScorerSpec
from harness.run.work import Counts, RunOptions, Unit
from harness.store.runs import RunStore


def _prefetch_scoring(specs: list[ScorerSpec], ds: Dataset) -> None:
    """Import the plan's scorers, and let them make what they need from the dataset alone,
    while the run waits on the network (scoring runs next)."""
    try:
        from harness.scorers.scoring import prepare_scorers

        prepare_scorers(specs, ds)
    except Exception:  # the scoring step itself reports any real problem
        pass


async def run_models(
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
    from harness.engine.calls import engine_for_plan

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
            prepared, given = _prepare(engine, targets, plan, ds, units, root)

            def journal(u: Unit, **fields: object) -> None:  # what each unit was given, too
                record(u, **given.get(u.key, {}), **fields)

            if engine.redactor is not None:
                m = store.read_manifest()
                m["data_protection"]["redaction"] = dict(engine.redactor.counts)
                store.write_manifest(m)
            misses = _answer_from_cache(engine, prepared, opts, journal)
            if not misses:
                return
            await engine.start(_workers(plan, opts, engine.capacity, len(misses)))
            store.update_manifest(
                **engine.record(planned=True),
                call_workers=engine.pool.size if engine.pool is not None else 0,
            )
            try:
                await _dispatch(engine, targets, misses, plan, ds, counts, journal)
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
    return ResponseCache(response_cache_path(plan, root))


def _approve(engine: Engine, plan: Plan, opts: RunOptions) -> dict[str, Target]:
    """Each model candidate as an approved engine target (RunError before any call if not)."""
    from harness.engine.calls import candidate_request

    return {
        c.name: engine.target(c.name, candidate_request(c, plan, opts.concurrency))
        for c in plan.candidates
        if c.is_model
    }


_Prepared = tuple[Unit, list[dict[str, str]], str]


def _prepare(
    engine: Engine,
    targets: dict[str, Target],
    plan: Plan,
    ds: Dataset,
    units: list[Unit],
    root: Path,
) -> tuple[list[_Prepared], dict[str, dict[str, object]]]:
    """Each unit's messages (the family's message redacted where the plan says) and cache key,
    and what each unit is given (``context`` and ``passage_ids``, recorded with it)."""
    from harness.candidates.prompts import PromptBuilder

    kb_dir = root / ".cache" / "knowledge"
    builders = {n: PromptBuilder(s, plan, ds, kb_dir) for n, s in _specs(plan).items()}
    out = []
    given: dict[str, dict[str, object]] = {}
    for u in units:
        t = targets[u.spec.name]
        # Only the family's message is redacted: approved sources are public material.
        item = {**u.item, "input": engine.redact(t, u.item["input"])}
        msgs, given[u.key] = builders[u.spec.name].prompt(item)
        out.append((u, msgs, engine.cache_key(t, msgs, u.sample)))
    # Each candidate's calls in the order of their prompts' text (candidates keep theirs): the
    # embedded llama.cpp server answers one request at a time and reuses the prefix a prompt
    # shares with the previous one, so prompts citing the same material follow each other and
    # it reads the system prompt and that material once (benchmarks/bench_prompt_reuse.py).
    rank = {name: i for i, name in enumerate(dict.fromkeys(u.spec.name for u in units))}
    out.sort(key=lambda p: (rank[p[0].spec.name], "\x00".join(m["content"] for m in p[1])))
    return out, given


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
            finish_reason=h.get("finish_reason"),
        )
    return misses


def _workers(plan: Plan, opts: RunOptions, capacity: int, calls: int) -> int:
    """Call worker processes for this run: many calls in flight to a fast provider make
    litellm's per-call CPU the bottleneck of one interpreter (harness.engine.pool)."""
    from harness.engine.pool import auto_workers, take_prestarted

    asked = opts.workers if opts.workers is not None else plan.runner.workers
    early = take_prestarted()  # started with the process (harness run): use them, not litellm too
    return max(early, auto_workers(capacity, calls)) if asked == "auto" else int(asked)


async def _dispatch(
    engine: Engine,
    targets: dict[str, Target],
    misses: list[_Prepared],
    plan: Plan,
    ds: Dataset,
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
            specs = plan.scorers or [ScorerSpec(name="edit")]  # as scoring picks them
            th = threading.Thread(
                target=_prefetch_scoring, args=(specs, ds), name="prefetch", daemon=True
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
                finish_reason=r.raw.get("finish_reason"),
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
