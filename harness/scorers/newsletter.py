"""Newsletter sections (``newsletter``): events, facts, headline, structure, length, Spanish.

Every item of another task is NaN (unscored). The bars come from the sample district's own
style guide (``comms-family-newsletter-style-guide``): 120-260 words, a short and specific
headline, one contact with the office's phone number and email.

- **Event coverage** (``event_coverage``): share of the approved section's dates, times,
  amounts, phone numbers and places (names ending in Road, Drive, Street, Way, Lane,
  Apartments, School, Library, Center, Lot, ...) that the draft states the same way; facts the
  approved section gives as the past ("it was $5 last year") are not required.
- **Event accuracy** (``event_accuracy``): share of the draft's dates, times, amounts, phone
  numbers, emails and web addresses that the approved section (what it states as current),
  the item's current sources or the district directory hold: a shifted date, a superseded fee
  or an invented time counts against it. The request is not a support: staff write "people
  still pay $5" about the fee that changed.
- **Headline** (``headline_ok``): the first line is at most 12 words, not in capitals, without
  "!!", and says something beyond a topic word ("Route 22 Gets a New Stop", not
  "Transportation News").
- **Structure** (``structure_ok``): a headline, at least two paragraphs after it, and a
  contact (the office's phone number or email; the style guide asks for both, the district's
  approved sections often give one).
- **Length** (``section_length_ok``): ``min_words``-``max_words`` words (default 120-260),
  and not cut off at the model's length cap (``finish_reason`` ``length``); a section also
  published in Spanish is measured on its English part.
- **Spanish version** (``spanish_version_ok``, only items with ``publish_es: true``): the
  draft holds a Spanish part that carries at least ``es_share`` (default 0.6) of the dates,
  times and amounts of its English part.
"""

from __future__ import annotations

import math
import re
from typing import Any

import numpy as np
import pandas as pd

from harness.data.dataset import Dataset
from harness.scorers import Metric, ScoreFn, scorer, task_rows
from harness.scorers.claims import Claim, extract_claims
from harness.scorers.language import draft_language, english_part, publishes_es
from harness.scorers.support import (
    Support,
    check_claims,
    historical_spans,
    id_list,
    strip_historical,
)

TASK = "newsletter"
EVENT_KINDS = frozenset({"date", "time", "money", "phone"})
CHECKED_KINDS = frozenset({"date", "time", "money", "phone", "email", "url"})
PLACE_WORDS = frozenset(
    [
        "road",
        "drive",
        "street",
        "way",
        "lane",
        "avenue",
        "apartments",
        "school",
        "library",
        "center",
        "centre",
        "lot",
        "gym",
        "gymnasium",
        "cafeteria",
        "stadium",
        "park",
        "hall",
        "office",
        "field",
    ]
)
GENERIC_WORDS = frozenset(
    [
        "news",
        "update",
        "updates",
        "information",
        "info",
        "reminder",
        "reminders",
        "announcement",
        "announcements",
        "corner",
        "section",
        "bulletin",
        "family",
        "families",
        "the",
        "a",
        "an",
        "and",
        "from",
        "for",
        "of",
        "our",
        "your",
        "this",
        "month",
        "transportation",
        "nutrition",
        "health",
        "technology",
        "tech",
        "athletics",
        "activities",
        "enrollment",
        "attendance",
        "calendar",
        "fees",
        "special",
        "education",
        "services",
        "office",
        "district",
        "school",
    ]
)
DEFAULT_MIN_WORDS = 120
DEFAULT_MAX_WORDS = 260
_WORD = re.compile(r"[A-Za-zÀ-ÿ0-9$][\w'’$.-]*")
_PARAGRAPHS = re.compile(r"\n\s*\n")


def _is_place(c: Claim) -> bool:
    return c.kind == "name" and str(c.key).split()[-1] in PLACE_WORDS


def _events(text: str) -> list[Claim]:
    """The dated events, times, amounts, phones and places a section states as current."""
    past = historical_spans(text)
    return [
        c
        for c in extract_claims(text)
        if (c.kind in EVENT_KINDS or _is_place(c)) and not any(a <= c.start < b for a, b in past)
    ]


def event_coverage(draft: str | None, reference: str | None) -> float:
    """Share of the approved section's events the draft states (NaN without events)."""
    if not isinstance(draft, str) or not isinstance(reference, str):
        return math.nan
    wanted = {(c.kind, c.key): c for c in _events(reference)}
    if not wanted:
        return math.nan
    have = Support.of([draft])
    return sum(have.supports(c) for c in wanted.values()) / len(wanted)


def event_accuracy(
    draft: str | None, reference: str, source_ids: Any, dataset: Dataset | None
) -> float:
    """Share of the draft's dates, times, amounts and contacts that are correct and current."""
    if not isinstance(draft, str):
        return math.nan
    given = strip_historical(reference) if isinstance(reference, str) else ""
    rows = [
        r
        for r in check_claims(draft, given, id_list(source_ids), dataset)
        if r["kind"] in CHECKED_KINDS
    ]
    if not rows:
        return math.nan
    return sum(r["status"] == "supported" for r in rows) / len(rows)


def headline(draft: str) -> str:
    """The first non-empty line without Markdown marks."""
    for line in draft.splitlines():
        t = line.strip().strip("#*_ ").strip()
        if t:
            return t
    return ""


def headline_ok(draft: str | None) -> float:
    """1 for a short, specific headline in sentence or title case, else 0."""
    if not isinstance(draft, str) or not draft.strip():
        return math.nan
    h = headline(draft)
    words = _WORD.findall(h)
    if not words or len(words) > 12 or "!!" in h or h.endswith((".", ",", ":")):
        return 0.0
    letters = [ch for ch in h if ch.isalpha()]
    if len(letters) > 8 and sum(ch.isupper() for ch in letters) / len(letters) > 0.7:
        return 0.0
    specific = [w for w in words if w.lower().strip(".:'’") not in GENERIC_WORDS]
    return float(bool(specific))


def structure_ok(draft: str | None) -> float:
    """1 with a headline, two or more paragraphs after it, and a contact (phone or email)."""
    if not isinstance(draft, str) or not draft.strip():
        return math.nan
    blocks = [b for b in _PARAGRAPHS.split(draft.strip()) if b.strip()]
    kinds = {c.kind for c in extract_claims(draft)}
    body = blocks[1:] if blocks and len(blocks[0].split()) <= 14 else []
    return float(headline_ok(draft) == 1.0 and len(body) >= 2 and bool({"phone", "email"} & kinds))


def section_length_ok(
    draft: str | None, lo: int, hi: int, cut: bool = False, bilingual: bool = False
) -> float:
    """1 when the draft has ``lo``-``hi`` words and was not cut off at the model's cap (a
    section also published in Spanish: its English part)."""
    if not isinstance(draft, str):
        return math.nan
    words = len((english_part(draft) if bilingual else draft).split())
    return float(lo <= words <= hi and not cut)


def spanish_version_ok(draft: str | None, publish_es: Any, share: float) -> float:
    """1 when a Spanish part carries ``share`` of the English part's dates, times and amounts."""
    if publish_es is not True:
        return math.nan
    if not isinstance(draft, str):
        return math.nan
    blocks = [b for b in _PARAGRAPHS.split(draft) if b.strip()]
    es = [b for b in blocks if draft_language(b) == "es"]
    en = [b for b in blocks if draft_language(b) != "es"]
    if not es:
        return 0.0
    wanted = [c for c in extract_claims("\n\n".join(en)) if c.kind in ("date", "time", "money")]
    if not wanted:
        return 1.0
    have = Support.of(["\n\n".join(es)])
    return float(sum(have.supports(c) for c in wanted) / len(wanted) >= share)


METRICS = [
    Metric(
        "event_coverage",
        "share of the approved section's dates, times, amounts, phones and places the draft "
        "states the same way",
    ),
    Metric(
        "event_accuracy",
        "share of the draft's dates, times, amounts and contacts that the approved section or "
        "current sources hold (no shifted, superseded or invented facts)",
    ),
    Metric("headline_ok", "1 for a short, specific headline, else 0"),
    Metric("structure_ok", "1 with a headline, 2+ paragraphs and a phone or email, else 0"),
    Metric(
        "section_length_ok",
        "1 when the section has 120-260 words (the style guide) and was not cut off",
    ),
    Metric("spanish_version_ok", "1 when the draft has the Spanish version the district publishes"),
]


@scorer("newsletter", family="newsletter", metrics=METRICS)
def newsletter_scorer(
    min_words: int = DEFAULT_MIN_WORDS,
    max_words: int = DEFAULT_MAX_WORDS,
    es_share: float = 0.6,
    **_: Any,
) -> ScoreFn:
    """Events, facts, headline, structure, length and the Spanish version of a section."""

    def score(frame: pd.DataFrame, dataset: Dataset) -> pd.DataFrame:
        out, mine = task_rows(frame, METRICS, TASK)
        if mine.empty:
            return out
        es = publishes_es(mine, dataset)
        cut = (
            mine["finish_reason"].eq("length").tolist()
            if "finish_reason" in mine
            else [False] * len(mine)
        )
        rows = []
        for k, (_, r) in enumerate(mine.iterrows()):
            o = r["output"] if isinstance(r["output"], str) else None
            rows.append(
                [
                    event_coverage(o, r["reference"]),
                    event_accuracy(o, r["reference"], r["source_ids"], dataset),
                    headline_ok(o),
                    structure_ok(o),
                    section_length_ok(o, min_words, max_words, cut[k], es[k]),
                    spanish_version_ok(o, es[k], es_share),
                ]
            )
        out.loc[mine.index, list(out.columns)] = np.array(rows, dtype=np.float64)
        return out

    return score
