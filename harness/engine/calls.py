"""The one model-call path: every call that carries district data goes through an Engine.

A :class:`Request` says what a call site wants (a model candidate, the judge, anything added
later): model, endpoint, key variable, parameters, response format, time-out, price and
concurrency. An :class:`Engine` (one per run or judging pass) turns each request into a
:class:`Target` and makes its calls, and it is the only place that:

- **approves** the destination before any request: the plan's ``api_base``, else an
  ``*_API_BASE`` variable (shell or ``.env``), else the provider's own endpoint, checked
  against ``approved_providers`` (the rule is :func:`harness.engine.protect.approved_by`);
- **redacts** the family's message (and, for the judge, the texts it is shown);
- reads **keys** from the variable the plan names and registers every value read with
  :mod:`harness.engine.keys`, which scrubs them from everything written and printed;
- keeps the **response cache** (keyed on the logical model, never the embedded server's port);
- **schedules** per destination: concurrency slots (a retry before any first attempt), an RPM
  cap and the ramp that spaces sends; then **retries** with capped jittered backoff honouring
  Retry-After, and stops on a spent **budget**;
- **records** every ``scheme://host:port`` contacted and each call site's destination.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.engine import keys
from harness.engine.cache import ResponseCache, cache_key
from harness.engine.lanes import Lane, Ramp, RateLimiter, Slots
from harness.engine.protect import (
    Destination,
    Redactor,
    approved_by,
    destination,
    endpoint,
    environment_record,
    is_local_destination,
    provider_of,
    refuse,
)

if TYPE_CHECKING:
    from harness.engine.llm import Call, CallResult


@dataclass(frozen=True)
class Request:
    """What one call site asks for; the same object for a candidate and for the judge."""

    model: str
    api_base: str | None = None
    api_key_env: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    response_format: dict[str, Any] | None = None
    timeout: float = 60.0
    price: tuple[float, float] | None = None
    concurrency: int = 4
    rpm: float | None = None

    def call_params(self) -> dict[str, Any]:
        """The parameters sent with each call: ``params`` plus the response format."""
        if self.response_format is None:
            return dict(self.params)
        return {**self.params, "response_format": self.response_format}


@dataclass(frozen=True)
class Retries:
    """How often, and how patiently, a failed call is tried again."""

    max_attempts: int = 6
    backoff_base: float = 0.5
    backoff_max: float = 30.0


@dataclass
class Outcome:
    """What came of one request: the answer (or the last error), and what it took."""

    result: CallResult | None  # None: not sent, the budget ran out first
    errors: list[str]
    attempts: int  # network calls made (0: answered from the cache)
    latency_s: float | None = None  # of the answering call
    elapsed_s: float = 0.0  # from the first attempt to the end, waits and retries included
    cached: bool = False

    @property
    def output(self) -> str | None:
        return self.result.output if self.result is not None else None


@dataclass
class Spent:
    """Network calls, cost and tokens of everything an engine sent."""

    calls: int = 0
    cost_usd: float = 0.0
    tokens_in: int = 0
    tokens_out: int = 0


@dataclass
class Target:
    """A call site whose destination was approved: how its calls are made and cached."""

    name: str
    request: Request
    destination: Destination
    approved_by: str
    identity: str  # the logical model in cache keys (the embedded model's weights' identity)
    lane_key: str
    api_key: str | None
    call: Call | None = None  # set when the engine starts (the embedded server's port)

    @property
    def is_local(self) -> bool:
        return is_local_destination(self.destination)

    def manifest_entry(self) -> dict[str, Any]:
        return {
            "site": self.name,
            "model": self.request.model,
            "endpoint": self.destination.endpoint,
            "url": self.destination.url,
            "origin": self.destination.origin,
            "approved_by": self.approved_by,
        }


def _local_identity(model: str) -> str:
    from harness.engine.local import gguf_path, model_identity

    return f"{model}@{model_identity(gguf_path())}"


class Engine:
    """Approves, redacts, caches, schedules, retries and records every model call of a pass.

    Use it as a context manager (it stops the embedded model server it started) from inside
    the event loop that makes the calls.
    """

    def __init__(
        self,
        approved: list[str],
        source: str,
        *,
        redact: str = "off",
        people: list[str] | None = None,
        cache: ResponseCache | None = None,
        retries: Retries | None = None,
        budget_usd: float | None = None,
        log_dir: Path | None = None,
    ):
        self.approved = list(approved)
        self.source = source
        self.redact_mode = redact
        self.redactor = Redactor(people or []) if redact != "off" else None
        self.cache = cache
        self.retries = retries or Retries()
        self.budget_usd = budget_usd
        self.log_dir = log_dir or Path.cwd()
        self.targets: dict[str, Target] = {}
        self.lanes: dict[str, Lane] = {}
        self.contacted: set[str] = set()
        self.spent = Spent()
        self.stopped = False  # the budget ran out
        self.pool: Any = None
        self._servers: dict[str, Any] = {}
        self._stack = contextlib.ExitStack()
        self._start_lock: asyncio.Lock | None = None
        self._started = False
        self._scrub_values: list[str] | None = None  # set by start()

    # -- call sites ----------------------------------------------------------------------------
    def target(self, name: str, request: Request) -> Target:
        """Approve a call site's destination and read its key (RunError if not approved)."""
        refuse([(name, request.model, request.api_base)], self.approved, self.source)
        dest = destination(request.model, request.api_base)
        by = approved_by(dest, self.approved)
        assert by is not None
        key: str | None
        if dest.origin == "embedded":
            identity, key = _local_identity(request.model), "sk-no-key-needed"
            lane = "local:" + request.model
        else:
            identity = request.model
            key = self._read_key(request)
            lane = endpoint(dest.url) if dest.url else provider_of(request.model)
        t = Target(name, request, dest, by, identity, lane, key)
        width = request.concurrency
        self.lanes.setdefault(lane, Lane(Slots(width), RateLimiter(request.rpm), Ramp(width)))
        self.targets[name] = t
        return t

    @staticmethod
    def _read_key(request: Request) -> str | None:
        if request.api_key_env:
            value = os.environ.get(request.api_key_env)
            keys.register(value)
            return value
        if request.api_base:
            return "no-key-configured"  # OpenAI-compatible servers without auth (vLLM, llama.cpp)
        return None

    @property
    def capacity(self) -> int:
        """Calls that may be in flight at once over every destination."""
        return sum(lane.slots.free for lane in self.lanes.values())

    # -- what is sent --------------------------------------------------------------------------
    def redact(self, target: Target, text: str) -> str:
        """``text`` with personal data replaced, when the plan redacts for this destination."""
        if self.redactor is None or text is None:
            return text
        if self.redact_mode == "all" or (self.redact_mode == "non_local" and not target.is_local):
            return self.redactor.text(text)
        return text

    def cache_key(self, target: Target, messages: list[dict[str, str]], sample: int) -> str:
        base = None if target.destination.origin == "embedded" else target.request.api_base
        return cache_key(target.identity, base, messages, target.request.call_params(), sample)

    def cached(self, cache_keys: list[str]) -> dict[str, dict[str, Any]]:
        """Cached responses by key (an empty dict without a cache)."""
        return self.cache.get_many(cache_keys) if self.cache is not None else {}

    # -- starting ------------------------------------------------------------------------------
    async def start(self, workers: int = 0) -> None:
        """Start what the calls need: the embedded server(s), litellm or the call workers.

        Idempotent; the judge calls it on its first cache miss, the runner before its first
        wave (so the wave is spread over real sends, not queued behind an import).
        """
        if self._started:
            return
        if self._start_lock is None:
            self._start_lock = asyncio.Lock()
        async with self._start_lock:
            if self._started:
                return
            from harness.engine.llm import Call, litellm_module

            sites = [(t.name, t.request.model, t.request.api_base) for t in self.targets.values()]
            refuse(sites, self.approved, self.source)  # the environment again, before any call
            for t in self.targets.values():
                req = t.request
                if t.destination.origin == "embedded":
                    if req.model not in self._servers:
                        from harness.engine.local import serve_smollm2

                        # a lease on the machine's one server, started here if none runs
                        self._servers[req.model] = self._stack.enter_context(
                            serve_smollm2(log_dir=self.log_dir)
                        )
                    srv = self._servers[req.model]
                    model, base = srv.litellm_model, srv.api_base
                    key = srv.api_key or t.api_key  # the server takes only its nonce
                    price: tuple[float, float] | None = req.price or (0.0, 0.0)
                else:
                    model, base, price = req.model, self._send_base(t), req.price
                    key = t.api_key
                t.call = Call(model, base, key, req.call_params(), req.timeout, price)
            if workers:
                from harness.engine.pool import start_pool

                self.pool = start_pool(workers)
                await self.pool.until_ready()
            else:
                litellm_module()
            self._scrub_values = keys.scrub_values()  # once per pass, not on every call
            self._started = True

    @staticmethod
    def _send_base(t: Target) -> str | None:
        """The api_base litellm is given: the approved destination, never litellm's own pick.

        For a provider whose default endpoint litellm builds itself (anthropic, gemini, ...)
        None is passed; :func:`harness.engine.protect.destination` has already made sure that no
        ``*_API_BASE`` variable would redirect it.
        """
        d = t.destination
        if d.origin in ("plan", "environment"):
            return d.url
        return d.url if provider_of(t.request.model) == "openai" else None

    def detach(self) -> None:
        """Let go of the running event loop (call before it ends); the workers stay."""
        if self.pool is not None:
            self.pool.detach()

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stack.close()
        self._servers.clear()

    # -- calling -------------------------------------------------------------------------------
    async def attempt(self, target: Target, messages: list[dict[str, str]]) -> CallResult:
        """One call, in process or through a call worker, with a hard time-out; scrubbed."""
        from harness.engine.llm import CallResult, call_model

        await self.start()
        call = target.call
        assert call is not None
        self.contacted.add(self._endpoint(target))
        fn = self.pool.call if self.pool is not None else call_model
        limit = target.request.timeout + 10
        try:
            res: CallResult = await asyncio.wait_for(fn(call, messages), limit)
        except asyncio.TimeoutError:
            res = CallResult(error=f"Timeout: no answer within {limit:.0f} s", retryable=True)
        if res.error or res.output:
            values = self._scrub_values if self._scrub_values is not None else keys.scrub_values()
            if res.error:
                res.error = keys.scrub_with(res.error, values)
            if res.output:
                res.output = keys.scrub_with(res.output, values)
        return res

    async def complete(
        self,
        target: Target,
        messages: list[dict[str, str]],
        key: str | None = None,
        *,
        lookup: bool = True,
        on_answer: Callable[[], None] | None = None,
    ) -> Outcome:
        """Answer one request: from the cache (``lookup``), else by calling with retries.

        A successful answer is put in the cache under ``key``. Retries wait for a slot ahead
        of first attempts; a spent budget stops further sends (result None).
        """
        if lookup and key is not None and self.cache is not None:
            hit = self.cache.get_many([key]).get(key)
            if hit is not None:
                from harness.engine.llm import CallResult

                answer = CallResult(
                    output=str(hit["output"]),
                    tokens_in=hit.get("tokens_in"),
                    tokens_out=hit.get("tokens_out"),
                    cost_usd=hit.get("cost_usd"),
                    raw={"finish_reason": hit.get("finish_reason")},
                )
                return Outcome(answer, [], 0, hit.get("latency_s"), 0.0, cached=True)
        await self.start()
        lane = self.lanes[target.lane_key]
        rs = self.retries
        errors: list[str] = []
        t_start = time.perf_counter()
        res: CallResult | None = None
        for n in range(1, rs.max_attempts + 1):
            if self.stopped:
                return Outcome(None, errors, n - 1, None, time.perf_counter() - t_start)
            await lane.limiter.wait()
            await lane.slots.acquire(retry=n > 1)
            try:
                await lane.ramp.wait()
                if self.stopped:  # the budget ran out while this call waited its turn
                    return Outcome(None, errors, n - 1, None, time.perf_counter() - t_start)
                t0 = time.perf_counter()
                res = await self.attempt(target, messages)
                latency = time.perf_counter() - t0
                lane.ramp.took(latency)
                lane.ramp.answered()
            finally:
                lane.slots.release()
            self._account(res)
            lane.streak.answered(res.output is None and res.retryable)
            if res.output is not None:
                if on_answer is not None:
                    on_answer()
                if key is not None and self.cache is not None:
                    self.cache.put(
                        key,
                        target.identity,
                        {
                            "output": res.output,
                            "tokens_in": res.tokens_in,
                            "tokens_out": res.tokens_out,
                            "cost_usd": res.cost_usd,
                            "latency_s": round(latency, 4),
                            "finish_reason": res.raw.get("finish_reason"),
                        },
                    )
                return Outcome(res, errors, n, round(latency, 4), time.perf_counter() - t_start)
            errors.append(f"attempt {n}: {res.error}")
            if not res.retryable or n == rs.max_attempts:
                break
            await lane.streak.backoff(n, rs.backoff_base, rs.backoff_max, res.retry_after)
        return Outcome(res, errors, len(errors), None, round(time.perf_counter() - t_start, 4))

    def _account(self, res: CallResult) -> None:
        s = self.spent
        s.calls += 1
        s.cost_usd += res.cost_usd or 0.0
        s.tokens_in += res.tokens_in or 0
        s.tokens_out += res.tokens_out or 0
        if self.budget_usd is not None and s.cost_usd >= self.budget_usd:
            self.stopped = True

    # -- records -------------------------------------------------------------------------------
    @staticmethod
    def _endpoint(t: Target) -> str:
        url = t.call.api_base if t.call is not None else None
        return endpoint(url) if url else t.destination.endpoint

    def record(self, planned: bool = False) -> dict[str, Any]:
        """What the manifest keeps: each call site's destination, and the ``scheme://host:port``
        of every endpoint contacted (``planned``: of every started target, written before the
        first call so that a killed run still names them)."""
        sent = {self._endpoint(t) for t in self.targets.values() if t.call} if planned else set()
        return {
            "endpoints": sorted(self.contacted | sent),
            "destinations": [t.manifest_entry() for t in self.targets.values()],
            "environment": environment_record(self.targets.values(), self.approved),
        }


def engine_for_plan(
    plan: Any,
    *,
    people: list[str] | None = None,
    cache: ResponseCache | None = None,
    budget_usd: float | None = None,
    log_dir: Path | None = None,
    retries: Retries | None = None,
) -> Engine:
    """An engine with the plan's approval list (its governance file), redaction and retries."""
    from harness.engine.protect import approval_list

    gov = plan.resolve(plan.governance) if plan.governance else None
    approved, source = approval_list(gov)
    rs = plan.runner
    return Engine(
        approved,
        source,
        redact=plan.redact,
        people=people,
        cache=cache,
        retries=retries or Retries(rs.max_attempts, rs.backoff_base, rs.backoff_max),
        budget_usd=budget_usd,
        log_dir=log_dir,
    )


def plan_sites(plan: Any, concurrency: int | None = None) -> dict[str, Request]:
    """Every call site of a plan: its model candidates, and the judge (its ``judge`` section,
    overridden by a ``judge`` scorer's own options, as the scorer applies them)."""
    sites = {c.name: candidate_request(c, plan, concurrency) for c in plan.candidates if c.is_model}
    judge = plan.judge.model_dump() if plan.judge is not None else None
    for sc in plan.scorers:
        if sc.name == "judge":
            judge = {**(judge or {}), **sc.options}
    if judge is not None:
        sites["judge"] = Request(
            judge.get("model") or "local/smollm2", judge.get("api_base"), judge.get("api_key_env")
        )
    return sites


def candidate_request(spec: Any, plan: Any, concurrency: int | None = None) -> Request:
    """The request of a model candidate (its concurrency: the override, its own, the plan's)."""
    price = (spec.price.input_per_1k, spec.price.output_per_1k) if spec.price else None
    return Request(
        model=spec.model,
        api_base=spec.api_base,
        api_key_env=spec.api_key_env,
        params=dict(spec.params),
        timeout=plan.runner.timeout,
        price=price,
        concurrency=concurrency or spec.concurrency or plan.runner.concurrency,
        rpm=spec.rpm,
    )


def check_plan(plan: Any) -> list[str]:
    """Refuse (RunError) a plan with any call site at an unapproved destination, before any
    request; returns the approval list applied, for the manifest."""
    from harness.engine.protect import approval_list

    gov = plan.resolve(plan.governance) if plan.governance else None
    approved, source = approval_list(gov)
    sites = plan_sites(plan)
    refuse([(n, r.model, r.api_base) for n, r in sites.items()], approved, source)
    return approved


__all__ = [
    "Engine", "Outcome", "Request", "Retries", "Target",
    "candidate_request", "check_plan", "engine_for_plan", "plan_sites",
]  # fmt: skip
