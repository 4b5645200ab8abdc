"""What litellm itself allows at C=32: bare litellm loops, no harness, over 1, 2 and 4 processes.

The workload of bench_concurrency.py at C=32: 400 chat calls with the harness's own rendered
messages to the loopback server at L = 0.2 s. Here there is no harness at all: each of K
child processes imports litellm, warms up, then at a common start time runs its share of the
calls (400 / K) with 32 / K in flight, `asyncio.gather` over `litellm.acompletion` behind a
semaphore. Measured with and without a first-wave spread like the harness's ramp (a fixed
schedule: the first wave's calls start 5 ms apart, interleaved across the processes). These
loops are timed from the common start, after their warm-up: none of a run's own setup
(dataset, prompts, manifest, Parquet) is in them, unlike bench_concurrency.py.
Efficiency is N/C x L divided by the time from the common start to the last call's end.
Median of --repeat rounds.

It also prints the floor that no scheduling can beat: ceil(N/C) = 13 calls must run one
after another on some slot, each taking at least the fastest call seen, so the best possible
efficiency is (N/C x L) / (13 x fastest call).
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

N = 400
C = 32
LATENCY = 0.2
GAP = 0.005
ROUND_S = 6.0  # every round finishes well within this


def child(spec_path: str) -> None:
    """One bare litellm loop: warm up, then one timed round at each agreed start time."""
    spec = json.loads(Path(spec_path).read_text(encoding="utf-8"))
    from harness.engine.llm import litellm_module

    litellm = litellm_module()
    msgs, c, k, idx = spec["messages"], spec["concurrency"], spec["procs"], spec["index"]

    async def call(m: list[dict[str, str]]) -> float:
        t0 = time.monotonic()
        await litellm.acompletion(
            model="openai/loopback",
            messages=m,
            api_base=spec["base_url"],
            api_key="no-key-configured",
            timeout=60,
            num_retries=0,
            max_retries=0,
            max_tokens=50,
        )
        return time.monotonic() - t0

    async def rounds() -> list[dict[str, object]]:
        await asyncio.gather(*(call(m) for m in msgs[:c]))  # warm: connections, lazy imports
        out = []
        for start_at in spec["starts"]:
            await asyncio.sleep(max(0.0, start_at - time.monotonic()))
            late = time.monotonic() - start_at
            sem = asyncio.Semaphore(c)

            async def one(
                i: int, m: list[dict[str, str]], t0: float, sem: asyncio.Semaphore
            ) -> float:
                async with sem:
                    if i < c and spec["gap"]:  # the ramp, interleaved across the K processes
                        await asyncio.sleep(
                            max(0.0, t0 + (i * k + idx) * spec["gap"] - time.monotonic())
                        )
                    return await call(m)

            lat = await asyncio.gather(*(one(i, m, start_at, sem) for i, m in enumerate(msgs)))
            out.append({"end": time.monotonic(), "lat": lat, "late": late})
        return out

    print(json.dumps(asyncio.run(rounds())), flush=True)
    os._exit(0)  # skip litellm's exit hooks


def main() -> None:
    from _common import (
        PY,
        ServerProcess,
        arg_parser,
        child_env,
        load,
        median,
        plan_messages,
        save,
        scratch,
        table,
        write_plan,
    )

    args = arg_parser(__doc__).parse_args()
    ideal = N / C * LATENCY
    rows, out, fastest = [], {}, math.inf
    loads = [load()]
    with scratch("floor") as tmp, ServerProcess(latency=LATENCY) as srv:
        _, msgs = plan_messages(write_plan(tmp / "plan", srv.base_url, items=100, concurrency=C))
        msgs = msgs[:N]
        for procs in (1, 2, 4):
            for gap in (0.0, GAP):
                t_first = time.monotonic() + 15.0 + 3.0 * procs  # after every child's import
                starts = [t_first + r * ROUND_S for r in range(args.repeat)]
                children = []
                for idx in range(procs):
                    share = msgs[idx::procs]
                    spec = {
                        "base_url": srv.base_url,
                        "messages": share,
                        "concurrency": C // procs,
                        "procs": procs,
                        "index": idx,
                        "gap": gap,
                        "starts": starts,
                    }
                    path = tmp / f"spec-{procs}-{gap}-{idx}.json"
                    path.write_text(json.dumps(spec), encoding="utf-8")
                    children.append(
                        subprocess.Popen(
                            [PY, __file__, "--child", str(path)],
                            env=child_env(),
                            stdout=subprocess.PIPE,
                            text=True,
                        )
                    )
                results = []
                for ch in children:
                    stdout, _ = ch.communicate(timeout=180)
                    if ch.returncode != 0:
                        raise RuntimeError(f"a bare litellm child exited {ch.returncode}")
                    results.append(json.loads(stdout))
                late = max(rnd["late"] for res in results for rnd in res)
                if late > 0.05:
                    raise RuntimeError(f"a child started a round {late:.2f} s late; rerun")
                walls = [
                    max(res[r]["end"] for res in results) - starts[r] for r in range(args.repeat)
                ]
                lat = [x for res in results for rnd in res for x in rnd["lat"]]
                fastest = min(fastest, min(lat))
                eff = ideal / median(walls)
                key = f"{procs} process{'es' if procs > 1 else ''}, {'ramp 5 ms' if gap else 'no ramp'}"
                out[key] = {
                    "processes": procs,
                    "in_flight_each": C // procs,
                    "ramp_s": gap,
                    "median_s": round(median(walls), 3),
                    "runs_s": [round(w, 3) for w in walls],
                    "call_p50_ms": round(1000 * statistics.median(lat), 1),
                    "efficiency": round(eff, 3),
                }
                rows.append(
                    {
                        "bare litellm": key,
                        "median s": f"{median(walls):.2f}",
                        "runs s": " ".join(f"{w:.2f}" for w in walls),
                        "call p50 ms": f"{1000 * statistics.median(lat):.0f}",
                        "efficiency": f"{eff:.3f}",
                    }
                )
                loads.append(load())
    rounds_needed = math.ceil(N / C)
    best = ideal / (rounds_needed * fastest)
    print(table(rows, ["bare litellm", "median s", "runs s", "call p50 ms", "efficiency"]))
    print(
        f"floor: {rounds_needed} calls in a row x fastest call {1000 * fastest:.1f} ms = "
        f"{rounds_needed * fastest:.3f} s, best possible efficiency {best:.3f}; "
        f"load (1/5/15 min): {' | '.join(loads)}"
    )
    payload = {
        "calls": N,
        "concurrency": C,
        "latency_s": LATENCY,
        "ideal_s": ideal,
        "fastest_call_ms": round(1000 * fastest, 2),
        "best_possible_efficiency": round(best, 3),
        "load": loads,
        **out,
    }
    print(f"wrote {save('bench_litellm_floor', payload)}")


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--child":
        sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
        child(sys.argv[2])
    else:
        main()
