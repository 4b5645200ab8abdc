"""Baselines: what a district has today, behind the same interface as a model candidate.

- ``template``: the canned holding reply the district sends now (per task, from a YAML file).
- ``retrieval``: the approved source passage or earlier approved answer that best matches the
  question (TF-IDF), fitted only on material that item may use.
- ``staff_first_draft``: the staff's own first draft, where the dataset has one.
- ``drafts``: an external system's drafts from a file (``drafts: FILE`` in a plan).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

from harness.candidates.drafts import drafts_baseline
from harness.data.dataset import Dataset
from harness.data.safeyaml import load_file
from harness.errors import PlanError, Problem

Baseline = Callable[[dict[str, Any]], str | None]

DEFAULT_CANNED = {
    "faq_reply": (
        "Thank you for contacting Cedar Hollow Unified School District. We have received your "
        "message and a staff member will respond within two business days. For urgent matters, "
        "please call the District Office at 555-0100."
    ),
}


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
    canned = dict(DEFAULT_CANNED)
    if options.get("path"):
        p = folder / str(options["path"])
        data = load_file(p, "canned replies")[0] if p.is_file() else None
        if not isinstance(data, dict):
            raise PlanError(
                f"canned replies {p}",
                [
                    Problem(
                        str(p),
                        None,
                        None,
                        "is missing or not a mapping of task -> reply text",
                        "write e.g. 'faq_reply: Thank you for ...'",
                    )
                ],
            )
        canned.update({str(k): str(v).strip() for k, v in data.items()})

    def generate(item: dict[str, Any]) -> str | None:
        return canned.get(item["task"])

    return generate


def retrieval_baseline(dataset: Dataset, options: dict[str, Any], folder: Path) -> Baseline:
    """Best TF-IDF match among the item's approved sources (and, if asked, earlier answers).

    The vectorizer is fitted per item on exactly the material that item may use: passages of
    its own approved sources. Earlier approved answers were written to other families, so they
    are used only with ``use_history: true`` (items dated strictly before it, never its own
    reference), and then without their greeting and sign-off lines and with the names the
    dataset lists (``people.csv``) removed: a district could not send another family's details.
    """
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.metrics.pairwise import linear_kernel

    use_history = bool(options.get("use_history", False))
    people = dataset.people["name"].dropna().tolist() if dataset.people is not None else []
    items = dataset.items
    dates = pd.to_datetime(items["date"], errors="coerce")
    src_passages = {sid: _passages(text) for sid, text in dataset.sources["text"].items()}

    def generate(item: dict[str, Any]) -> str | None:
        corpus: list[str] = []
        for sid in item["source_ids"]:
            corpus.extend(src_passages.get(sid, []))
        if use_history and item.get("date"):
            when = pd.Timestamp(item["date"])
            earlier = items[
                (dates < when) & (items["task"] == item["task"]) & (items.index != item["id"])
            ]
            corpus.extend(depersonalize(t, people) for t in earlier["reference"].tolist())
        if not corpus:
            return None
        vec = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, stop_words="english")
        try:
            matrix = vec.fit_transform(corpus)
        except ValueError:  # only stop words
            return corpus[0]
        sims = linear_kernel(vec.transform([item["input"]]), matrix)[0]
        return corpus[int(sims.argmax())]

    return generate


_GREETING = re.compile(
    r"^\s*(dear|hi|hello|good (morning|afternoon|evening))\b[^\n]{0,60}[,:!]?\s*$", re.I | re.M
)
_SIGNOFF = re.compile(
    r"^\s*(thanks|thank you|best|regards|sincerely|warmly)\b[^\n]{0,40}[,!.]?\s*(\n.*)?\Z",
    re.I | re.M | re.S,
)


def depersonalize(text: str, people: list[str]) -> str:
    """An earlier family's approved answer without its greeting and sign-off lines and with
    the dataset's listed names removed (a retrieved answer must not carry their details)."""
    out = _SIGNOFF.sub("", _GREETING.sub("", text))
    names = {str(n).strip() for n in people if len(str(n).strip()) > 2}
    parts = {p for n in names for p in n.split() if len(p) > 2 and p[0].isupper()}
    for name in sorted(names, key=len, reverse=True):
        out = re.sub(rf"\b{re.escape(name)}\b('s)?", "", out, flags=re.I)
    for part in sorted(parts, key=len, reverse=True):  # a first name on its own, as capitalised
        out = re.sub(rf"\b{re.escape(part)}\b('s)?", "", out)
    return re.sub(r"[ \t]{2,}", " ", out).strip()


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
    "retrieval": "The approved source passage that best matches the question, sent as it is.",
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
