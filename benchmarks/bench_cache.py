"""Warm-cache speed-up: a cold run vs a re-run of the same plan (new run id, all hits).

Workload: 400 calls at concurrency 8 to the loopback server at 0.2 s latency. In process
(litellm imported and the call workers started beforehand, so neither side pays for them): cold `run_plan` then the
same plan again; speed-up = cold / warm (target >= 50x); the server's request count must not
move. Then as a user: `harness run PLAN --quiet` in a child process on the warm cache
(target <= 2 s, 0 calls), and once more under `-X importtime` to prove litellm is never
imported on a fully cached run. Median of --repeat runs.
"""

from __future__ import annotations

from _common import (
    PY,
    ServerProcess,
    arg_parser,
    child_env,
    harness_cmd,
    load,
    median,
    run_child,
    save,
    scratch,
    table,
    timed,
    warm_up,
    write_plan,
)

N = 400


def main() -> None:
    args = arg_parser(__doc__).parse_args()
    import subprocess

    from harness.run.runner import RunOptions, run_plan

    workers = warm_up()
    quiet = RunOptions(progress=False)
    loads = [load()]
    colds, warms, procs = [], [], []
    litellm_imported = None
    with scratch("cache") as tmp, ServerProcess(latency=0.2) as srv:
        plan = write_plan(tmp / "plan", srv.base_url)
        for rep in range(args.repeat):
            res = tmp / f"res-{rep}"  # a fresh results folder: a fresh cache
            before = srv.count()
            cold, store = timed(
                lambda res=res: run_plan(plan, results_dir=res, options=quiet, score=False)
            )
            assert srv.count() - before == N and store.read_manifest()["counts"]["ok"] == N
            before = srv.count()
            warm, again = timed(
                lambda res=res: run_plan(plan, results_dir=res, options=quiet, score=False)
            )
            assert srv.count() == before, "a warm re-run called the server"
            m = again.read_manifest()
            assert m["counts"]["cached"] == N and m["spent"]["calls"] == 0
            assert again.run_id != store.run_id
            wall, _, _ = run_child(
                harness_cmd("run", str(plan), "--quiet"), child_env(HARNESS_RESULTS=str(res))
            )
            assert srv.count() == before, "a warm whole-process re-run called the server"
            colds.append(cold)
            warms.append(warm)
            procs.append(wall)
            loads.append(load())
        imp = subprocess.run(
            [PY, "-X", "importtime", "-m", "harness.cli", "run", str(plan), "--quiet"],
            env=child_env(HARNESS_RESULTS=str(tmp / "res-0")),
            capture_output=True,
            text=True,
            check=True,
        )
        litellm_imported = any(
            line.rsplit("|", 1)[-1].strip().split(".")[0] == "litellm"
            for line in imp.stderr.splitlines()
            if line.startswith("import time:")
        )
        assert srv.count() == before
    speedup = median(colds) / median(warms)
    rows = [
        {
            "measure": "cold run, in process (400 calls)",
            "median": f"{median(colds):.2f} s",
            "runs": " ".join(f"{x:.2f}" for x in colds),
            "target": "",
        },
        {
            "measure": "warm re-run, in process (0 calls)",
            "median": f"{median(warms):.3f} s",
            "runs": " ".join(f"{x:.3f}" for x in warms),
            "target": "",
        },
        {
            "measure": "speed-up cold / warm",
            "median": f"{speedup:.0f}x",
            "target": ">= 50x " + ("yes" if speedup >= 50 else "NO"),
        },
        {
            "measure": "warm re-run, whole process (0 calls)",
            "median": f"{median(procs):.2f} s",
            "runs": " ".join(f"{x:.2f}" for x in procs),
            "target": "<= 2 s " + ("yes" if median(procs) <= 2 else "NO"),
        },
        {
            "measure": "litellm imported on the warm re-run",
            "median": "yes" if litellm_imported else "no",
            "target": "no " + ("NO" if litellm_imported else "yes"),
        },
    ]
    print(table(rows, ["measure", "median", "runs", "target"]))
    print(f"load (1/5/15 min): {' | '.join(loads)}")
    payload = {
        "n": N,
        "latency_s": 0.2,
        "concurrency": 8,
        "call_workers": workers,
        "cold_s": [round(x, 3) for x in colds],
        "warm_s": [round(x, 4) for x in warms],
        "speedup": round(speedup, 1),
        "warm_process_s": [round(x, 3) for x in procs],
        "warm_process_median_s": round(median(procs), 3),
        "warm_calls": 0,
        "litellm_imported_on_warm_run": litellm_imported,
        "load": loads,
    }
    print(f"wrote {save('bench_cache', payload)}")


if __name__ == "__main__":
    main()
