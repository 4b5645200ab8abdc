"""Inbound summaries: a summary that drops an ask, changes a fact, routes to the wrong office,
drops a safety concern or adds personal data scores worse than the approved summary."""

from __future__ import annotations

import math

import pytest
from conftest import SAMPLE

from harness.data.dataset import load_dataset
from harness.scorers import get_scorer
from harness.scorers.summary import ask_covered, offices_named, sentences, urgency_ok
from tests.scorers import frame_of

DS = load_dataset(SAMPLE)
ITEMS = DS.items
SUMMARIES = ITEMS.index[ITEMS["task"] == "inbound_summary"].tolist()


def _ref(iid: str) -> str:
    return str(ITEMS.loc[iid, "reference"])


def _scores(rows: list[tuple[str, str]]):
    frame = frame_of(DS, [(iid, "m", i, o) for i, (iid, o) in enumerate(rows)])
    return get_scorer("summary")(frame, DS)


# (item, edit of the approved summary (old -> new), the metric that must drop)
PERTURBED = [
    # drops the ask for a phone call
    (
        "sum-001",
        (
            " and would like a phone call. Route to Transportation (555-0157) for a callback "
            "today:",
            ". Route to Transportation (555-0157) today:",
        ),
        "summary_ask_coverage",
    ),
    # changes the date of the no-show
    ("sum-001", ("Thursday, Sept. 18", "Friday, Sept. 19"), "summary_fact_accuracy"),
    # changes a number (the Chromebook charge)
    ("sum-008", ("a $75 Chromebook charge", "a $57 Chromebook charge"), "summary_fact_accuracy"),
    # invents a name
    (
        "sum-003",
        ("Craig Dunleavy, father", "Craig Dunleavy, with his lawyer Paul Ostrander, father"),
        "summary_fact_accuracy",
    ),
    # routes to the wrong office
    (
        "sum-001",
        ("Route to Transportation (555-0157)", "Route to the Business Office"),
        "summary_routing_ok",
    ),
    # drops the safety concern (the threat) and its urgency
    (
        "sum-018",
        (
            'and that last night a student posted a Snapchat video threatening to "jump" '
            "him at the bus stop on Friday, Apr. 17; she",
            "; she",
        ),
        "summary_ask_coverage",
    ),
    # loses the urgency of a same-day item
    ("sum-011", ("Urgent: the deadline", "The deadline"), "summary_urgency_ok"),
    # calls a routine question urgent
    ("sum-007", ("Not urgent: the", "URGENT: the"), "summary_urgency_ok"),
]


@pytest.mark.parametrize("iid,edit,metric", PERTURBED)
def test_a_worse_summary_scores_worse(iid, edit, metric):
    ref = _ref(iid)
    old, new = edit
    assert old in ref, "the edit must change the approved summary"
    bad = ref.replace(old, new)
    s = _scores([(iid, ref), (iid, bad)])
    assert s[metric].iloc[0] == 1.0
    assert s[metric].iloc[1] < s[metric].iloc[0]


def test_dropping_the_threat_drops_safety():
    ref = _ref("sum-018")
    bad = "Monique Baptiste asks who to talk to about her son Andre (CHHS) and Bus 9. Route to Transportation."
    s = _scores([("sum-018", ref), ("sum-018", bad)])
    assert s["summary_safety_kept"].tolist() == [1.0, 0.0]


def test_extra_personal_data_is_counted():
    ref = _ref("sum-002")
    bad = ref + " Her cell is 555-0144 and the message was taken by Leticia Ramos."
    s = _scores([("sum-002", ref), ("sum-002", bad)])
    assert s["summary_extra_personal_count"].tolist()[0] == 0.0
    assert s["summary_extra_personal_count"].tolist()[1] >= 2.0


def test_approved_summaries_meet_every_label():
    """The hand labels and the approved summaries agree on every item (the ceiling is 1)."""
    s = _scores([(i, _ref(i)) for i in SUMMARIES])
    means = s.mean()
    for m in (
        "summary_ask_coverage",
        "summary_routing_ok",
        "summary_urgency_ok",
        "summary_safety_kept",
        "summary_fact_accuracy",
    ):
        assert means[m] == 1.0, m
    assert means["summary_extra_personal_count"] == 0.0
    assert s["summary_safety_kept"].notna().sum() == 4  # the four labelled safety items


def test_other_tasks_and_missing_outputs_are_unscored():
    s = _scores([("faq-enr-001", "Call 555-0142."), ("sum-001", None)])
    assert s.isna().all().all()


def test_canned_reply_scores_near_zero():
    canned = "Parent message received; needs review and routing by the front office."
    s = _scores([(i, canned) for i in SUMMARIES])
    assert s["summary_ask_coverage"].mean() < 0.05


@pytest.mark.parametrize(
    "text,n",
    [
        ("Bus 14 reached the Creekside Dr./Fallow Ct. stop at 7:32 a.m. on time. Call her.", 2),
        ("Call her before 2 p.m. today. Thanks.", 2),
        ("Dr. Okafor decides. Families hear by 5:30 a.m.", 2),
    ],
)
def test_sentences_keep_abbreviations(text, n):
    assert len(sentences(text)) == n


@pytest.mark.parametrize(
    "text,offices",
    [
        ("Route to Transportation (555-0157).", {"transportation"}),
        ("families provide their own transportation", set()),  # a noun, not the office
        ("the transportation office should call", {"transportation"}),
        ("Copy the principal and Nutrition Services.", {"school", "nutrition"}),
        ("Call 555-0188.", {"technology"}),
    ],
)
def test_offices_named(text, offices):
    assert offices_named(text) == offices


@pytest.mark.parametrize(
    "text,urgency,ok",
    [
        ("Call her today.", "today", 1.0),
        ("Call her next week.", "today", 0.0),
        ("Reply within 2 business days.", "soon", 1.0),
        ("Reply sometime.", "soon", 0.0),
        ("Not urgent: reply when you can.", "routine", 1.0),
        ("Urgent: reply now.", "routine", 0.0),
    ],
)
def test_urgency(text, urgency, ok):
    assert urgency_ok(text, urgency) == ok


def test_ask_needs_every_cue_group_in_one_sentence():
    cues = [["route", "driver"], ["chang*"]]
    assert ask_covered("She asks whether the route changed.", cues)
    assert not ask_covered("She mentions the route. Nothing changed at home.", cues)
    assert math.isnan(
        get_scorer("summary")(frame_of(DS, [("sum-001", "m", 0, None)]), DS).iloc[0, 0]
    )


# A person's verdicts on the staff first drafts (written from the drafts and the labels, not
# from the scorer): per labelled ask, carried (1) or not (0); routed right; urgency kept.
HAND_STAFF = {
    "sum-001": ([1, 0, 0, 0, 1], 1, 0),  # "It didn't come today" is the event, not urgency
    "sum-003": ([0, 0, 0, 0], 1, 0),  # states the -$15 balance, never asks to remove it
    "sum-005": ([1, 1, 1, 0, 0], 1, 0),
    "sum-008": ([1, 1, 1, 0], 1, 0),
    "sum-012": ([1, 0], 0, 0),
    "sum-014": ([1, 0, 0, 1, 0], 0, 0),  # "private eval" is the report; "SST meeting" is not hers
}


def test_scorer_agrees_with_a_person_on_the_staff_drafts():
    rows = [(i, str(ITEMS.loc[i, "staff_first_draft"])) for i in HAND_STAFF]
    asks_agree = total = 0
    for iid, draft in rows:
        said = [int(ask_covered(draft, a["cues"])) for a in ITEMS.loc[iid, "asks"]]
        hand = HAND_STAFF[iid][0]
        asks_agree += sum(a == b for a, b in zip(said, hand, strict=True))
        total += len(hand)
    s = _scores(rows)
    routing = (s["summary_routing_ok"] == [HAND_STAFF[i][1] for i in HAND_STAFF]).mean()
    urgency = (s["summary_urgency_ok"] == [HAND_STAFF[i][2] for i in HAND_STAFF]).mean()
    # measured 2026-12-07: asks 22 of 25, routing 6 of 6, urgency 4 of 6
    assert asks_agree / total >= 0.85
    assert routing == 1.0
    assert urgency >= 4 / 6
