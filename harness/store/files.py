"""Durable files for a run folder: plain run ids, atomic writes, one writer, sick-disk errors.

:class:`~harness.store.runs.RunStore` uses these; they hold no run logic. A run folder has one
writer at a time: an ``fcntl.flock`` on ``.lock`` (the kernel drops it when the writer dies, so
a kill -9 leaves no stale lock), re-entrant within one process, and the lock file names the
holder (pid, host, start time) for the error a second writer gets. Tables and the manifest are
written to a temporary file in the same folder, fsynced and renamed over the old one. An
OSError the machine caused (disk full, read-only, permissions) becomes one
:class:`~harness.errors.InfrastructureError` line (exit 3).
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import re
import socket
import tempfile
import threading
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from harness.errors import InfrastructureError, RunError

_RUN_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,127}$")
LOCK_FILE = ".lock"
# Space held back while the journal is open and given up on the first disk-full error, so the
# manifest ("error") and the table can still be written.
RESERVE_FILE = ".reserve"
RESERVE_BYTES = 256 * 1024
# errno -> what the user is told; any of these is the machine's problem, not the input's
INFRA_ERRNOS = {
    errno.ENOSPC: "the disk is full",
    errno.EDQUOT: "the disk quota is used up",
    errno.EROFS: "the file system is read-only",
    errno.EACCES: "permission denied",
    errno.EPERM: "the operation is not permitted",
    errno.EIO: "an I/O error occurred",
}
_HELD: dict[str, list[Any]] = {}  # resolved run folder -> [lock fd, depth]; one per process
_HELD_GUARD = threading.Lock()


def check_run_id(run_id: str) -> str:
    """A run id is a plain folder name; anything else (``../x``, ``a/b``) is refused.

    Raises:
        RunError: naming the id and what a run id may hold.
    """
    if not isinstance(run_id, str) or not _RUN_ID.match(run_id) or run_id in (".", ".."):
        raise RunError(
            f"run id {run_id!r} is not a plain name; use letters, digits, '.', '_' and '-' "
            "(at most 128, starting with a letter or digit)"
        )
    return run_id


def infrastructure_error(exc: OSError, what: str, run_id: str | None = None) -> InfrastructureError:
    """One clear line for an OSError the machine caused while ``what`` was being done."""
    reason = INFRA_ERRNOS.get(exc.errno or 0, exc.strerror or str(exc))
    tail = f"; fix it, then resume with: harness run --resume {run_id}" if run_id else ""
    return InfrastructureError(f"cannot {what}: {reason}{tail}")


def is_infrastructure(exc: BaseException) -> bool:
    """Whether ``exc`` is an OSError the machine caused (disk full, read-only, permissions)."""
    return isinstance(exc, OSError) and exc.errno in INFRA_ERRNOS


def _fsync_dir(folder: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def atomic_write(path: Path, write: Callable[[Path], object]) -> None:
    """Write ``path`` through ``write(temp_path)``: temp file in the same folder, fsync, rename.

    A kill or a full disk leaves the old file or the new one, never a partial one.
    """
    path = Path(path)
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    tmp = Path(name)
    try:
        write(tmp)
        fd = os.open(tmp, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    _fsync_dir(path.parent)


def counts_from_journal(records: list[dict[str, Any]]) -> dict[str, Any]:
    """Provider calls, cost and tokens of every record in the journal (all sessions, raw).

    Every attempt whose answer came back is in its generation's record (``attempts``; tokens
    and cost of the answer), so these counts hold after a kill -9. Cached records made no call.
    """
    calls = tokens_in = tokens_out = 0
    cost = 0.0
    for r in records:
        if r.get("kind") != "model" or r.get("cached"):
            continue
        calls += int(r.get("attempts") or 0)
        cost += float(r.get("cost_usd") or 0.0)
        tokens_in += int(r.get("tokens_in") or 0)
        tokens_out += int(r.get("tokens_out") or 0)
    return {
        "calls": calls,
        "cost_usd": round(cost, 6),
        "tokens_in": tokens_in,
        "tokens_out": tokens_out,
    }


def _holder(folder: Path) -> dict[str, Any] | None:
    try:
        return dict(json.loads((folder / LOCK_FILE).read_text(encoding="utf-8")))
    except (OSError, ValueError, TypeError):
        return None


def acquire(folder: Path, run_id: str) -> None:
    """Take the writer lock of ``folder`` (again, if this process holds it already).

    Raises:
        InfrastructureError: another process holds it (naming pid, host and start time), or
            the folder cannot be written.
    """
    key = str(folder.resolve())
    with _HELD_GUARD:
        held = _HELD.get(key)
        if held is not None:
            held[1] += 1
            return
        try:
            fd = os.open(folder / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            if is_infrastructure(exc):
                raise infrastructure_error(exc, f"lock the run folder {folder}", run_id) from None
            raise
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            h = _holder(folder) or {}
            who = (
                f"process {h.get('pid', '?')} on {h.get('host', '?')} "
                f"(since {h.get('started_at', '?')})"
            )
            raise InfrastructureError(
                f"run {run_id} is being written by {who}; wait for it to finish or "
                f"stop it, then: harness run --resume {run_id}"
            ) from None
        info = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "started_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        }
        with contextlib.suppress(OSError):  # the lock holds even if the note cannot be written
            os.ftruncate(fd, 0)
            os.pwrite(fd, json.dumps(info).encode(), 0)
        _HELD[key] = [fd, 1]


def release(folder: Path) -> None:
    """Give back one hold of the writer lock of ``folder``; the last one unlocks it."""
    key = str(folder.resolve())
    with _HELD_GUARD:
        held = _HELD.get(key)
        if held is None:
            return
        held[1] -= 1
        if held[1] <= 0:
            del _HELD[key]
            with contextlib.suppress(OSError):
                fcntl.flock(held[0], fcntl.LOCK_UN)
            os.close(held[0])


def reserve(folder: Path) -> None:
    """Hold back ``RESERVE_BYTES`` in ``folder`` (best effort) for the writes after a failure."""
    with contextlib.suppress(OSError, AttributeError):
        fd = os.open(folder / RESERVE_FILE, os.O_WRONLY | os.O_CREAT, 0o644)
        try:
            os.posix_fallocate(fd, 0, RESERVE_BYTES)
        finally:
            os.close(fd)


def free_reserve(folder: Path) -> None:
    """Give the held-back space to the disk again."""
    with contextlib.suppress(OSError):
        (folder / RESERVE_FILE).unlink()
