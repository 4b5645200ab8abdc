"""The readiness report of a summary, newsletter or staff-question run speaks that workflow's
words (issue 23): no "questions" and "replies" in a report about messages and summaries."""

from __future__ import annotations

import re

import nbformat
import pytest

from harness.plan.spec import load_plan
from harness.report.render import NOTEBOOKS
from harness.report.vocab import MIXED, VOCAB, reword, reword_notebook, vocab
from harness.run.runner import RunOptions, run_plan
from tests.conftest import REPO

FAQ_WORDS = re.compile(r"\b(parent questions?|FAQ repl\w*|repl(y|ies)|approved answers?)\b", re.I)


@pytest.mark.parametrize(
    "task,text,expected",
    [
        ("inbound_summary", "Average per question", "Average per message"),
        ("inbound_summary", "Questions staff must hand", "Messages staff must hand"),
        (
            "newsletter",
            "turning each draft into the approved answer",
            "turning each draft into the approved section",
        ),
        (
            "newsletter",
            "a canned reply, question by question",
            "a canned section, request by request",
        ),
        ("staff_question", "staff edit drafts into replies", "staff edit drafts into answers"),
        ("faq_reply", "staff edit drafts into replies", "staff edit drafts into replies"),
        (
            "inbound_summary",
            "the section of this report that answers it",
            "the section of this report that answers it",
        ),  # "answers" is a verb here, not the noun
    ],
)
def test_reword(task, text, expected):
    assert reword(text, vocab([task])) == expected


def test_several_workflows_get_neutral_words():
    assert vocab(["faq_reply", "newsletter"]) == MIXED
    assert reword("Every sensitive question", MIXED) == "Every sensitive item"


@pytest.mark.parametrize("task", ["inbound_summary", "newsletter"])
def test_the_readiness_notebooks_prose_speaks_the_workflow(task):
    nb = reword_notebook(nbformat.read(NOTEBOOKS / "readiness_report.ipynb", as_version=4),
                         VOCAB[task])  # fmt: skip
    prose = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    assert not FAQ_WORDS.search(prose), FAQ_WORDS.search(prose)
    assert not re.search(r"\bquestions?\b", prose.replace("quality?", ""))
    assert VOCAB[task]["items"] in prose


@pytest.mark.xdist_group("report-runs")
def test_a_summary_runs_readiness_report_speaks_of_messages_and_summaries(tmp_path):
    from harness.report.render import render_report

    plan = load_plan(REPO / "plans" / "inbound_summary.yaml")
    plan.candidates = [c for c in plan.candidates if not c.is_model]  # no model call in a test
    store = run_plan(plan, results_dir=tmp_path, options=RunOptions(progress=False))
    html = render_report(store.run_id, results_dir=tmp_path).read_text(encoding="utf-8")
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html.replace("\u00ad", "")))
    assert "parent questions" not in text.lower() and "faq repl" not in text.lower()
    assert "Messages: 6 messages the district has already summarised" in text
    assert "Average per message" in text
    assert "into the approved summary" in text  # the minutes section's intro
    assert "Closest to the approved summary" in text
    assert "Average per question" not in text
    assert "Approved summary reference" in text  # the ceiling's row in the candidates' verdicts
    assert "The questions are ones the district already answered" not in text  # methodology
    # the helpers' own sentences too (issue 23): the cover's list of candidates, the figures'
    # titles and alt texts, the ceiling appendix and the glossary speak of messages and
    # summaries; district data (messages, drafts) is left as written
    alts = " ".join(re.findall(r'alt="([^"]*)"', html))
    for faq in (
        "for each question",  # the cover and the ceiling: what drafts were written from
        "question's own approved answer",
        "question's linked sources",
        "FAQ answers",
        "the holding reply the district sends today",  # the canned reply in the glossary
        "the district's own approved answer",
        "each reply, per candidate, against writing the approved answer",  # minutes figure
        "on the same questions",  # comparison figure
        "fewer than 10 questions",  # the language table's caption
    ):
        assert faq not in text and faq not in alts, faq
    assert "passages retrieved for each message" in text  # the ceiling's note
    assert "the district's own approved summary: the ceiling" in text  # the glossary
    assert "each summary, per candidate, against writing the approved summary" in alts
