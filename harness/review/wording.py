"""What the station's page calls things, per workflow (the item's ``task``).

A reviewer of inbound summaries sees the family's message and a summary for the office; a
reviewer of newsletter sections sees the staff request, the approved sources and a section; a
reviewer of staff questions sees the question, the passages and an answer. The page, its
timing and what is stored are the same for every workflow: only the words change.
"""

from __future__ import annotations

from typing import Any

DEFAULT_TASK = "faq_reply"
WORDS: dict[str, dict[str, str]] = {
    "faq_reply": {
        "message": "The family's message",
        "sources": "Approved sources",
        "no_sources": (
            "No approved source for this question: the reply should say a staff member will "
            "follow up."
        ),
        "draft": "The draft",
        "edit_hint": "Edit it into the reply you would send.",
        "write": "Write the reply",
        "write_hint": (
            "There is no draft for this one: write the reply you would send, from the message "
            "and the sources."
        ),
        "approve": "Approve (send as edited)",
        "reject": "Reject: I would write this from scratch",
        "save": "Save my reply",
    },
    "inbound_summary": {
        "message": "The family's message",
        "sources": "Approved sources",
        "no_sources": "Summarise from the message alone.",
        "draft": "The summary for the office",
        "edit_hint": (
            "Edit it into the summary you would route: every ask, the facts as the message "
            "gives them, the office that must act and how soon."
        ),
        "write": "Write the summary",
        "write_hint": (
            "There is no draft for this one: write the summary you would route to the office "
            "that must act, from the message."
        ),
        "approve": "Approve (route as edited)",
        "reject": "Reject: I would summarise this from scratch",
        "save": "Save my summary",
    },
    "newsletter": {
        "message": "The request from staff",
        "sources": "Approved sources",
        "no_sources": "No approved source for this section: check every fact with the office.",
        "draft": "The newsletter section",
        "edit_hint": "Edit it into the section you would publish in the family bulletin.",
        "write": "Write the section",
        "write_hint": (
            "There is no draft for this one: write the section you would publish, from the "
            "request and the sources."
        ),
        "approve": "Approve (publish as edited)",
        "reject": "Reject: I would write this section from scratch",
        "save": "Save my section",
    },
    "staff_question": {
        "message": "The staff member's question",
        "sources": "Approved sources",
        "no_sources": "No approved source for this question: the answer should say so.",
        "draft": "The answer",
        "edit_hint": "Edit it into the answer you would give, citing the passage it rests on.",
        "write": "Write the answer",
        "write_hint": (
            "There is no draft for this one: write the answer you would give, from the "
            "question and the sources."
        ),
        "cited": "The passages the answer cites",
        "cited_hint": "Check that each one says what the answer says it does, and is current.",
        "no_cited": "The answer cites no passage: it must decline, or name the passage it rests on.",
        "not_found": "No approved passage has this id: the citation is invented.",
        "approve": "Approve (answer as edited)",
        "reject": "Reject: I would answer this from scratch",
        "save": "Save my answer",
    },
}


def words(task: Any) -> dict[str, str]:
    """The page's words for an item's task (a task without its own words gets the reply's),
    with ``task``: the workflow whose words they are."""
    name = str(task) if str(task) in WORDS else DEFAULT_TASK
    return {**WORDS[name], "task": name}
