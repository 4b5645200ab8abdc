"""Support of claims: which approved sources, inputs, directory entries and district names
support a draft's claims, and which claims only a superseded source supports.

Not a scorer family: the accuracy scorers use it (the rules are in
:mod:`harness.scorers.accuracy`).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import pandas as pd

from harness.data.dataset import Dataset
from harness.scorers.claims import Claim, extract_claims, words_key

_HISTORICAL = [
    re.compile(
        r"\((?:[^()]*\b(?:it was|was|were|used to|previously|last year"
        r"|era|eran|antes|el año pasado|anteriormente)\b[^()]*)\)",
        re.I,
    ),
    re.compile(
        r"(?:(?<=[.!?]\s)|(?<=\n)|^)(?:last year|previously|in the past"
        r"|el año pasado|anteriormente|antes)\b[^.!?\n]*[.!?]?",
        re.I | re.M,
    ),
]


_PAST_CUE = re.compile(
    r"\b(?:last (?:school )?year|used to|previously|no longer|it was|was \$|were \$|"
    r"old (?:fee|price|rate|policy)|went (?:up|down)|changed|in 20\d\d-\d\d|"
    r"el año pasado|antes (?:costaba|era|eran)|ya no|era de|eran de|cambi[óo]|en 20\d\d-\d\d)\b",
    re.I,
)


def historical_spans(text: str) -> list[tuple[int, int]]:
    """Sentences of a draft that speak about the past ("it was $5 last year")."""
    spans = []
    for m in re.finditer(r"[^.!?\n]+(?:[.!?]+|$)", text):
        if _PAST_CUE.search(m.group(0)):
            spans.append((m.start(), m.end()))
    return spans


def strip_historical(text: str) -> str:
    """Drop remarks about what used to apply ("(it was $5 in 2024-25)", "Last year, ...")."""
    for pat in _HISTORICAL:
        text = pat.sub(" ", text)
    return text


@dataclass
class Support:
    """The claims one body of text supports, indexed for fast lookup."""

    keys: dict[str, set[Any]] = field(default_factory=dict)
    words: str = " "

    @classmethod
    def of(cls, texts: Iterable[str]) -> Support:
        s = cls()
        parts = []
        for t in texts:
            if not isinstance(t, str) or not t:
                continue
            for c in extract_claims(t):
                s.keys.setdefault(c.kind, set()).add(c.key)
                if c.kind == "email":
                    s.keys.setdefault("url", set()).add(c.key.split("@", 1)[1])
            parts.append(words_key(t))
        s.words = " " + " ".join(parts) + " "
        return s

    def supports(self, c: Claim) -> bool:
        """Whether this text supports claim ``c`` (see the rules in :mod:`harness.scorers.accuracy`)."""
        if c.kind == "name":
            return f" {c.key} " in self.words or all(f" {w} " in self.words for w in c.key.split())
        keys = self.keys.get(c.kind)
        if not keys:
            return False
        if c.key in keys:
            return True
        if c.kind == "date":
            mo, d, y = c.key
            return any(k[0] == mo and k[1] == d and (y is None or k[2] in (None, y)) for k in keys)
        if c.kind == "time":
            h, mi, ap = c.key
            return any(
                k[0] == h and k[1] == mi and (ap is None or k[2] in (None, ap)) for k in keys
            )
        if c.kind == "grade":
            lo, hi = c.key
            return any(k[0] <= lo and hi <= k[1] for k in keys)
        if c.kind == "url":
            return any(k.startswith(c.key + "/") for k in keys)
        return False


def dataset_key(dataset: Dataset | None) -> str:
    """The cache key of a dataset: its fingerprint (or its identity)."""
    return "" if dataset is None else (dataset.fingerprint or str(id(dataset)))


_SOURCE_CACHE: dict[tuple[str, tuple[str, ...], bool, bool], Support] = {}


def source_support(
    dataset: Dataset | None,
    source_ids: Sequence[str],
    superseded: bool = False,
    history: bool = False,
) -> Support:
    """Support of the item's approved sources, their historical remarks kept when ``history``,
    or of the superseded sources they replaced when ``superseded``."""
    ids = tuple(source_ids)
    key = (dataset_key(dataset), ids, superseded, history)
    hit = _SOURCE_CACHE.get(key)
    if hit is not None:
        return hit
    if dataset is None:
        s = Support()
    elif superseded:
        s = Support.of(x["text"] for x in dataset.source_texts(dataset.superseded_for(list(ids))))
    else:
        s = Support.of(
            x["text"] if history else strip_historical(x["text"])
            for x in dataset.source_texts(list(ids))
        )
    if len(_SOURCE_CACHE) > 4096:
        _SOURCE_CACHE.clear()
    _SOURCE_CACHE[key] = s
    return s


def district_names(dataset: Dataset | None) -> Support:
    """Words of every current source: proper nouns (schools, offices, systems) hold district-wide."""
    key = (dataset_key(dataset), ("*names*",), False, False)
    hit = _SOURCE_CACHE.get(key)
    if hit is None:
        texts = (
            []
            if dataset is None
            else dataset.sources.loc[dataset.sources["status"] == "current", "text"].tolist()
        )
        hit = _SOURCE_CACHE[key] = Support(words=" " + " ".join(map(words_key, texts)) + " ")
    return hit


def directory_support(dataset: Dataset | None) -> Support:
    """What the district directory (``directory.csv``) lists: official phones, emails, web
    addresses, offices and officials' names; it supports a claim in any draft."""
    key = (dataset_key(dataset), ("*directory*",), False, False)
    hit = _SOURCE_CACHE.get(key)
    if hit is None:
        d = None if dataset is None else getattr(dataset, "directory", None)
        values = [] if d is None else [str(v) for v in d["value"].tolist()]
        hit = _SOURCE_CACHE[key] = Support.of(values)
    return hit


def person_names(dataset: Dataset | None) -> list[set[str]]:
    """The words of each person the dataset lists (``people.csv``): a person's name is
    supported only by the item's own question and its own cited sources."""
    people = None if dataset is None else dataset.people
    if people is None or "name" not in people:
        return []
    return [set(words_key(str(n)).split()) for n in people["name"].dropna() if words_key(str(n))]


def _is_person(c: Claim, dataset: Dataset | None) -> bool:
    """A name claim that names a listed person, in full or by first or last name alone."""
    words = set(str(c.key).split())
    return any(p & words for p in person_names(dataset))


@lru_cache(maxsize=8192)
def input_support(text: str) -> Support:
    """Support of an item's input (what the parent or staff wrote)."""
    return Support.of([text])


def id_list(value: Any) -> list[str]:
    """Source ids as a list of text (an empty list for None or NaN)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return []
    return [str(v) for v in value]


def check_claims(
    draft: str | None,
    input_text: str,
    source_ids: Sequence[str],
    dataset: Dataset | None,
) -> list[dict[str, Any]]:
    """Every checkable claim in the draft with its status: supported, superseded or unsupported."""
    claims = extract_claims(draft)
    if not claims:
        return []
    approved = source_support(dataset, source_ids)
    given = input_support(input_text if isinstance(input_text, str) else "")
    old: Support | None = None
    past = historical_spans(draft) if isinstance(draft, str) else []
    rows = []
    for c in claims:
        if approved.supports(c) or given.supports(c):
            status = "supported"
        elif directory_support(dataset).supports(c):
            status = "supported"  # the district's official contacts hold in any reply
        elif (
            c.kind == "name" and not _is_person(c, dataset) and district_names(dataset).supports(c)
        ):
            status = "supported"  # schools, offices, systems: district-wide facts
        elif any(a <= c.start < b for a, b in past) and (
            source_support(dataset, source_ids, history=True).supports(c)
            or source_support(dataset, source_ids, superseded=True).supports(c)
        ):
            status = "supported"  # a sentence about the past may quote the past
        else:
            if old is None:
                old = source_support(dataset, source_ids, superseded=True)
            status = "superseded" if old.supports(c) else "unsupported"
        rows.append({"kind": c.kind, "text": c.text, "key": c.key, "status": status})
    return rows


def unsupported_claims(
    draft: str | None, item: Any, dataset: Dataset | None
) -> list[dict[str, Any]]:
    """Claims in ``draft`` that neither the item's approved sources nor its input support.

    Args:
        draft: the draft text (None: no claims).
        item: the item as a dict or Series (``input`` and ``source_ids`` are read).
        dataset: the dataset holding the sources.

    Returns:
        One dict per claim: kind, text, key and status (``unsupported`` or ``superseded``: only a
        superseded source supports it), with ``superseded_sources`` listing those sources.
    """
    sids = id_list(item["source_ids"])
    rows = [
        r for r in check_claims(draft, item["input"], sids, dataset) if r["status"] != "supported"
    ]
    if dataset is not None:
        for r in rows:
            if r["status"] == "superseded":
                claim = Claim(r["kind"], r["text"], r["key"])
                r["superseded_sources"] = [
                    s["id"]
                    for s in dataset.source_texts(dataset.superseded_for(sids))
                    if Support.of([s["text"]]).supports(claim)
                ]
    return rows


def unsupported_claims_table(frame: pd.DataFrame, dataset: Dataset | None) -> pd.DataFrame:
    """One row per unsupported or superseded claim in a scoring frame (for reports)."""
    rows = []
    for idx, row in frame.iterrows():
        if not isinstance(row.get("output"), str):
            continue
        for r in unsupported_claims(row["output"], row, dataset):
            rows.append(
                {
                    "row": idx,
                    **{k: row[k] for k in ("item_id", "candidate", "sample") if k in row},
                    "kind": r["kind"],
                    "claim": r["text"],
                    "status": r["status"],
                    "superseded_sources": ", ".join(r.get("superseded_sources", [])),
                }
            )
    cols = [
        "row",
        "item_id",
        "candidate",
        "sample",
        "kind",
        "claim",
        "status",
        "superseded_sources",
    ]
    return pd.DataFrame(rows, columns=cols)


def claim_metrics(
    draft: str | None, input_text: str, source_ids: Sequence[str], dataset: Any
) -> dict[str, float]:
    """unsupported_claims_count, superseded_claims_count and claim_support for one draft."""
    if not isinstance(draft, str):
        return dict.fromkeys(
            ("unsupported_claims_count", "superseded_claims_count", "claim_support"), math.nan
        )
    rows = check_claims(draft, input_text, source_ids, dataset)
    bad = sum(r["status"] != "supported" for r in rows)
    old = sum(r["status"] == "superseded" for r in rows)
    return {
        "unsupported_claims_count": float(bad),
        "superseded_claims_count": float(old),
        "claim_support": (len(rows) - bad) / len(rows) if rows else math.nan,
    }
