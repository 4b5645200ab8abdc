"""Shared helpers for the benchmarks: a loopback server in a child process, plans, tables.

Every benchmark talks only to 127.0.0.1 (tests/loopback.py, started here as a subprocess so
its request handling does not share the harness's interpreter lock), is bounded in calls and
time, repeats each measurement and keeps the median, and records the machine load beside the
figures in benchmarks/results/<name>.json.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "benchmarks" / "results"
SAMPLE = REPO / "datasets" / "sample-district"
PY = sys.executable
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
os.environ.setdefault("LITELLM_TELEMETRY", "False")
sys.path.insert(0, str(REPO / "tests"))


def warm_up() -> int:
    """One-off costs before timing: litellm's import, and the call workers that ``workers:
    auto`` starts for these workloads (each imports litellm too). Returns how many started."""
    from harness.engine.llm import litellm_module
    from harness.engine.pool import auto_workers, start_pool

    litellm_module()
    n = auto_workers(capacity=32, calls=400)  # the most any of them asks for
    if n:
        start_pool(n, wait=True)
    return n


def child_env(**extra: str) -> dict[str, str]:
    """Environment for a harness child process: offline cost map, no telemetry."""
    env = dict(os.environ, LITELLM_LOCAL_MODEL_COST_MAP="True", LITELLM_TELEMETRY="False")
    env.update(extra)
    return env


class ServerProcess:
    """tests/loopback.py in a child process; ``count()`` asks it how many requests it saw."""

    def __init__(self, **behaviour: Any):
        self.proc = subprocess.Popen(
            [PY, str(Path(__file__).with_name("_serve.py")), json.dumps(behaviour)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=REPO,
        )
        assert self.proc.stdout is not None
        self.base_url = self.proc.stdout.readline().strip()
        if not self.base_url.startswith("http://127.0.0.1:"):
            self.close()
            raise RuntimeError(f"the loopback server did not start: {self.base_url!r}")

    def _ask(self, cmd: str) -> Any:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(cmd + "\n")
        self.proc.stdin.flush()
        return json.loads(self.proc.stdout.readline())

    def count(self) -> int:
        """Requests the server has received so far."""
        return int(self._ask("count"))

    def times(self) -> list[float]:
        """When each request arrived (``time.monotonic()``, comparable with this process's)."""
        return [float(t) for t in self._ask("times")]

    def statuses(self) -> dict[str, int]:
        """How many answers of each HTTP status the server has sent."""
        return dict(self._ask("statuses"))

    def close(self) -> None:
        if self.proc.poll() is None:
            assert self.proc.stdin is not None
            self.proc.stdin.close()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def __enter__(self) -> ServerProcess:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def write_plan(
    folder: Path,
    base_url: str,
    *,
    items: int = 100,
    samples: int = 4,
    concurrency: int = 8,
    runner: dict[str, Any] | None = None,
    name: str = "bench",
) -> Path:
    """A plan of ``items`` x ``samples`` chat calls (400 by default) on the sample district."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "prompt.j2").write_text(
        "Approved sources:\n{% for s in sources %}{{ s.text }}\n{% endfor %}\n"
        "Parent question: {{ item.input }}\nDraft a short reply.",
        encoding="utf-8",
    )
    plan = {
        "name": name,
        "dataset": str(SAMPLE),
        "tasks": ["faq_reply"],
        "select": {"limit": items},
        "candidates": [
            {
                "name": "m",
                "model": "openai/loopback",
                "api_base": base_url,
                "prompt": "prompt.j2",
                "params": {"max_tokens": 50},
                "samples": samples,
            }
        ],
        "scorers": ["edit"],
        "runner": {"concurrency": concurrency, **(runner or {})},
        # the runner's call path is what these measure (and what the peers are compared on):
        # no approved-answer reference row, whose 100 local units the older harness lacked
        "reference_row": False,
    }
    path = folder / "plan.yaml"
    path.write_text(yaml.safe_dump(plan, sort_keys=False), encoding="utf-8")
    return path


def plan_messages(plan_path: Path) -> tuple[Any, list[list[dict[str, str]]]]:
    """The plan and the chat messages the harness sends for it: one list per call (each item's
    prompt once per sample of the plan's first candidate), for bare litellm loops to send."""
    from harness.candidates.prompts import PromptBuilder
    from harness.data.dataset import load_dataset
    from harness.plan.spec import load_plan
    from harness.run.runner import item_dict
    from harness.run.selection import select_items

    plan = load_plan(plan_path)
    ds = load_dataset(plan.dataset_path())
    items, _ = select_items(plan, ds)
    spec = plan.candidates[0]
    builder = PromptBuilder(spec, plan, ds)
    messages = [
        builder.messages(item_dict(row)) for _, row in items.iterrows() for _ in range(spec.samples)
    ]
    return plan, messages


@contextmanager
def scratch(prefix: str) -> Iterator[Path]:
    """A temporary folder removed afterwards."""
    d = Path(tempfile.mkdtemp(prefix=f"harness-bench-{prefix}-"))
    try:
        yield d
    finally:
        shutil.rmtree(d, ignore_errors=True)


def load() -> str:
    """The 1-, 5- and 15-minute load averages, as uptime prints them."""
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f}"


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def median(xs: list[float]) -> float:
    return float(statistics.median(xs))


def harness_cmd(*args: str) -> list[str]:
    """The ``harness`` command as a user runs it (the console script's module)."""
    return [PY, "-m", "harness.cli", *args]


def run_child(
    cmd: list[str], env: dict[str, str], timeout: float = 300, cpu: list[float] | None = None
) -> tuple[float, str, float]:
    """Run a whole process; return its wall time, stdout and peak RSS in MiB.

    The peak is ``ru_maxrss`` from wait4(): the largest of the child and its own children.
    ``cpu``, when given, gets the child's CPU seconds (user + system) appended; its own
    children (the call workers) count once they are reaped, as the harness reaps them.
    """
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, env=env, cwd=REPO, stdout=out, stderr=err, text=True)
        deadline = t0 + timeout
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() > deadline:
                proc.kill()
                raise RuntimeError(f"{' '.join(cmd)} took longer than {timeout} s")
            time.sleep(0.005)
        wall = time.perf_counter() - t0
        if cpu is not None:
            cpu.append(usage.ru_utime + usage.ru_stime)
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout = out.read()
        if proc.returncode not in (0, 1):
            raise RuntimeError(f"{' '.join(cmd)} exited {proc.returncode}:\n{err.read()[-3000:]}")
    return wall, stdout, usage.ru_maxrss / 1024.0


def table(rows: list[dict[str, Any]], cols: list[str]) -> str:
    """A small fixed-width table."""
    cells = [[str(r.get(c, "")) for c in cols] for r in rows]
    widths = [max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(cols)]
    line = "  ".join(c.ljust(w) for c, w in zip(cols, widths, strict=True))
    out = [line, "  ".join("-" * w for w in widths)]
    out += ["  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)) for row in cells]
    return "\n".join(out)


def save(name: str, payload: dict[str, Any]) -> Path:
    """Write benchmarks/results/<name>.json with the command, the load and the date."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    payload = {
        "benchmark": name,
        "command": " ".join([".venv/bin/python", f"benchmarks/{name}.py", *sys.argv[1:]]),
        "date": time.strftime("%Y-%m-%d %H:%M:%S"),
        "cpus": os.cpu_count(),
        "python": sys.version.split()[0],
        **payload,
    }
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
    return path


def arg_parser(doc: str | None) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=(doc or "").splitlines()[0])
    p.add_argument("--repeat", type=int, default=3, help="repetitions; the median is reported")
    return p
