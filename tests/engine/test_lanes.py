"""How far a retry backs off: by the destination's failures in a row, not a request's alone.

The engine's calls are scripted here (no network): each request is named by its message and
answers from its own script; the waits the engine chooses are recorded from the lane.
"""

from __future__ import annotations

import asyncio

import pytest

from harness.engine.calls import Engine, Request, Retries
from harness.engine.lanes import Streak
from harness.engine.llm import CallResult

OK = CallResult(output="fine")
E500 = CallResult(error="InternalServerError: 500", retryable=True, status=500)
E400 = CallResult(error="BadRequestError: 400", retryable=False, status=400)


@pytest.mark.parametrize(
    ("answers", "attempt", "step"),
    [
        ([], 1, 1),  # never below one step
        ([True], 5, 1),  # the request's 5th failure, its destination's first in a row
        ([True, True, True], 5, 3),  # three in a row on the destination
        ([True] * 9, 4, 4),  # every answer fails: the request's own count, as before
        ([True, True, False, True], 6, 1),  # an answer in between resets the streak
    ],
)
def test_streak_step_is_the_smaller_of_attempt_and_failures_in_a_row(answers, attempt, step):
    s = Streak()
    for struggling in answers:
        s.answered(struggling)
    assert s.step(attempt) == step


def _engine(monkeypatch, scripts: dict[str, list[CallResult]], retries: Retries):
    """An engine with one approved loopback target whose calls answer from ``scripts``; the
    waits it chooses are appended to the returned list as (attempt, seconds)."""
    engine = Engine(["http://127.0.0.1"], "test", retries=retries)
    target = engine.target("m", Request("openai/x", api_base="http://127.0.0.1:9/v1"))

    async def no_start(workers: int = 0) -> None:
        return None

    async def scripted(t, messages):
        await asyncio.sleep(0.002)
        script = scripts[messages[0]["content"]]
        return script.pop(0) if len(script) > 1 else script[0]

    monkeypatch.setattr(engine, "start", no_start)
    monkeypatch.setattr(engine, "attempt", scripted)
    waits: list[tuple[int, float]] = []
    real = Streak.delay

    def spy(self, attempt, base, cap, retry_after):
        d = real(self, attempt, base, cap, retry_after)
        waits.append((attempt, d))
        return d

    monkeypatch.setattr(Streak, "delay", spy)
    return engine, target, waits


def _ask(engine, target, name: str):
    return engine.complete(target, [{"role": "user", "content": name}], lookup=False)


def test_a_flaky_provider_is_retried_soon_while_it_answers_others(monkeypatch):
    # "a" fails five times in a row while the provider answers everyone else meanwhile; a
    # per-request backoff would have waited 0.025-0.05, then up to 0.1, 0.2, 0.4, 0.8 s.
    base = 0.05
    scripts = {"a": [E500] * 5 + [OK], "b": [OK]}
    engine, target, waits = _engine(monkeypatch, scripts, Retries(10, base, 30.0))

    async def go():
        a = asyncio.create_task(_ask(engine, target, "a"))
        while not a.done():
            await _ask(engine, target, "b")
        return a.result()

    out = asyncio.run(go())
    assert out.output == "fine" and out.attempts == 6
    assert [n for n, _ in waits] == [1, 2, 3, 4, 5]
    assert all(0.5 * base <= d <= base for _, d in waits), waits


def test_a_provider_that_is_down_is_backed_off_exponentially(monkeypatch):
    base = 0.01
    scripts = {"a": [E500], "b": [E500]}
    engine, target, waits = _engine(monkeypatch, scripts, Retries(6, base, 30.0))

    async def go():
        return await asyncio.gather(_ask(engine, target, "a"), _ask(engine, target, "b"))

    outs = asyncio.run(go())
    assert all(o.output is None and o.attempts == 6 for o in outs)
    assert sorted(n for n, _ in waits) == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
    for n, d in waits:  # every answer fails: each wait doubles with the request's attempts
        assert 0.5 * base * 2 ** (n - 1) <= d <= base * 2 ** (n - 1), waits


def test_an_answer_that_is_not_worth_retrying_ends_a_streak():
    s = Streak()
    for _ in range(4):
        s.answered(True)
    s.answered(E400.output is None and E400.retryable)  # as the engine counts a 400
    assert s.step(4) == 1


@pytest.mark.parametrize(
    ("retry_after", "cap", "low", "high"),
    [(0.12, 30.0, 0.12, 0.17), (0.0, 30.0, 0.0, 0.05), (100.0, 0.2, 0.2, 0.25)],
)
def test_retry_after_is_honoured_fractional_and_capped(monkeypatch, retry_after, cap, low, high):
    limited = CallResult(error="RateLimitError: 429", retryable=True, retry_after=retry_after)
    scripts = {"a": [limited, OK]}
    engine, target, waits = _engine(monkeypatch, scripts, Retries(3, 5.0, cap))
    out = asyncio.run(_ask(engine, target, "a"))
    assert out.output == "fine" and out.attempts == 2
    assert len(waits) == 1 and low <= waits[0][1] <= high, waits


@pytest.mark.parametrize(
    ("answers", "attempt", "low", "high"),
    [
        ([True], 1, 0.05, 0.1),  # an isolated fault (the provider answered the call before)
        ([True], 4, 0.05, 0.1),  # ... however often this request failed before
        ([True, True], 2, 0.5, 1.0),  # two in a row: the exponential backoff, as before
        ([True] * 3, 3, 1.0, 2.0),
    ],
)
def test_an_isolated_fault_without_retry_after_is_retried_after_a_short_wait(
    answers, attempt, low, high
):
    s = Streak()
    for struggling in answers:
        s.answered(struggling)
    waits = [s.delay(attempt, 0.5, 30.0, None) for _ in range(200)]
    assert low <= min(waits) and max(waits) <= high, (min(waits), max(waits))
    # Retry-After is followed as told, whatever the streak
    assert all(0.3 <= s.delay(attempt, 0.5, 30.0, 0.3) <= 0.35 for _ in range(50))


def test_loopback_500_is_retried_soon_and_429_waits_its_retry_after(loopback, monkeypatch):
    """Through litellm and HTTP: a 500 without Retry-After from a provider that answers is
    retried within 0.1 s; a 429 with ``Retry-After: 0.3`` waits the 0.3 s it was told."""
    srv = loopback(script=(500, 200, 429, 200), retry_after="0.3", faults=(429,))
    engine = Engine(["http://127.0.0.1"], "test", retries=Retries(4, 0.5, 30.0))
    target = engine.target("m", Request("openai/loopback", api_base=srv.base_url))
    waits: list[float] = []
    real = Streak.delay

    def spy(self, attempt, base, cap, retry_after):
        waits.append(real(self, attempt, base, cap, retry_after))
        return waits[-1]

    monkeypatch.setattr(Streak, "delay", spy)

    async def go():
        with engine:
            first = await _ask(engine, target, "a")
            engine.lanes[target.lane_key].streak.answered(False)  # an answer in between
            return first, await _ask(engine, target, "b")

    first, second = asyncio.run(go())
    assert first.output and second.output and first.attempts == second.attempts == 2
    assert srv.recorded.statuses == [500, 200, 429, 200]
    after_500, after_429 = waits
    assert 0.05 <= after_500 <= 0.1, waits
    assert 0.3 <= after_429 <= 0.35, waits
    gaps = [
        b - a for a, b in zip(srv.recorded.arrived[0::2], srv.recorded.arrived[1::2], strict=True)
    ]
    assert gaps[0] >= after_500 and gaps[1] >= 0.3, gaps


def test_the_ramp_keeps_spacing_sends_after_the_first_answer_never_below_what_slots_allow():
    """Calls that come back together leave again together, and queue on the client's CPU
    (litellm's per-call work) every round: the ramp keeps sends ``gap`` apart for good, but
    at most a call's latency over the width apart, so it never sends fewer calls a second
    than the concurrency slots allow."""
    import asyncio
    import itertools
    import time

    from harness.engine.lanes import Ramp

    async def starts(ramp: Ramp, n: int) -> list[float]:
        out: list[float] = []
        for _ in range(n):
            await ramp.wait()
            out.append(time.monotonic())
        return out

    def gaps(latency: float) -> list[float]:
        ramp = Ramp(4, gap=0.05)
        ramp.took(latency)
        ramp.answered()
        xs = asyncio.run(starts(ramp, 5))
        return [b - a for a, b in itertools.pairwise(xs)]

    assert all(g >= 0.045 for g in gaps(1.0))  # slow answers: the full gap
    assert all(0.015 <= g < 0.045 for g in gaps(0.08)), gaps(0.08)  # 0.08 s / 4 = 0.02 s
