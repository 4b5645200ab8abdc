"""Summaries of inbound messages (``inbound_summary``): what a summary must get right.

Each metric reads the hand labels of the item (``datasets/README.md``: ``asks``,
``route_to``, ``urgency``, ``safety_cues``) or its approved summary; an item without the label
a metric needs, and every item of another task, is NaN (unscored).

- **Asks** (``summary_ask_coverage``): share of the labelled asks and complaints the summary
  carries. An ask is carried when one sentence of the summary holds a term of each of its cue
  groups (case ignored; a term ending in ``*`` is a word prefix; terms are plain text).
- **Facts** (``summary_fact_accuracy``): share of the summary's checkable claims (dates,
  times, amounts, phone numbers, emails, URLs, grades, names: the accuracy scorer's
  ``extract_claims``) that the message, the approved summary, the item's approved sources or
  the district directory support. A changed date or an invented name is unsupported.
- **Routing** (``summary_routing_ok``): 1 when the summary names the office that owns the
  message (the first of ``route_to``, by name or phone number) and names no office outside
  ``route_to``; else 0.
- **Urgency** (``summary_urgency_ok``): an ``immediate`` or ``today`` message needs an
  urgency word (today, urgent, immediately, within the hour, as soon as possible, now);
  ``soon`` needs a time frame (a date, "within 2 days", "by Friday", "before ..."); a
  ``routine`` message must not be called urgent.
- **Safety** (``summary_safety_kept``, only items with ``safety_cues``): 1 when the summary
  names the concern (a cue term) and flags it (safety, urgent, immediately, today, 911,
  escalate, within the hour); a summary that drops it is 0.
- **Personal data** (``summary_extra_personal_count``): emails, phone numbers, student ids
  and listed names (``people.csv``) in the summary that the approved summary does not carry:
  the approved summary holds what the office needs.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from harness.data.dataset import Dataset
from harness.scorers import Metric, ScoreFn, scorer, task_rows
from harness.scorers.governance import personal_data
from harness.scorers.support import check_claims, id_list

TASK = "inbound_summary"
# The offices a summary can route to: the words and numbers that name each.
OFFICES: dict[str, tuple[str, ...]] = {
    "transportation": ("transportation", "555-0157", "dispatch"),
    "nutrition": ("nutrition", "555-0163"),
    "enrollment": ("enrollment", "enrolment", "registration center", "555-0142"),
    "health": ("health services", "health office", "nurse", "555-0171"),
    "student_services": ("student services", "special education", "sped", "555-0129"),
    "athletics": ("athletics", "athletic director", "555-0136"),
    "communications": ("communications", "555-0111"),
    "business": ("business office", "555-0119"),
    "technology": ("help desk", "technology", "555-0188"),
    "school": (
        "principal",
        "assistant principal",
        "counselor",
        "counsellor",
        "front office",
        "school office",
        "attendance clerk",
        "attendance office",
        "administrator",
        "independent study coordinator",
    ),
}
_URGENT = re.compile(
    r"\b(?:today|tonight|urgent\w*|immediate\w*|right away|asap|as soon as possible|now|"
    r"within (?:the|an|one|1) hour|same day|this morning|this afternoon)\b",
    re.I,
)
_TIMEFRAME = re.compile(
    r"\bwithin \w+ (?:business |school |calendar )?(?:day|hour|week)s?\b|\bby (?:\w+day|"
    r"[A-Z][a-z]{2,8}\.? \d{1,2})\b|\bbefore\b|\bthis week\b|\bdeadline\b|\b\d+ (?:business|"
    r"school) days?\b|\btoday\b|\btomorrow\b",
    re.I,
)
_ALARM = re.compile(
    r"(?<![Nn]ot )(?<![Nn]on-)\b(?:urgent\w*|immediate\w*|asap|as soon as possible|"
    r"within the hour)\b",
    re.I,
)
_FLAG = re.compile(
    r"\b(?:safety|sensitive|urgent\w*|immediate\w*|today|now|911|escalat\w*|within the hour|"
    r"right away|tip line|555-0199)\b",
    re.I,
)
# a sentence ends at . ! ? before a capital letter, never after an abbreviation (Dr., a.m.)
_ABBREV = (
    r"(?<!\bDr)(?<!\bMr)(?<!\bMs)(?<!\bMrs)(?<!\bSt)(?<!\ba\.m)(?<!\bp\.m)(?<!\bNo)"
    r"(?<!\bJan)(?<!\bFeb)(?<!\bMar)(?<!\bApr)(?<!\bAug)(?<!\bSept)(?<!\bSep)(?<!\bOct)"
    r"(?<!\bNov)(?<!\bDec)(?<!\bvs)"
)
_SENTENCE_END = re.compile(rf"{_ABBREV}[.!?]+[\"')]*\s+(?=[A-Z\"(])|\n+")


def _term(term: str) -> re.Pattern[str]:
    """A plain cue term as a pattern: whole words, or a word prefix when it ends in ``*``."""
    t = term.strip().lower()
    if t.endswith("*"):
        return re.compile(r"(?<!\w)" + re.escape(t[:-1]))
    return re.compile(r"(?<!\w)" + re.escape(t) + r"(?!\w)")


def has_term(text: str, terms: Sequence[str]) -> bool:
    """Whether ``text`` holds any of ``terms`` (case ignored, ``*`` = word prefix)."""
    low = text.lower()
    return any(_term(t).search(low) for t in terms)


def ask_covered(summary: str, cues: Sequence[Sequence[str]]) -> bool:
    """Whether one sentence of ``summary`` holds a term of every cue group."""
    return any(all(has_term(s, group) for group in cues) for s in sentences(summary))


def sentences(text: str) -> list[str]:
    """The sentences of ``text`` (abbreviations such as "Dr." and "a.m." do not end one)."""
    return [s for s in _SENTENCE_END.split(text) if s.strip()]


def ask_coverage(summary: str | None, asks: Any) -> float:
    """Share of the labelled asks the summary carries (NaN without a summary or labels)."""
    if not isinstance(summary, str) or not _is_list(asks) or not len(asks):
        return math.nan
    return sum(ask_covered(summary, a["cues"]) for a in asks) / len(asks)


def _office_pattern(alias: str) -> re.Pattern[str]:
    """An office name as a proper noun ("Transportation", "Business Office") or followed by
    office/department/team ("the transportation office"); a role or number in any case."""
    if alias[0].isdigit() or alias in OFFICES["school"] or alias in ("nurse", "sped", "dispatch"):
        return re.compile(rf"(?<!\w){re.escape(alias)}(?!\w)", re.I)
    proper = " ".join(w[0].upper() + w[1:] for w in alias.split())
    return re.compile(
        rf"(?<!\w)(?:{re.escape(proper)}(?!\w)|(?i:{re.escape(alias)})\s+"
        r"(?i:office|department|dept|team|services|center))"
    )


def offices_named(text: str) -> set[str]:
    """The offices (keys of :data:`OFFICES`) that ``text`` names."""
    return {
        k for k, words in OFFICES.items() if any(_office_pattern(w).search(text) for w in words)
    }


def routing_ok(summary: str | None, route_to: Any) -> float:
    """1 when the owning office is named and no office outside ``route_to`` is; NaN unlabelled."""
    if not isinstance(summary, str) or not _is_list(route_to) or not len(route_to):
        return math.nan
    named = offices_named(summary)
    return float(route_to[0] in named and named <= set(route_to))


def urgency_ok(summary: str | None, urgency: Any) -> float:
    """Whether the summary keeps the labelled urgency (see the module docstring)."""
    if not isinstance(summary, str) or not isinstance(urgency, str):
        return math.nan
    if urgency in ("immediate", "today"):
        return float(bool(_URGENT.search(summary)))
    if urgency == "soon":
        return float(bool(_TIMEFRAME.search(summary)))
    return float(not _ALARM.search(summary))


def safety_kept(summary: str | None, safety_cues: Any) -> float:
    """1 when a safety concern is named and flagged; NaN for items without one."""
    if not isinstance(summary, str) or not _is_list(safety_cues) or not len(safety_cues):
        return math.nan
    return float(has_term(summary, safety_cues) and bool(_FLAG.search(summary)))


def fact_accuracy(
    summary: str | None, message: str, reference: str, source_ids: Any, dataset: Dataset | None
) -> float:
    """Share of the summary's claims the message, approved summary, sources or directory hold."""
    if not isinstance(summary, str):
        return math.nan
    given = f"{message}\n{reference}" if isinstance(reference, str) else message
    rows = check_claims(summary, given, id_list(source_ids), dataset)
    if not rows:
        return 1.0  # nothing checkable was stated, so nothing was changed or invented
    return sum(r["status"] == "supported" for r in rows) / len(rows)


def extra_personal(summary: str | None, reference: str, dataset: Dataset | None) -> float:
    """Personal details in the summary that the approved summary does not carry."""
    if not isinstance(summary, str):
        return math.nan
    return float(len(personal_data(summary, reference, dataset)))


def _is_list(v: Any) -> bool:
    return isinstance(v, list | tuple | np.ndarray)


def _label(dataset: Dataset, item_ids: Sequence[str], field: str) -> list[Any]:
    if field not in dataset.items.columns:
        return [None] * len(item_ids)
    return dataset.items.loc[list(item_ids), field].tolist()


METRICS = [
    Metric("summary_ask_coverage", "share of the message's labelled asks the summary carries"),
    Metric(
        "summary_fact_accuracy",
        "share of the summary's dates, times, amounts, numbers and names that the message, the "
        "approved summary or the approved sources hold (nothing changed or invented)",
    ),
    Metric("summary_routing_ok", "1 when the summary routes to the office that owns it, else 0"),
    Metric("summary_urgency_ok", "1 when the summary keeps the message's urgency, else 0"),
    Metric("summary_safety_kept", "1 when a safety concern is named and flagged, else 0"),
    Metric(
        "summary_extra_personal_count",
        "personal details the approved summary does not carry",
        False,
        "details",
    ),
]


@scorer("summary", family="summary", metrics=METRICS)
def summary_scorer(**_: Any) -> ScoreFn:
    """Asks, facts, routing, urgency, safety and personal data of inbound summaries."""

    def score(frame: pd.DataFrame, dataset: Dataset) -> pd.DataFrame:
        out, mine = task_rows(frame, METRICS, TASK)
        if mine.empty:
            return out
        ids = mine["item_id"].tolist()
        labels = {f: _label(dataset, ids, f) for f in ("asks", "route_to", "urgency")}
        safety = _label(dataset, ids, "safety_cues")
        rows = []
        for k, (_, r) in enumerate(mine.iterrows()):
            o = r["output"] if isinstance(r["output"], str) else None
            rows.append(
                [
                    ask_coverage(o, labels["asks"][k]),
                    fact_accuracy(o, r["input"], r["reference"], r["source_ids"], dataset),
                    routing_ok(o, labels["route_to"][k]),
                    urgency_ok(o, labels["urgency"][k]),
                    safety_kept(o, safety[k]),
                    extra_personal(o, r["reference"], dataset),
                ]
            )
        out.loc[mine.index, list(out.columns)] = np.array(rows, dtype=np.float64)
        return out

    return score
