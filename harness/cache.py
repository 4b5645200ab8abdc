"""Persistent response cache (SQLite): never pay twice for the same answer.

The key hashes the logical model (for the embedded model: the weights' identity, not the port
it happens to listen on), the endpoint, the messages, the parameters and the sample index, so
repeated samples of one item stay distinct. WAL mode with synchronous=NORMAL makes a commit a
memory write plus an append: cheap enough to sit beside each finished call.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import time
from pathlib import Path
from typing import Any

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


class ResponseCache:
    """A key -> response store; ``max_age_s`` ignores entries older than that."""

    def __init__(self, path: Path, max_age_s: float | None = None):
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.max_age_s = max_age_s
        self.db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.execute(SCHEMA)
        self.hits = 0
        self.writes = 0

    def get_many(self, keys: list[str]) -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        oldest = time.time() - self.max_age_s if self.max_age_s else 0.0
        for i in range(0, len(keys), 500):
            chunk = keys[i : i + 500]
            q = (
                f"SELECT key, response FROM responses WHERE created >= ? AND key IN "
                f"({','.join('?' * len(chunk))})"
            )
            for k, resp in self.db.execute(q, [oldest, *chunk]):
                out[k] = json.loads(resp)
        self.hits += len(out)
        return out

    def put(self, key: str, model: str, response: dict[str, Any]) -> None:
        self.db.execute(
            "INSERT OR REPLACE INTO responses VALUES (?, ?, ?, ?)",
            (key, model, time.time(), json.dumps(response, ensure_ascii=False)),
        )
        self.writes += 1

    def delete(self, keys: list[str]) -> None:
        for i in range(0, len(keys), 500):
            chunk = keys[i : i + 500]
            self.db.execute(
                f"DELETE FROM responses WHERE key IN ({','.join('?' * len(chunk))})", chunk
            )

    def close(self) -> None:
        self.db.close()
