from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from conftest import MINI
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.data.dataset import load_dataset
from harness.scorers import get_scorer, metrics
from harness.scorers.accuracy import (
    check_claims,
    extract_claims,
    fact_coverage,
    reference_similarity,
    unsupported_claims,
    unsupported_claims_table,
)
from harness.scorers.scoring import scoring_frame
from tests.scorers import frame_of


@pytest.fixture(scope="module")
def mini():
    return load_dataset(MINI)


BUS = "faq-001"  # sources: bus-pass-2025 (current, $10, 2 school days); bus-pass-2024 superseded


@pytest.mark.parametrize(
    "text,expected",
    [
        ("Call (555) 555-0157 today.", [("phone", "5550157")]),
        ("Call 911 now.", [("phone", "911")]),
        ("It costs $10.00.", [("money", "10")]),
        ("It costs $3.75 or 10 dollars.", [("money", "3.75"), ("money", "10")]),
        ("Up 15 percent", [("percent", "15")]),
        ("Email Help@Cedar.k12.example.", [("email", "help@cedar.k12.example")]),
        ("See www.cedarhollow.k12.example/enroll/.", [("url", "cedarhollow.k12.example/enroll")]),
        ("On Apr. 17, 2026 at 8 a.m.", [("date", (4, 17, 2026)), ("time", (8, 0, "a"))]),
        ("From 17 April to 1/27/26", [("date", (4, 17, None)), ("date", (1, 27, 2026))]),
        ("Break is March 30 - April 3, 2026", [("date", (3, 30, 2026)), ("date", (4, 3, 2026))]),
        ("Doors open at 10:05, lunch at noon", [("time", (10, 5, None)), ("time", (12, 0, "p"))]),
        ("in 2025-26, not 2024", [("school_year", "2025-26"), ("year", "2024")]),
        (
            "my 7th grader; grades 6-8; TK-5",
            [("grade", (7, 7)), ("grade", (6, 8)), ("grade", (-1, 5))],
        ),
        ("within two school days", [("duration", (2, "school day"))]),
        ("every Wednesday and Fri.", [("weekday", "wednesday"), ("weekday", "friday")]),
        (
            "Pay in HollowPay at the Business Office.",
            [("name", "hollowpay"), ("name", "business office")],
        ),
        ("The pass is free. Please call us.", []),
        ("Thank you! Your son can ride.", []),
    ],
)
def test_extract_claims_hand_checked(text, expected):
    assert [(c.kind, c.key) for c in extract_claims(text)] == expected


@pytest.mark.parametrize(
    "draft,statuses",
    [
        # the approved reference: everything supported
        (
            "A replacement pass costs $10 at the school office and is ready within 2 school days. "
            "Questions? Call Transportation at 555-0157.",
            ["supported"] * 4,
        ),
        # last year's fee and turnaround: only the superseded 2024 policy says so
        ("A replacement pass costs $5 and is ready within 3 school days.", ["superseded"] * 2),
        # an invented date
        (
            "A replacement pass costs $10 and will be ready on September 15.",
            ["supported", "unsupported"],
        ),
        # an invented program name
        ("Order the new pass in BusBuddy.", ["unsupported"]),
        # a phone number nobody gave
        ("Call 555-0123 for a new pass.", ["unsupported"]),
        # formatting differs from the source: still supported
        ("New pass: $10.00, ready in two school days; call 555.0157.", ["supported"] * 3),
        # a sentence about the past may quote the old fee
        ("The fee changed: it was $5 last year and is $10 now.", ["supported"] * 2),
        # the parent's own words are support ("my son")
        ("Email transportation@mini.k12.example about the pass.", ["supported"]),
    ],
)
def test_claims_against_sources_hand_checked(mini, draft, statuses):
    item = mini.item(BUS)
    got = check_claims(draft, item["input"], item["source_ids"], mini)
    assert [r["status"] for r in got] == statuses


def test_unsupported_claims_lists_superseded_source(mini):
    item = mini.item(BUS)
    got = unsupported_claims("The new pass costs $5.", item, mini)
    assert got == [
        {
            "kind": "money",
            "text": "$5",
            "key": "5",
            "status": "superseded",
            "superseded_sources": ["bus-pass-2024"],
        }
    ]


def _frame(mini, rows):
    return frame_of(mini, rows)


def test_claims_scorer_counts_and_missing_output(mini):
    frame = _frame(
        mini,
        [
            (BUS, "a", 0, "A replacement pass costs $5 and is ready on September 15."),
            (BUS, "a", 1, None),
            (BUS, "a", 2, "Thanks for asking, we will help."),
        ],
    )
    out = get_scorer("claims")(frame, mini)
    assert out.loc[0].tolist() == [2.0, 1.0, 0.0]
    assert out.loc[1].isna().all()  # missing output: unscored, never 0
    assert out.loc[2, "unsupported_claims_count"] == 0.0
    assert math.isnan(out.loc[2, "claim_support"])  # no checkable claim: nothing to support
    table = unsupported_claims_table(frame, mini)
    assert table["claim"].tolist() == ["$5", "September 15"]
    assert table["status"].tolist() == ["superseded", "unsupported"]


@pytest.mark.parametrize(
    "draft,facts,expected",
    [
        (
            "A new pass is $10.00, ready in two school days; call 555.0157.",
            ["$10", "2 school days", "555-0157"],
            1.0,
        ),
        (
            "A new pass is $100, ready in 2 school days; call 555-0157.",
            ["$10", "2 school days", "555-0157"],
            2 / 3,
        ),
        ("A new pass is $10, ready in 2 days.", ["$10", "2 school days", "555-0157"], 1 / 3),
        ("Breakfast and lunch are Free! Call 555-0163.", ["free", "555-0163"], 1.0),
        ("Lunch costs $2. Call 555-0136.", ["free", "555-0163"], 0.0),
        ("Pay in Hollow Link", ["HollowLink"], 1.0),  # wording differs: fuzzy
        ("Pay in HollowPay", ["HollowLink"], 0.0),
        ("Pay in HolowLink", ["HollowLink"], 1.0),  # a typo is fuzzy-matched (partial_ratio >= 90)
        (
            "Spring break is March 30 - April 3, 2026.",
            ["March 30", "April 3", "April 3, 2026"],
            1.0,
        ),
        ("Dismissal is at 1:25 p.m.", ["1:25 p.m."], 1.0),
        ("Dismissal is at 1:25 a.m.", ["1:25 p.m."], 0.0),
        ("anything", [], math.nan),
        (None, ["$10"], math.nan),
    ],
)
def test_fact_coverage_hand_checked(draft, facts, expected):
    got = fact_coverage(draft, facts)
    if math.isnan(expected):
        assert math.isnan(got)
    else:
        assert got == pytest.approx(expected)


def test_required_facts_scorer_nan_without_facts(mini):
    """NaN only when the item has no hand-written facts and its approved answer states none
    (issue 22: without a list, the approved answer's checkable facts are the facts)."""
    frame = _frame(
        mini,
        [(BUS, "a", 0, "It is $10."), (BUS, "a", 1, None), (BUS, "a", 2, "$10; call 555-0157.")],
    )
    frame.at[1, "required_facts"] = []
    frame.at[1, "output"] = "It is $10."
    frame.at[1, "reference"] = "Thanks for asking, we will help you soon."
    frame.at[2, "required_facts"] = []  # the defaults: $10, Transportation, 555-0157
    out = get_scorer("required_facts")(frame, mini)
    assert out.loc[0, "required_facts_coverage"] == pytest.approx(1 / 3)
    assert math.isnan(out.loc[1, "required_facts_coverage"])
    assert out.loc[2, "required_facts_coverage"] == pytest.approx(2 / 3)


def test_reference_similarity_scorer(mini):
    ref = mini.item(BUS)["reference"]
    frame = _frame(mini, [(BUS, "a", 0, ref), (BUS, "a", 1, None), (BUS, "a", 2, "zzz qqq")])
    out = get_scorer("reference_similarity")(frame, mini)["reference_similarity"]
    assert out[0] == pytest.approx(1.0)
    assert math.isnan(out[1])
    assert out[2] == 0.0
    assert metrics()["unsupported_claims_count"].higher_is_better is False


words = st.lists(
    st.sampled_from(
        [
            "the",
            "pass",
            "costs",
            "$10",
            "$5",
            "at",
            "school",
            "office",
            "ready",
            "2",
            "school",
            "days",
            "call",
            "555-0157",
            "HollowLink",
            "September",
            "15",
            "Monday",
            "grade",
            "7",
            "free",
            "lunch",
            "8:00",
            "a.m.",
            "2025-26",
            "transportation@mini.k12.example",
            "Ana",
            "Ruiz",
            "it",
            "was",
            "last",
            "year",
        ]
    ),
    max_size=30,
).map(" ".join)


MINI_DS = load_dataset(MINI)


@settings(max_examples=150, deadline=None)
@given(words, words)
def test_properties(a, b):
    item = {"input": "hello", "source_ids": ["bus-pass-2025"]}
    ds = MINI_DS
    rows = check_claims(a, item["input"], item["source_ids"], ds)
    got = get_scorer("claims")(
        pd.DataFrame({"output": [a], "input": ["hello"], "source_ids": [["bus-pass-2025"]]}), ds
    ).iloc[0]
    assert got["unsupported_claims_count"] == sum(r["status"] != "supported" for r in rows)
    assert got["superseded_claims_count"] <= got["unsupported_claims_count"]
    if rows:
        assert 0.0 <= got["claim_support"] <= 1.0
    # a draft that is its own support has no unsupported claim (identity = best score)
    assert all(r["status"] == "supported" for r in check_claims(a, a, [], None))
    # the draft itself and every claim it states, taken as facts, are all covered
    if a.strip():
        facts = [a, *(c.text for c in extract_claims(a))]
        assert fact_coverage(a, facts) == 1.0
    sims = reference_similarity([a, b, a], [b, a, a], ds)
    assert 0.0 <= sims[0] <= 1.0
    assert sims[0] == pytest.approx(sims[1])  # symmetric
    assert sims[2] == pytest.approx(1.0)  # identity = best score
    assert np.isfinite(sims).all()


MY_SCORERS = [
    "required_facts",
    "claims",
    "reference_similarity",
    "sample_consistency",
    "paraphrase_consistency",
    "personal_data",
    "reading_level",
    "length",
    "escalation",
]


def test_sample_references_as_drafts_score_near_best():
    """References scored as drafts: ~no unsupported claims (known data issues listed in the report)."""
    ds = load_dataset(MINI.parents[2] / "datasets" / "sample-district")
    items = ds.items
    gens = pd.DataFrame(
        {
            "key": items.index,
            "item_id": items.index,
            "candidate": "reference",
            "sample": 0,
            "task": items["task"].to_numpy(),
            "output": items["reference"].to_numpy(),
            "status": "ok",
        }
    )
    frame = scoring_frame(gens, ds)
    out = pd.concat([get_scorer(n)(frame, ds) for n in MY_SCORERS], axis=1)
    assert out["reference_similarity"].min() == pytest.approx(1.0)
    assert out["required_facts_coverage"].mean() > 0.97
    assert out["superseded_claims_count"].sum() <= 1
    claims = sum(len(extract_claims(r)) for r in items["reference"])
    assert out["unsupported_claims_count"].sum() / claims < 0.05  # measured 70 / 1,805
    assert out["claim_support"].mean() > 0.95
    assert out["escalation_ok"].dropna().eq(1.0).all()
    assert out["length_ok"].eq(1.0).all()
    # known data issue: sum-013's reference adds the surname of "-Ray" (Ray Castellano, staff)
    assert list(items.index[out["personal_data_count"].to_numpy() > 0]) == ["sum-013"]
    faq = out["paraphrase_similarity"][items["paraphrase_group"].notna().to_numpy()]
    assert faq.notna().all() and faq.between(0, 1).all()
