"""Suggestions a person accepts: required facts and sensitive flags proposed, never used as is.

- Required facts are proposed from each approved answer: the checkable claims (dates, times,
  fees, phone numbers, emails, URLs, names) that the accuracy scorer extracts
  (:func:`harness.scorers.accuracy.extract_claims`).
- Sensitive items are proposed by rule: keywords for safety, abuse, legal, discipline and
  health privacy in the family's message.

Proposals go into ``suggested_required_facts`` / ``suggested_sensitive`` (+
``suggested_sensitive_reason``), fields no scorer or gate reads; a person accepts or rejects
them through the CSV round trip in :mod:`harness.importers.review`, which records each verdict
(``accepted_required_facts``, ``rejected_required_facts``, ``suggested_sensitive_review``) so
:func:`suggestion_counts` can say how many were proposed and accepted.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd

MAX_FACTS = 6
# reason -> patterns in the family's message (lower-cased); the first reason that matches wins,
# so a threat of violence is "safety" even when it also mentions a suspension.
SENSITIVE_RULES: dict[str, tuple[str, ...]] = {
    "safety": (
        r"\bweapons?\b",
        r"\bguns?\b",
        r"\bknife\b",
        r"\bthreat(?:s|en|ened|ening)?\b",
        r"\bbomb\b",
        r"\bshoot(?:ing)?\b",
        r"\bsuicid\w*",
        r"\bself[- ]harm\b",
        r"\bkill\b",
        r"\bhurt (?:him|her|them)sel(?:f|ves)\b",
        r"\bjump (?:him|her|them)\b",
        r"\bbull(?:y|ied|ying)\b",
        r"\bshov(?:e|ed|ing)\b",
        r"\bunsafe\b",
        r"\bin danger\b",
        r"\bgoing to \W?jump\b",
        r"\bwon'?t be around\b",
        r"\bdone with everything\b",
        r"\b(?:doesn'?t|don'?t) want to be here\b",
        r"\bwould be better off\b",
    ),
    "abuse": (
        r"\babus(?:e|ed|ive)\b",
        r"\bneglect\w*",
        r"\bbruis(?:e|es|ed)\b",
        r"\bmolest\w*",
        r"\binappropriate(?:ly)? touch\w*",
        r"\bgroom(?:ing|ed)\b",
        r"\bpost (?:pictures|photos)\b",
        r"\bsqueez(?:e|ed)\b",
    ),
    "legal": (
        r"\blawyers?\b",
        r"\battorneys?\b",
        r"\blawsuit\b",
        r"\bsue\b",
        r"\blegal action\b",
        r"\bsubpoena\w*",
        r"\bcustody\b",
        r"\brestraining order\b",
        r"\bcourt order\w*",
        r"\bnot allowed at\b",
        r"\bdue process\b",
    ),
    "discipline": (
        r"\bsuspen(?:ded|sion)\b",
        r"\bexpel(?:led)?\b",
        r"\bexpulsion\b",
        r"\bdisciplin\w*",
        r"\bdetention\b",
    ),
    "health_privacy": (
        r"\bseizures?\b",
        r"\bmedical records?\b",
        r"\bpregnan\w*",
        r"\bmental health\b",
        r"\bhiv\b",
        r"\btherap(?:y|ist)\b",
        r"\bdepress(?:ed|ion)\b",
    ),
}
# one pass over the text: a named group per reason (a text with no match, the usual case,
# is scanned once instead of once per reason)
_RULES = re.compile(
    "|".join(f"(?P<{reason}>{'|'.join(pats)})" for reason, pats in SENSITIVE_RULES.items())
)
_ORDER = {reason: i for i, reason in enumerate(SENSITIVE_RULES)}


def _literal(pattern: str) -> str:
    """The longest run of plain text in a rule: a substring every match contains."""
    plain = re.sub(r"\\[bwWs]|\(\?:[^)]*\)\??|\w\?|[\\*+?()|\[\]]", "\x00", pattern)
    return max(plain.split("\x00"), key=len)


# a message containing none of these cannot match any rule (most messages): skip the regex
_LITERALS = tuple({_literal(p) for pats in SENSITIVE_RULES.values() for p in pats})


def propose_required_facts(reference: str, max_facts: int = MAX_FACTS) -> list[str]:
    """The checkable claims of an approved answer, as written, without repeats, at most ``max_facts``."""
    return list(_facts(reference, max_facts))


@lru_cache(maxsize=65536)
def _facts(reference: str, max_facts: int) -> tuple[str, ...]:
    from harness.scorers.accuracy import extract_claims

    out: list[str] = []
    seen: set[str] = set()
    for claim in extract_claims(reference):
        text = claim.text.strip(" .,;:()")
        if len(text) < 2 or text.lower() in seen:
            continue
        seen.add(text.lower())
        out.append(text)
        if len(out) == max_facts:
            break
    return tuple(out)


def propose_sensitive(message: str) -> str | None:
    """The sensitive reason a message's words suggest (safety, abuse, legal, ...), or None."""
    low = message.lower().replace("’", "'").replace("“", '"').replace("”", '"')
    if not any(lit in low for lit in _LITERALS):
        return None
    found = {m.lastgroup for m in _RULES.finditer(low)}
    return min(found, key=lambda r: _ORDER[str(r)]) if found else None


def add_suggestions(record: dict[str, Any]) -> dict[str, Any]:
    """``record`` with ``suggested_*`` fields where it lacks required facts or a sensitive flag."""
    out = dict(record)
    if not out.get("required_facts") and isinstance(out.get("reference"), str):
        facts = propose_required_facts(out["reference"])
        if facts:
            out["suggested_required_facts"] = facts
    if "sensitive" not in out and isinstance(out.get("input"), str):
        reason = propose_sensitive(out["input"])
        if reason:
            out["suggested_sensitive"] = True
            out["suggested_sensitive_reason"] = reason
    return out


def suggestion_counts(items: pd.DataFrame | list[dict[str, Any]]) -> pd.DataFrame:
    """How many suggestions were proposed, accepted, rejected and are pending, per kind.

    Args:
        items: a dataset's items (``Dataset.items`` or the records of items.jsonl).

    Returns:
        A numeric DataFrame indexed by kind (required_facts, sensitive, source_links) with
        integer columns
        proposed, accepted, rejected, pending.
    """
    recs: list[dict[str, Any]] = (
        [{str(k): v for k, v in r.items()} for r in items.to_dict(orient="records")]
        if isinstance(items, pd.DataFrame)
        else items
    )

    def listed(rec: dict[str, Any], key: str) -> list[Any]:
        v: Any = rec.get(key)
        if isinstance(v, (list, tuple)):
            return list(v)
        return list(v.tolist()) if hasattr(v, "tolist") and not isinstance(v, str) else []

    fp = fa = fr = sp = sa = sr = lp = la = lr = 0
    for rec in recs:
        links = listed(rec, "suggested_source_ids")
        lp += len(links)
        la += len(set(listed(rec, "accepted_source_ids")) & set(links))
        lr += len(set(listed(rec, "rejected_source_ids")) & set(links))
        proposed = listed(rec, "suggested_required_facts")
        fp += len(proposed)
        fa += len(set(listed(rec, "accepted_required_facts")) & set(proposed))
        fr += len(set(listed(rec, "rejected_required_facts")) & set(proposed))
        flag = rec.get("suggested_sensitive")
        if isinstance(flag, (bool, np.bool_)) and bool(flag):
            sp += 1
            review = rec.get("suggested_sensitive_review")
            sa += review == "accepted"
            sr += review == "rejected"
    frame = pd.DataFrame(
        {
            "proposed": [fp, sp, lp],
            "accepted": [fa, sa, la],
            "rejected": [fr, sr, lr],
            "pending": [fp - fa - fr, sp - sa - sr, lp - la - lr],
        },
        index=pd.Index(["required_facts", "sensitive", "source_links"], name="kind"),
    )
    return frame.astype("int64")
