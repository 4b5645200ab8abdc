"""CPU seconds of three parts every report render pays, each in a fresh child process.

- ``kappa``: the review evidence's agreement interval (``harness.review.agreement.kappa_ci``,
  1,000 resamples) on 120 doubly reviewed drafts, quadratic-weighted (a criterion) and plain
  (the decision); a report or station page with reviews computes four (three criteria and the
  decision).
- ``ceiling cold`` / ``ceiling stored``: ``harness.scorers.ceiling.ceiling`` on the sample
  district's faq_reply items in a fresh process, with an empty cache folder and then with the
  table the first call stored (the second render of any run of the same data).
- ``minutes fitted?``: ``harness.gates.evaluation.minutes_are_fitted`` on the sample district's
  pilot log, as every report's decision asks it (imports included).

    .venv/bin/python benchmarks/bench_report_parts.py [--repeat 3]

Results: a table of median CPU seconds, and benchmarks/results/bench_report_parts.json.
"""

from __future__ import annotations

import json
import subprocess
import tempfile

from _common import PY, REPO, arg_parser, child_env, load, median, save, table

KAPPA = """
import time, numpy as np
from harness.review.agreement import kappa_ci
rng = np.random.default_rng(0)
x = rng.integers(1, 6, 120).astype(float)
y = np.clip(x + rng.integers(-1, 2, 120), 1, 5).astype(float)
d = (rng.random(120) < 0.7).astype(float)
kappa_ci(x[:5], y[:5], weighted=True, resamples=10)  # imports
t = time.process_time()
kappa_ci(x, y, weighted=True)
kappa_ci(d, np.where(rng.random(120) < 0.8, d, 1 - d), weighted=False)
print(time.process_time() - t)
"""

CEILING = """
import sys, time
t = time.process_time()
from harness.data.dataset import load_dataset
from harness.scorers.ceiling import ceiling
ds = load_dataset("datasets/sample-district")
items = ds.items[ds.items["task"] == "faq_reply"]
ceiling(ds, items, cache_dir=sys.argv[1])
print(time.process_time() - t)
"""

FITTED = """
import time
t = time.process_time()
from harness.data.dataset import load_dataset
from harness.gates.evaluation import minutes_are_fitted
log = load_dataset("datasets/sample-district").pilot_log
t2 = time.process_time()
assert minutes_are_fitted(log)
print(time.process_time() - t2)
"""


def cpu(code: str, *args: str) -> float:
    out = subprocess.run(
        [PY, "-c", code, *args], cwd=REPO, env=child_env(), capture_output=True, text=True
    )
    if out.returncode:
        raise SystemExit(out.stderr)
    return float(out.stdout.strip().splitlines()[-1])


def main() -> None:
    args = arg_parser(__doc__).parse_args()
    got: dict[str, list[float]] = {
        "kappa (weighted + plain)": [],
        "ceiling cold": [],
        "ceiling stored": [],
        "minutes fitted?": [],
    }
    for _ in range(args.repeat):
        got["kappa (weighted + plain)"].append(cpu(KAPPA))
        with tempfile.TemporaryDirectory() as cache:
            got["ceiling cold"].append(cpu(CEILING, cache))
            got["ceiling stored"].append(cpu(CEILING, cache))
        got["minutes fitted?"].append(cpu(FITTED))
    rows = [{"part": k, "cpu_s": f"{median(v):.3f}", "runs": len(v)} for k, v in got.items()]
    print(table(rows, ["part", "cpu_s", "runs"]))
    print(f"load {load()}")
    save("bench_report_parts", {"results": {k: median(v) for k, v in got.items()}})
    print(json.dumps({k: round(median(v), 3) for k, v in got.items()}))


if __name__ == "__main__":
    main()
