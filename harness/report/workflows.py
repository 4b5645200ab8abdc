"""Phase 1: which workflow first? The candidate workflows side by side, from the district's data.

Every figure comes from the run's dataset or its scores, never from typed-in numbers:

- **common**: messages per month from a counts column on the items (``monthly_count``) or an
  inbound log in the dataset (``inbound_log.csv`` with ``date`` and ``task``); item dates are
  not demand (FAQ rows are distinct questions, their dates edit dates), so without either the
  volume is unknown (NaN).
- **measurable**: share of items with an approved reference that states checkable facts
  (``required_facts`` or a date, time, amount, phone, email or web address).
- **risk**: share of items marked sensitive or carrying a safety label; share of messages
  holding personal data (names in ``people.csv``, emails, phone numbers, ids not published).
- **pain**: staff minutes per item measured in a pilot log's baseline period (drafting +
  review, rows of the workflow's ``task``, decided at load: the row's task, else its item's,
  else faq_reply): the review station's from-scratch pages of this run first, else the
  dataset's ``pilot_log.csv`` (:func:`harness.store.run_pilot_log`); where nothing is measured,
  the effort model's minutes to write the reference from scratch (``scratch_minutes``),
  labelled an estimate.
- **quality**: the best drafting candidate's (not the reference, not the staff's own drafts) mean on the workflow's headline metric and
  its estimated minutes saved, each with a 95% bootstrap interval over items.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from harness.stats import bootstrap_ci
from harness.store.runs import RunData

# The metric that says whether a workflow's draft did its job, per task.
HEADLINE = {
    "faq_reply": "required_facts_coverage",
    "inbound_summary": "summary_ask_coverage",
    "newsletter": "event_coverage",
    "staff_question": "citation_hit",
}
NAMES = {
    "faq_reply": "FAQ replies from approved material",
    "inbound_summary": "Summaries of inbound messages",
    "newsletter": "Newsletter sections",
    "staff_question": "Staff questions about policy",
}
MIN_MEASURABLE = 0.8  # share of items a workflow needs with a checkable approved reference
MAX_SENSITIVE = 0.2  # share of sensitive items above which a first pilot is not safe to review
_CHECKABLE = frozenset({"date", "time", "money", "phone", "email", "url"})


def _tasks(run: RunData) -> list[str]:
    return [str(t) for t in run.manifest["plan"]["tasks"]]


def _volume(run: RunData, task: str, items: pd.DataFrame) -> float:
    """Messages per month from a counts column or an inbound log; NaN when neither exists."""
    if "monthly_count" in items.columns:
        counts = pd.to_numeric(items["monthly_count"], errors="coerce")
        if counts.notna().any():
            return float(counts.sum())
    log_path = Path(run.dataset.path) / "inbound_log.csv"
    if log_path.is_file():
        log = pd.read_csv(log_path)
        if {"date", "task"} <= set(log.columns):
            log = log[log["task"] == task]
            months = pd.to_datetime(log["date"], errors="coerce").dt.to_period("M").nunique()
            return float(len(log) / months) if months else math.nan
    return math.nan


def _measurable(items: pd.DataFrame) -> float:
    from harness.scorers.claims import extract_claims

    def ok(row: pd.Series) -> bool:
        ref = row.get("reference")
        if not isinstance(ref, str) or not ref.strip():
            return False
        facts = row.get("required_facts")
        if isinstance(facts, list | tuple | np.ndarray) and len(facts):
            return True
        return any(c.kind in _CHECKABLE for c in extract_claims(ref))

    return float(items.apply(ok, axis=1).mean()) if len(items) else math.nan


def _risk(run: RunData, items: pd.DataFrame) -> tuple[float, float]:
    from harness.scorers.governance import personal_data

    sens = items["sensitive"].eq(True) if "sensitive" in items.columns else False
    if "safety_cues" in items.columns:
        sens = sens | items["safety_cues"].apply(lambda v: isinstance(v, list | np.ndarray))
    personal = [bool(personal_data(t, "", run.dataset)) for t in items["input"].tolist()]
    n = len(items)
    return (float(np.mean(sens)) if n else math.nan, float(np.mean(personal)) if n else math.nan)


def _measured_minutes(run: RunData, task: str) -> tuple[float, int]:
    """Mean staff minutes per item in a pilot log's baseline period, and how many rows: the
    review station's own log of this run (from-scratch pages) first, else the dataset's."""
    from harness.gates.pilot_log import minutes_per_reply
    from harness.store.pilotlog import run_pilot_log

    log = run_pilot_log(run)  # each entry's task decided at load (harness.data.tables)
    if log is None or log.empty:
        return math.nan, 0
    mine = log[(log["phase"] == "baseline") & (log["task"] == task)]
    minutes = minutes_per_reply(mine).dropna()
    return (float(minutes.mean()), len(minutes)) if len(minutes) else (math.nan, 0)


def _not_drafting(run: RunData, kinds: dict[str, str]) -> set[str]:
    """The reference row and the staff's own first drafts: neither is a drafting aid."""
    specs = run.manifest["plan"].get("candidates", [])
    staff = {c["name"] for c in specs if c.get("baseline") == "staff_first_draft"}
    return staff | {n for n, k in kinds.items() if k == "reference"}


def _ci(values: pd.Series) -> tuple[float, float, float]:
    return bootstrap_ci(values.to_numpy(dtype=np.float64))


def workflow_criteria(run: RunData) -> pd.DataFrame:
    """The four criteria and the best candidate's quality per workflow (numeric, one row each)."""
    items_all = run.dataset.items
    wide = run.wide_scores()
    kinds = run.candidate_kinds()
    gens = run.generations.set_index("key")["task"] if "task" in run.generations else None
    if gens is not None:
        wide["task"] = wide["key"].map(gens)
    rows = []
    for task in _tasks(run):
        items = items_all[items_all["task"] == task]
        sensitive, personal = _risk(run, items)
        measured, n_measured = _measured_minutes(run, task)
        mine = wide[wide["task"] == task] if "task" in wide else wide.iloc[:0]
        scratch = mine["scratch_minutes"].mean() if "scratch_minutes" in mine else math.nan
        head = HEADLINE.get(task, "word_similarity")
        best, q, saved = "", (math.nan,) * 3, (math.nan,) * 3
        if head in mine:
            cands = mine[~mine["candidate"].isin(_not_drafting(run, kinds))]
            per = cands.groupby(["candidate", "item_id"])[head].mean().groupby("candidate").mean()
            if per.notna().any():
                best = str(per.idxmax())
                one = cands[cands["candidate"] == best].groupby("item_id")
                q = _ci(one[head].mean())
                if "saved_minutes" in cands:
                    saved = _ci(one["saved_minutes"].mean())
        rows.append(
            {
                "workflow": task,
                "items": float(len(items)),
                "volume_per_month": _volume(run, task, items),
                "measurable_share": _measurable(items),
                "sensitive_share": sensitive,
                "personal_data_share": personal,
                "staff_minutes_measured": measured,
                "staff_minutes_rows": float(n_measured),
                "staff_minutes_estimated": float(scratch) if pd.notna(scratch) else math.nan,
                "best_quality": q[0],
                "best_quality_low": q[1],
                "best_quality_high": q[2],
                "saved_minutes": saved[0],
                "saved_minutes_low": saved[1],
                "saved_minutes_high": saved[2],
                "best_candidate": best,
            }
        )
    frame = pd.DataFrame(rows).set_index("workflow")
    frame.attrs["best_candidate"] = frame.pop("best_candidate").to_dict()
    return frame


def _pain(row: pd.Series) -> float:
    m = row["staff_minutes_measured"]
    return float(m) if pd.notna(m) else float(row["staff_minutes_estimated"])


def recommend(criteria: pd.DataFrame) -> dict[str, Any]:
    """The workflow to start with, the reasons, and what would change the choice.

    Eligible: at least 80% of items measurable and at most 20% sensitive. Among those, the
    most staff minutes saved at the interval's lower bound (the best candidate's), then the
    most staff minutes per item (pain); volume, when known, breaks a tie.
    """
    ok = criteria[
        (criteria["measurable_share"] >= MIN_MEASURABLE)
        & (criteria["sensitive_share"] <= MAX_SENSITIVE)
    ]
    pool = ok if len(ok) else criteria
    key = pd.DataFrame(
        {
            "saved": pool["saved_minutes_low"].fillna(-np.inf),
            "pain": pool.apply(_pain, axis=1).fillna(-np.inf),
            "volume": pool["volume_per_month"].fillna(-np.inf),
        }
    ).sort_values(["saved", "pain", "volume"], ascending=False)
    choice = str(key.index[0])
    runner = str(key.index[1]) if len(key) > 1 else ""
    return {"workflow": choice, "runner_up": runner, "eligible": list(ok.index)}
