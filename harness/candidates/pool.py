"""Worker processes that make the model calls, so litellm's per-call CPU can use every core.

litellm spends about 5 ms of CPU on each chat call (request building, response objects,
cost lookup, logging payloads). With many calls in flight to a fast provider that CPU, not
the network, sets the pace, and one interpreter has one core: 32 calls in flight to a server
that answers in 0.2 s need 160 calls a second, about 80% of a core for litellm alone.

The pool runs :func:`harness.candidates.llm.call_model` (the very function the runner calls
in process, litellm included) in ``python -m harness.candidates.pool`` children, each an
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
import json
import os
import queue
import signal
import struct
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from typing import IO, Any

from harness.candidates.llm import CallResult, call_model

_HEADER = struct.Struct(">I")
_FIELDS = {f.name for f in dataclasses.fields(CallResult)}


def _write_frame(out: IO[bytes], obj: dict[str, Any]) -> None:
    data = json.dumps(obj, ensure_ascii=False).encode("utf-8")
    out.write(_HEADER.pack(len(data)) + data)
    out.flush()


def _read_frame(inp: IO[bytes]) -> dict[str, Any] | None:
    head = inp.read(_HEADER.size)
    if len(head) < _HEADER.size:
        return None
    (size,) = _HEADER.unpack(head)
    data = inp.read(size)
    if len(data) < size:
        return None
    obj = json.loads(data)
    return obj if isinstance(obj, dict) else None


def _die_with_parent() -> None:  # pragma: no cover - runs in the child before exec
    """Linux: SIGKILL the worker when the harness dies; its own session, so Ctrl-C in the
    terminal reaches only the harness, which then stops the workers itself."""
    with contextlib.suppress(Exception):
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    os.setsid()


class _Worker:
    """One child process, a writer thread (requests) and a reader thread (results)."""

    def __init__(self, index: int):
        fd, log = tempfile.mkstemp(
            prefix=f"harness-callworker-{os.getpid()}-{index}-", suffix=".log"
        )
        self.log = Path(log)
        env = dict(os.environ, LITELLM_LOCAL_MODEL_COST_MAP="True", LITELLM_TELEMETRY="False")
        with os.fdopen(fd, "wb") as err:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "harness.candidates.pool"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=err,
                env=env,
                preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None,
            )
        self.inflight: dict[int, tuple[asyncio.AbstractEventLoop, asyncio.Future[CallResult]]] = {}
        self.lock = threading.Lock()
        self.alive = True
        self.ready = threading.Event()
        self._outbox: queue.SimpleQueue[bytes | None] = queue.SimpleQueue()
        self._reader = threading.Thread(target=self._read_loop, name=f"callworker-{index}-read")
        self._writer = threading.Thread(target=self._write_loop, name=f"callworker-{index}-write")
        self._reader.daemon = self._writer.daemon = True
        self._reader.start()
        self._writer.start()

    @property
    def pid(self) -> int:
        return self.proc.pid

    def load(self) -> int:
        with self.lock:
            return len(self.inflight)

    def submit(self, rid: int, request: dict[str, Any]) -> asyncio.Future[CallResult]:
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[CallResult] = loop.create_future()
        data = json.dumps({"id": rid, **request}, ensure_ascii=False).encode("utf-8")
        with self.lock:
            if not self.alive:
                fut.set_result(self._gone_result())
                return fut
            self.inflight[rid] = (loop, fut)
        self._outbox.put(_HEADER.pack(len(data)) + data)
        return fut

    def _write_loop(self) -> None:
        assert self.proc.stdin is not None
        while True:
            data = self._outbox.get()
            if data is None:
                break
            try:
                self.proc.stdin.write(data)
                self.proc.stdin.flush()
            except (BrokenPipeError, OSError, ValueError):
                break  # the reader sees the EOF and fails what is in flight
        with contextlib.suppress(OSError, ValueError):
            self.proc.stdin.close()

    def _read_loop(self) -> None:
        assert self.proc.stdout is not None
        try:
            while True:
                frame = _read_frame(self.proc.stdout)
                if frame is None:
                    break
                if frame.get("ready"):
                    self.ready.set()
                    continue
                with self.lock:
                    entry = self.inflight.pop(int(frame.get("id", -1)), None)
                if entry is not None:
                    res = CallResult(**{k: v for k, v in frame.items() if k in _FIELDS})
                    _resolve(entry, res)
        except (OSError, ValueError):
            pass
        finally:
            with self.lock:
                self.alive = False
                pending = list(self.inflight.values())
                self.inflight.clear()
            self.ready.set()
            with contextlib.suppress(Exception):
                self.proc.wait(timeout=5)
            gone = self._gone_result()
            for entry in pending:
                _resolve(entry, gone)

    def _gone_result(self) -> CallResult:
        code = self.proc.poll()
        tail = ""
        with contextlib.suppress(OSError):
            tail = self.log.read_text(errors="replace")[-1500:].strip()
        msg = f"the call worker process (pid {self.pid}) exited with code {code}"
        return CallResult(error=msg + (f"; its log ends: {tail}" if tail else ""), retryable=True)

    def close(self, grace: float = 5.0) -> None:
        self._outbox.put(None)  # stdin closes: the worker finishes what it has, then exits
        try:
            self.proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=grace)
        self._reader.join(timeout=grace)
        with contextlib.suppress(OSError):
            self.log.unlink()


def _resolve(
    entry: tuple[asyncio.AbstractEventLoop, asyncio.Future[CallResult]], res: CallResult
) -> None:
    loop, fut = entry

    def settle() -> None:
        if not fut.done():  # a call the runner gave up on (timeout, Ctrl-C) stays given up
            fut.set_result(res)

    with contextlib.suppress(RuntimeError):  # that run's event loop is already closed
        loop.call_soon_threadsafe(settle)


class CallPool:
    """N worker processes; :meth:`call` has :func:`call_model`'s signature and result."""

    def __init__(self, workers: int):
        if workers < 1:
            raise ValueError("a call pool needs at least one worker")
        self._workers = [_Worker(i) for i in range(workers)]
        self._next_id = 0
        self._id_lock = threading.Lock()

    @property
    def size(self) -> int:
        return sum(w.alive for w in self._workers)

    @property
    def pids(self) -> list[int]:
        return [w.pid for w in self._workers if w.alive]

    def wait_ready(self, timeout: float = 120.0) -> bool:
        """Block until every worker has imported litellm (or died); True if all are ready."""
        return all(w.ready.wait(timeout) for w in self._workers) and self.size == len(self._workers)

    async def call(
        self,
        model: str,
        messages: list[dict[str, str]],
        params: dict[str, Any],
        api_base: str | None,
        api_key: str | None,
        timeout: float,
        price: tuple[float, float] | None = None,
    ) -> CallResult:
        live = [w for w in self._workers if w.alive]
        if not live:  # every worker is gone: the run goes on in process
            return await call_model(model, messages, params, api_base, api_key, timeout, price)
        worker = min(live, key=_Worker.load)
        with self._id_lock:
            self._next_id += 1
            rid = self._next_id
        request = {
            "model": model,
            "messages": messages,
            "params": params,
            "api_base": api_base,
            "api_key": api_key,
            "timeout": timeout,
            "price": list(price) if price is not None else None,
        }
        return await worker.submit(rid, request)

    def close(self) -> None:
        for w in self._workers:
            w.close()


_POOL: CallPool | None = None
_POOL_LOCK = threading.Lock()


def start_pool(workers: int, wait: bool = False) -> CallPool:
    """The process's call pool with ``workers`` live workers (started once, then reused by
    every run of this process, as litellm's import is); ``wait`` blocks until all are ready."""
    global _POOL
    with _POOL_LOCK:
        if _POOL is None or _POOL.size < workers:
            if _POOL is not None:
                _POOL.close()
            _POOL = CallPool(workers)
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


def auto_workers(capacity: int, calls: int, cpus: int | None = None) -> int:
    """How many workers ``workers: auto`` starts: none unless calls are numerous and many fly
    at once (below that one interpreter keeps up and a worker's ~5 s start would not pay)."""
    cpus = cpus if cpus is not None else (os.cpu_count() or 1)
    if cpus < 2 or capacity < 8 or calls < 100:
        return 0
    return min(cpus, 4)


# -- the worker process -------------------------------------------------------------------------


def _serve() -> None:  # pragma: no cover - exercised through subprocesses in the tests
    from harness.candidates.llm import litellm_module

    # Frames own the original stdout; anything printed (by litellm or a warning) goes to the log.
    frames = os.fdopen(os.dup(1), "wb", buffering=0)
    os.dup2(2, 1)
    litellm_module()
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    tasks: set[asyncio.Task[None]] = set()
    write_lock = threading.Lock()

    def send(obj: dict[str, Any]) -> None:
        with write_lock:
            _write_frame(frames, obj)

    async def handle(req: dict[str, Any]) -> None:
        try:
            price = tuple(req["price"]) if req.get("price") is not None else None
            res = await call_model(
                req["model"],
                req["messages"],
                req.get("params") or {},
                req.get("api_base"),
                req.get("api_key"),
                float(req["timeout"]),
                price,
            )
        except Exception as exc:  # call_model turns provider errors into data; this is a bug
            res = CallResult(error=f"call worker: {type(exc).__name__}: {exc}", retryable=True)
        send({"id": req["id"], **dataclasses.asdict(res)})

    def start(req: dict[str, Any]) -> None:
        task = loop.create_task(handle(req))
        tasks.add(task)
        task.add_done_callback(tasks.discard)

    async def drain() -> None:
        while tasks:
            await asyncio.gather(*list(tasks), return_exceptions=True)
        loop.stop()

    def read() -> None:
        stdin = sys.stdin.buffer
        while True:
            req = _read_frame(stdin)
            if req is None:
                break
            loop.call_soon_threadsafe(start, req)
        loop.call_soon_threadsafe(lambda: loop.create_task(drain()))

    send({"ready": True, "pid": os.getpid()})
    threading.Thread(target=read, name="requests", daemon=True).start()
    loop.run_forever()


if __name__ == "__main__":  # pragma: no cover
    _serve()
