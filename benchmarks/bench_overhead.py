"""Harness overhead: a 400-generation run vs a bare loop of the same 400 litellm calls.

Zero-latency loopback server, concurrency 8, in one process. The bare loop is
`asyncio.gather` over `litellm.acompletion` behind an `asyncio.Semaphore(8)`, with the very
messages and parameters the harness sends. The harness side is a whole `run_plan` (plan and
dataset loading, prompt rendering, cache lookups and writes to a fresh cache, the journal,
the manifest, the Parquet table). litellm and the scoring modules are imported first, so
neither side pays one-off imports (bench_peers.py times those). The two alternate; the
ratio of medians over --repeat rounds is reported. Target: <= 1.3.

The harness side runs twice per round: with ``workers: 0`` (every call in this process, like
the bare loop: the harness's own overhead, which the target is about) and with the default
``workers: auto`` (the call workers of harness/engine/pool.py, started beforehand like
litellm's import: what a user gets, on every core).
"""

from __future__ import annotations

import asyncio
from typing import Any

from _common import (
    ServerProcess,
    arg_parser,
    load,
    median,
    plan_messages,
    save,
    scratch,
    table,
    timed,
    warm_up,
    write_plan,
)

N = 400
C = 8


def main() -> None:
    args = arg_parser(__doc__).parse_args()
    from harness.engine.llm import litellm_module
    from harness.run.runner import RunOptions, run_plan
    from harness.scorers import scorer_names

    workers = warm_up()
    litellm = litellm_module()
    scorer_names()
    inproc = RunOptions(progress=False, workers=0)
    pooled = RunOptions(progress=False, workers="auto")
    loads = [load()]
    bare_s: list[float] = []
    run_s: list[float] = []
    pool_s: list[float] = []
    with scratch("overhead") as tmp, ServerProcess(latency=0.0) as srv:
        plan_path = write_plan(tmp / "plan", srv.base_url, concurrency=C)
        plan, messages = plan_messages(plan_path)
        spec = plan.candidates[0]
        assert len(messages) == N

        async def bare(batch: list[list[dict[str, str]]]) -> list[Any]:
            sem = asyncio.Semaphore(C)

            async def one(msgs: list[dict[str, str]]) -> Any:
                async with sem:
                    return await litellm.acompletion(
                        model=spec.model,
                        messages=msgs,
                        api_base=spec.api_base,
                        api_key="no-key-configured",
                        timeout=plan.runner.timeout,
                        num_retries=0,
                        max_retries=0,
                        **spec.params,
                    )

            return await asyncio.gather(*(one(m) for m in batch))

        asyncio.run(bare(messages[:16]))  # warm-up: client pools, lazy imports
        for rep in range(args.repeat):
            before = srv.count()
            t, out = timed(lambda: asyncio.run(bare(messages)))
            assert srv.count() - before == N and all(r.choices[0].message.content for r in out)
            bare_s.append(t)
            for name, opts, sink in (("inproc", inproc, run_s), ("pool", pooled, pool_s)):
                before = srv.count()
                t, store = timed(
                    lambda rep=rep, name=name, opts=opts: run_plan(
                        plan_path, results_dir=tmp / f"res-{name}-{rep}", options=opts, score=False
                    )
                )
                m = store.read_manifest()
                assert srv.count() - before == N and m["counts"]["ok"] == N
                assert m["call_workers"] == (0 if name == "inproc" else workers)
                sink.append(t)
            loads.append(load())
    ratio = median(run_s) / median(bare_s)
    rows = [
        {
            "side": "bare litellm loop",
            "median s": f"{median(bare_s):.2f}",
            "runs s": " ".join(f"{x:.2f}" for x in bare_s),
            "per call ms": f"{1000 * median(bare_s) / N:.2f}",
        },
        {
            "side": "harness run_plan, workers 0",
            "median s": f"{median(run_s):.2f}",
            "runs s": " ".join(f"{x:.2f}" for x in run_s),
            "per call ms": f"{1000 * median(run_s) / N:.2f}",
        },
        {
            "side": f"harness run_plan, workers auto ({workers})",
            "median s": f"{median(pool_s):.2f}",
            "runs s": " ".join(f"{x:.2f}" for x in pool_s),
            "per call ms": f"{1000 * median(pool_s) / N:.2f}",
        },
    ]
    print(table(rows, ["side", "median s", "runs s", "per call ms"]))
    print(
        f"overhead ratio {ratio:.3f} (target <= 1.3: {'yes' if ratio <= 1.3 else 'NO'}); "
        f"with the call workers {median(pool_s) / median(bare_s):.3f}; "
        f"load (1/5/15 min): {' | '.join(loads)}"
    )
    payload = {
        "n": N,
        "concurrency": C,
        "bare_s": [round(x, 3) for x in bare_s],
        "run_s": [round(x, 3) for x in run_s],
        "ratio": round(ratio, 3),
        "call_workers": workers,
        "pool_s": [round(x, 3) for x in pool_s],
        "ratio_with_workers": round(median(pool_s) / median(bare_s), 3),
        "target": 1.3,
        "load": loads,
    }
    print(f"wrote {save('bench_overhead', payload)}")


if __name__ == "__main__":
    main()
