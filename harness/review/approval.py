"""The approval path: who drafted a reply, who approved it, and every revision with its time.

When a station has approvers (``harness review RUN --approvers 'Dana'``), a reply a reviewer
approves (an edited AI draft) or writes (a reply from scratch) is not final: it waits for an
approver, who approves it (that ends it) or sends it back to its drafter with a reason; the
drafter revises it and sends it again. Each step is one row of ``approval_events`` in the
queue's SQLite file, stamped with the server's clock (UTC): ``submitted`` (the drafter's first
version), ``sent_back`` (with the approver's reason), ``revised`` (the drafter's new text) and
``approved``. A queue built before the approval path gains the tables on opening and keeps
every review; it simply has no approval path (its replies were final when the reviewer saved
them). A station without approvers records none either.
"""

from __future__ import annotations

import secrets
import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

SCHEMA = """
CREATE TABLE IF NOT EXISTS approvers (
  name TEXT PRIMARY KEY, token TEXT NOT NULL UNIQUE, created_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS approval_events (
  event_id INTEGER PRIMARY KEY, task_id INTEGER NOT NULL REFERENCES tasks(task_id),
  at TEXT NOT NULL, actor TEXT NOT NULL, action TEXT NOT NULL, reason TEXT NOT NULL,
  text TEXT NOT NULL, active_seconds REAL NOT NULL);
CREATE INDEX IF NOT EXISTS approval_events_task ON approval_events (task_id, event_id);
"""
ACTIONS = ("submitted", "sent_back", "revised", "approved")
WAITING = ("submitted", "revised")  # the reply waits for an approver
EVENT_COLUMNS = ["event_id", "task_id", "at", "actor", "action", "reason", "text", "active_seconds"]
MAX_REASON = 2000
# the last event of each task (its state)
_LAST = (
    "SELECT e.*, t.reviewer, t.item_id, t.mode, t.draft_id, t.position FROM approval_events e"
    " JOIN tasks t USING (task_id)"
    " WHERE e.event_id = (SELECT max(event_id) FROM approval_events WHERE task_id = e.task_id)"
)


def ensure(c: sqlite3.Connection) -> None:
    """Create the approval tables if the queue file predates them (existing rows untouched)."""
    c.executescript(SCHEMA)


def add_approvers(c: sqlite3.Connection, names: Sequence[str], at: str) -> dict[str, str]:
    """Give each approver a personal token; returns name -> token."""
    ensure(c)
    tokens = {str(n).strip(): secrets.token_urlsafe(24) for n in names if str(n).strip()}
    with c:
        c.executemany(
            "INSERT INTO approvers VALUES (?, ?, ?)", [(n, t, at) for n, t in tokens.items()]
        )
    return tokens


def approvers(c: sqlite3.Connection) -> dict[str, str]:
    """Approver name -> token (empty for a station without approvers)."""
    ensure(c)
    return {r[0]: r[1] for r in c.execute("SELECT name, token FROM approvers ORDER BY name")}


def approver_by_token(c: sqlite3.Connection, token: str) -> str | None:
    ensure(c)
    row = c.execute("SELECT name FROM approvers WHERE token = ?", (token,)).fetchone()
    return str(row[0]) if row else None


def record(
    c: sqlite3.Connection,
    task_id: int,
    actor: str,
    action: str,
    at: str,
    *,
    text: str = "",
    reason: str = "",
    seconds: float = 0.0,
) -> None:
    """Append one step (inside the caller's transaction)."""
    if action not in ACTIONS:
        raise ValueError(f"unknown approval action {action!r}; one of {', '.join(ACTIONS)}")
    c.execute(
        "INSERT INTO approval_events (task_id, at, actor, action, reason, text, active_seconds)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        (task_id, at, actor, action, reason[:MAX_REASON], text, float(seconds)),
    )


def last(c: sqlite3.Connection, task_id: int) -> sqlite3.Row | None:
    """A reply's latest step (None: not in the approval path)."""
    return c.execute(
        "SELECT * FROM approval_events WHERE task_id = ? ORDER BY event_id DESC LIMIT 1",
        (task_id,),
    ).fetchone()


def latest_text(c: sqlite3.Connection, task_id: int) -> str:
    """The reply's text as last sent for approval."""
    row = c.execute(
        "SELECT text FROM approval_events WHERE task_id = ? AND action IN ('submitted', "
        "'revised') ORDER BY event_id DESC LIMIT 1",
        (task_id,),
    ).fetchone()
    return str(row[0]) if row else ""


def sent_back(c: sqlite3.Connection, drafter: str) -> sqlite3.Row | None:
    """The drafter's oldest reply sent back to them and not revised yet."""
    ensure(c)
    return c.execute(
        f"SELECT * FROM ({_LAST}) WHERE action = 'sent_back' AND reviewer = ? ORDER BY event_id"
        " LIMIT 1",
        (drafter,),
    ).fetchone()


def waiting(c: sqlite3.Connection, approver: str) -> sqlite3.Row | None:
    """The oldest reply waiting for approval that the approver did not draft themselves."""
    ensure(c)
    return c.execute(
        f"SELECT * FROM ({_LAST}) WHERE action IN ('submitted', 'revised') AND reviewer != ?"
        " ORDER BY event_id LIMIT 1",
        (approver,),
    ).fetchone()


def counts(c: sqlite3.Connection) -> dict[str, int]:
    """Replies per state: waiting for approval, sent back, approved."""
    ensure(c)
    out = {"waiting": 0, "sent_back": 0, "approved": 0}
    for action, n in c.execute(f"SELECT action, count(*) FROM ({_LAST}) GROUP BY action"):
        key = "waiting" if action in WAITING else str(action)
        out[key] = out.get(key, 0) + int(n)
    return out


STATE_COLUMNS = ["reviewer", "role", "waiting_approval", "sent_back", "approved"]


def states(c: sqlite3.Connection) -> pd.DataFrame:
    """The approval path per person, for ``harness review --progress``: for a drafter
    (``role`` reviewer), their replies waiting for an approver, sent back to them and not
    revised yet, and approved; for an approver, the replies waiting that they may decide (not
    their own), those they sent back (each time) and those they approved. Integers; no rows
    for a station without approvers."""
    ensure(c)
    names = list(approvers(c))
    if not names:
        return pd.DataFrame(columns=STATE_COLUMNS)
    rows: dict[tuple[str, str], dict[str, Any]] = {}

    def row(name: str, role: str) -> dict[str, Any]:
        key = (name, role)
        if key not in rows:
            rows[key] = {"reviewer": name, "role": role, **dict.fromkeys(STATE_COLUMNS[2:], 0)}
        return rows[key]

    for drafter, action, n in c.execute(
        f"SELECT reviewer, action, count(*) FROM ({_LAST}) GROUP BY reviewer, action"
    ):
        state = "waiting_approval" if action in WAITING else str(action)
        row(str(drafter), "reviewer")[state] += int(n)
    for name in names:
        mine = row(name, "approver")
        mine["waiting_approval"] = int(
            c.execute(
                f"SELECT count(*) FROM ({_LAST}) WHERE action IN ('submitted', 'revised') "
                "AND reviewer != ?",
                (name,),
            ).fetchone()[0]
        )
        for action, n in c.execute(
            "SELECT action, count(*) FROM approval_events WHERE actor = ? AND action IN "
            "('sent_back', 'approved') GROUP BY action",
            (name,),
        ):
            mine[str(action)] = int(n)
    frame = pd.DataFrame(list(rows.values()), columns=STATE_COLUMNS)
    return frame.astype({k: "int64" for k in STATE_COLUMNS[2:]})


def step(
    c: sqlite3.Connection,
    task_id: int,
    actor: str,
    action: str,
    expect: Sequence[str],
    at: str,
    *,
    text: str = "",
    reason: str = "",
    seconds: float = 0.0,
) -> bool:
    """Record one step if the reply is still in one of the ``expect`` states (one committed
    transaction; False and nothing written when another approver decided first)."""
    c.execute("BEGIN IMMEDIATE")
    try:
        now = last(c, task_id)
        if now is None or now["action"] not in expect:
            c.execute("ROLLBACK")
            return False
        record(c, task_id, actor, action, at, text=text, reason=reason, seconds=seconds)
        c.execute("COMMIT")
    except BaseException:
        c.execute("ROLLBACK")
        raise
    return True


def events(db_file: Path) -> pd.DataFrame:
    """Every step of every reply in a queue file, oldest first (empty without an approval path)."""
    if not Path(db_file).is_file():
        return pd.DataFrame(columns=EVENT_COLUMNS)
    c = sqlite3.connect(f"file:{db_file}?mode=ro", uri=True)
    try:
        has = c.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'approval_events'"
        ).fetchone()
        rows = (
            c.execute(f"SELECT {', '.join(EVENT_COLUMNS)} FROM approval_events ORDER BY event_id")
            if has
            else []
        )
        frame = pd.DataFrame(list(rows), columns=EVENT_COLUMNS)
    finally:
        c.close()
    frame["active_seconds"] = frame["active_seconds"].astype("float64")
    return frame


PATH_COLUMNS = [
    "task_id",
    "drafter",
    "approver",
    "mode",
    "item_id",
    "received_at",
    "first_draft_at",
    "approved_at",
    "revisions",
    "revision_seconds",
    "turnaround_hours",
    "live",
]


def live_items(dates: dict[str, Any], live_from: str | None) -> set[str]:
    """Items whose message is dated on or after ``live_from`` (none without it): live pilot
    messages. Every other message is replayed history, whose turnaround is never measured."""
    if not live_from:
        return set()
    out = set()
    for item, d in dates.items():
        day = str(d)[:10] if isinstance(d, str) else ""
        if len(day) == 10 and day >= str(live_from):
            out.add(str(item))
    return out


def received_times(dataset: Any, live: set[str], strict: bool = True) -> dict[str, str]:
    """Each live pilot message's arrival time (its item's ``received_at``), checked before the
    station starts: turnaround (:data:`harness.metrics.TURNAROUND`) runs from it. With
    ``strict`` off, a message without a valid time is left out (no turnaround) instead.

    Raises:
        ReviewError: (``strict``) a live message without a valid ``received_at``, naming the
            items file, the item's line and the field.
    """
    from harness.errors import ReviewError
    from harness.metrics import RECEIVED_AT_HINT, received_time

    items = dataset.items
    column = items["received_at"] if "received_at" in items else pd.Series(dtype=object)
    out: dict[str, str] = {}
    problems = []
    for item in sorted(live):
        value = column.get(item)
        when = received_time(value)
        if isinstance(when, str):
            where = Path(str(dataset.items_file or Path(dataset.path) / "items.jsonl"))
            line = dataset.item_lines.get(item)
            problems.append(
                f"{where}{f' line {line}' if line else ''}: field 'received_at' {when} "
                f"(item {item})"
            )
        else:
            out[item] = str(value).strip()
    if problems and strict:
        shown = "\n  ".join(problems[:10]) + (
            f"\n  ... and {len(problems) - 10} more" if len(problems) > 10 else ""
        )
        raise ReviewError(
            f"{len(problems)} live pilot message(s) without the time they arrived, so their "
            f"turnaround cannot be measured:\n  {shown}\n{RECEIVED_AT_HINT}; or start the "
            "station with a later --live-from day"
        )
    return out


def paths(
    reviews: pd.DataFrame,
    steps: pd.DataFrame,
    live: set[str],
    received: dict[str, str] | None = None,
) -> pd.DataFrame:
    """One row per reply that went for approval: who drafted and approved it, when its
    message arrived (``received``: live messages' ``received_at``), when the first draft began
    (the drafter first opened the page) and when it was approved, the revisions (times it was
    sent back before approval; NaN while not approved), the drafter's active seconds on
    revisions, and the turnaround (:func:`harness.metrics.turnaround_hours`: hours from the
    message's arrival to the approval; live pilot messages only, NaN otherwise)."""
    from harness.metrics import turnaround_hours

    received = received or {}
    if steps.empty or reviews.empty:
        return pd.DataFrame(columns=PATH_COLUMNS)
    by_task = reviews.set_index("task_id")
    rows = []
    for task_id, g in steps.groupby("task_id", sort=True):
        if task_id not in by_task.index:
            continue
        r = by_task.loc[task_id]
        done = g[g["action"] == "approved"]
        approved_at = str(done["at"].iloc[-1]) if len(done) else None
        opened = str(r["opened_at"])
        item = str(r["item_id"])
        hours = float("nan")
        if approved_at and item in live:
            hours = turnaround_hours(received.get(item), approved_at)
        rows.append(
            {
                "task_id": int(str(task_id)),
                "drafter": str(r["reviewer"]),
                "approver": str(done["actor"].iloc[-1]) if len(done) else "",
                "mode": str(r["mode"]),
                "item_id": item,
                "received_at": received.get(item, "") if item in live else "",
                "first_draft_at": opened,
                "approved_at": approved_at or "",
                "revisions": float((g["action"] == "sent_back").sum()) if approved_at else np.nan,
                "revision_seconds": float(g.loc[g["action"] == "revised", "active_seconds"].sum()),
                "turnaround_hours": hours,
                "live": item in live,
            }
        )
    return pd.DataFrame(rows, columns=PATH_COLUMNS)
