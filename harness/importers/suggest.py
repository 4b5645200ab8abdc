"""Suggestions a person accepts: required facts and sensitive flags proposed, never used as is.

- Required facts are proposed from each approved answer: the checkable claims (dates, times,
  fees, phone numbers, emails, URLs, names) that the accuracy scorer extracts
  (:func:`harness.scorers.accuracy.extract_claims`).
- Sensitive items are proposed by rule: keywords for safety, abuse, legal, discipline and
  health privacy in the family's message.

Proposals go into ``suggested_required_facts`` / ``suggested_sensitive`` (+
``suggested_sensitive_reason``), fields no scorer or gate reads. ``export_suggestions`` writes
them to a CSV with an ``accept`` column; ``accept_suggestions`` reads it back and moves the
accepted rows into ``required_facts`` / ``sensitive``, recording each verdict
(``accepted_required_facts``, ``rejected_required_facts``, ``suggested_sensitive_review``) so
:func:`suggestion_counts` can say how many were proposed and accepted.
"""

from __future__ import annotations

import csv
import json
import re
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from harness.errors import Problem
from harness.importers.tables import DatasetImportError, decode

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
EXPORT_COLUMNS = [
    "item_id",
    "kind",
    "suggestion",
    "accepted_text",
    "accept",
    "question",
    "reference",
]
_YES = {"yes", "y", "true", "1", "accept", "accepted", "x"}
_NO = {"no", "n", "false", "0", "reject", "rejected"}


_FORMULA = ("=", "+", "-", "@", "\t", "\r")


def _sheet_safe(text: Any) -> Any:
    """A cell a spreadsheet will not run as a formula: ``'`` before a leading = + - @."""
    return "'" + text if isinstance(text, str) and text.startswith(_FORMULA) else text


def _sheet_text(text: str) -> str:
    """The text :func:`_sheet_safe` protected, as it was."""
    return text[1:] if text.startswith("'") and text[1:].startswith(_FORMULA) else text


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


def _items_path(dataset: str | Path) -> Path:
    p = Path(dataset) / "items.jsonl"
    if not p.is_file():
        raise DatasetImportError(
            f"dataset {dataset}",
            [
                Problem(
                    str(p),
                    None,
                    None,
                    "is missing",
                    "suggestions work on items.jsonl; make one with harness import",
                )
            ],
        )
    return p


def read_records(dataset: str | Path) -> list[dict[str, Any]]:
    """The items of ``dataset/items.jsonl`` as dicts, in file order."""
    text = _items_path(dataset).read_text(encoding="utf-8")
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def write_records(dataset: str | Path, records: list[dict[str, Any]]) -> None:
    """Replace ``dataset/items.jsonl`` atomically (write a temporary file, then rename)."""
    p = Path(dataset) / "items.jsonl"
    tmp = p.with_suffix(".jsonl.tmp")
    with tmp.open("w", encoding="utf-8", newline="\n") as fh:
        for r in records:
            fh.write(json.dumps(r, ensure_ascii=False) + "\n")
    tmp.replace(p)


def export_suggestions(dataset: str | Path, out: str | Path) -> pd.DataFrame:
    """Write every pending suggestion of a dataset to a CSV a person fills in (``accept``).

    Items that have no ``suggested_*`` fields yet (a dataset not made by ``harness import``)
    get proposals computed on the fly. A row already accepted or rejected is not exported again.

    Args:
        dataset: the dataset folder (its items.jsonl).
        out: the CSV to write; columns item_id, kind, suggestion, accepted_text, accept,
            question, reference.

    Returns:
        The rows written, as a DataFrame.
    """
    rows = []
    for rec in read_records(dataset):
        if "suggested_required_facts" not in rec and "suggested_sensitive" not in rec:
            rec = add_suggestions(rec)
        done = set(rec.get("accepted_required_facts", [])) | set(
            rec.get("rejected_required_facts", [])
        )
        ctx = {"question": rec.get("input", ""), "reference": rec.get("reference", "")}
        for fact in rec.get("suggested_required_facts", []):
            if fact not in done and fact not in rec.get("required_facts", []):
                rows.append(
                    {
                        "item_id": rec["id"],
                        "kind": "required_fact",
                        "suggestion": fact,
                        "accepted_text": fact,
                        "accept": "",
                        **ctx,
                    }
                )
        if rec.get("suggested_sensitive") and "suggested_sensitive_review" not in rec:
            reason = rec.get("suggested_sensitive_reason", "")
            rows.append(
                {
                    "item_id": rec["id"],
                    "kind": "sensitive",
                    "suggestion": reason,
                    "accepted_text": reason,
                    "accept": "",
                    **ctx,
                }
            )
    frame = pd.DataFrame(rows, columns=EXPORT_COLUMNS)
    # families' messages are untrusted: a cell starting with = or @ would run in Excel
    frame.map(_sheet_safe).to_csv(out, index=False, encoding="utf-8")
    return frame


def accept_suggestions(dataset: str | Path, reviewed: str | Path) -> pd.DataFrame:
    """Apply a reviewed suggestions CSV: ``accept`` yes moves a row into the item, no rejects it.

    Args:
        dataset: the dataset folder whose items.jsonl is updated in place.
        reviewed: the CSV written by :func:`export_suggestions`, with ``accept`` filled in
            (yes/no; blank leaves the row pending). ``accepted_text`` may be edited.

    Returns:
        :func:`suggestion_counts` after applying.

    Raises:
        DatasetImportError: a row names an unknown item, kind or accept value (all listed).
    """
    path = Path(reviewed)
    text, _ = decode(path.read_bytes())
    reader = csv.DictReader(text.splitlines())
    missing = [
        c for c in ("item_id", "kind", "suggestion", "accept") if c not in (reader.fieldnames or [])
    ]
    if missing:
        raise DatasetImportError(
            f"suggestions {path}",
            [
                Problem(
                    str(path),
                    1,
                    None,
                    f"header lacks column(s) {', '.join(missing)}",
                    "use the CSV written by harness suggestions export",
                )
            ],
        )
    records = read_records(dataset)
    by_id = {r["id"]: r for r in records}
    problems = []
    for line, raw in enumerate(reader, start=2):
        row = {k: _sheet_text(v or "") for k, v in raw.items() if k is not None}
        verdict = (row.get("accept") or "").strip().lower()
        if not verdict:
            continue
        rec = by_id.get(row["item_id"])
        if rec is None:
            problems.append(
                Problem(
                    str(path),
                    line,
                    "item_id",
                    f"names item '{row['item_id']}', which does not exist",
                    "keep the item_id column as exported",
                )
            )
            continue
        if verdict not in _YES | _NO:
            problems.append(
                Problem(
                    str(path),
                    line,
                    "accept",
                    f"'{row['accept']}' is not yes or no",
                    "write yes to accept, no to reject, or leave it blank",
                )
            )
            continue
        ok = verdict in _YES
        final = (row.get("accepted_text") or row["suggestion"]).strip()
        if row["kind"] == "required_fact":
            key = "accepted_required_facts" if ok else "rejected_required_facts"
            rec.setdefault(key, [])
            if row["suggestion"] not in rec[key]:
                rec[key].append(row["suggestion"])
            if ok and final and final not in rec.setdefault("required_facts", []):
                rec["required_facts"].append(final)
        elif row["kind"] == "sensitive":
            rec["suggested_sensitive_review"] = "accepted" if ok else "rejected"
            if ok:
                rec["sensitive"] = True
                rec["sensitive_reason"] = final or rec.get("suggested_sensitive_reason")
        else:
            problems.append(
                Problem(
                    str(path),
                    line,
                    "kind",
                    f"'{row['kind']}' is not a kind",
                    "use required_fact or sensitive",
                )
            )
    if problems:
        raise DatasetImportError(f"suggestions {path}", problems)
    write_records(dataset, records)
    return suggestion_counts(records)


def suggestion_counts(items: pd.DataFrame | list[dict[str, Any]]) -> pd.DataFrame:
    """How many suggestions were proposed, accepted, rejected and are pending, per kind.

    Args:
        items: a dataset's items (``Dataset.items`` or the records of items.jsonl).

    Returns:
        A numeric DataFrame indexed by kind (required_facts, sensitive) with integer columns
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

    fp = fa = fr = sp = sa = sr = 0
    for rec in recs:
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
            "proposed": [fp, sp],
            "accepted": [fa, sa],
            "rejected": [fr, sr],
            "pending": [fp - fa - fr, sp - sa - sr],
        },
        index=pd.Index(["required_facts", "sensitive"], name="kind"),
    )
    return frame.astype("int64")
