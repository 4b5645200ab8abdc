"""Scale on one machine: a 100,000-item run against a zero-latency loopback server.

Builds a 100,000-item dataset from the sample district's faq_reply items (copies with new ids,
paraphrase groups and dates removed so no group holds thousands of items; written as Parquet),
then times each stage as a whole `harness` process with its peak memory: generation (template
baseline + one model call per item at concurrency 32), scoring (the plan's scorers), and the
readiness report (size checked against the 20 MB limit).

    .venv/bin/python benchmarks/bench_scale.py [--items 100000]
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

import pandas as pd
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import (
    RESULTS,
    SAMPLE,
    ServerProcess,
    child_env,
    harness_cmd,
    load,
    run_child,
    scratch,
    table,
)


def build_dataset(folder: Path, n: int) -> Path:
    from harness.data.dataset import load_dataset

    ds = load_dataset(SAMPLE)
    faq = ds.items[ds.items["task"] == "faq_reply"].reset_index(drop=True)
    reps = -(-n // len(faq))
    frame = pd.concat([faq] * reps, ignore_index=True).iloc[:n].copy()
    frame["id"] = [f"{i}-r{k}" for k, i in enumerate(frame["id"])]
    frame["paraphrase_group"] = None
    frame["date"] = None
    out = folder / "scale-district"
    (out / "sources").mkdir(parents=True)
    for f in (SAMPLE / "sources").iterdir():
        shutil.copy(f, out / "sources" / f.name)
    shutil.copy(SAMPLE / "people.csv", out / "people.csv")
    frame.to_parquet(out / "items.parquet", index=False)
    return out


def opens_in_chromium(report: Path, tmp: Path) -> bool | None:
    """Headless Chromium loads the report and finds the decision (None: no Chromium here)."""
    import subprocess

    from harness.report.browser import chromium_path, headless_command

    if chromium_path() is None:
        return None
    dom = subprocess.run(
        [*headless_command(tmp / "chromium"), "--dump-dom", report.as_uri()],
        capture_output=True,
        text=True,
        timeout=300,
    ).stdout
    return "Decision:" in dom and "<img" in dom


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--items", type=int, default=100_000)
    ap.add_argument("--concurrency", type=int, default=32)
    args = ap.parse_args()
    from harness.scorers import scorer_names

    scorers = [s for s in scorer_names() if s != "judge"]
    rows = []
    with scratch("scale") as tmp, ServerProcess(latency=0.0) as srv:
        ds = build_dataset(tmp, args.items)
        (tmp / "prompt.j2").write_text("{{ item.input }}", encoding="utf-8")
        plan = {
            "name": "scale",
            "dataset": str(ds),
            "tasks": ["faq_reply"],
            "candidates": [
                {"name": "canned", "baseline": "template"},
                {
                    "name": "m",
                    "model": "openai/loopback",
                    "api_base": srv.base_url,
                    "prompt": "prompt.j2",
                    "params": {"max_tokens": 50},
                },
            ],
            "scorers": scorers,
            "runner": {"concurrency": args.concurrency, "cache": False},
        }
        (tmp / "plan.yaml").write_text(yaml.safe_dump(plan, sort_keys=False))
        env = child_env(HARNESS_RESULTS=str(tmp / "results"))
        stages = [
            (
                "generate",
                harness_cmd(
                    "run", str(tmp / "plan.yaml"), "--run-id", "scale", "--quiet", "--no-score"
                ),
            ),
            ("score", harness_cmd("score", "scale")),
            ("report", harness_cmd("report", "scale")),
        ]
        for name, cmd in stages:
            wall, _, rss = run_child(cmd, env, timeout=3600)
            rows.append({"stage": name, "seconds": round(wall, 1), "peak_MiB": round(rss)})
        report = tmp / "results" / "scale" / "readiness_report.html"
        size_mb = report.stat().st_size / 1e6
        opens = opens_in_chromium(report, tmp)
        gens = pd.read_parquet(tmp / "results" / "scale" / "generations.parquet")
        calls = srv.count()
    summary = {
        "items": args.items,
        "generations": len(gens),
        "provider_calls": calls,
        "ok": int((gens["status"] == "ok").sum()),
        "report_MB": round(size_mb, 2),
        "report_opens_in_chromium": opens,
        "scorers": scorers,
        "stages": rows,
        "load_after": load(),
        "total_seconds": round(sum(r["seconds"] for r in rows), 1),
    }
    print(table(rows, ["stage", "seconds", "peak_MiB"]))
    print(json.dumps({k: v for k, v in summary.items() if k != "stages"}, indent=1))
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "bench_scale.json").write_text(json.dumps(summary, indent=1))


if __name__ == "__main__":
    main()
