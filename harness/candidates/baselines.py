"""Baselines: what a district has today, behind the same interface as a model candidate.

- ``template``: the canned holding reply the district sends now (per task, from a YAML file).
- ``retrieval``: the approved source passage or other approved answer that best matches the
  question in the knowledge base (BM25, leave-one-out); ``context: linked``: the best TF-IDF
  passage of the item's hand-linked sources. For a task whose answers cite
  (:data:`CITING_TASKS`: staff questions), the passage is quoted with its id (the passage id,
  or the source id in square brackets with ``context: linked``), as a citing answer would.
- ``staff_first_draft``: the staff's own first draft, where the dataset has one.
- ``drafts``: an external system's drafts from a file (``drafts: FILE`` in a plan).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from harness.candidates.drafts import drafts_baseline
from harness.data.dataset import Dataset
from harness.knowledge.passages import depersonalize
from harness.plan.canned import DEFAULT_CANNED as DEFAULT_CANNED  # harness.candidates' API
from harness.plan.canned import canned_replies


@dataclass(frozen=True)
class Draft:
    """A baseline's draft with the context it was made from (``retrieved`` passage ids or
    ``linked`` source ids), recorded on the generation."""

    text: str
    context: str | None = None
    passage_ids: tuple[str, ...] = ()


class NoDraft(Exception):
    """A baseline could not draft this item; the message is the reason, recorded as failed."""


Baseline = Callable[[dict[str, Any]], "str | Draft | None"]

# Tasks whose answers cite the passage they rely on (harness/scorers/citations.py).
CITING_TASKS = frozenset({"staff_question"})


def quoted(text: str, cite: str) -> str:
    """A passage quoted as a citing answer gives it: the text in quotation marks, then its id."""
    return f'"{" ".join(text.split())}" [{cite}]'


def _passages(text: str, min_words: int = 12) -> list[str]:
    """Split a source document into paragraph passages, merging headings into what follows."""
    blocks = [b.strip() for b in re.split(r"\n\s*\n", text) if b.strip()]
    out: list[str] = []
    carry = ""
    for b in blocks:
        b = re.sub(r"^#+\s*", "", b, flags=re.M)
        if len(b.split()) < min_words:
            carry = f"{carry} {b}".strip()
            continue
        out.append(f"{carry}\n{b}".strip() if carry else b)
        carry = ""
    if carry:
        out.append(carry)
    return out


def template_baseline(dataset: Dataset, options: dict[str, Any], folder: Path) -> Baseline:
    """The canned reply per task; ``options.path`` names a YAML file mapping task -> text."""
    canned = canned_replies(options, folder)

    def generate(item: dict[str, Any]) -> str | None:
        return canned.get(item["task"])

    return generate


def retrieval_baseline(dataset: Dataset, options: dict[str, Any], folder: Path) -> Baseline:
    """The best passage or earlier approved answer the knowledge base finds for the message.

    ``context: retrieved`` (the default) searches the whole knowledge base (every current
    source passage and every approved answer of the same task, greetings and listed names
    removed) with leave-one-out (:mod:`harness.knowledge.exclude`): never the item's own
    answer, its paraphrase group's, a near-copy of its answer, or anything dated after it.
    When nothing matches, the draft fails with the reason (:class:`NoDraft`), and the report
    counts it. ``context: linked`` keeps the earlier behaviour: the best TF-IDF passage of
    the item's own hand-linked sources (and, with ``use_history: true``, earlier answers).
    """
    if options.get("context", "retrieved") == "linked":
        return _linked_retrieval(dataset, options)
    from harness.knowledge import knowledge_base, retrieve_rows

    kb = knowledge_base(dataset, options.get("cache_dir"))

    def generate(item: dict[str, Any]) -> Draft:
        hit = retrieve_rows(kb, item, 1)
        if not hit:
            raise NoDraft(
                "the knowledge base holds no passage or other approved answer that matches "
                "this message (add the policy that answers it to sources/)"
            )
        row = hit[0]
        pid = str(row["passage_id"])
        text = quoted(str(row["text"]), pid) if item["task"] in CITING_TASKS else str(row["text"])
        return Draft(text, "retrieved", (pid,))

    return generate


def _linked_retrieval(dataset: Dataset, options: dict[str, Any]) -> Baseline:
    """Best TF-IDF match among the item's linked sources (and, if asked, earlier answers)."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.metrics.pairwise import linear_kernel

    use_history = bool(options.get("use_history", False))
    people = dataset.people["name"].dropna().tolist() if dataset.people is not None else []
    items = dataset.items
    dates = pd.to_datetime(items["date"], errors="coerce")
    src_passages = {sid: _passages(text) for sid, text in dataset.sources["text"].items()}

    def generate(item: dict[str, Any]) -> Draft | None:
        corpus: list[str] = []
        origin: list[str] = []  # the source id of each passage ("" for an earlier answer)
        for sid in item["source_ids"]:
            corpus.extend(src_passages.get(sid, []))
            origin += [sid] * (len(corpus) - len(origin))
        if use_history and item.get("date"):
            when = pd.Timestamp(item["date"])
            earlier = items[
                (dates < when) & (items["task"] == item["task"]) & (items.index != item["id"])
            ]
            corpus.extend(depersonalize(t, people) for t in earlier["reference"].tolist())
        if not corpus:
            return None
        origin += [""] * (len(corpus) - len(origin))
        vec = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, stop_words="english")
        try:
            matrix = vec.fit_transform(corpus)
            best = int(linear_kernel(vec.transform([item["input"]]), matrix)[0].argmax())
        except ValueError:  # only stop words
            best = 0
        text = corpus[best]
        if item["task"] in CITING_TASKS and origin[best]:
            text = quoted(text, origin[best])
        return Draft(text, "linked", tuple(item["source_ids"]))

    return generate


def staff_first_draft_baseline(dataset: Dataset, options: dict[str, Any], folder: Path) -> Baseline:
    """The staff's own first draft; items without one get no output (unscored)."""

    def generate(item: dict[str, Any]) -> str | None:
        return item.get("staff_first_draft") or None

    return generate


BASELINES: dict[str, Callable[[Dataset, dict[str, Any], Path], Baseline]] = {
    "template": template_baseline,
    "retrieval": retrieval_baseline,
    "staff_first_draft": staff_first_draft_baseline,
    "drafts": drafts_baseline,  # an external system's drafts (harness/candidates/drafts.py)
}


# What each baseline is, in plain words, for the report's first screen.
DESCRIPTIONS = {
    "template": "The canned holding reply the district sends today.",
    "retrieval": (
        "The approved passage or earlier approved answer that best matches the question, "
        "sent as it is."
    ),
    "staff_first_draft": "The staff member's own first draft, before approval edits.",
}


def get_baseline(name: str, dataset: Dataset, options: dict[str, Any], folder: Path) -> Baseline:
    """A baseline by validated name; an unknown name lists the valid ones."""
    try:
        factory = BASELINES[name]
    except KeyError:
        raise ValueError(
            f"unknown baseline '{name}'; choose one of: {', '.join(sorted(BASELINES))}"
        ) from None
    return factory(dataset, options, folder)
