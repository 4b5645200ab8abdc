"""Accuracy: required facts, claims checked against the approved sources, similarity to the reference.

**Checkable claims.** :func:`extract_claims` finds, in this order (a span taken by one kind is
masked for the next): emails, URLs, phone numbers (incl. 911), dates (ISO, ``1/27[/2026]``,
``Aug 13[, 2025]``, ``13 August``), times (``8:00 a.m.``, ``10:05``, noon), money (``$10.00``,
``10 dollars``), percentages, school years (``2025-26``), years, grade levels (``7th grade``,
``grades 6-8``, ``TK-5``), durations (``2 school days``, ``two weeks``), weekdays and proper
nouns (CamelCase words such as HollowLink, acronyms such as CHHS, runs of capitalised words
that do not start a sentence, e.g. Safety Tip Line). Each claim gets a normalised key, so that
``$10.00`` = ``$10``, ``(555) 555-0157`` = ``555-0157``, ``two school days`` = ``2 school days``,
``Apr. 17`` = ``April 17``, ``8 a.m.`` = ``8:00 AM``.

**Support.** A claim is supported when the same key occurs in the item's approved sources or its
input (dates and times match when their known parts agree, a grade when a supported range
contains it, a URL when it is a supported URL or its prefix, a proper noun when the phrase occurs
in the text). Before matching, current sources lose their *historical* remarks ("(it was $5 in
2024-25)", sentences starting "Last year"), so last year's fee is not approved by the sentence
that retires it. A claim that is not supported but occurs in a superseded source replaced by one
of the item's sources is *superseded* (counted in both ``unsupported_claims_count`` and
``superseded_claims_count``).

**Required facts.** The item's hand-written ``required_facts`` when it has any; else the
*checkable facts of its approved answer* (:func:`default_facts`): its dates, times, amounts,
percentages, phone numbers, emails, URLs and proper nouns (named programs, places, offices),
each once, leaving out what its remarks about the past state ("(it was $5 last year)") and names
the family's own message already holds. Coverage is then measured on every item whose answer
states a checkable fact. A default fact is found when the draft states a claim with the same key
(the support rules above: ``Aug. 13`` = ``August 13, 2025``). A hand-written fact holding a digit, a date, a money amount, an email or a URL must occur
*exactly* in the draft after both are normalised (the claim keys above, lower case, number words
one-twenty as digits, punctuation as spaces). Any other fact is matched fuzzily:
``rapidfuzz.fuzz.partial_ratio`` of the normalised fact against the normalised draft
>= ``FUZZY_THRESHOLD`` (90: tolerates an inflection or a typo, not a different word).
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Sequence
from functools import lru_cache
from typing import TYPE_CHECKING, Any, cast

import numpy as np
import pandas as pd
from rapidfuzz import fuzz

from harness.data.dataset import Dataset
from harness.scorers import Metric, ScoreFn, scorer
from harness.scorers.claims import Claim, extract_claims, words_key
from harness.scorers.lexicon import (
    MONTHS,
    MONTHS_ES,
    NUMBER_WORDS,
    NUMBER_WORDS_ES,
    ORDINAL_WORDS,
    ORDINAL_WORDS_ES,
    WEEKDAYS,
    WEEKDAYS_ES,
)
from harness.scorers.support import (
    Support,
    check_claims,
    claim_metrics,
    dataset_key,
    directory_support,
    district_names,
    historical_remarks,
    historical_spans,
    input_support,
    person_names,
    record_metrics,
    strip_historical,
    unsupported_claims,
    unsupported_claims_table,
)

if TYPE_CHECKING:  # scikit-learn is imported where it is used: claim extraction needs none
    from sklearn.feature_extraction.text import TfidfVectorizer

__all__ = [
    "FACT_KINDS",
    "FUZZY_THRESHOLD",
    "MONTHS",
    "MONTHS_ES",
    "NUMBER_WORDS",
    "NUMBER_WORDS_ES",
    "ORDINAL_WORDS",
    "ORDINAL_WORDS_ES",
    "WEEKDAYS",
    "WEEKDAYS_ES",
    "Claim",
    "Support",
    "check_claims",
    "claim_metrics",
    "claims_scorer",
    "default_fact_coverage",
    "default_facts",
    "directory_support",
    "district_names",
    "extract_claims",
    "fact_coverage",
    "fact_found",
    "historical_spans",
    "input_support",
    "is_exact_fact",
    "item_fact_coverage",
    "normalize_text",
    "person_names",
    "reference_similarity",
    "reference_similarity_scorer",
    "required_facts_scorer",
    "strip_historical",
    "tfidf_cosine",
    "tfidf_vectorizer",
    "unsupported_claims",
    "unsupported_claims_table",
    "words_key",
]

FUZZY_THRESHOLD = 90.0


# ---------------------------------------------------------------- required facts

_EXACT_KINDS = {"email", "url", "phone", "date", "time", "money", "percent", "school_year", "year"}


@lru_cache(maxsize=32768)
def normalize_text(text: str) -> str:
    """Lower case, claims replaced by their keys, number words as digits, punctuation as spaces."""
    claims = [c for c in extract_claims(text) if c.kind in _EXACT_KINDS or c.kind == "duration"]
    out = []
    pos = 0
    by_start: dict[int, list[Claim]] = {}
    for c in claims:
        by_start.setdefault(c.start, []).append(c)
    for start in sorted(by_start):
        group = by_start[start]
        i = text.find(group[0].text, max(pos, start))
        if i < 0:
            continue
        out.append(text[pos:i])
        out.append(" " + " ".join(_flat(c.kind, c.key) for c in group) + " ")
        pos = i + len(group[0].text)
    out.append(text[pos:])
    words = words_key("".join(out)).split()
    nums = {**NUMBER_WORDS_ES, **NUMBER_WORDS}
    return " ".join(str(nums[w]) if w in nums else w for w in words)


def _flat(kind: str, key: Any) -> str:
    """A claim key as words: a date's year and a time's a.m./p.m. become words of their own."""
    if kind == "date":
        return f"date{key[0]}x{key[1]}" + (f" year{key[2]}" if key[2] else "")
    if kind == "time":
        return f"time{key[0]}x{key[1]:02d}" + (f" {key[2]}m" if key[2] else "")
    if isinstance(key, tuple):
        return kind + "x".join("" if k is None else str(k) for k in key)
    return kind + re.sub(r"\W", "x", str(key))


@lru_cache(maxsize=8192)
def is_exact_fact(fact: str) -> bool:
    """Facts with digits, dates, money, emails or URLs must match exactly (after normalising)."""
    return bool(re.search(r"\d", fact)) or any(c.kind in _EXACT_KINDS for c in extract_claims(fact))


def fact_found(fact: str, draft_norm: str) -> bool:
    """Whether one required fact occurs in a draft already passed through normalize_text."""
    f = normalize_text(fact)
    if not f:
        return True
    if is_exact_fact(fact):
        # a date's year and a time's a.m./p.m. are words of their own, so a fact may omit them
        return f" {f} " in f" {draft_norm} "
    return fuzz.partial_ratio(f, draft_norm, score_cutoff=FUZZY_THRESHOLD) > 0


def fact_coverage(draft: str | None, facts: Sequence[str] | None) -> float:
    """Share of required facts found in the draft; NaN with no draft or no facts."""
    if not isinstance(draft, str) or not facts:
        return math.nan
    d = normalize_text(draft)
    return sum(fact_found(f, d) for f in facts) / len(facts)


FACT_KINDS = frozenset({"date", "time", "money", "percent", "phone", "email", "url", "name"})
WEB = ("email", "url")  # a final full stop ends the sentence, not the address


@lru_cache(maxsize=32768)
def default_facts(reference: str, input_text: str = "") -> tuple[Claim, ...]:
    """The checkable facts of an approved answer, each once: the default required facts.

    Args:
        reference: the approved answer.
        input_text: the family's message; names it already holds are not facts to carry.

    Returns:
        Claims of the kinds in :data:`FACT_KINDS`, outside the answer's remarks about the past
        ("(it was $5 last year)", a sentence starting "Last year"), their text trimmed.
    """
    if not isinstance(reference, str):
        return ()
    past = historical_remarks(reference)
    given = " " + words_key(input_text if isinstance(input_text, str) else "") + " "
    out: list[Claim] = []
    seen: set[tuple[str, Any]] = set()
    for c in extract_claims(reference):
        if c.kind not in FACT_KINDS or any(a <= c.start < b for a, b in past):
            continue
        if c.kind == "name" and all(f" {w} " in given for w in str(c.key).split()):
            continue
        if (c.kind, c.key) not in seen:
            seen.add((c.kind, c.key))
            text = c.text.strip(" ,;:()")
            out.append(dataclasses.replace(c, text=text.rstrip(".") if c.kind in WEB else text))
    return tuple(out)


def default_fact_coverage(draft: str | None, facts: Sequence[Claim]) -> float:
    """Share of an approved answer's checkable facts the draft states; NaN without either."""
    if not isinstance(draft, str) or not facts:
        return math.nan
    stated = Support.of([draft])
    return sum(stated.supports(c) for c in facts) / len(facts)


def item_fact_coverage(draft: str | None, facts: Any, reference: Any, input_text: Any) -> float:
    """The hand-written required facts' coverage when the item has any, else the defaults'."""
    if isinstance(facts, list | tuple | np.ndarray) and len(facts):
        return fact_coverage(draft, [str(f) for f in facts])
    if not isinstance(reference, str):
        return math.nan
    return default_fact_coverage(draft, default_facts(reference, str(input_text or "")))


# ---------------------------------------------------------------- reference similarity

_VECTORIZERS: dict[str, TfidfVectorizer] = {}


def tfidf_vectorizer(dataset: Dataset | None, extra: Sequence[str] = ()) -> TfidfVectorizer:
    """A TF-IDF vectorizer fitted on the dataset's references, inputs and sources (cached)."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    key = dataset_key(dataset)
    if dataset is not None and key in _VECTORIZERS:
        return _VECTORIZERS[key]
    corpus: list[str] = list(extra)
    if dataset is not None:
        corpus += dataset.items["reference"].tolist() + dataset.items["input"].tolist()
        corpus += dataset.sources["text"].tolist()
    vec = TfidfVectorizer(sublinear_tf=True, lowercase=True, token_pattern=r"(?u)\b\w+\b")
    vec.fit([c for c in corpus if isinstance(c, str)] or ["empty"])
    if dataset is not None:
        _VECTORIZERS[key] = vec
    return vec


def tfidf_cosine(a: Sequence[str], b: Sequence[str], vec: TfidfVectorizer) -> np.ndarray:
    """Row-wise cosine of TF-IDF vectors of ``a[i]`` and ``b[i]``.

    Words the dataset never uses are ignored, so two different texts without a known word score
    0; identical texts always score 1.
    """
    from sklearn.preprocessing import normalize

    xa = normalize(vec.transform(a))
    xb = normalize(vec.transform(b))
    sims = np.asarray(xa.multiply(xb).sum(axis=1)).ravel()
    same = np.fromiter((x.strip() == y.strip() for x, y in zip(a, b, strict=True)), bool, len(a))
    sims[same] = 1.0  # identical texts agree even in words the dataset never uses
    return np.clip(sims, 0.0, 1.0)


def reference_similarity(
    drafts: Sequence[str], references: Sequence[str], dataset: Any = None
) -> np.ndarray:
    """TF-IDF cosine between each draft and its reference."""
    vec = tfidf_vectorizer(dataset, [] if dataset is not None else [*drafts, *references])
    return tfidf_cosine(drafts, references, vec)


# ---------------------------------------------------------------- registered scorers


def _outputs(frame: pd.DataFrame) -> list[str | None]:
    return [o if isinstance(o, str) else None for o in frame["output"].tolist()]


@scorer(
    "required_facts",
    family="accuracy",
    metrics=[
        Metric(
            "required_facts_coverage",
            "share of the item's required facts found in the draft: its hand-written "
            "required_facts (exact for numbers, dates, money, phones, emails, URLs; fuzzy "
            "otherwise), else the approved answer's checkable facts (same claim key)",
        )
    ],
)
def required_facts_scorer(**_: Any) -> ScoreFn:
    """Share of the item's required facts the draft states: its hand-written ``required_facts``,
    else the checkable facts of its approved answer; NaN for an answer that states none."""

    def score(frame: pd.DataFrame, dataset: Dataset) -> pd.DataFrame:
        n = len(frame)
        facts = frame["required_facts"].tolist() if "required_facts" in frame else [None] * n
        refs = frame["reference"].tolist() if "reference" in frame else [None] * n
        inputs = frame["input"].tolist() if "input" in frame else [""] * n
        vals = [
            item_fact_coverage(o, f, r, i)
            for o, f, r, i in zip(_outputs(frame), facts, refs, inputs, strict=True)
        ]
        return pd.DataFrame({"required_facts_coverage": vals}, index=frame.index, dtype=np.float64)

    return score


@scorer(
    "claims",
    family="accuracy",
    metrics=[
        Metric(
            "unsupported_claims_count",
            "checkable claims (dates, times, amounts, phones, emails, URLs, grades, names) that "
            "neither the item's message, its approved answer nor the current passages the "
            "candidate was given support",
            False,
            "claims",
        ),
        Metric(
            "superseded_claims_count",
            "unsupported claims that a superseded passage supports (outdated answers)",
            False,
            "claims",
        ),
        Metric("claim_support", "share of the draft's checkable claims that are supported"),
    ],
)
def claims_scorer(**_: Any) -> ScoreFn:
    """Claims in the draft checked against the item's message, its approved answer and the
    passages the candidate was given (:func:`harness.scorers.support.given_passages`)."""

    def score(frame: pd.DataFrame, dataset: Dataset) -> pd.DataFrame:
        records = cast(list[dict[str, Any]], frame.to_dict(orient="records"))
        rows = [record_metrics(r, dataset) for r in records]
        cols = ["unsupported_claims_count", "superseded_claims_count", "claim_support"]
        return pd.DataFrame(rows, index=frame.index, columns=cols, dtype=np.float64)

    return score


@scorer(
    "reference_similarity",
    family="accuracy",
    metrics=[
        Metric(
            "reference_similarity",
            "TF-IDF cosine between draft and approved reference (IDF fitted on the dataset)",
        )
    ],
)
def reference_similarity_scorer(**_: Any) -> ScoreFn:
    """TF-IDF cosine similarity of the draft to the approved reference."""

    def score(frame: pd.DataFrame, dataset: Dataset) -> pd.DataFrame:
        out = pd.Series(np.nan, index=frame.index, dtype=np.float64)
        outs = _outputs(frame)
        ok = np.array([o is not None for o in outs], dtype=bool)
        if ok.any():
            drafts = [o for o in outs if o is not None]
            refs = [r for r, k in zip(frame["reference"].tolist(), ok, strict=True) if k]
            out[ok] = reference_similarity(drafts, refs, dataset)
        return pd.DataFrame({"reference_similarity": out})

    return score
