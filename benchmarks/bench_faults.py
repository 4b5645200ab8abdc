"""The fault scenario's scheduling alone: the engine's slots, ramp, retries and backoff against a
scripted provider, with no litellm, no HTTP and next to no CPU, so the machine's load does not
hide what the retry policy costs.

PEERS.md scenario d: 400 requests, 8 in flight, each answer after 0.2 s, 30% of answers a
fault (429 and 503 with ``Retry-After: 0.1``, 500 without), the plan's default retries (10
attempts, backoff base 0.5 s, cap 30 s). Each seed runs twice in one event loop: with the
engine's backoff (steps capped by the destination's failures in a row) and with the previous
rule (steps by each request's own attempts). Prints, per policy, the median and the spread
of the run's time and of its tail (the last answer after the 99th percentile), and the ideal
(calls made x 0.2 s / 8).
"""

from __future__ import annotations

import asyncio
import random
import statistics
import time
from typing import Any

from _common import arg_parser, load, save, table

from harness.engine.calls import Engine, Request, Retries
from harness.engine.lanes import Streak
from harness.engine.llm import CallResult

N, C, LATENCY, FAULT_RATE = 400, 8, 0.2, 0.3


class PerRequest(Streak):
    """The previous rule: the backoff step is the request's own attempt count."""

    def step(self, attempt: int) -> int:
        return attempt


async def one_run(seed: int, policy: type[Streak]) -> dict[str, Any]:
    rng = random.Random(seed)
    engine = Engine(["http://127.0.0.1"], "bench", retries=Retries(10, 0.5, 30.0))
    target = engine.target(
        "m", Request("openai/x", api_base="http://127.0.0.1:9/v1", concurrency=C)
    )
    engine.lanes[target.lane_key].streak = policy()
    calls = 0

    async def no_start(workers: int = 0) -> None:
        return None

    async def provider(t: Any, messages: Any) -> CallResult:
        nonlocal calls
        calls += 1
        await asyncio.sleep(LATENCY)
        if rng.random() >= FAULT_RATE:
            return CallResult(output="ok")
        status = rng.choice([429, 500, 503])
        after = 0.1 if status in (429, 503) else None
        return CallResult(error=f"{status}", retryable=True, retry_after=after, status=status)

    engine.start = no_start  # type: ignore[method-assign]
    engine.attempt = provider  # type: ignore[method-assign]
    t0 = time.perf_counter()
    done: list[float] = []

    async def ask(i: int) -> int:
        out = await engine.complete(target, [{"role": "user", "content": str(i)}], lookup=False)
        done.append(time.perf_counter() - t0)
        return 1 if out.output is not None else 0

    ok = sum(await asyncio.gather(*(ask(i) for i in range(N))))
    done.sort()
    return {
        "wall_s": done[-1],
        "tail_s": done[-1] - done[int(0.99 * N) - 1],
        "ideal_s": calls * LATENCY / C,
        "calls": calls,
        "lost": N - ok,
    }


async def main_async(seeds: list[int]) -> dict[str, list[dict[str, Any]]]:
    runs = [one_run(s, p) for s in seeds for p in (Streak, PerRequest)]
    res = await asyncio.gather(*runs)
    return {"destination streak": list(res[0::2]), "per request (previous)": list(res[1::2])}


def main() -> None:
    p = arg_parser(__doc__)
    p.set_defaults(repeat=8)
    args = p.parse_args()
    loads = [load()]
    out = asyncio.run(main_async(list(range(1, args.repeat + 1))))
    loads.append(load())
    rows, summary = [], {}
    for name, rs in out.items():
        walls = [r["wall_s"] for r in rs]
        tails = [r["tail_s"] for r in rs]
        summary[name] = {
            "median_s": round(statistics.median(walls), 2),
            "runs_s": [round(w, 2) for w in walls],
            "tail_median_s": round(statistics.median(tails), 2),
            "tails_s": [round(t, 2) for t in tails],
            "ideal_s": [round(r["ideal_s"], 2) for r in rs],
            "lost": [r["lost"] for r in rs],
        }
        rows.append(
            {
                "backoff": name,
                "median s": f"{statistics.median(walls):.2f}",
                "min-max s": f"{min(walls):.2f}-{max(walls):.2f}",
                "tail median s": f"{statistics.median(tails):.2f}",
                "tail max s": f"{max(tails):.2f}",
                "ideal s": f"{statistics.median(r['ideal_s'] for r in rs):.2f}",
                "lost": str(sum(r["lost"] for r in rs)),
            }
        )
    cols = ["backoff", "median s", "min-max s", "tail median s", "tail max s", "ideal s", "lost"]
    print(table(rows, cols))
    print(f"{args.repeat} seeds; load (1/5/15 min): {' | '.join(loads)}")
    print(f"wrote {save('bench_faults', {'n': N, 'concurrency': C, 'load': loads, **summary})}")


if __name__ == "__main__":
    main()
