"""Repetitive manual responses: replies written from scratch to questions the knowledge base
already answers, counted per phase on the mini district's real index (leave-one-out applied)."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from harness.data.dataset import load_dataset
from harness.pilot.repetitive import ANSWERED_SHARE, answered, repetitive_counts

from ..conftest import MINI

PASS = "A replacement pass is $10 at the school office, ready within 2 school days."

# (entry, phase, date, question, ai_draft, final_text, approved, counted as)
# counted as: "repetitive" (from scratch, already answered), "new" (from scratch, the knowledge
# base does not hold it), "unjudged" (no checkable fact), "draft" (the AI draft carried it)
ENTRIES = [
    ("b-pass", "baseline", "2026-01-06", "Lost bus pass?", "", PASS, "yes", "repetitive"),
    (
        "b-chess",
        "baseline",
        "2026-01-07",
        "Is there a chess club?",
        "",
        "Chess club meets Tuesdays at 3:15 p.m. in Room 12 with Coach Petrov.",
        "yes",
        "new",
    ),
    ("b-thanks", "baseline", "2026-01-08", "Thanks!", "", "Thank you for writing.", "yes",
     "unjudged"),
    # before the material existed (sources effective 2025-07-01, answers dated after): a drafting
    # tool on that day had nothing, so the question was not already answered
    ("b-early", "baseline", "2025-06-01", "Lost bus pass?", "", PASS, "yes", "new"),
    ("p-used", "pilot", "2026-02-03", "Lost bus pass?", PASS, PASS, "yes", "draft"),
    (
        "p-rejected",
        "pilot",
        "2026-02-04",
        "My kid lost the bus pass",
        "Please contact your school for help.",
        PASS,
        "no",
        "repetitive",
    ),
]  # fmt: skip


@pytest.fixture(scope="module")
def counted(tmp_path_factory):
    ds = load_dataset(MINI)
    log = pd.DataFrame(
        [
            {
                "entry_id": e,
                "phase": ph,
                "date": d,
                "item_id": "",
                "question": q,
                "ai_draft": a or None,
                "final_text": f,
                "approved": ok == "yes",
                "review_minutes": 3.0,
                "revision_count": 0,
            }
            for e, ph, d, q, a, f, ok, _ in ENTRIES
        ]
    )
    cache = tmp_path_factory.mktemp("kb")
    return ds, log, cache


@pytest.mark.parametrize("entry", ENTRIES, ids=[e[0] for e in ENTRIES])
def test_each_reply_is_judged_by_the_one_definition(counted, entry):
    ds, log, cache = counted
    share = answered(log, ds, cache).set_axis(log["entry_id"])[entry[0]]
    kind = entry[-1]
    if kind == "unjudged":
        assert math.isnan(share)
    elif kind == "repetitive":
        assert share >= ANSWERED_SHARE
    elif kind == "new":
        assert share < ANSWERED_SHARE


def test_counts_per_phase_before_and_during(counted):
    ds, log, cache = counted
    out = repetitive_counts(log, ds, cache).set_index("phase")
    assert out.loc["baseline"].to_dict() == {
        "replies": 4,
        "from_scratch": 4,
        "judged": 3,
        "already_answered": 1,
        "share": pytest.approx(1 / 3),
    }
    during = out.loc["pilot"]
    assert (during["replies"], during["from_scratch"], during["already_answered"]) == (2, 1, 1)
    assert all(out[c].dtype.kind in "if" for c in out.columns)  # numeric twin
    # an entry naming its dataset item is judged with that item's leave-one-out: the lost-pass
    # answers of its paraphrase group are never what "already answers" it
    linked = log.assign(item_id=["faq-001", "", "", "", "", ""])
    assert answered(linked.iloc[:1], ds, cache).iloc[0] >= ANSWERED_SHARE  # the policy holds it
    assert repetitive_counts(None, ds, cache).empty
