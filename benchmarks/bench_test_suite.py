"""Where `make test`'s CPU goes: CPU seconds (user + sys) per test file, children included.

The 2 cores are the limit of `make test`, so the figure to cut is CPU seconds, not wall time,
which another job on the machine stretches at will. Each file runs alone in a pytest process
of its own (no xdist, ``-p no:cacheprovider``), and the CPU of that process and every process
it waited for (`harness` subprocesses, report kernels, the embedded model's server, Chromium)
is read from the OS (``wait4``'s resource usage). A file that uses a fixture built once per
session (``tests/conftest.py``'s ``shared_copy``) pays the build here; in `make test` the files
sharing it pay it once between them, so the total here is an upper bound on the suite's.

    .venv/bin/python benchmarks/bench_test_suite.py [FILE_OR_FOLDER ...] [--top 40]

With no argument, every ``tests/**/test_*.py``. Results: a table sorted by CPU, and
benchmarks/results/bench_test_suite.json.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import REPO, arg_parser, load, save, table

SUMMARY = re.compile(r"(\d+) (passed|failed|skipped|error|errors|xfailed|xpassed|deselected)")


def test_files(args: list[str]) -> list[Path]:
    """The test files named (a folder: every test_*.py under it), or all of tests/."""
    found: list[Path] = []
    for arg in args or ["tests"]:
        p = (REPO / arg).resolve() if not Path(arg).is_absolute() else Path(arg)
        found += sorted(p.rglob("test_*.py")) if p.is_dir() else [p]
    return found


def measure(path: Path) -> dict[str, object]:
    """One pytest process over ``path``: its CPU and its children's, wall time, outcomes."""
    cmd = [sys.executable, "-m", "pytest", str(path), "-q", "-p", "no:cacheprovider"]
    env = {**os.environ, "PYTHONPATH": str(REPO), "PYTEST_ADDOPTS": ""}
    start = time.monotonic()
    proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.PIPE, text=True)
    out = proc.stdout.read() if proc.stdout else ""
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.monotonic() - start
    counts = {kind: int(n) for n, kind in SUMMARY.findall(out.splitlines()[-1] if out else "")}
    return {
        "file": str(path.relative_to(REPO)),
        "cpu_s": round(usage.ru_utime + usage.ru_stime, 1),
        "user_s": round(usage.ru_utime, 1),
        "sys_s": round(usage.ru_stime, 1),
        "wall_s": round(wall, 1),
        "tests": sum(v for k, v in counts.items() if k != "deselected"),
        "exit": proc.returncode,
    }


def main() -> None:
    p = arg_parser(__doc__)
    p.add_argument("paths", nargs="*", help="test files or folders (default: tests/)")
    p.add_argument("--top", type=int, default=40, help="rows of the table printed")
    a = p.parse_args()
    before = load()
    rows = []
    for f in test_files(a.paths):
        rows.append(measure(f))
        print(f"{rows[-1]['cpu_s']:>7} CPU s  {rows[-1]['file']}", flush=True)
    rows.sort(key=lambda r: -float(r["cpu_s"]))  # type: ignore[arg-type]
    total = round(sum(float(r["cpu_s"]) for r in rows), 1)  # type: ignore[arg-type]
    print(table(rows[: a.top], ["file", "cpu_s", "user_s", "sys_s", "wall_s", "tests", "exit"]))
    print(f"total {total} CPU s (user + sys, children included) over {len(rows)} files")
    path = save(
        "bench_test_suite",
        {"load_before": before, "load_after": load(), "total_cpu_s": total, "files": rows},
    )
    print(f"saved {path.relative_to(REPO)}")


if __name__ == "__main__":
    main()
