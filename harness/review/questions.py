"""The five questions staff answer in the station, every tenth draft and at the end of a session.

Did this save time? Did it reduce rework? Did it improve clarity? Where did it introduce
friction? What did staff still have to fix by hand? Each has a short scale; "what did you fix?"
also takes tags and free text; a reviewer may add a remark and mark it shareable, and only a
shareable remark is quoted in a report (without the reviewer's name). The answers are stored in
the queue's SQLite file (table ``answers``) beside the reviews.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pandas as pd

EVERY = 10  # ask after every tenth saved review
MORE = ("1", "2", "3", "4", "5")
QUESTIONS: list[dict[str, Any]] = [
    {
        "key": "saved_time",
        "text": "Did the drafts save you time?",
        "levels": ["Cost me time", "No difference", "Saved a little", "Saved some", "Saved a lot"],
    },
    {
        "key": "less_rework",
        "text": "Did they reduce rework (rounds of changes before a reply is approved)?",
        "levels": ["More rework", "No difference", "A little less", "Less", "Much less"],
    },
    {
        "key": "clearer",
        "text": "Did they make the replies clearer for families?",
        "levels": ["Less clear", "No difference", "A little clearer", "Clearer", "Much clearer"],
    },
    {
        "key": "friction",
        "text": "Did they introduce friction (extra steps, checking, waiting)?",
        "levels": ["A lot", "Some", "A little", "Hardly any", "None"],
    },
    {
        "key": "fixed_by_hand",
        "text": "How much did you still have to fix by hand?",
        "levels": ["Almost everything", "A lot", "Some", "A little", "Nothing"],
    },
]
FIX_TAGS = [
    ("facts", "Missing or wrong facts"),
    ("dates_fees", "Dates, times or fees"),
    ("policy", "Out-of-date policy"),
    ("tone", "Tone"),
    ("length", "Too long or too short"),
    ("language", "Language or translation"),
    ("placeholder", "Placeholders left in"),
    ("other", "Something else"),
]
SCHEMA = """
CREATE TABLE IF NOT EXISTS answers (
  answer_id INTEGER PRIMARY KEY, reviewer TEXT NOT NULL, at TEXT NOT NULL,
  after_reviews INTEGER NOT NULL, trigger TEXT NOT NULL, scales TEXT NOT NULL,
  fix_tags TEXT NOT NULL, fix_text TEXT NOT NULL, remark TEXT NOT NULL,
  shareable INTEGER NOT NULL);
"""
MAX_TEXT = 2000


def ensure(c: sqlite3.Connection) -> None:
    """Create the answers table if the queue file predates it."""
    c.executescript(SCHEMA)


def due(c: sqlite3.Connection, reviewer: str, done: int) -> bool:
    """True after every tenth saved review, until the reviewer answers (or skips) at that count."""
    if done <= 0 or done % EVERY:
        return False
    ensure(c)
    row = c.execute(
        "SELECT 1 FROM answers WHERE reviewer = ? AND after_reviews = ?", (reviewer, done)
    ).fetchone()
    return row is None


def parse(form: dict[str, list[str]]) -> tuple[dict[str, Any], str]:
    """The posted answers, typed, and a problem ('' when they can be stored)."""

    def first(key: str) -> str:
        values = form.get(key) or [""]
        return values[0]

    scales = {}
    for q in QUESTIONS:
        v = first(f"q_{q['key']}")
        if v and v not in MORE:
            return {}, f"'{q['text']}' has an answer outside its scale"
        if v:
            scales[q["key"]] = int(v)
    tags = [t for t in form.get("fix_tag", []) if t in dict(FIX_TAGS)]
    typed = {
        "scales": scales,
        "fix_tags": sorted(set(tags)),
        "fix_text": first("fix_text").strip()[:MAX_TEXT],
        "remark": first("remark").strip()[:MAX_TEXT],
        "shareable": first("shareable") == "yes",
        "trigger": "session_end" if first("trigger") == "session_end" else "every_10th",
        "skipped": first("action") == "skip",
    }
    if not typed["skipped"] and not scales:
        return typed, "Choose an answer to at least one question, or click Not now."
    return typed, ""


def store(c: sqlite3.Connection, reviewer: str, done: int, typed: dict[str, Any], at: str) -> None:
    """Save one set of answers (a skip is saved too, so the questions are not asked again)."""
    ensure(c)
    with c:
        c.execute(
            "INSERT INTO answers (reviewer, at, after_reviews, trigger, scales, fix_tags, "
            "fix_text, remark, shareable) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                reviewer,
                at,
                done,
                "skipped" if typed["skipped"] else typed["trigger"],
                json.dumps(typed["scales"]),
                json.dumps(typed["fix_tags"]),
                typed["fix_text"],
                typed["remark"],
                int(typed["shareable"]),
            ),
        )


def answers(db_file: Path) -> pd.DataFrame:
    """Every set of answers in a queue file: one row per set (skips left out)."""
    cols = ["reviewer", "at", "after_reviews", "trigger", "fix_tags", "fix_text", "remark"]
    keys = [q["key"] for q in QUESTIONS]
    if not db_file.is_file():
        return pd.DataFrame(columns=[*cols, "shareable", *keys])
    c = sqlite3.connect(f"file:{db_file}?mode=ro", uri=True)
    try:
        has = c.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'answers'"
        ).fetchone()
        rows = (
            c.execute(
                "SELECT reviewer, at, after_reviews, trigger, fix_tags, fix_text, remark, "
                "shareable, scales FROM answers WHERE trigger != 'skipped' ORDER BY answer_id"
            ).fetchall()
            if has
            else []
        )
    finally:
        c.close()
    frame = pd.DataFrame(rows, columns=[*cols, "shareable", "scales"])
    for k in keys:
        frame[k] = [float(json.loads(s).get(k, float("nan"))) for s in frame["scales"]]
    frame["fix_tags"] = [json.loads(t) for t in frame["fix_tags"]]
    frame["shareable"] = frame["shareable"].astype(bool)
    return frame.drop(columns="scales")


def distribution(frame: pd.DataFrame) -> pd.DataFrame:
    """Per question: how many answers, and how many at each level of its scale (1 worst, 5 best)."""
    rows = []
    for q in QUESTIONS:
        values = frame[q["key"]].dropna() if q["key"] in frame else pd.Series(dtype=float)
        row: dict[str, Any] = {
            "question": q["text"],
            "scale (1 to 5)": f"{q['levels'][0]} to {q['levels'][-1]}",
            "answers": int(values.size),
        }
        for i in range(1, len(q["levels"]) + 1):
            row[str(i)] = int((values == i).sum())
        rows.append(row)
    return pd.DataFrame(rows)


def fix_tags(frame: pd.DataFrame) -> pd.DataFrame:
    """How often each 'what did you fix?' tag was ticked."""
    counts = {k: 0 for k, _ in FIX_TAGS}
    for tags in frame.get("fix_tags", []):
        for t in tags:
            counts[t] = counts.get(t, 0) + 1
    return pd.DataFrame(
        {
            "fixed by hand": [dict(FIX_TAGS)[k] for k in counts],
            "times ticked": list(counts.values()),
        }
    )


def quotes(frame: pd.DataFrame, limit: int = 3) -> list[str]:
    """Up to ``limit`` remarks their reviewers marked shareable (no names), newest first."""
    if frame.empty:
        return []
    shared = frame[frame["shareable"] & frame["remark"].str.len().gt(0)]
    return shared["remark"].iloc[::-1].head(limit).tolist()
