"""Run the harness's coroutines from plain code, a terminal or a Jupyter notebook alike.

``asyncio.run`` refuses to start inside a running event loop, and a Jupyter (ipykernel) cell
runs inside one. There the coroutine runs on one long-lived background thread instead. One
thread for the life of the process, not a thread per call: a child process started with the
parent-death signal (the embedded model server, the call workers) is tied to the thread that
started it, so that thread must outlive every run that reuses the child.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")

_executor: concurrent.futures.ThreadPoolExecutor | None = None
_lock = threading.Lock()


def _loop_thread() -> concurrent.futures.ThreadPoolExecutor:
    global _executor
    with _lock:
        if _executor is None:
            _executor = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="harness-aio")
        return _executor


def run(coro: Coroutine[Any, Any, T]) -> T:
    """``asyncio.run(coro)``, or on the harness's loop thread when a loop already runs here."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    return _loop_thread().submit(asyncio.run, coro).result()
