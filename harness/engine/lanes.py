"""Scheduling per destination: concurrency slots, an RPM cap, the ramp that spaces sends and the
failure streak that sets how far a retry backs off.

Every call site that sends to one destination shares one :class:`Lane`; the engine
(:mod:`harness.engine.calls`) takes a slot, waits for the limiter and the ramp, then calls.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import time
from dataclasses import dataclass, field


class Slots:
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


class Ramp:
    """Spaces a destination's sends ``gap`` seconds apart, so calls never leave in a burst.

    Calls to an endpoint whose latency is steady (a local server, a fixed ``max_tokens``) that
    start together come back together, and the burst then queues on the client's CPU (litellm
    spends about 5 ms on each call). Their replacements leave as a burst too, so the queueing
    repeats every round: with 32 in flight and 0.2 s a call took 0.24 s, not 0.2 s. The first
    wave is spread before any answer, and the spacing stays: through call workers a burst
    re-forms whenever their answers reach the run together (a pipe read at once, a busy
    core), and a bare litellm loop's waves spread out on their own where the harness's did
    not (PEERS workload: 8 calls a wave within 1-10 ms, a median round of 229 ms against
    208 ms). Once answers come, the spacing is at most their latency over the width: the
    pacing never sends fewer calls a second than the slots allow, and a fast provider is not
    held back. The first answer also releases the calls of the first wave waiting on it.
    """

    GAP_S = 0.005  # about one litellm call's CPU on the client

    def __init__(self, width: int, gap: float | None = None):
        self.left = width  # calls of the first wave still to leave
        self.width = max(1, width)
        self.gap = self.GAP_S if gap is None else gap
        self.latency: float | None = None  # of the destination's answers (a moving average)
        self.next_at = 0.0
        self._turn = asyncio.Lock()
        self._over = asyncio.Event()

    @property
    def spacing(self) -> float:
        """Seconds between two sends: the gap, at most the latency over the width."""
        if not self._over.is_set():
            return self.gap
        return min(self.gap, (self.latency or 0.0) / self.width)

    async def wait(self) -> None:
        if self.left > 0:
            self.left -= 1
        elif not self._turn.locked() and time.monotonic() >= self.next_at:
            self.next_at = time.monotonic() + self.spacing
            return
        async with self._turn:  # one at a time, each ``spacing`` after the last one really left
            delay = self.next_at - time.monotonic()
            if delay > 0 and not self._over.is_set():
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(self._over.wait(), delay)  # an answer ends it early
            elif delay > 0:
                await asyncio.sleep(delay)
            self.next_at = time.monotonic() + self.spacing

    def took(self, latency: float) -> None:
        """One call's latency (seconds), for the spacing once answers come."""
        self.latency = latency if self.latency is None else 0.9 * self.latency + 0.1 * latency

    def answered(self) -> None:
        """A call came back: from now on the spacing follows the latency (none known: no
        spacing), also for the first wave's calls waiting on the gap."""
        self._over.set()


class RateLimiter:
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


class Streak:
    """A destination's retryable failures in a row, over all its calls: how far to back off.

    Backing off by a request's own attempt count alone waits longest on exactly the unlucky
    requests that a flaky provider leaves behind: with 30% of answers failing at random
    (429/500/503), a request on its 6th attempt after five 500s (no Retry-After) had waited
    0.25 + 0.5 + 1 + 2 + 4 s (x 0.5-1 jitter) while the provider answered everyone else, and
    the run's tail was that wait (runs of 44-77 s for 15 s of calls). The destination's streak
    tells a flaky provider from a failing one: any answer (a success, or an error that is not
    worth retrying) resets it, so under random faults a retry backs off a step or two; when
    every answer fails it grows with each one, several a round with many calls in flight, soon
    passes any request's attempt count, and the backoff grows exactly as before.
    """

    def __init__(self) -> None:
        self.failures = 0

    def answered(self, struggling: bool) -> None:
        """Count one answer: ``struggling`` (429, 5xx, a time-out) or not."""
        self.failures = self.failures + 1 if struggling else 0

    def step(self, attempt: int) -> int:
        """The backoff step after a request's ``attempt``-th failure: at most ``attempt``, and
        at most the destination's failures in a row (at least 1)."""
        return max(1, min(attempt, self.failures))

    # An isolated fault (the destination's previous answer was fine) without Retry-After is
    # retried after at most this long: 0.05-0.1 s, not 0.25-0.5 s (base 0.5). At 30% faults
    # most faults are isolated, and the run's tail is the wait of its last unlucky requests
    # (benchmarks/bench_faults.py); a second failure in a row backs off as before.
    ISOLATED_S = 0.1

    def delay(self, attempt: int, base: float, cap: float, retry_after: float | None) -> float:
        """Seconds before the retry: Retry-After when given (capped), else the jittered
        exponential backoff of :meth:`step` (``base`` doubling, at most ``cap``), which for an
        isolated fault (step 1) starts from at most :attr:`ISOLATED_S`."""
        from harness.engine.llm import backoff_delay

        step = self.step(attempt)
        if step == 1 and retry_after is None:
            base = min(base, self.ISOLATED_S)
        return backoff_delay(step, base, cap, retry_after)

    async def backoff(
        self, attempt: int, base: float, cap: float, retry_after: float | None
    ) -> None:
        """Wait :meth:`delay` seconds before a request's next attempt."""
        await asyncio.sleep(self.delay(attempt, base, cap, retry_after))


@dataclass
class Lane:
    """The scheduling shared by every call site that sends to one destination."""

    slots: Slots
    limiter: RateLimiter
    ramp: Ramp
    streak: Streak = field(default_factory=Streak)
