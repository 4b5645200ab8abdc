"""Persistent response cache (SQLite): never pay twice for the same answer.

The key hashes the logical model (for the embedded model: the weights' identity, not the port
it happens to listen on), the endpoint, the messages, the parameters and the sample index, so
repeated samples of one item stay distinct.

Writes never sit on the request path: ``put`` hands the row to one writer thread that commits
whatever has queued up in a single transaction (WAL, synchronous=NORMAL), and ``get_many``
also answers from rows still waiting to be written. ``close`` (or ``flush``) waits for the
writer. A ``kill -9`` can lose the rows of the last few milliseconds from the cache, never
from a run: the run's own journal is written synchronously and is what resume reads.
"""

from __future__ import annotations

import hashlib
import json
import queue
import sqlite3
import threading
import time
import warnings
from pathlib import Path
from typing import Any

_Row = tuple[str, str, float, str]
_INSERT = "INSERT OR REPLACE INTO responses VALUES (?, ?, ?, ?)"

SCHEMA = """
CREATE TABLE IF NOT EXISTS responses (
  key TEXT PRIMARY KEY,
  model TEXT NOT NULL,
  created REAL NOT NULL,
  response TEXT NOT NULL
)
"""


def cache_key(
    model: str,
    api_base: str | None,
    messages: list[dict[str, str]],
    params: dict[str, Any],
    sample: int,
) -> str:
    payload = {
        "model": model,
        "api_base": api_base,
        "messages": messages,
        "params": params,
        "sample": sample,
    }
    return hashlib.sha256(
        json.dumps(payload, sort_keys=True, ensure_ascii=False).encode("utf-8")
    ).hexdigest()


def response_cache_path(plan: Any, root: Path) -> Path:
    """Where a plan's responses are cached: its ``runner.cache_path``, else under the results
    folder ``root`` (shared by every run there)."""
    rs = plan.runner
    return plan.resolve(rs.cache_path) if rs.cache_path else root / ".cache" / "responses.sqlite"


class ResponseCache:
    """A key -> response store; ``max_age_s`` ignores entries older than that."""

    def __init__(self, path: Path, max_age_s: float | None = None):
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.max_age_s = max_age_s
        self.db = self._connect()
        self.db.execute(SCHEMA)
        self.hits = 0
        self.writes = 0
        self._pending: dict[str, _Row] = {}  # put, not yet committed by the writer
        self._lock = threading.Lock()
        self._queue: queue.SimpleQueue[str | threading.Event | None] = queue.SimpleQueue()
        self._writer: threading.Thread | None = None

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(str(self.path), check_same_thread=False, isolation_level=None)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        db.execute("PRAGMA busy_timeout=10000")
        return db

    def get_many(self, keys: list[str]) -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        with self._lock:
            for k in keys:
                row = self._pending.get(k)
                if row is not None:
                    out[k] = json.loads(row[3])
        rest = [k for k in keys if k not in out]
        oldest = time.time() - self.max_age_s if self.max_age_s else 0.0
        for i in range(0, len(rest), 500):
            chunk = rest[i : i + 500]
            q = (
                f"SELECT key, response FROM responses WHERE created >= ? AND key IN "
                f"({','.join('?' * len(chunk))})"
            )
            for k, resp in self.db.execute(q, [oldest, *chunk]):
                out[k] = json.loads(resp)
        self.hits += len(out)
        return out

    def put(self, key: str, model: str, response: dict[str, Any]) -> None:
        """Queue one response for the writer thread; returns at once."""
        row = (key, model, time.time(), json.dumps(response, ensure_ascii=False))
        with self._lock:
            self._pending[key] = row
            if self._writer is None:
                self._writer = threading.Thread(
                    target=self._write_loop, name=f"cache-writer:{self.path.name}", daemon=True
                )
                self._writer.start()
        self._queue.put(key)
        self.writes += 1

    def _write_loop(self) -> None:
        db = self._connect()
        warned = False
        try:
            while True:
                batch = [self._queue.get()]
                while True:
                    try:
                        batch.append(self._queue.get_nowait())
                    except queue.Empty:
                        break
                with self._lock:
                    rows = {k: self._pending[k] for k in batch if isinstance(k, str)}
                if rows:
                    try:
                        db.execute("BEGIN")
                        db.executemany(_INSERT, list(rows.values()))
                        db.execute("COMMIT")
                    except sqlite3.Error as exc:
                        if db.in_transaction:
                            db.execute("ROLLBACK")
                        if not warned:  # the run goes on: its journal holds every output
                            warned = True
                            warnings.warn(
                                f"response cache {self.path}: could not save responses "
                                f"({exc}); the run continues, but a re-run will call the "
                                "provider again for them",
                                RuntimeWarning,
                                stacklevel=1,
                            )
                with self._lock:
                    for k, row in rows.items():
                        if self._pending.get(k) is row:
                            del self._pending[k]
                for item in batch:
                    if isinstance(item, threading.Event):
                        item.set()
                if None in batch:
                    return
        finally:
            db.close()

    def flush(self) -> None:
        """Wait until every response put so far is committed."""
        if self._writer is None or not self._writer.is_alive():
            return
        done = threading.Event()
        self._queue.put(done)
        done.wait()

    def delete(self, keys: list[str]) -> None:
        self.flush()
        for i in range(0, len(keys), 500):
            chunk = keys[i : i + 500]
            self.db.execute(
                f"DELETE FROM responses WHERE key IN ({','.join('?' * len(chunk))})", chunk
            )

    def close(self) -> None:
        """Commit what is queued, stop the writer and close the database."""
        if self._writer is not None:
            self._queue.put(None)
            self._writer.join()
            self._writer = None
        self.db.close()
