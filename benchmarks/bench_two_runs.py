"""Two harness runs at once on one machine against one run alone (the embedded model).

Each run is a whole process: ``plans/demo.yaml`` limited to ``--items`` questions (the three
baselines + SmolLM2 drafts, cold response cache, generation only). Timed: one run alone, then
two started together (wall time until both end), sharing the machine's one embedded server,
and, with ``--separate``, two runs each with a server of its own (a runtime folder each: the
behaviour before the server was shared). Rounds alternate the modes; medians are kept.

    .venv/bin/python benchmarks/bench_two_runs.py [--items 6] [--repeat 3] [--separate]

Target: two runs at once take at most 2.2x one run.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "benchmarks" / "results"

RUN = """
import sys
from harness.run.runner import RunOptions, run_plan
store = run_plan(sys.argv[1], results_dir=sys.argv[2],
                 options=RunOptions(progress=False, limit=int(sys.argv[3])), score=False)
c = store.read_manifest()["counts"]
assert c["failed"] == 0, c
print(c["ok"])
"""


def _env(runtime: Path) -> dict[str, str]:
    return dict(
        os.environ,
        PYTHONPATH=str(REPO),
        LITELLM_LOCAL_MODEL_COST_MAP="True",
        LITELLM_TELEMETRY="False",
        HARNESS_RUNTIME_DIR=str(runtime),
    )


def _runs(n: int, items: int, tmp: Path, separate: bool, plan: str) -> float:
    """Start n runs together; seconds until the last one ends."""
    procs = []
    t0 = time.monotonic()
    for i in range(n):
        res = tempfile.mkdtemp(dir=tmp)  # a cold response cache per run
        runtime = tmp / (f"rt{i}" if separate else "rt")
        procs.append(
            subprocess.Popen(
                [sys.executable, "-c", RUN, plan, res, str(items)],
                env=_env(runtime),
                stdout=subprocess.PIPE,
                text=True,
            )
        )
    for p in procs:
        out, _ = p.communicate()
        if p.returncode:
            raise SystemExit(f"a run failed (exit {p.returncode}): {out}")
    return time.monotonic() - t0


@contextlib.contextmanager
def _removed(path: Path) -> Iterator[None]:
    try:
        yield
    finally:
        path.unlink(missing_ok=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--items", type=int, default=6)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--separate", action="store_true", help="also time a server per run")
    ap.add_argument("--timeout", type=float, default=900, help="per call (the plan says 120)")
    args = ap.parse_args()
    # the demo plan with a longer call timeout (a loaded machine), beside it so paths resolve
    spec = yaml.safe_load((REPO / "plans" / "demo.yaml").read_text())
    spec["runner"]["timeout"] = args.timeout
    plan = REPO / "plans" / f".bench_two_runs-{os.getpid()}.yaml"
    plan.write_text(yaml.safe_dump(spec))
    modes = ["one", "two shared"] + (["two separate"] if args.separate else [])
    times: dict[str, list[float]] = {m: [] for m in modes}
    loads = [os.getloadavg()[0]]
    with tempfile.TemporaryDirectory() as d, _removed(plan):
        tmp = Path(d)
        for r in range(args.repeat):
            for m in modes if r % 2 == 0 else modes[::-1]:
                n = 1 if m == "one" else 2
                t = _runs(n, args.items, tmp, m == "two separate", str(plan))
                times[m].append(round(t, 1))
                loads.append(os.getloadavg()[0])
                print(f"round {r + 1} {m}: {t:.1f} s (1-min load {loads[-1]:.1f})", flush=True)
    med = {m: statistics.median(v) for m, v in times.items()}
    out = {
        "items": args.items,
        "cpus": os.cpu_count(),
        "times_s": times,
        "median_s": med,
        "ratio_shared": round(med["two shared"] / med["one"], 2),
        "load_1min": loads,
    }
    if args.separate:
        out["ratio_separate"] = round(med["two separate"] / med["one"], 2)
    print(json.dumps(out, indent=1))
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "bench_two_runs.json").write_text(json.dumps(out, indent=1) + "\n")


if __name__ == "__main__":
    main()
