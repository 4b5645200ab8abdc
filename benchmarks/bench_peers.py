"""The PEERS.md workload as whole-process timings: `harness run PLAN` in a child process.

400 samples (100 faq_reply items of the sample district x 4 samples), one chat call each to
the loopback server, concurrency 8, scored by normalized Levenshtein similarity (the `edit`
scorer), median of --repeat runs per scenario: cold at 0.2 s latency, latency 0, the same run
again (warm cache, zero calls), 30% injected 429/500/503 at 0.2 s, and the peak RSS of the
cold run (the child and its children, from wait4()). Each round also runs the cold workload
as a bare litellm loop (benchmarks/_bare_peers.py: import litellm, the same 400 rendered
prompts, 8 in flight, Levenshtein similarity; no harness) right after the harness's cold run,
and reports the ratio of each pair, wall and CPU seconds, and where each cold run's wall
time went as the server saw it: until its first request arrived, from the first to the last,
and after the last (the last answer, then the process's own tail).
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Any

from _common import (
    PY,
    ServerProcess,
    arg_parser,
    child_env,
    harness_cmd,
    load,
    median,
    plan_messages,
    run_child,
    save,
    scratch,
    table,
    write_plan,
)

N = 400
TARGETS = {"cold_0.2s": 13.0, "latency_0": 7.0, "same_run_again": 2.0, "faults_30pct": 25.0}


def _manifest(stdout: str) -> dict[str, Any]:
    m = re.search(r"^results: (.+)$", stdout, re.M)
    if not m:
        raise RuntimeError(f"no results path in the output:\n{stdout}")
    return dict(json.loads((Path(m.group(1).strip()) / "manifest.json").read_text()))


def _split(arrived: list[float], t0: float, t1: float) -> dict[str, float | None]:
    """Where a process's wall time went, from the server's side: until its first request
    arrived (start-up), from the first to the last, and after the last (its answer, then the
    process's own tail)."""
    if not arrived:
        return {"first_call_s": None, "calls_s": None, "after_last_s": None}
    return {
        "first_call_s": arrived[0] - t0,
        "calls_s": arrived[-1] - arrived[0],
        "after_last_s": t1 - arrived[-1],
    }


def _run(srv: ServerProcess, plan: Path, results: Path) -> dict[str, Any]:
    before = srv.count()
    cpu: list[float] = []
    t0 = time.monotonic()
    wall, out, rss = run_child(
        harness_cmd("run", str(plan), "--quiet"), child_env(HARNESS_RESULTS=str(results)), cpu=cpu
    )
    t1 = time.monotonic()
    man = _manifest(out)
    return {
        **_split(srv.times()[before:], t0, t1),
        "wall_s": wall,
        "cpu_s": cpu[0],
        "rss_mib": rss,
        "calls": srv.count() - before,
        "ok": man["counts"]["ok"],
        "failed": man["counts"]["failed"],
        "cached": man["counts"]["cached"],
    }


def _bare_spec(plan: Path, base_url: str, path: Path) -> Path:
    """The bare loop's input: the harness's own rendered prompts and the references."""
    p, messages = plan_messages(plan)
    from harness.data.dataset import load_dataset
    from harness.run.selection import select_items

    items, _ = select_items(p, load_dataset(p.dataset_path()))
    refs = [str(r) for r in items["reference"] for _ in range(p.candidates[0].samples)]
    spec = {"base_url": base_url, "messages": messages, "references": refs}
    path.write_text(json.dumps(spec), encoding="utf-8")
    return path


def _bare(srv: ServerProcess, spec: Path) -> dict[str, Any]:
    before = srv.count()
    cpu: list[float] = []
    t0 = time.monotonic()
    wall, out, _ = run_child(
        [PY, str(Path(__file__).with_name("_bare_peers.py")), str(spec)], child_env(), cpu=cpu
    )
    t1 = time.monotonic()
    return {
        **_split(srv.times()[before:], t0, t1),
        "wall_s": wall,
        "cpu_s": cpu[0],
        "ok": json.loads(out.strip().splitlines()[-1])["ok"],
    }


def main() -> None:
    args = arg_parser(__doc__).parse_args()
    runs: dict[str, list[dict[str, Any]]] = {k: [] for k in TARGETS}
    bare: list[dict[str, Any]] = []
    loads = [load()]
    with scratch("peers") as tmp:
        servers = {
            "slow": ServerProcess(latency=0.2),
            "fast": ServerProcess(latency=0.0),
            "faulty": ServerProcess(
                latency=0.2, fault_rate=0.3, faults=[429, 500, 503], retry_after="0.1"
            ),
        }
        try:
            plans = {k: write_plan(tmp / f"plan-{k}", s.base_url) for k, s in servers.items()}
            bare_spec = _bare_spec(plans["slow"], servers["slow"].base_url, tmp / "bare.json")
            for rep in range(args.repeat):
                res = tmp / f"results-cold-{rep}"
                runs["cold_0.2s"].append(_run(servers["slow"], plans["slow"], res))
                bare.append(_bare(servers["slow"], bare_spec))
                runs["same_run_again"].append(_run(servers["slow"], plans["slow"], res))
                runs["latency_0"].append(
                    _run(servers["fast"], plans["fast"], tmp / f"results-fast-{rep}")
                )
                runs["faults_30pct"].append(
                    _run(servers["faulty"], plans["faulty"], tmp / f"results-faulty-{rep}")
                )
                loads.append(load())
            fault_statuses = servers["faulty"].statuses()
        finally:
            for s in servers.values():
                s.close()

    rows = []
    summary: dict[str, Any] = {}
    for name, rs in runs.items():
        walls = [r["wall_s"] for r in rs]
        summary[name] = {
            "median_s": round(median(walls), 2),
            "runs_s": [round(w, 2) for w in walls],
            "target_s": TARGETS[name],
            "calls": [r["calls"] for r in rs],
            "ok": [r["ok"] for r in rs],
            "failed": [r["failed"] for r in rs],
            "lost": [N - r["ok"] for r in rs],
        }
        rows.append(
            {
                "scenario": name,
                "median s": f"{median(walls):.2f}",
                "runs s": " ".join(f"{w:.2f}" for w in walls),
                "target": f"<= {TARGETS[name]:g} s",
                "calls": "/".join(str(r["calls"]) for r in rs),
                "ok": "/".join(str(r["ok"]) for r in rs),
                "met": "yes" if median(walls) <= TARGETS[name] else "NO",
            }
        )
    cold = runs["cold_0.2s"]
    wall_ratio = [r["wall_s"] / b["wall_s"] for r, b in zip(cold, bare, strict=True)]
    cpu_ratio = [r["cpu_s"] / b["cpu_s"] for r, b in zip(cold, bare, strict=True)]
    summary["bare_litellm_cold"] = {
        "median_s": round(median([b["wall_s"] for b in bare]), 2),
        "runs_s": [round(b["wall_s"], 2) for b in bare],
        "cpu_s": [round(b["cpu_s"], 2) for b in bare],
        "ok": [b["ok"] for b in bare],
    }
    summary["cold_vs_bare"] = {
        "wall_ratio_median": round(median(wall_ratio), 3),
        "wall_ratios": [round(x, 3) for x in wall_ratio],
        "cpu_ratio_median": round(median(cpu_ratio), 3),
        "cpu_ratios": [round(x, 3) for x in cpu_ratio],
        "harness_cpu_s": [round(r["cpu_s"], 2) for r in cold],
        "target": 1.0,
    }
    rows.append(
        {
            "scenario": "bare litellm, cold",
            "median s": f"{median([b['wall_s'] for b in bare]):.2f}",
            "runs s": " ".join(f"{b['wall_s']:.2f}" for b in bare),
            "calls": "/".join(str(b["ok"]) for b in bare),
            "ok": "/".join(str(b["ok"]) for b in bare),
        }
    )
    rows.append(
        {
            "scenario": "cold / bare (wall)",
            "median s": f"{median(wall_ratio):.3f}",
            "runs s": " ".join(f"{x:.3f}" for x in wall_ratio),
            "target": "<= 1.0",
            "met": "yes" if median(wall_ratio) <= 1.0 else "NO",
        }
    )
    rows.append(
        {
            "scenario": "cold / bare (CPU)",
            "median s": f"{median(cpu_ratio):.3f}",
            "runs s": " ".join(f"{x:.3f}" for x in cpu_ratio),
        }
    )
    split = {}
    for who, rs in (("harness", cold), ("bare_litellm", bare)):
        split[who] = {
            k: [round(r[k], 2) for r in rs] for k in ("first_call_s", "calls_s", "after_last_s")
        }
        rows.append(
            {
                "scenario": f"  {who}: first call / calls / after",
                "median s": " / ".join(
                    f"{median(split[who][k]):.2f}"
                    for k in ("first_call_s", "calls_s", "after_last_s")
                ),
            }
        )
    summary["cold_split"] = split
    rss = [r["rss_mib"] for r in runs["cold_0.2s"]]
    summary["peak_rss_cold_mib"] = {
        "median": round(median(rss), 1),
        "runs": [round(x, 1) for x in rss],
        "target": 200,
    }
    rows.append(
        {
            "scenario": "peak RSS cold (MiB)",
            "median s": f"{median(rss):.0f}",
            "runs s": " ".join(f"{x:.0f}" for x in rss),
            "target": "<= 200 MiB",
            "met": "yes" if median(rss) <= 200 else "NO",
        }
    )
    print(table(rows, ["scenario", "median s", "runs s", "target", "calls", "ok", "met"]))
    print(f"faulty server answered: {fault_statuses}; load (1/5/15 min): {' | '.join(loads)}")
    path = save("bench_peers", {"n": N, "load": loads, "fault_statuses": fault_statuses, **summary})
    print(f"wrote {path}")
    assert all(r["calls"] == 0 for r in runs["same_run_again"]), "a warm re-run called the server"
    assert all(r["ok"] == N for r in runs["faults_30pct"]), "samples were lost under faults"


if __name__ == "__main__":
    main()
