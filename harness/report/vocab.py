"""A report's words for the workflow it is about (issue 23): a run of inbound summaries speaks
of messages and summaries, a newsletter run of requests and sections, a staff-question run of
questions and answers; a run of several workflows of items and drafts.

The readiness notebook's prose and a few sentences of the report helpers are written for FAQ
replies; :func:`reword` puts them in the run's words, phrase by phrase (longest first, an
initial capital kept). It is applied to text the harness writes, never to district data (a
family's message, an approved answer, a plan's description).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from harness.plan.spec import REFERENCE

# item, items, draft, drafts, reference, references, and what the district did (done)
VOCAB: dict[str, dict[str, str]] = {
    "faq_reply": {
        "item": "question",
        "items": "questions",
        "draft": "reply",
        "drafts": "replies",
        "reference": "approved answer",
        "references": "approved answers",
        "done": "answered",
    },
    "inbound_summary": {
        "item": "message",
        "items": "messages",
        "draft": "summary",
        "drafts": "summaries",
        "reference": "approved summary",
        "references": "approved summaries",
        "done": "summarised",
    },
    "newsletter": {
        "item": "request",
        "items": "requests",
        "draft": "section",
        "drafts": "sections",
        "reference": "approved section",
        "references": "approved sections",
        "done": "published",
    },
    "staff_question": {
        "item": "question",
        "items": "questions",
        "draft": "answer",
        "drafts": "answers",
        "reference": "approved answer",
        "references": "approved answers",
        "done": "answered",
    },
}
MIXED = {
    "item": "item",
    "items": "items",
    "draft": "draft",
    "drafts": "drafts",
    "reference": "approved text",
    "references": "approved texts",
    "done": "handled",
}
DEFAULT_TASK = "faq_reply"
# FAQ phrasing -> the vocabulary key it becomes (longest phrases first)
_PHRASES: list[tuple[str, str]] = [
    (r"parent questions", "{items}"),
    (r"FAQ answers", "{references}"),
    (r"what the answers say", "what the {references} say"),
    (r"FAQ replies", "{drafts}"),
    (r"approved answers", "{references}"),
    (r"approved answer", "{reference}"),
    (r"question by question", "{item} by {item}"),
    (r"questions", "{items}"),
    (r"question", "{item}"),
    (r"replies", "{drafts}"),
    (r"reply", "{draft}"),
    (r"the answer", "the {draft}"),
    (r"one answer", "one {draft}"),
]
_PATTERN = re.compile(r"\b(" + "|".join(p for p, _ in _PHRASES) + r")\b", re.I)
_TARGET = {p.lower(): t for p, t in _PHRASES}


def vocab(tasks: Iterable[Any] | None) -> dict[str, str]:
    """The words for a run of these tasks: one workflow's own, several workflows' neutral ones."""
    names = sorted({str(t) for t in tasks or []})
    if not names:
        return VOCAB[DEFAULT_TASK]
    if len(names) > 1:
        return MIXED
    return VOCAB.get(names[0], MIXED)


def run_vocab(run: Any) -> dict[str, str]:
    """The words of a loaded run (its plan's tasks)."""
    return vocab((run.manifest.get("plan") or {}).get("tasks"))


def reword(text: str, words: dict[str, str]) -> str:
    """FAQ-reply phrasing in ``text`` put in ``words`` (unchanged for FAQ replies or no words)."""
    if not words or words == VOCAB[DEFAULT_TASK]:
        return text

    def sub(m: re.Match[str]) -> str:
        found = m.group(0)
        out = _TARGET[found.lower()].format(**words)
        return out[:1].upper() + out[1:] if found[:1].isupper() else out

    return _PATTERN.sub(sub, text)


def own_words(text: str, run: Any) -> str:
    """A candidate's description in the run's words when the harness wrote it (a baseline's
    default, :data:`harness.candidates.baselines.DESCRIPTIONS`); a plan's own, as written."""
    from harness.candidates.baselines import DESCRIPTIONS

    return reword(text, run_vocab(run)) if text in DESCRIPTIONS.values() else text


def reword_notebook(nb: Any, words: dict[str, str]) -> Any:
    """A report notebook with its prose (Markdown cells, and the captions and comments of its
    code cells, which name no variable with these words) in ``words``."""
    for cell in nb.cells:
        if cell.cell_type in ("markdown", "code"):
            cell.source = reword(cell.source, words)
    return nb


def candidate_label(name: str) -> str:
    """A candidate's name as a leader reads it (the reference row in plain words)."""
    return "Approved answer" if name == REFERENCE else name


def speak_workflow(dec: Any, run: Any) -> None:
    """Give a decision the run's words (its tables speak them) and the ceiling's row its name in
    them ("Approved summary")."""
    dec.words = run_vocab(run)
    dec.names[REFERENCE] = dec.words["reference"].capitalize()
