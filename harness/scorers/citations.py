"""Staff questions about policy (``staff_question``): citations, answer or abstention, retrieval.

A staff answer cites the passages it relies on by their knowledge-base ids,
``<document>#<10 hex digits>`` (:func:`harness.knowledge.passage_id`: a content hash that
survives re-splitting), or a whole linked source by its source id in square brackets
(``[bus-pass-policy]``). The item's ``cited_passages`` (``datasets/README.md``) quote the
sentences that support the approved answer; the knowledge base names the passages that hold
them (:func:`supporting_passages`). The approved answer's own row cites exactly those
passages: its citations are recorded in the dataset, not written into its text. Every item of
another task is NaN (unscored).

- **Citation support** (``citation_support``): share of the answer's citations that name a
  current passage (or source) of the knowledge base *and* support the answer: the passage
  holds one of the item's quoted sentences, or one of the key facts the answer states (the
  item's ``required_facts`` the answer carries, and its dates, times, amounts and
  percentages). An invented id, a superseded passage or an unrelated one is unsupported. An
  answer to an answerable question that cites nothing scores 0; an abstention citing nothing
  is NaN.
- **Right passage cited** (``citation_hit``, answerable items): 1 when the answer cites a
  passage (or linked source) holding one of the item's quoted sentences, else 0 (an
  abstention cites nothing: 0).
- **Answered** (``staff_answered``, answerable items): 1 when the answer does not abstain.
- **Abstained** (``staff_abstained``, items with ``answerable: false``): 1 when it abstains
  (:func:`abstains`: "I can't find", "does not answer", "I don't know", ...).
- **Retrieval recall / precision** (``retrieval_recall``, ``retrieval_precision``,
  answerable items): of the passages the candidate was *given* (the generation's recorded
  ``context`` and ``passage_ids``), the share of the item's supporting passages among them,
  and the share of them that are supporting passages (a linked source counts when it holds
  one). NaN when the candidate was given nothing (a canned reply, a staff draft).
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from harness.data.dataset import Dataset
from harness.knowledge import ids_of, knowledge_base, normalise
from harness.plan.spec import REFERENCE
from harness.scorers import Metric, ScoreFn, scorer, task_rows
from harness.scorers.accuracy import fact_found, normalize_text
from harness.scorers.claims import extract_claims

if TYPE_CHECKING:
    from harness.knowledge import KnowledgeBase

TASK = "staff_question"
KEY_KINDS = frozenset({"date", "time", "money", "percent"})
_PASSAGE_ID = re.compile(r"(?<![\w.\-])([A-Za-z0-9][\w.\-]*#[0-9a-f]{10})(?![0-9a-f])")
_BRACKETED = re.compile(r"\[\s*([A-Za-z0-9][\w.\-]*)\s*\]")
_ABSTAIN = re.compile(
    r"\b(?:i\s+(?:do\s+not|don'?t|don’t)\s+know|i\s+(?:can(?:'|’)?t|cannot|could\s*n(?:o|')t|"
    r"couldn’t)\s+find|(?:does|do)\s*n(?:o|')t\s+(?:answer|say|cover|address)|"
    r"doesn’t\s+(?:answer|say|cover|address)|"
    r"(?:does|do)(?:\s*n(?:o|')t|n’t)\s+(?:provide|give|contain)\s+(?:any\s+)?information|not\s+(?:covered|answered|addressed)\s+(?:in|by)|"
    r"no\s+(?:approved\s+)?(?:source|passage|policy|material)\s+(?:answers|covers|says)|"
    r"(?:un|not\s+)able\s+to\s+(?:find|answer)|not\s+in\s+the\s+approved|"
    r"no\s+s[eé]|no\s+encuentro|no\s+responde)\b",
    re.I,
)


def abstains(answer: str | None) -> bool:
    """Whether an answer declines: it says the approved material does not answer the question."""
    return isinstance(answer, str) and bool(_ABSTAIN.search(answer))


def citations(answer: str | None, source_ids: Sequence[str] = ()) -> list[str]:
    """The ids an answer cites, in order, each once: passage ids ``doc#hash`` anywhere, and
    source ids (a whole linked document) written in square brackets."""
    if not isinstance(answer, str):
        return []
    found = [(m.start(), m.group(1)) for m in _PASSAGE_ID.finditer(answer)]
    known = set(source_ids)
    found += [(m.start(), m.group(1)) for m in _BRACKETED.finditer(answer) if m.group(1) in known]
    return list(dict.fromkeys(i for _, i in sorted(found)))


@dataclass(frozen=True)
class Cited:
    """One citable unit: a passage of the knowledge base or a whole source document."""

    id: str
    doc_id: str
    text: str
    current: bool


def _unit(kb: KnowledgeBase, dataset: Dataset, cid: str) -> Cited | None:
    """The passage or source document an id names (None: no such id)."""
    if "#" in cid:
        row = kb.rows.get(cid)
        if row is None:
            return None
        return Cited(cid, str(row["doc_id"]), str(row["text"]), row["status"] == "current")
    if cid not in dataset.sources.index:
        return None
    src = dataset.sources.loc[cid]
    return Cited(cid, cid, str(src["text"]), str(src.get("status", "current")) == "current")


def quotes_of(cited: Any) -> list[tuple[str, str]]:
    """The item's ``cited_passages`` as (source id, normalised quote) pairs."""
    if not isinstance(cited, list | tuple | np.ndarray):
        return []
    out = []
    for c in cited:
        if isinstance(c, dict) and c.get("source_id") and c.get("quote"):
            out.append((str(c["source_id"]), normalise(str(c["quote"]))))
    return out


def supporting_passages(kb: KnowledgeBase, cited: Any) -> list[str]:
    """The ids of the current passages that hold the item's quoted sentences, in order."""
    out: list[str] = []
    for sid, quote in quotes_of(cited):
        for pid, row in kb.rows.items():
            mine = row["doc_id"] == sid and row["kind"] == "document"
            if mine and row["status"] == "current" and quote in normalise(str(row["text"])):
                out.append(pid)
    return list(dict.fromkeys(out))


def key_facts(answer: str, required: Any) -> list[str]:
    """What the answer states that a supporting passage must hold: the item's required facts
    the answer carries, and the answer's dates, times, amounts and percentages."""
    facts: list[str] = []
    norm = normalize_text(answer)
    if isinstance(required, list | tuple | np.ndarray):
        facts += [str(f) for f in required if str(f).strip() and fact_found(str(f), norm)]
    facts += [c.text for c in extract_claims(answer) if c.kind in KEY_KINDS]
    return list(dict.fromkeys(facts))


def supports(unit: Cited, quotes: list[tuple[str, str]], facts: list[str]) -> bool:
    """A current passage holding one of the item's quotes or one of the answer's key facts."""
    if not unit.current:
        return False
    text = normalise(unit.text)
    if any(q in text for _, q in quotes):
        return True
    norm = normalize_text(unit.text)
    return any(fact_found(f, norm) for f in facts)


def _given(record: dict[str, Any], kb: KnowledgeBase, dataset: Dataset) -> list[Cited] | None:
    """The passages (or linked sources) the candidate was given; None when it was given none."""
    if record.get("context") not in ("retrieved", "linked"):
        return None
    units = [_unit(kb, dataset, i) for i in ids_of(record)]
    return [u for u in units if u is not None]


def _contains(unit: Cited, passage: str) -> bool:
    """Whether a given unit is that passage, or the whole linked source holding it."""
    return unit.id == passage or ("#" not in unit.id and passage.startswith(unit.id + "#"))


def _holds_quote(unit: Cited, quotes: list[tuple[str, str]]) -> bool:
    text = normalise(unit.text)
    return any(sid == unit.doc_id and q in text for sid, q in quotes)


def score_answer(
    record: dict[str, Any], item: dict[str, Any], kb: KnowledgeBase, dataset: Dataset
) -> list[float]:
    """The six metrics of one staff answer (see the module doc), in METRICS order."""
    answer = record.get("output")
    nan = math.nan
    if not isinstance(answer, str):
        return [nan] * 6
    answerable = item.get("answerable") is not False
    quotes = quotes_of(item.get("cited_passages"))
    wanted = supporting_passages(kb, item.get("cited_passages"))
    declined = abstains(answer)
    if record.get("candidate") == REFERENCE:
        ids = wanted
    else:
        ids = citations(answer, list(dataset.sources.index))
    units = [_unit(kb, dataset, i) for i in ids]
    facts = key_facts(answer, item.get("required_facts"))
    if units:
        ok = [u is not None and supports(u, quotes, facts) for u in units]
        support = sum(ok) / len(ok)
    else:
        support = 0.0 if answerable and not declined else nan
    hit = nan
    answered = abstained = recall = precision = nan
    if answerable:
        answered = float(not declined)
        hit = float(any(u is not None and _holds_quote(u, quotes) for u in units))
        given = _given(record, kb, dataset)
        if given is not None and wanted:
            recall = sum(any(_contains(g, w) for g in given) for w in wanted) / len(wanted)
            relevant = [_holds_quote(g, quotes) for g in given]
            precision = sum(relevant) / len(relevant) if relevant else 0.0
    else:
        abstained = float(declined)
    return [support, hit, answered, abstained, recall, precision]


METRICS = [
    Metric(
        "citation_support",
        "share of the answer's citations that name a current passage holding its quoted "
        "sentence or the answer's key facts",
    ),
    Metric("citation_hit", "1 when the answer cites a passage that supports the approved answer"),
    Metric("staff_answered", "1 when an answerable question is answered (not declined)"),
    Metric("staff_abstained", "1 when a question the material cannot answer is declined"),
    Metric(
        "retrieval_recall",
        "share of the passages supporting the approved answer among those the candidate was given",
    ),
    Metric(
        "retrieval_precision",
        "share of the passages the candidate was given that support the approved answer",
    ),
]


@scorer("citations", family="citations", metrics=METRICS)
def citations_scorer(**_: Any) -> ScoreFn:
    """Citations, answer or abstention, and retrieval quality of staff answers."""

    def score(frame: pd.DataFrame, dataset: Dataset) -> pd.DataFrame:
        out, mine = task_rows(frame, METRICS, TASK)
        if mine.empty:
            return out
        kb = knowledge_base(dataset)
        items = dataset.items
        rows = []
        for _, r in mine.iterrows():
            item = items.loc[r["item_id"]].to_dict()
            rows.append(score_answer({str(k): v for k, v in r.items()}, item, kb, dataset))
        out.loc[mine.index, list(out.columns)] = np.array(rows, dtype=np.float64)
        return out

    return score
