"""Concurrency efficiency: ideal time N/C x L divided by the measured time of a run.

The loopback server answers after L = 0.2 s; `run_plan` (in process, with the plan's default
`workers: auto`; litellm's import and the call workers' start are one-off costs paid before
timing; fresh results folder and cache each time) makes N calls with at most C in flight. C=1 makes 40 calls (400 would take 80 s);
C=8 and C=32 make 400. Median of --repeat runs. Target: >= 0.9 at C=8 and C=32.
"""

from __future__ import annotations

from _common import (
    ServerProcess,
    arg_parser,
    load,
    median,
    save,
    scratch,
    table,
    timed,
    warm_up,
    write_plan,
)

LATENCY = 0.2
CASES = [(1, 10), (8, 100), (32, 100)]  # (concurrency, items); 4 samples per item
SAMPLES = 4


def main() -> None:
    args = arg_parser(__doc__).parse_args()
    from harness.run.runner import RunOptions, run_plan

    workers = warm_up()
    quiet = RunOptions(progress=False)
    rows, out = [], {}
    loads = [load()]
    with scratch("concurrency") as tmp, ServerProcess(latency=LATENCY) as srv:
        for c, items in CASES:
            n = items * SAMPLES
            plan = write_plan(tmp / f"plan-c{c}", srv.base_url, items=items, concurrency=c)
            walls, calls = [], []
            for rep in range(args.repeat):
                before = srv.count()
                wall, store = timed(
                    lambda plan=plan, rep=rep, c=c: run_plan(
                        plan, results_dir=tmp / f"res-c{c}-{rep}", options=quiet, score=False
                    )
                )
                calls.append(srv.count() - before)
                assert store.read_manifest()["counts"]["ok"] == n
                walls.append(wall)
                loads.append(load())
            assert calls == [n] * args.repeat, f"expected {n} calls per run, saw {calls}"
            ideal = n / c * LATENCY
            eff = ideal / median(walls)
            out[f"C={c}"] = {
                "calls": n,
                "ideal_s": round(ideal, 3),
                "median_s": round(median(walls), 3),
                "runs_s": [round(w, 3) for w in walls],
                "efficiency": round(eff, 3),
                "target": 0.9 if c > 1 else None,
            }
            rows.append(
                {
                    "C": c,
                    "N": n,
                    "ideal s": f"{ideal:.2f}",
                    "median s": f"{median(walls):.2f}",
                    "runs s": " ".join(f"{w:.2f}" for w in walls),
                    "efficiency": f"{eff:.3f}",
                    "met": ("yes" if eff >= 0.9 else "NO") if c > 1 else "-",
                }
            )
    print(
        table(rows, ["C", "N", "ideal s", "median s", "runs s", "efficiency", "met"])
        + f"\nlatency {LATENCY} s; load (1/5/15 min): {' | '.join(loads)}"
    )
    print(
        f"wrote {save('bench_concurrency', {'latency_s': LATENCY, 'call_workers': workers, 'load': loads, **out})}"
    )


if __name__ == "__main__":
    main()
