"""Support of claims: what the district approved *for this question* supports a draft's claims.

A claim is supported by the item's message, its approved answer, the current passages the
candidate was given, the district directory (``directory.csv``) and, for proper nouns of
offices, schools and systems, any current source. A claim that only a superseded passage
supports (one the candidate was given, or an earlier version of a document it was given) is
*superseded*. Anything else is unsupported: a fee or date from some other program's document
that the candidate was not given is not support.

**The plug-in point** is :func:`given_passages` (dataset, record) -> passages: what the
candidate was given for one generation. Today it returns the item's hand-linked sources
(:func:`linked_passages`); the knowledge base replaces its body with the passages the
generation recorded (retrieved or linked; for a vendor's drafts, the top-k the index finds).
Passages are :class:`Passage` objects or anything with ``text`` and ``status`` (and optionally
``id`` and ``document``), attributes or dict keys.

Not a scorer family: the accuracy scorers use it (the rules are in
:mod:`harness.scorers.accuracy`).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
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
    r"old (?:fee|price|rate|policy)|went (?:up|down)|changed|"
    r"el año pasado|antes (?:costaba|era|eran)|ya no|era de|eran de|cambi[óo])\b",
    re.I,
)


def historical_spans(text: str) -> list[tuple[int, int]]:
    """Sentences of a draft that speak about the past ("it was $5 last year")."""
    spans = []
    for m in re.finditer(r"[^.!?\n]+(?:[.!?]+|$)", text):
        if _PAST_CUE.search(m.group(0)):
            spans.append((m.start(), m.end()))
    return spans


def historical_remarks(text: str) -> list[tuple[int, int]]:
    """Spans of the remarks :func:`strip_historical` drops."""
    return [(m.start(), m.end()) for pat in _HISTORICAL for m in pat.finditer(text)]


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


# ---------------------------------------------------------------- what the candidate was given


@dataclass(frozen=True)
class Passage:
    """One passage a candidate was given: its text, status (current / superseded) and the
    document it comes from (a source id; superseded versions of that document are recognised)."""

    text: str
    status: str = "current"
    id: str = ""
    document: str = ""


PassageFn = Callable[[Dataset | None, Mapping[str, Any]], Sequence[Any]]


_LINKED: dict[tuple[str, tuple[str, ...]], list[Passage]] = {}


def linked_passages(dataset: Dataset | None, record: Mapping[str, Any]) -> list[Passage]:
    """The item's hand-linked sources (``source_ids``), each whole, as the passages it was given."""
    if dataset is None:
        return []
    key = (dataset_key(dataset), tuple(id_list(record.get("source_ids"))))
    hit = _LINKED.get(key)
    if hit is None:
        if len(_LINKED) > 8192:
            _LINKED.clear()
        hit = _LINKED[key] = [
            Passage(str(x["text"]), str(x.get("status") or "current"), x["id"], x["id"])
            for x in dataset.source_texts(list(key[1]))
        ]
    return list(hit)


def given_passages(dataset: Dataset | None, record: Mapping[str, Any]) -> Sequence[Any]:
    """THE PLUG-IN POINT: the passages the candidate was given for one generation.

    Args:
        dataset: the run's dataset.
        record: one row of the scoring frame (the generation joined with its item:
            ``item_id``, ``candidate``, ``input``, ``reference``, ``source_ids``, and whatever
            the generation recorded, such as the ids of the passages it was given).

    Returns:
        :class:`Passage` objects (or anything with ``text`` and ``status``). Today: what
        :func:`harness.knowledge.given_passages` reads back: the passages the generation
        recorded (``context: retrieved``), its linked sources (``context: linked``), or, when
        nothing was recorded (a vendor's drafts, the approved-answer row, a canned reply), the
        item's linked sources and the top-k the index finds for it with leave-one-out.
    """
    linked = linked_passages(dataset, record)
    if dataset is None:
        return linked
    from harness.knowledge import given_passages as from_knowledge

    found = from_knowledge(dataset, dict(record))
    if _field(record, "context"):
        return found
    # nothing recorded: the item's hand-linked sources (approved for this very question) and
    # the top-k a retrieval tool would have had
    have = {p.document for p in linked}
    return [*linked, *(p for p in found if str(p.get("doc_id")) not in have)]


def _field(p: Any, name: str, default: str = "") -> str:
    v = p.get(name, default) if isinstance(p, Mapping) else getattr(p, name, default)
    return default if v is None else str(v)


def as_passages(passages: Iterable[Any]) -> tuple[Passage, ...]:
    """Passages from Passage objects, dicts or objects with ``text`` and ``status``."""
    out = []
    for p in passages:
        if isinstance(p, Passage):
            out.append(p)
            continue
        pid = _field(p, "id") or _field(p, "passage_id")
        doc = _field(p, "document") or _field(p, "source_id") or _field(p, "doc_id") or pid
        out.append(Passage(_field(p, "text"), _field(p, "status", "current"), pid, doc))
    return tuple(out)


@dataclass
class Evidence:
    """Everything that may support one draft's claims, indexed."""

    current: Support  # current passages, historical remarks dropped, + the approved answer
    history: Support  # the same with their historical remarks kept (for sentences about the past)
    old: Support  # superseded passages given + earlier versions of the documents given
    old_passages: tuple[Passage, ...] = ()


_EVIDENCE: dict[tuple[Any, ...], Evidence] = {}


def evidence_for(
    dataset: Dataset | None, passages: Sequence[Any], reference: str | None = None
) -> Evidence:
    """The support of the passages a candidate was given and the item's approved answer."""
    ps = as_passages(passages)
    ref = reference if isinstance(reference, str) else ""
    key = (dataset_key(dataset), ps, ref)
    hit = _EVIDENCE.get(key)
    if hit is not None:
        return hit
    cur = [p for p in ps if p.status != "superseded"]
    old = [p for p in ps if p.status == "superseded"]
    if dataset is not None:
        docs = sorted({p.document for p in cur if p.document})
        seen = {p.document for p in old} | {p.id for p in old}
        old += [
            Passage(str(x["text"]), "superseded", x["id"], x["id"])
            for x in dataset.source_texts(dataset.superseded_for(docs))
            if x["id"] not in seen
        ]
    texts = [p.text for p in cur] + ([ref] if ref else [])
    hit = Evidence(
        current=Support.of(strip_historical(t) for t in texts),
        history=Support.of(texts),
        old=Support.of(p.text for p in old),
        old_passages=tuple(old),
    )
    if len(_EVIDENCE) > 4096:
        _EVIDENCE.clear()
    _EVIDENCE[key] = hit
    return hit


def past_spans(text: str) -> list[tuple[int, int]]:
    """Where a draft speaks about the past: sentences with a past cue and historical remarks."""
    return historical_spans(text) + historical_remarks(text)


def check_claims(
    draft: str | None,
    input_text: str,
    source_ids: Sequence[str],
    dataset: Dataset | None,
    *,
    reference: str | None = None,
    passages: Sequence[Any] | None = None,
) -> list[dict[str, Any]]:
    """Every checkable claim in the draft with its status: supported, superseded or unsupported.

    Args:
        draft: the draft.
        input_text: the item's message (what the family wrote).
        source_ids: the item's linked sources, used as the passages given when ``passages``
            is None.
        dataset: the dataset (directory, district names, superseded versions).
        reference: the item's approved answer (None: not used).
        passages: the passages the candidate was given (see :func:`given_passages`).
    """
    claims = extract_claims(draft)
    if not claims:
        return []
    if passages is None:
        passages = linked_passages(dataset, {"source_ids": list(source_ids)})
    ev = evidence_for(dataset, passages, reference)
    given = input_support(input_text if isinstance(input_text, str) else "")
    past = past_spans(draft) if isinstance(draft, str) else []
    rows = []
    for c in claims:
        if ev.current.supports(c) or given.supports(c):
            status = "supported"
        elif directory_support(dataset).supports(c):
            status = "supported"  # the district's official contacts hold in any reply
        elif (
            c.kind == "name" and not _is_person(c, dataset) and district_names(dataset).supports(c)
        ):
            status = "supported"  # schools, offices, systems: district-wide facts
        elif any(a <= c.start < b for a, b in past) and (
            ev.history.supports(c) or ev.old.supports(c)
        ):
            status = "supported"  # a sentence about the past may quote the past
        else:
            status = "superseded" if ev.old.supports(c) else "unsupported"
        rows.append({"kind": c.kind, "text": c.text, "key": c.key, "status": status})
    return rows


def _record(item: Any) -> dict[str, Any]:
    return {str(k): v for k, v in (item.items() if hasattr(item, "items") else dict(item).items())}


def _reference(record: Mapping[str, Any]) -> str | None:
    ref = record.get("reference")
    return ref if isinstance(ref, str) else None


def unsupported_claims(
    draft: str | None, item: Any, dataset: Dataset | None
) -> list[dict[str, Any]]:
    """Claims in ``draft`` that neither its approved material nor its input support.

    Args:
        draft: the draft text (None: no claims).
        item: the item or scoring-frame row as a dict or Series (``input``, ``reference``,
            ``source_ids`` and whatever :func:`given_passages` reads).
        dataset: the dataset holding the sources.

    Returns:
        One dict per claim: kind, text, key and status (``unsupported`` or ``superseded``: only a
        superseded passage supports it), with ``superseded_sources`` listing those passages.
    """
    rec = _record(item)
    passages = given_passages(dataset, rec)
    rows = [
        r
        for r in check_claims(
            draft,
            rec.get("input", ""),
            id_list(rec.get("source_ids")),
            dataset,
            reference=_reference(rec),
            passages=passages,
        )
        if r["status"] != "supported"
    ]
    old = evidence_for(dataset, passages, _reference(rec)).old_passages
    for r in rows:
        if r["status"] == "superseded":
            claim = Claim(r["kind"], r["text"], r["key"])
            r["superseded_sources"] = list(
                dict.fromkeys(
                    p.document or p.id for p in old if Support.of([p.text]).supports(claim)
                )
            )
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
    draft: str | None,
    input_text: str,
    source_ids: Sequence[str],
    dataset: Any,
    *,
    reference: str | None = None,
    passages: Sequence[Any] | None = None,
) -> dict[str, float]:
    """unsupported_claims_count, superseded_claims_count and claim_support for one draft."""
    if not isinstance(draft, str):
        return dict.fromkeys(
            ("unsupported_claims_count", "superseded_claims_count", "claim_support"), math.nan
        )
    rows = check_claims(
        draft, input_text, source_ids, dataset, reference=reference, passages=passages
    )
    bad = sum(r["status"] != "supported" for r in rows)
    old = sum(r["status"] == "superseded" for r in rows)
    return {
        "unsupported_claims_count": float(bad),
        "superseded_claims_count": float(old),
        "claim_support": (len(rows) - bad) / len(rows) if rows else math.nan,
    }


def record_metrics(record: Mapping[str, Any], dataset: Dataset | None) -> dict[str, float]:
    """:func:`claim_metrics` of one scoring-frame row, against what the candidate was given."""
    return claim_metrics(
        record.get("output"),
        record.get("input", ""),
        id_list(record.get("source_ids")),
        dataset,
        reference=_reference(record),
        passages=given_passages(dataset, record),
    )
