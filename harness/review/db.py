"""The review station's SQLite file, ``results/<run_id>/review/review.sqlite`` (WAL mode).

Every submission is one transaction committed with ``synchronous = FULL`` before the page that
confirms it is sent, so a killed server loses no confirmed review. Each request opens its own
connection (cheap; safe across the server's threads). Timestamps are the server's, in UTC.
"""

from __future__ import annotations

import json
import secrets
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pandas as pd

from harness.store.runs import REVIEW_FOLDER

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS reviewers (
  name TEXT PRIMARY KEY, token TEXT NOT NULL UNIQUE, created_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS drafts (
  draft_id TEXT PRIMARY KEY, item_id TEXT NOT NULL, candidate TEXT NOT NULL,
  category TEXT NOT NULL, text TEXT NOT NULL, control INTEGER NOT NULL,
  placeholders TEXT NOT NULL DEFAULT '[]');
CREATE TABLE IF NOT EXISTS tasks (
  task_id INTEGER PRIMARY KEY, reviewer TEXT NOT NULL REFERENCES reviewers(name),
  position INTEGER NOT NULL, mode TEXT NOT NULL, item_id TEXT NOT NULL,
  draft_id TEXT NOT NULL, draft_b_id TEXT NOT NULL, swapped INTEGER NOT NULL,
  double INTEGER NOT NULL, review INTEGER NOT NULL,
  done INTEGER NOT NULL DEFAULT 0, opened_at TEXT);
CREATE INDEX IF NOT EXISTS tasks_next ON tasks (reviewer, done, position);
CREATE TABLE IF NOT EXISTS reviews (
  task_id INTEGER PRIMARY KEY REFERENCES tasks(task_id), reviewer TEXT NOT NULL,
  decision TEXT NOT NULL, final_text TEXT NOT NULL, ratings TEXT NOT NULL,
  flags TEXT NOT NULL, comment TEXT NOT NULL, choice TEXT NOT NULL,
  active_seconds REAL NOT NULL, events INTEGER NOT NULL,
  opened_at TEXT NOT NULL, submitted_at TEXT NOT NULL, elapsed_seconds REAL NOT NULL,
  unrated TEXT NOT NULL DEFAULT '[]');
"""
# columns added since the first release: a queue built before them gains them on opening
ADDED_COLUMNS = {
    "drafts": ("placeholders", "TEXT NOT NULL DEFAULT '[]'"),
    "reviews": ("unrated", "TEXT NOT NULL DEFAULT '[]'"),
}
REVIEW_COLUMNS = [
    "task_id",
    "reviewer",
    "decision",
    "final_text",
    "ratings",
    "flags",
    "comment",
    "choice",
    "active_seconds",
    "events",
    "opened_at",
    "submitted_at",
    "elapsed_seconds",
    "unrated",
]
DB_NAME = "review.sqlite"


def now() -> str:
    """The server's clock, UTC, ISO 8601 with microseconds."""
    return datetime.now(timezone.utc).isoformat(timespec="microseconds")


def db_path(run_folder: Path) -> Path:
    return Path(run_folder) / REVIEW_FOLDER / DB_NAME


def open_connection(path: Path) -> sqlite3.Connection:
    """A connection in WAL mode with full sync (each commit reaches the disk) and foreign keys."""
    conn = sqlite3.connect(path, timeout=30.0, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("PRAGMA foreign_keys=ON")
    conn.row_factory = sqlite3.Row
    return conn


@contextmanager
def connect(path: Path) -> Iterator[sqlite3.Connection]:
    """One connection (see :func:`open_connection`), closed on exit."""
    conn = open_connection(path)
    try:
        yield conn
    finally:
        conn.close()


def exists(path: Path) -> bool:
    if not path.is_file():
        return False
    with connect(path) as c:
        return c.execute("SELECT count(*) FROM tasks").fetchone()[0] > 0


def upgrade(path: Path) -> None:
    """Add the columns a queue built by an earlier release lacks (placeholders are found)."""
    from harness.review import approval
    from harness.review.text import placeholders

    with connect(path) as c:
        approval.ensure(c)  # the approval path's tables (a queue from before them has none)
        for table, (col, decl) in ADDED_COLUMNS.items():
            have = {r["name"] for r in c.execute(f"PRAGMA table_info({table})")}
            if have and col not in have:
                c.execute(f"ALTER TABLE {table} ADD COLUMN {col} {decl}")
                if table == "drafts":
                    rows = c.execute("SELECT draft_id, text FROM drafts").fetchall()
                    c.executemany(
                        "UPDATE drafts SET placeholders = ? WHERE draft_id = ?",
                        [(json.dumps(placeholders(r["text"])), r["draft_id"]) for r in rows],
                    )


def create(
    path: Path, drafts: pd.DataFrame, tasks: pd.DataFrame, config: dict[str, Any]
) -> dict[str, str]:
    """Write a new queue (drafts, reviewers with fresh tokens, tasks); returns name -> token."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tokens = {str(r): secrets.token_urlsafe(24) for r in config["reviewers"]}
    with connect(path) as c:
        c.executescript(SCHEMA)
        c.execute("BEGIN IMMEDIATE")
        c.execute("INSERT OR REPLACE INTO meta VALUES ('config', ?)", (json.dumps(config),))
        c.execute("INSERT OR REPLACE INTO meta VALUES ('secret', ?)", (secrets.token_hex(32),))
        c.execute("INSERT OR REPLACE INTO meta VALUES ('created_at', ?)", (now(),))
        c.executemany(
            "INSERT INTO reviewers VALUES (?, ?, ?)", [(n, t, now()) for n, t in tokens.items()]
        )
        c.executemany(
            "INSERT INTO drafts VALUES (?, ?, ?, ?, ?, ?, ?)",
            [
                (
                    r.draft_id,
                    r.item_id,
                    r.candidate,
                    r.category,
                    r.text,
                    int(r.control),
                    getattr(r, "placeholders", "[]"),
                )
                for r in _rows(drafts)
            ],
        )
        c.executemany(
            "INSERT INTO tasks (reviewer, position, mode, item_id, draft_id, draft_b_id,"
            " swapped, double, review) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (
                    t.reviewer,
                    int(t.position),
                    t.mode,
                    t.item_id,
                    t.draft_id,
                    t.draft_b_id,
                    int(t.swapped),
                    int(t.double),
                    int(t.review),
                )
                for t in _rows(tasks)
            ],
        )
        c.execute("COMMIT")
    return tokens


def _rows(frame: pd.DataFrame) -> Iterator[Any]:
    return frame.itertuples(index=False)


def meta(c: sqlite3.Connection, key: str) -> str:
    row = c.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
    return str(row[0]) if row else ""


def reviewers(c: sqlite3.Connection) -> dict[str, str]:
    """Reviewer name -> token."""
    return {r["name"]: r["token"] for r in c.execute("SELECT name, token FROM reviewers")}


def reviewer_by_token(c: sqlite3.Connection, token: str) -> str | None:
    row = c.execute("SELECT name FROM reviewers WHERE token = ?", (token,)).fetchone()
    return str(row[0]) if row else None


def next_task(c: sqlite3.Connection, reviewer: str) -> sqlite3.Row | None:
    """The reviewer's first task without a review (their place in the queue)."""
    return c.execute(
        "SELECT * FROM tasks WHERE reviewer = ? AND done = 0 ORDER BY position LIMIT 1",
        (reviewer,),
    ).fetchone()


def mark_opened(c: sqlite3.Connection, task_id: int) -> str:
    """Record when the server first served the task (kept across reloads).

    Written without its own fsync: the next submission's full-sync commit makes it durable
    with the review (a crash before that loses only this timestamp, set again on reopening).
    """
    row = c.execute("SELECT opened_at FROM tasks WHERE task_id = ?", (task_id,)).fetchone()
    if row is not None and row[0]:
        return str(row[0])
    stamp = now()
    c.execute("PRAGMA synchronous=NORMAL")
    try:
        c.execute(
            "UPDATE tasks SET opened_at = ? WHERE task_id = ? AND opened_at IS NULL",
            (stamp, task_id),
        )
    finally:
        c.execute("PRAGMA synchronous=FULL")
    return stamp


def counts(c: sqlite3.Connection, reviewer: str) -> tuple[int, int]:
    """The reviewer's tasks and how many are done."""
    row = c.execute(
        "SELECT count(*), coalesce(sum(done), 0) FROM tasks WHERE reviewer = ?", (reviewer,)
    ).fetchone()
    return int(row[0]), int(row[1])


def draft(c: sqlite3.Connection, draft_id: str) -> sqlite3.Row | None:
    return c.execute("SELECT * FROM drafts WHERE draft_id = ?", (draft_id,)).fetchone()


def progress(c: sqlite3.Connection, reviewer: str | None = None) -> pd.DataFrame:
    """Per reviewer: tasks, done, and the share done."""
    q = "SELECT reviewer, count(*) AS tasks, sum(done) AS done FROM tasks"
    args: tuple[Any, ...] = ()
    if reviewer is not None:
        q += " WHERE reviewer = ?"
        args = (reviewer,)
    rows = c.execute(q + " GROUP BY reviewer ORDER BY reviewer", args).fetchall()
    frame = pd.DataFrame([dict(r) for r in rows], columns=["reviewer", "tasks", "done"])
    frame["tasks"] = frame["tasks"].astype("int64")
    frame["done"] = frame["done"].astype("int64")
    frame["share_done"] = (frame["done"] / frame["tasks"]).astype("float64")
    return frame


def submit(
    c: sqlite3.Connection,
    task_id: int,
    reviewer: str,
    review: dict[str, Any],
    after: Callable[[sqlite3.Connection], None] | None = None,
) -> bool:
    """Store one review and mark its task done in one committed transaction.

    ``after`` runs inside the same transaction (the approval path's first step).
    Returns False (nothing written) when the task is not the reviewer's or is already done.
    """
    c.execute("BEGIN IMMEDIATE")
    try:
        row = c.execute(
            "SELECT done, opened_at FROM tasks WHERE task_id = ? AND reviewer = ?",
            (task_id, reviewer),
        ).fetchone()
        if row is None or row["done"]:
            c.execute("ROLLBACK")
            return False
        c.execute(
            f"INSERT INTO reviews ({', '.join(REVIEW_COLUMNS)})"
            f" VALUES ({', '.join('?' * len(REVIEW_COLUMNS))})",
            (
                task_id,
                reviewer,
                review["decision"],
                review["final_text"],
                json.dumps(review["ratings"]),
                json.dumps(review["flags"]),
                review["comment"],
                review["choice"],
                float(review["active_seconds"]),
                int(review["events"]),
                review["opened_at"],
                review["submitted_at"],
                float(review["elapsed_seconds"]),
                json.dumps(review.get("unrated", [])),
            ),
        )
        c.execute("UPDATE tasks SET done = 1 WHERE task_id = ?", (task_id,))
        if after is not None:
            after(c)
        c.execute("COMMIT")
    except BaseException:
        c.execute("ROLLBACK")
        raise
    return True


def reviews_frame(path: Path) -> pd.DataFrame:
    """Every stored review joined with its task and draft (candidate names included)."""
    upgrade(path)  # a queue from an earlier release, read by a report or an export
    with connect(path) as c:
        rows = c.execute(
            "SELECT r.*, t.mode, t.item_id, t.draft_id, t.draft_b_id, t.swapped, t.double,"
            " t.position, d.candidate, d.category, d.text AS draft, d.control,"
            " d.placeholders,"
            " b.candidate AS candidate_b, b.text AS draft_b"
            " FROM reviews r JOIN tasks t USING (task_id)"
            " LEFT JOIN drafts d ON d.draft_id = t.draft_id"
            " LEFT JOIN drafts b ON b.draft_id = t.draft_b_id"
            " ORDER BY r.submitted_at, r.task_id"
        ).fetchall()
    frame = pd.DataFrame([dict(r) for r in rows])
    if frame.empty:
        return frame
    frame["ratings"] = frame["ratings"].map(json.loads)
    frame["flags"] = frame["flags"].map(json.loads)
    frame["unrated"] = frame["unrated"].map(json.loads)
    frame["placeholders"] = frame["placeholders"].map(
        lambda v: json.loads(v) if isinstance(v, str) and v else []
    )
    for col in ("swapped", "double", "control"):
        frame[col] = frame[col].fillna(0).astype(bool)
    return frame
