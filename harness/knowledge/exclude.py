"""Leave-one-out: what retrieval may never hand an item, so no candidate sees its own answer.

For an item, :func:`exclude_for` leaves out

1. the item's own approved answer (its passage, whatever its text);
2. the approved answer of every item of its paraphrase group;
3. any passage, of any id and kind, whose normalised text is more similar than ``0.8`` to the
   item's approved answer (as written, or without greeting and names), by RapidFuzz's
   normalised Indel similarity (1 - edits / total length): an export that repeats a row under
   another id, or a policy page that quotes the FAQ answer, is the answer itself;
4. when the item has a date, every answer dated after it and every document effective after
   it: a drafting tool on that day could not have had them.

:meth:`Exclusion.excludes` is applied to every passage before
:meth:`harness.knowledge.KnowledgeBase.search` returns it, so no search with an exclusion can
return such a passage (``tests/knowledge/test_exclude.py`` checks it with Hypothesis).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from rapidfuzz.distance import Indel

from harness.knowledge.passages import depersonalize, normalise

if TYPE_CHECKING:
    import pandas as pd

    from harness.knowledge.index import KnowledgeBase

SIMILARITY = 0.8  # above this, a passage is the item's answer whatever its id


@dataclass(frozen=True)
class Exclusion:
    """What one item's retrieval leaves out (see the module doc)."""

    item_id: str
    ids: frozenset[str]  # items whose approved answers are left out: its own, its group's
    answers: tuple[str, ...]  # the item's answer, normalised (as written, depersonalised)
    date: str | None = None  # YYYY-MM-DD; passages dated after it are left out
    threshold: float = SIMILARITY

    def too_similar(self, text: str) -> bool:
        """True when ``text`` is more similar than the threshold to the item's answer."""
        t = _normalised(text)
        return any(
            Indel.normalized_similarity(t, a, score_cutoff=self.threshold) > self.threshold
            for a in self.answers
        )

    def excludes(self, passage_id: str, row: pd.Series | dict[str, Any]) -> bool:
        """True when this passage may not be given to the item."""
        if row["kind"] == "answer" and row["doc_id"] in self.ids:
            return True
        eff = row["effective"]
        if self.date and isinstance(eff, str) and eff and eff[:10] > self.date:
            return True
        return self.too_similar(str(row["text"]))


@lru_cache(maxsize=1 << 15)
def _normalised(text: str) -> str:
    """A passage's text as :func:`normalise` gives it, kept: the same passages are checked
    against item after item."""
    return normalise(text)


def exclusion(
    item: dict[str, Any],
    group_ids: list[str] | None = None,
    people: list[str] | None = None,
    indexed: str | None = None,
) -> Exclusion:
    """The exclusion for one item (a dict with ``id``, ``reference`` and optional ``date``);
    ``indexed`` is its answer as the index holds it (else depersonalised here)."""
    ref = str(item.get("reference") or "")
    other = indexed if indexed is not None else depersonalize(ref, people or [])
    forms = {normalise(ref), normalise(other)} - {""}
    date = item.get("date")
    return Exclusion(
        item_id=str(item["id"]),
        ids=frozenset([str(item["id"]), *(group_ids or [])]),
        answers=tuple(sorted(forms)),
        date=str(date)[:10] if isinstance(date, str) and date else None,
    )


def exclude_for(kb: KnowledgeBase, item: dict[str, Any]) -> Exclusion:
    """The exclusion for an item of the knowledge base's dataset (its paraphrase group read
    from the index's answers)."""
    group = item.get("paraphrase_group")
    ids = kb.groups.get(group, []) if isinstance(group, str) and group else []
    iid = str(item["id"])
    return exclusion(item, ids, kb.people, kb.answers.get(iid))
