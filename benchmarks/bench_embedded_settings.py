"""llama-cpp-python server settings A/B on the demo's real SmolLM2 draft prompts.

Starts a bare ``llama_cpp.server`` per configuration (no harness, no sharing), sends the first
K prompts of ``plans/demo.yaml`` one after another with the plan's parameters (temperature 0.2,
max_tokens 150, seed 7), and records wall seconds and the server's CPU seconds (utime + stime,
from /proc), alternating the order of the configurations in each round. CPU seconds tell apart
what wall seconds hide on a shared machine: spinning threads burn CPU without progress.

    .venv/bin/python benchmarks/bench_embedded_settings.py K ROUNDS '{"name": [extra args], ...}' [MAX_TOKENS]

e.g. ``2 2 '{"t2": [], "t1": ["--n_threads", "1", "--n_threads_batch", "1"]}'``; every
configuration starts from ``--n_ctx 4096 --n_threads 2 --n_threads_batch 2`` (the last flag
given wins). MAX_TOKENS (default 150, the drafts') set low, e.g. 20, makes the calls mostly
prompt reading, like the judge's. Writes benchmarks/results/bench_embedded_settings.json.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from harness.candidates.prompts import PromptBuilder  # noqa: E402
from harness.data.dataset import load_dataset  # noqa: E402
from harness.engine.local import free_port, gguf_path  # noqa: E402
from harness.plan.spec import load_plan  # noqa: E402
from harness.run.runner import item_dict  # noqa: E402


def _cpu(pid: int) -> float:
    f = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")


def _prompts(k: int) -> list[list[dict[str, str]]]:
    plan = load_plan(REPO / "plans" / "demo.yaml")
    ds = load_dataset(plan.resolve(plan.dataset))
    spec = next(c for c in plan.candidates if c.name == "smollm2")
    pb = PromptBuilder(spec, plan, ds)
    return [pb.messages({**item_dict(ds.items.loc[i]), "id": i}) for i in plan.select.ids[:k]]


def _run(
    msgs: list[list[dict[str, str]]], extra: list[str], max_tokens: int = 150
) -> tuple[float, float, int]:
    port = free_port()
    cmd = [sys.executable, "-m", "llama_cpp.server", "--model", str(gguf_path())]
    cmd += ["--host", "127.0.0.1", "--port", str(port), "--n_ctx", "4096"]
    cmd += ["--model_alias", "smollm2", "--verbose", "False"]
    cmd += ["--n_threads", "2", "--n_threads_batch", "2", *extra]
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}/v1"
    try:
        while True:
            try:
                urllib.request.urlopen(base + "/models", timeout=1)
                break
            except OSError:
                time.sleep(0.2)
        c0, t0, toks = _cpu(p.pid), time.monotonic(), 0
        for m in msgs:
            body = {"model": "smollm2", "messages": m, "temperature": 0.2, "max_tokens": max_tokens}
            req = urllib.request.Request(
                base + "/chat/completions",
                json.dumps({**body, "seed": 7}).encode(),
                {"Content-Type": "application/json"},
            )
            with urllib.request.urlopen(req, timeout=1800) as r:
                toks += json.load(r)["usage"]["completion_tokens"]
        return time.monotonic() - t0, _cpu(p.pid) - c0, toks
    finally:
        p.terminate()
        p.wait()


def main() -> None:
    k, rounds, configs = int(sys.argv[1]), int(sys.argv[2]), json.loads(sys.argv[3])
    max_tokens = int(sys.argv[4]) if len(sys.argv) > 4 else 150
    msgs = _prompts(k)
    res: dict[str, list[dict[str, float]]] = {}
    for r in range(rounds):
        order = list(configs.items())
        for name, extra in order if r % 2 == 0 else order[::-1]:
            wall, cpu, toks = _run(msgs, extra, max_tokens)
            load = os.getloadavg()[0]
            row = {"wall_s": round(wall, 1), "cpu_s": round(cpu, 1), "tokens": toks, "load": load}
            res.setdefault(name, []).append(row)
            print(f"round {r + 1} {name}: {row}", flush=True)
    out = {"prompts": k, "max_tokens": max_tokens, "configs": configs, "results": res}
    (REPO / "benchmarks" / "results").mkdir(parents=True, exist_ok=True)
    path = REPO / "benchmarks" / "results" / "bench_embedded_settings.json"
    path.write_text(json.dumps(out, indent=1) + "\n")


if __name__ == "__main__":
    main()
