"""`harness demo` from a cold response cache and a cold results folder, with its split.

Each round is a whole `harness demo` process with a results folder of its own (so the response
cache, which lives under it, starts empty) and a runtime folder of its own (so it starts its own
embedded server instead of reusing one that another process on the machine runs). The split
is what the demo prints: generation (dataset check, the baselines and the 32 SmolLM2 drafts,
the server's start included), scoring (the 13 scorers; inside it the judging pass, timed
from its start until the last draft of each part: the run's drafts, the calibration sample,
the length-bias probe), and the report (papermill + nbconvert).

    .venv/bin/python benchmarks/bench_demo.py [--repeat 1]

Target (issue 19): at most 4 minutes wall on 2 cores, measured on a quiet machine.
"""

from __future__ import annotations

import re
import tempfile
from pathlib import Path
from typing import Any

from _common import arg_parser, child_env, harness_cmd, load, median, run_child, save, table

PATTERNS = {
    "generation_s": r"generation took (\d+) s",
    "scoring_s": r"scoring took (\d+) s",
    "judge_drafts_until_s": r"drafts until (\d+) s",
    "judge_calibration_until_s": r"calibration until (\d+) s",
    "judge_bias_probe_until_s": r"bias probe until (\d+) s",
    "report_s": r"\(report (\d+) s\)",
    "inside_demo_s": r"done in (\d+) s",
    "drafts": r"(\d+) drafts, \d+ failed",
    "failed": r"\d+ drafts, (\d+) failed",
}


def one_round() -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="harness-bench-demo-") as tmp:
        results, runtime = Path(tmp) / "results", Path(tmp) / "rt"
        env = child_env(HARNESS_RUNTIME_DIR=str(runtime), HF_HUB_OFFLINE="1", DO_NOT_TRACK="1")
        before = load()
        cpu: list[float] = []
        wall, out, rss = run_child(
            harness_cmd("--results", str(results), "demo", "--quiet"), env, timeout=3600, cpu=cpu
        )
    row: dict[str, Any] = {"wall_s": round(wall, 1), "cpu_s": round(cpu[0], 1)}
    for name, pattern in PATTERNS.items():
        m = re.search(pattern, out)
        row[name] = int(m.group(1)) if m else None
    row.update(peak_rss_mib=round(rss), load_before=before, load_after=load())
    if row["drafts"] is None:
        raise SystemExit(f"harness demo printed no summary:\n{out[-3000:]}")
    return row


def main() -> None:
    args = arg_parser(__doc__).parse_args()
    rows = []
    for i in range(args.repeat):
        rows.append(one_round())
        print(f"round {i + 1}: {rows[-1]}", flush=True)
    cols = [
        "wall_s",
        "inside_demo_s",
        "generation_s",
        "scoring_s",
        "judge_drafts_until_s",
        "judge_calibration_until_s",
        "judge_bias_probe_until_s",
        "report_s",
        "cpu_s",
        "drafts",
        "failed",
        "load_before",
        "load_after",
    ]
    print(table(rows, cols))
    summary = {
        c: median([float(r[c]) for r in rows if r[c] is not None] or [0.0]) for c in cols[:9]
    }
    print("median:", summary)
    print(
        "cpu_s is the harness process and the children it reaped; the embedded server runs under "
        "a watchdog in a session of its own and is not counted"
    )
    save("bench_demo", {"rounds": rows, "median": summary})


if __name__ == "__main__":
    main()
