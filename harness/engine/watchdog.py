"""The embedded model server's supervisor: one per server, shared by every harness process.

Started by :mod:`harness.engine.local` in a session of its own (so neither Ctrl-C nor a
killed harness takes it down with its starter), it starts llama-cpp-python's server as its
child, prints ``ready PID START`` once the server answers, and then watches the server's
leases: one file per harness process using it, named after that process's PID and start time.
When no live lease remains (the last user ended, or was killed, even by SIGKILL) it removes the
server's state file and stops the server. The server dies with it too (parent-death signal),
so killing the watchdog itself leaves no orphan either.

Standard library only and run by file path, so it imports nothing of the harness.
"""

from __future__ import annotations

import contextlib
import ctypes
import fcntl
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

POLL = 0.25  # seconds between two looks at the leases


def proc_start(pid: int) -> str | None:
    """The process's start time (clock ticks since boot), or None when it is gone or a zombie."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError, IndexError, PermissionError):
        return None
    return None if fields[0] in ("Z", "X") else fields[19]


def live_leases(leases: Path) -> list[Path]:
    """The leases whose process still runs; the others (a killed user's) are removed."""
    out = []
    for p in leases.glob("*.lease") if leases.is_dir() else ():
        pid, start = p.stem.split("-")[:2]
        if proc_start(int(pid)) == start:
            out.append(p)
        else:
            with contextlib.suppress(FileNotFoundError):
                p.unlink()
    return out


@contextlib.contextmanager
def locked(path: Path) -> Iterator[None]:
    with path.open("a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def drop_state(state: Path, watchdog_pid: int) -> None:
    """Remove the state file if it still describes this watchdog's server."""
    try:
        if json.loads(state.read_text()).get("watchdog_pid") == watchdog_pid:
            state.unlink()
    except (FileNotFoundError, ValueError):
        pass


def _die_with_parent() -> None:  # pragma: no cover - runs in the child before exec
    with contextlib.suppress(Exception):
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG: the server dies with its watchdog
    os.setsid()


def _ready(base: str, nonce: str) -> bool:
    req = urllib.request.Request(f"{base}/models", headers={"Authorization": f"Bearer {nonce}"})
    try:
        with urllib.request.urlopen(req, timeout=1) as r:
            return bool(r.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def stop(proc: subprocess.Popen[bytes], grace: float = 5.0) -> None:
    if proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=grace)


def main(argv: list[str]) -> int:
    """``watchdog.py RUNTIME_DIR KEY PORT LOG READY_TIMEOUT -- SERVER_CMD...``"""
    rundir, key, port, log, timeout = argv[:5]
    cmd = argv[argv.index("--") + 1 :]
    root = Path(rundir)
    state, lock, leases = root / f"{key}.json", root / f"{key}.lock", root / f"{key}.leases"
    nonce = os.environ.pop("HARNESS_EMBEDDED_NONCE")
    stopping: list[int] = []
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, lambda s, _f: stopping.append(s))
    env = dict(os.environ, API_KEY=nonce)  # llama_cpp.server reads its key from API_KEY
    with open(log, "ab") as out:
        proc = subprocess.Popen(
            cmd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env,
            preexec_fn=_die_with_parent,
        )  # fmt: skip
    me = os.getpid()
    try:
        deadline = time.monotonic() + float(timeout)
        while not _ready(f"http://127.0.0.1:{port}/v1", nonce):
            if proc.poll() is not None or stopping or time.monotonic() > deadline:
                print(f"failed {proc.poll()}", flush=True)
                return 1
            time.sleep(0.1)
        print(f"ready {proc.pid} {proc_start(proc.pid)}", flush=True)
        sys.stdout.close()
        os.close(1)
        while not stopping and proc.poll() is None:
            time.sleep(POLL)
            if not live_leases(leases):
                with locked(lock):
                    if not live_leases(leases):
                        drop_state(state, me)
                        break
    finally:
        stop(proc)
        with locked(lock):
            drop_state(state, me)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
