"""Scheduling per destination: concurrency slots, an RPM cap and the first-wave ramp.

Every call site that sends to one destination shares one :class:`Lane`; the engine
(:mod:`harness.engine`) takes a slot, waits for the limiter and the ramp, then calls.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import time
from dataclasses import dataclass


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
    """Starts a destination's first wave of calls ``gap`` seconds apart, not all at once.

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


@dataclass
class Lane:
    """The scheduling shared by every call site that sends to one destination."""

    slots: Slots
    limiter: RateLimiter
    ramp: Ramp
