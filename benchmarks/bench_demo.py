"""`harness demo` from a cold response cache and a cold results folder, with its split.

Each round is a whole `harness demo` process with a results folder of its own (so the response
cache, which lives under it, starts empty) and a runtime folder of its own (so it starts its own
embedded server instead of reusing one that another process on the machine runs). Printed:

- the demo's own split: generation (dataset check, the baselines and the 32 SmolLM2 drafts, the
  server's start included), scoring (the 13 scorers; inside it the judging pass, timed from its
  start until the last draft of each part: the run's drafts, the calibration sample, the
  length-bias probe), and the report (papermill + nbconvert), in wall seconds;
- CPU seconds: the harness process and the children it reaps (the report's kernel; the
  server's watchdog and with it the server, once they end), and the embedded server alone (read
  from /proc while it runs), split at the demo's phase lines;
- the model's work per phase (generation, judge), which does not depend on the machine's load:
  calls, prompt tokens sent, prompt tokens llama.cpp had to read (the rest came from the prefix
  it shares with the previous request), tokens generated, and llama.cpp's own milliseconds
  (reading, generating, and the rest of its total: sampling, the judge's JSON grammar), parsed
  from the server's log (``HARNESS_EMBEDDED_VERBOSE=1`` makes the server print them);
- how many times the embedded server started.

    .venv/bin/python benchmarks/bench_demo.py [--repeat 1]
    .venv/bin/python benchmarks/bench_demo.py --analyse RESULTS_DIR   # a demo already run
    .venv/bin/python benchmarks/bench_demo.py --limit 1   # a quick check of the script itself

Target (issue 19): at most 4 minutes wall on 2 cores, measured on a quiet machine.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import sqlite3
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from _common import PY, REPO, arg_parser, child_env, load, median, save, table

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
PHASES = {"generation": "2/4 running", "scoring": "3/4 scoring", "report": "4/4 rendering"}
TICK = os.sysconf("SC_CLK_TCK")


def server_requests(log: str) -> list[dict[str, float]]:
    """llama.cpp's timings of each request, in the order served, from a verbose server log."""
    out: list[dict[str, float]] = []
    cur: dict[str, float] = {}
    for line in log.splitlines():
        if m := re.search(r"(\d+) prefix-match hit", line):
            cur["reused"] = int(m.group(1))
        elif m := re.search(r"prompt eval time =\s*([\d.]+) ms /\s*(\d+) tokens", line):
            cur.update(read_ms=float(m.group(1)), read=int(m.group(2)))
        elif m := re.search(r"\beval time =\s*([\d.]+) ms /\s*(\d+) runs", line):
            cur.update(gen_ms=float(m.group(1)), generated=int(m.group(2)))
        elif m := re.search(r"total time =\s*([\d.]+) ms", line):
            cur["total_ms"] = float(m.group(1))
            out.append(cur)
            cur = {}
    return out


def cached_calls(results: Path) -> list[dict[str, Any]]:
    """Every answer the demo's response cache holds, in the order it was written."""
    rows = []
    for db in results.glob("**/responses.sqlite"):
        con = sqlite3.connect(db)
        try:
            for created, response in con.execute(
                "SELECT created, response FROM responses ORDER BY created"
            ):
                r = json.loads(response)
                out = str(r.get("output") or "")
                r["phase"] = "judge" if out.lstrip().startswith("{") else "generation"
                r["created"] = created
                rows.append(r)
        finally:
            con.close()
    return sorted(rows, key=lambda r: r["created"])


def model_work(results: Path) -> dict[str, dict[str, float]]:
    """Per phase (generation, judge): calls, tokens and llama.cpp's milliseconds."""
    logs = sorted(results.glob("**/local_model_server.log"), key=lambda p: p.stat().st_mtime)
    text = "\n".join(p.read_text(errors="replace") for p in logs)
    reqs = [r for r in server_requests(text) if r.get("generated", 0) > 1 or r.get("read", 0) > 1]
    calls = cached_calls(results)
    work: dict[str, dict[str, float]] = {}
    for i, c in enumerate(calls):
        w = work.setdefault(c["phase"], dict.fromkeys(WORK_COLS, 0.0))
        w["calls"] += 1
        w["prompt_tokens"] += c.get("tokens_in") or 0
        w["completion_tokens"] += c.get("tokens_out") or 0
        w["client_s"] += c.get("latency_s") or 0.0
        if i < len(reqs) and len(reqs) == len(calls):  # the log's requests are the same calls
            r = reqs[i]
            w["read"] += r.get("read", 0)
            w["generated"] += r.get("generated", 0)
            w["read_ms"] += r.get("read_ms", 0.0)
            w["gen_ms"] += r.get("gen_ms", 0.0)
            w["other_ms"] += r.get("total_ms", 0.0) - r.get("read_ms", 0.0) - r.get("gen_ms", 0.0)
    for w in work.values():
        for k in ("read_ms", "gen_ms", "other_ms", "client_s"):
            w[k] = round(w[k], 1)
    work["_"] = {"server_starts": text.count("Uvicorn running on"), "log_requests": len(reqs)}
    return work


WORK_COLS = [
    "calls",
    "prompt_tokens",
    "read",
    "completion_tokens",
    "generated",
    "read_ms",
    "gen_ms",
    "other_ms",
    "client_s",
]


def _cpu(pid: int) -> float | None:
    try:
        f = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(f[11]) + int(f[12])) / TICK


def one_round(limit: int | None = None) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="harness-bench-demo-") as tmp:
        results, runtime = Path(tmp) / "results", Path(tmp) / "rt"
        env = child_env(
            HARNESS_RUNTIME_DIR=str(runtime),
            HF_HUB_OFFLINE="1",
            DO_NOT_TRACK="1",
            HARNESS_EMBEDDED_VERBOSE="1",
        )
        row: dict[str, Any] = {"load_before": load()}
        out_path = Path(tmp) / "stdout.txt"
        server_cpu: dict[int, float] = {}
        at_phase: dict[str, float] = {}
        with out_path.open("w") as out:
            t0 = time.perf_counter()
            cmd = [PY, "-m", "harness.cli", "--results", str(results), "demo", "--quiet"]
            cmd += ["--limit", str(limit)] if limit else []
            proc = subprocess.Popen(cmd, env=env, cwd=REPO, stdout=out, stderr=subprocess.DEVNULL)
            while True:
                pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
                for state in runtime.glob("smollm2-*.json"):
                    try:
                        spid = int(json.loads(state.read_text())["pid"])
                    except (OSError, ValueError, KeyError):
                        continue
                    if (c := _cpu(spid)) is not None:
                        server_cpu[spid] = c
                text = out_path.read_text()
                for phase, marker in PHASES.items():
                    if phase not in at_phase and marker in text:
                        at_phase[phase] = sum(server_cpu.values())
                if pid:
                    break
                time.sleep(0.25)
            wall = time.perf_counter() - t0
        text = out_path.read_text()
        if os.waitstatus_to_exitcode(status):
            raise SystemExit(f"harness demo failed:\n{text[-3000:]}")
        total = sum(server_cpu.values())
        at_phase["end"] = total
        row.update(wall_s=round(wall, 1), cpu_s=round(usage.ru_utime + usage.ru_stime, 1))
        row["server_cpu_s"] = round(total, 1)
        marks = list(at_phase.items())
        for (phase, start), (_, end) in itertools.pairwise(marks):
            row[f"server_cpu_{phase}_s"] = round(end - start, 1)
        for name, pattern in PATTERNS.items():
            m = re.search(pattern, text)
            row[name] = int(m.group(1)) if m else None
        row.update(peak_rss_mib=round(usage.ru_maxrss / 1024), load_after=load())
        row["work"] = model_work(results)
    if row["drafts"] is None:
        raise SystemExit(f"harness demo printed no summary:\n{text[-3000:]}")
    return row


def print_work(work: dict[str, dict[str, float]]) -> None:
    rows = [{"phase": k, **{c: round(v.get(c, 0), 1) for c in WORK_COLS}} for k, v in work.items()]
    print(table([r for r in rows if r["phase"] != "_"], ["phase", *WORK_COLS]))
    print("embedded server:", work.get("_"))


def main() -> None:
    ap = arg_parser(__doc__)
    ap.add_argument("--analyse", type=Path, help="print the model's work of a demo already run")
    ap.add_argument(
        "--limit", type=int, help="questions per candidate (a quick check, not the demo)"
    )
    args = ap.parse_args()
    if args.analyse:
        print_work(model_work(args.analyse))
        return
    rows = []
    for i in range(args.repeat):
        rows.append(one_round(args.limit))
        print(f"round {i + 1}: {json.dumps(rows[-1])}", flush=True)
        print_work(rows[-1]["work"])
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
        "server_cpu_s",
        "server_cpu_generation_s",
        "server_cpu_scoring_s",
        "server_cpu_report_s",
        "drafts",
        "failed",
        "load_before",
        "load_after",
    ]
    print(table(rows, cols))
    summary = {
        c: median([float(r[c]) for r in rows if r.get(c) is not None] or [0.0]) for c in cols[:13]
    }
    print("median:", summary)
    print(
        "cpu_s: the harness process and the children it reaped (the report's kernel, and the "
        "server's watchdog with the server once it ended: cpu_s - server_cpu_s is the harness's "
        "own); server_cpu_s: the embedded server, read from /proc every 0.25 s, split at the "
        "demo's phase lines"
    )
    if not args.limit:  # a quick check is not the demo's figure
        save("bench_demo", {"rounds": rows, "median": summary})


if __name__ == "__main__":
    main()
