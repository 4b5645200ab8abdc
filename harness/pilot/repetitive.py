"""Repetitive manual responses: replies written from scratch to questions the district's
knowledge base already answers, counted before and during the pilot.

The one definition (:data:`DEFINITION`), used by the phase comparison and its numeric twin
:func:`repetitive_counts`:

- **written from scratch**: every reply before the pilot (``phase = baseline``); during it, a
  reply whose AI draft did not carry it (:func:`harness.gates.pilot_log.hand_written`: not
  approved, or the approved text keeps under half of the draft's words);
- **already answered by the knowledge base**: the passages the index retrieves for the reply's
  message (the top :data:`harness.knowledge.DEFAULT_K`, leave-one-out as for every candidate:
  :func:`harness.knowledge.retrieve` never returns the question's own approved answer, its
  paraphrases' answers, anything more than 0.8 similar to its answer, or anything dated after
  it) hold at least :data:`ANSWERED_SHARE` of the checkable facts of the reply staff approved
  (dates, times, amounts, contacts, named programs and places: the ceiling's
  :func:`harness.scorers.ceiling.answer_facts`, found as :func:`harness.scorers.accuracy.fact_found`
  finds them). A reply stating no checkable fact cannot be judged and is counted apart.

A pilot that helps turns such replies into edited drafts: the count should fall.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pandas as pd

ANSWERED_SHARE = 0.8  # share of the approved reply's facts the retrieved passages must hold
DEFINITION = (
    "replies written from scratch (every reply before the pilot; during it, one whose AI draft "
    "did not carry it) to questions the knowledge base already answers: the passages retrieved "
    "for the message, never its own approved answer or its paraphrases' (leave-one-out), hold "
    f"at least {ANSWERED_SHARE:.0%} of the checkable facts of the reply staff approved"
)
COLUMNS = ["phase", "replies", "from_scratch", "judged", "already_answered", "share"]


def _entry_item(entry: pd.Series, items: pd.DataFrame) -> dict[str, Any]:
    """The log entry as an item for retrieval: its dataset item's fields when it names one,
    its own message, date and approved reply otherwise (or in addition)."""
    iid = str(entry.get("item_id") or "")
    base: dict[str, Any] = dict(items.loc[iid]) if iid and iid in items.index else {}
    base["id"] = iid or str(entry.get("entry_id"))
    question = entry.get("question")
    if isinstance(question, str) and question.strip():
        base["input"] = question
    base["reference"] = str(entry.get("final_text") or base.get("reference") or "")
    date = entry.get("date")
    if isinstance(date, str) and date:
        base["date"] = date[:10]
    base.setdefault("task", "faq_reply")
    return base


def answered(log: pd.DataFrame, dataset: Any, cache_dir: str | Path | None = None) -> pd.Series:
    """Per log entry: the share of its approved reply's checkable facts found in the passages
    retrieved for its message (leave-one-out); NaN when the reply states none (float)."""
    from harness.knowledge import DEFAULT_K, knowledge_base, retrieve
    from harness.scorers.accuracy import fact_found, normalize_text
    from harness.scorers.ceiling import answer_facts

    kb = knowledge_base(dataset, cache_dir)
    people = tuple(kb.people)
    out = pd.Series(math.nan, index=log.index, dtype="float64")
    for idx, entry in log.iterrows():
        item = _entry_item(entry, dataset.items)
        facts = answer_facts(str(item["reference"]), str(item.get("input") or ""), people)
        if not facts or not str(item.get("input") or "").strip():
            continue
        text = normalize_text("\n".join(retrieve(kb, item, DEFAULT_K)["text"].astype(str)))
        out[idx] = sum(fact_found(f, text) for f in facts) / len(facts)
    return out


def repetitive_counts(
    log: pd.DataFrame | None, dataset: Any, cache_dir: str | Path | None = None
) -> pd.DataFrame:
    """Per phase (``baseline`` = before the pilot, ``pilot`` = during it): replies, replies
    written from scratch, those whose question could be judged (their reply states a checkable
    fact), repetitive manual responses (:data:`DEFINITION`) and their share of the judged
    from-scratch replies. Numeric; empty without a log."""
    from harness.gates.pilot_log import hand_written

    if log is None or log.empty or "phase" not in log:
        return pd.DataFrame(columns=COLUMNS)
    scratch = hand_written(log).astype(bool)
    scratch[log["phase"] == "baseline"] = True
    share = answered(log[scratch], dataset, cache_dir)
    rows = []
    for phase in ("baseline", "pilot"):
        part = log["phase"] == phase
        judged = share[part.loc[share.index]].dropna()
        hits = int((judged >= ANSWERED_SHARE).sum())
        rows.append(
            {
                "phase": phase,
                "replies": int(part.sum()),
                "from_scratch": int((part & scratch).sum()),
                "judged": int(judged.size),
                "already_answered": hits,
                "share": hits / judged.size if judged.size else math.nan,
            }
        )
    frame = pd.DataFrame(rows, columns=COLUMNS)
    return frame.astype({c: "int64" for c in COLUMNS[1:5]} | {"share": "float64"})
