"""Worker processes that make the model calls, so litellm's per-call CPU can use every core.

litellm spends about 5 ms of CPU on each chat call (request building, response objects,
cost lookup, logging payloads). With many calls in flight to a fast provider that CPU, not
the network, sets the pace, and one interpreter has one core: 32 calls in flight to a server
that answers in 0.2 s need 160 calls a second, about 80% of a core for litellm alone.

The pool runs :func:`harness.engine.llm.call_model` (the very function the runner calls
in process, litellm included) in ``python -m harness.engine.pool`` children, each an
asyncio loop with litellm imported once. Everything that decides what is stored stays in the
parent: concurrency slots, the RPM cap, retries and backoff, the cache, the journal, budget.
A worker only turns one request into one :class:`CallResult`.

Protocol: length-prefixed JSON frames over the child's stdin and stdout (its stray prints go
to a log file, never into the frames). The API key crosses the pipe in memory only; nothing
here writes it anywhere. A worker dies with its parent: stdin reaches EOF and, on Linux, the
parent-death signal kills it even when the parent is killed with SIGKILL. A worker that exits
fails its calls in flight as retryable errors, so the runner's retry loop sends them again
(to another worker, or in process when none is left); no sample is lost.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import ctypes
import dataclasses
import gc
import json
import os
import select
import signal
import struct
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import IO, Any

from harness.engine.llm import Call, CallResult, call_model

_HEADER = struct.Struct(">I")
_FIELDS = {f.name for f in dataclasses.fields(CallResult)}


def _die_with_parent() -> None:  # pragma: no cover - runs in the child before exec
    """Linux: SIGKILL the worker when the harness dies; its own session, so Ctrl-C in the
    terminal reaches only the harness, which then stops the workers itself."""
    with contextlib.suppress(Exception):
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    os.setsid()


class _Worker:
    """One child process, read and written from the running event loop (no threads).

    A thread per pipe would have to win the interpreter lock back from the event loop for
    every frame, up to the 5 ms switch interval each time; added to every call's latency.
    Instead the pipes are non-blocking and registered with the loop that is using the pool
    (``add_reader``/``add_writer``), which changes as each run has its own loop.
    """

    def __init__(self, index: int):
        # The worker's stderr: a temporary file unlinked at once, so nothing is left behind even
        # when everything is killed; the parent keeps the descriptor to quote its tail.
        fd, log = tempfile.mkstemp(prefix=f"harness-callworker-{os.getpid()}-{index}-")
        self._log_fd = fd
        env = dict(os.environ, LITELLM_LOCAL_MODEL_COST_MAP="True", LITELLM_TELEMETRY="False")
        # the child imports this very package, however the parent found it (install or path)
        root = str(Path(__file__).resolve().parents[2])
        env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
        try:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "harness.engine.pool"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=fd,
                env=env,
                bufsize=0,
                preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None,
            )
        finally:
            os.unlink(log)
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self._rfd = self.proc.stdout.fileno()
        self._wfd = self.proc.stdin.fileno()
        os.set_blocking(self._rfd, False)
        os.set_blocking(self._wfd, False)
        self._inbuf = bytearray()
        self._outbuf = bytearray()
        self._loop: asyncio.AbstractEventLoop | None = None
        self.inflight: dict[int, asyncio.Future[CallResult]] = {}
        self.alive = True
        self.ready = False
        self.frozen = 0  # objects the worker froze after its imports (its "ready" frame)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def load(self) -> int:
        return len(self.inflight)

    # -- event-loop plumbing --------------------------------------------------------------------
    def _attach(self, loop: asyncio.AbstractEventLoop) -> None:
        if self._loop is loop:
            return
        self.detach()
        self.inflight.clear()  # futures of a loop that has ended: nobody awaits them any more
        self._loop = loop
        loop.add_reader(self._rfd, self._on_readable)
        if self._outbuf:
            loop.add_writer(self._wfd, self._on_writable)

    def detach(self) -> None:
        """Stop watching the pipes from the current loop (before it closes)."""
        loop, self._loop = self._loop, None
        if loop is not None and not loop.is_closed():
            with contextlib.suppress(Exception):
                loop.remove_reader(self._rfd)
                loop.remove_writer(self._wfd)

    def submit(self, rid: int, request: dict[str, Any]) -> asyncio.Future[CallResult]:
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[CallResult] = loop.create_future()
        if not self.alive:
            fut.set_result(self._gone_result())
            return fut
        self._attach(loop)
        self.inflight[rid] = fut
        data = json.dumps({"id": rid, **request}, ensure_ascii=False).encode("utf-8")
        self._send(_HEADER.pack(len(data)) + data)
        return fut

    def _send(self, frame: bytes) -> None:
        if self._outbuf:
            self._outbuf += frame
            return
        try:
            n = os.write(self._wfd, frame)
        except BlockingIOError:
            n = 0
        except OSError:
            self._died()
            return
        if n < len(frame):
            self._outbuf += frame[n:]
            assert self._loop is not None
            self._loop.add_writer(self._wfd, self._on_writable)

    def _on_writable(self) -> None:
        try:
            n = os.write(self._wfd, self._outbuf)
        except BlockingIOError:
            return
        except OSError:
            self._died()
            return
        del self._outbuf[:n]
        if not self._outbuf and self._loop is not None:
            self._loop.remove_writer(self._wfd)

    def _on_readable(self) -> None:
        try:
            chunk = os.read(self._rfd, 1 << 20)
        except BlockingIOError:
            return
        except OSError:
            chunk = b""
        if not chunk:
            self._died()
            return
        self._inbuf += chunk
        for frame in self._frames():
            self._handle(frame)

    def _frames(self) -> list[dict[str, Any]]:
        out = []
        buf = self._inbuf
        while len(buf) >= _HEADER.size:
            (size,) = _HEADER.unpack_from(buf)
            if len(buf) < _HEADER.size + size:
                break
            out.append(json.loads(bytes(buf[_HEADER.size : _HEADER.size + size])))
            del buf[: _HEADER.size + size]
        return out

    def _handle(self, frame: dict[str, Any]) -> None:
        if frame.get("ready"):
            self.ready = True
            self.frozen = int(frame.get("frozen", 0))
            return
        fut = self.inflight.pop(int(frame.get("id", -1)), None)
        if fut is not None and not fut.done():  # a call the runner gave up on stays given up
            fut.set_result(CallResult(**{k: v for k, v in frame.items() if k in _FIELDS}))

    def _died(self) -> None:
        if not self.alive:
            return
        self.alive = False
        self.ready = True
        self.detach()
        with contextlib.suppress(Exception):
            self.proc.wait(timeout=0.5)  # its stdout is closed: it is exiting, if not gone
        gone = self._gone_result()
        pending, self.inflight = self.inflight, {}
        for fut in pending.values():
            if not fut.done():
                fut.set_result(gone)

    def _gone_result(self) -> CallResult:
        code = self.proc.poll()
        tail = ""
        with contextlib.suppress(OSError):
            if self._log_fd < 0:
                raise OSError("closed")
            size = os.fstat(self._log_fd).st_size  # pread: the worker's file offset stays put
            raw = os.pread(self._log_fd, 1500, max(0, size - 1500))
            tail = raw.decode("utf-8", "replace").strip()
        msg = f"the call worker process (pid {self.pid}) exited with code {code}"
        return CallResult(error=msg + (f"; its log ends: {tail}" if tail else ""), retryable=True)

    def wait_ready(self, deadline: float) -> bool:
        """Block (outside any event loop) until the worker says it has imported litellm."""
        while self.alive and not self.ready:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self._rfd], [], [], left)[0]:
                return False
            self._on_readable()
        return self.alive

    def end_input(self) -> None:
        """Close the worker's stdin: it finishes the calls it has, then exits."""
        self.detach()
        with contextlib.suppress(OSError):
            self.proc.stdin.close()  # type: ignore[union-attr]

    def close(self, grace: float = 5.0) -> None:
        self.end_input()
        if not self.ready and not self.inflight:  # started early, never used: still importing
            with contextlib.suppress(OSError):
                self.proc.kill()
        try:
            self.proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=grace)
        self.alive = False
        with contextlib.suppress(OSError):
            self.proc.stdout.close()  # type: ignore[union-attr]
        if self._log_fd >= 0:
            with contextlib.suppress(OSError):
                os.close(self._log_fd)
            self._log_fd = -1


class CallPool:
    """N worker processes; :meth:`call` has :func:`call_model`'s signature and result."""

    def __init__(self, workers: int):
        if workers < 1:
            raise ValueError("a call pool needs at least one worker")
        self._workers: list[_Worker] = []
        self._started = 0
        self._next_id = 0
        self.grow(workers)

    def grow(self, workers: int) -> None:
        """Start workers until ``workers`` are alive (replacing any that died)."""
        self._workers = [w for w in self._workers if w.alive]
        while len(self._workers) < workers:
            self._workers.append(_Worker(self._started))
            self._started += 1

    @property
    def size(self) -> int:
        return sum(w.alive for w in self._workers)

    @property
    def pids(self) -> list[int]:
        return [w.pid for w in self._workers if w.alive]

    def wait_ready(self, timeout: float = 120.0) -> bool:
        """Block until every worker has imported litellm; True if all are ready and alive."""
        deadline = time.monotonic() + timeout
        return all([w.wait_ready(deadline) for w in self._workers])

    async def until_ready(self, timeout: float = 120.0) -> None:
        """Wait, in the running event loop, until every live worker has imported litellm (or
        ``timeout`` passes; calls sent before then wait in the worker's pipe)."""
        loop = asyncio.get_running_loop()
        for w in self._workers:
            if w.alive:
                w._attach(loop)  # its "ready" frame is read by the loop from now on
        deadline = time.monotonic() + timeout
        while any(w.alive and not w.ready for w in self._workers):
            if time.monotonic() > deadline:
                return
            await asyncio.sleep(0.01)

    def detach(self) -> None:
        """Let go of the current event loop (the runner calls this before its loop ends)."""
        for w in self._workers:
            w.detach()

    async def call(self, call: Call, messages: list[dict[str, str]]) -> CallResult:
        live = [w for w in self._workers if w.alive]
        if not live:  # every worker is gone: the run goes on in process
            return await call_model(call, messages)
        worker = min(live, key=_Worker.load)
        self._next_id += 1
        return await worker.submit(self._next_id, {**call.wire(), "messages": messages})

    def close(self) -> None:
        for w in self._workers:  # all stdins first: the workers wind down side by side
            w.end_input()
        for w in self._workers:
            w.close()


_POOL: CallPool | None = None
_POOL_LOCK = threading.Lock()
_EARLY = 0  # workers prestart() started for the run about to begin


def start_pool(workers: int, wait: bool = False) -> CallPool:
    """The process's call pool with ``workers`` live workers (started once, then reused by
    every run of this process, as litellm's import is); ``wait`` blocks until all are ready."""
    global _POOL
    with _POOL_LOCK:
        if _POOL is None:
            _POOL = CallPool(workers)
        elif _POOL.size < workers:
            _POOL.grow(workers)
        pool = _POOL
    if wait:
        pool.wait_ready()
    return pool


@atexit.register
def shutdown_pool() -> None:
    """Stop the workers (also run at interpreter exit)."""
    global _POOL
    with _POOL_LOCK:
        pool, _POOL = _POOL, None
    if pool is not None:
        pool.close()


def prestart(
    plan: Any,
    results: str | Path | None = None,
    workers: int | str | None = None,
    cache: str = "use",
    concurrency: int | None = None,
) -> int:
    """Start the call workers of a new run at once, before it imports pandas and loads its
    dataset, when the run will surely make its calls through them: the plan has a model
    candidate at a remote destination, ``workers`` (else the plan's) is a count or auto, and
    no response cache can answer (none exists yet, or it is off or refreshed). The workers
    import litellm (seconds) while the run does its own setup, instead of after it; nothing
    is sent before the run has approved every destination, as ever. In a process that has
    imported litellm already, or for anything unusual, it starts nothing: the run decides,
    checks and reports as usual. Returns how many were started."""
    global _EARLY
    if "litellm" in sys.modules:  # in process calls cost nothing more to start here
        return 0
    try:
        from harness.engine.cache import response_cache_path
        from harness.engine.protect import destination
        from harness.paths import resolve_path
        from harness.plan.spec import Plan, load_plan

        if not isinstance(plan, Plan):  # a path: its shape is all this needs
            plan = load_plan(plan)
        remote = [
            c
            for c in plan.candidates
            if c.is_model and destination(c.model or "", c.api_base).origin != "embedded"
        ]
        asked = workers if workers is not None else plan.runner.workers
        if not remote or asked in (0, "0") or cache not in ("use", "off", "refresh"):
            return 0
        env = os.environ.get("HARNESS_RESULTS", "results")  # as run_plan finds its folder
        root = Path(results) if results is not None else resolve_path(env)
        if cache == "use" and plan.runner.cache and response_cache_path(plan, root).exists():
            return 0  # the cache may answer them all: the run starts what it needs
        width = max(concurrency or c.concurrency or plan.runner.concurrency for c in remote)
        n = auto_workers(width, calls=100) if asked == "auto" else int(asked)
    except Exception:
        return 0
    if 0 < n <= 32:  # more is refused by the run's own checks
        start_pool(n)
        _EARLY = n
    return n


def take_prestarted() -> int:
    """How many workers :func:`prestart` started for this run (once; 0 after)."""
    global _EARLY
    n, _EARLY = _EARLY, 0
    return n


def auto_workers(capacity: int, calls: int, cpus: int | None = None) -> int:
    """How many workers ``workers: auto`` starts: none unless calls are numerous and many fly
    at once (below that one interpreter keeps up and a worker's ~5 s start would not pay);
    then one per 16 calls in flight, at most one per core and 4. A worker keeps up with 16 in
    flight at 0.2 s (80 calls a second, 40% of a core), and each one more costs a whole
    litellm import (about 4 s of CPU): at 8 in flight two workers took 1.6x the CPU of a bare
    litellm loop, and on a busy machine CPU is wall time."""
    cpus = cpus if cpus is not None else (os.cpu_count() or 1)
    if cpus < 2 or capacity < 8 or calls < 100:
        return 0
    return min(cpus, 4, -(-capacity // 16))


# -- the worker process -------------------------------------------------------------------------


def _serve() -> None:  # pragma: no cover - exercised through subprocesses in the tests
    from harness.engine.llm import litellm_module

    # Frames own the original stdout; anything printed (by litellm or a warning) goes to the log.
    frames = os.fdopen(os.dup(1), "wb", buffering=0)
    os.dup2(2, 1)
    litellm_module()
    # What the imports built lives as long as the worker: frozen, the collections that litellm's
    # per-call objects set off no longer scan it (about half a million objects) every time.
    gc.freeze()
    asyncio.run(_serve_loop(frames))
    # Every answer is written; skip the interpreter's teardown (litellm's exit hooks take about
    # a second, which the harness would wait for at the end of every run).
    os._exit(0)


async def _serve_loop(frames: IO[bytes]) -> None:  # pragma: no cover - runs in the worker
    """Read requests from stdin, answer each as its call finishes; exit after stdin's EOF."""
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=1 << 24)
    await loop.connect_read_pipe(
        lambda: asyncio.StreamReaderProtocol(reader), os.fdopen(0, "rb", buffering=0)
    )
    out, _ = await loop.connect_write_pipe(asyncio.Protocol, frames)
    tasks: set[asyncio.Task[None]] = set()

    def send(obj: dict[str, Any]) -> None:
        data = json.dumps(obj, ensure_ascii=False).encode("utf-8")
        out.write(_HEADER.pack(len(data)) + data)

    async def handle(req: dict[str, Any]) -> None:
        try:
            res = await call_model(Call.from_wire(req), req["messages"])
        except Exception as exc:  # call_model turns provider errors into data; this is a bug
            res = CallResult(error=f"call worker: {type(exc).__name__}: {exc}", retryable=True)
        send({"id": req["id"], **dataclasses.asdict(res)})

    send({"ready": True, "pid": os.getpid(), "frozen": gc.get_freeze_count()})
    while True:
        try:
            (size,) = _HEADER.unpack(await reader.readexactly(_HEADER.size))
            req = json.loads(await reader.readexactly(size))
        except asyncio.IncompleteReadError:
            break
        task = loop.create_task(handle(req))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
    while tasks:
        await asyncio.gather(*list(tasks), return_exceptions=True)
    out.close()


if __name__ == "__main__":  # pragma: no cover
    _serve()
