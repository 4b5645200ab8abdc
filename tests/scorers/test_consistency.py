from __future__ import annotations

import math

import pytest
from conftest import MINI
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.data.dataset import load_dataset
from harness.scorers import get_scorer
from harness.scorers.consistency import jaccard
from tests.scorers import frame_of

DS = load_dataset(MINI)
A = "A replacement pass costs $10 and is ready within 2 school days. Call 555-0157."
B = "A replacement pass costs $5 and is ready within 2 school days. Call 555-0157."


def _frame(rows):
    return frame_of(DS, rows)


@pytest.mark.parametrize(
    "outputs,similarity,agreement",
    [
        ([A, A, A], 1.0, 1.0),
        # {$10, 2 school days, 555-0157} vs {$5, 2 school days, 555-0157}: 2 shared of 4
        ([A, B], None, 2 / 4),
        ([A], math.nan, math.nan),  # one sample: nothing to compare
        ([A, None], math.nan, math.nan),  # a missing output is not a sample
        (
            ["Thanks, we will help.", "Thanks, we will help."],
            1.0,
            math.nan,
        ),  # no claims either side
    ],
)
def test_sample_consistency_hand_checked(outputs, similarity, agreement):
    frame = _frame([("faq-001", "m", i, o) for i, o in enumerate(outputs)])
    out = get_scorer("sample_consistency")(frame, DS)
    ok = frame["output"].notna()
    for col, want in (("sample_similarity", similarity), ("sample_claim_agreement", agreement)):
        got = out.loc[ok, col]
        assert got.nunique(dropna=False) == 1  # the group value sits on every row of the group
        if want is None:
            assert 0.5 < got.iloc[0] < 1.0
        elif math.isnan(want):
            assert got.isna().all()
        else:
            assert got.iloc[0] == pytest.approx(want)
    assert out.loc[~ok].isna().all().all()


def test_sample_consistency_groups_by_candidate():
    frame = _frame([("faq-001", "m", 0, A), ("faq-001", "m", 1, A), ("faq-001", "n", 0, B)])
    out = get_scorer("sample_consistency")(frame, DS)
    assert out["sample_similarity"].tolist()[:2] == [1.0, 1.0]
    assert math.isnan(out["sample_similarity"].iloc[2])


def test_paraphrase_consistency_across_items():
    # faq-001..003 share pg-lost-pass; faq-004 has no group
    frame = _frame(
        [
            ("faq-001", "m", 0, "Hi! " + A),
            ("faq-002", "m", 0, "Hello! " + A),
            ("faq-003", "m", 0, B),
            ("faq-004", "m", 0, A),
        ]
    )
    out = get_scorer("paraphrase_consistency")(frame, DS)
    assert out["paraphrase_claim_agreement"].iloc[:3].nunique() == 1
    # pairs: (1,2) agree fully; (1,3) and (2,3): the $5 in faq-003's draft echoes its input
    # ("Last year the pass was $5"), so it is dropped: {2 school days, phone} vs all three = 2/3
    assert out["paraphrase_claim_agreement"].iloc[0] == pytest.approx((1 + 2 / 3 + 2 / 3) / 3)
    assert 0.5 < out["paraphrase_similarity"].iloc[0] < 1.0
    assert out.iloc[3].isna().all()


def test_paraphrase_consistency_single_item_is_nan():
    frame = _frame([("faq-001", "m", 0, A), ("faq-001", "m", 1, A)])
    out = get_scorer("paraphrase_consistency")(frame, DS)
    assert out.isna().all().all()  # two samples of one item are not two phrasings


sets = st.frozensets(st.sampled_from(["a", "b", "c", "d"]))


@settings(max_examples=100, deadline=None)
@given(sets, sets)
def test_jaccard_properties(a, b):
    j = jaccard(a, b)
    if not a and not b:
        assert math.isnan(j)
        return
    assert 0.0 <= j <= 1.0
    assert j == jaccard(b, a)
    assert jaccard(a | b, a | b) == 1.0


texts = st.lists(
    st.sampled_from(
        ["pass", "costs", "$10", "$5", "ready", "2", "school", "days", "call", "555-0157", "free"]
    ),
    min_size=1,
    max_size=12,
).map(" ".join)


@settings(max_examples=50, deadline=None)
@given(st.lists(texts, min_size=2, max_size=4))
def test_sample_consistency_bounds(outputs):
    frame = _frame([("faq-001", "m", i, o) for i, o in enumerate(outputs)])
    out = get_scorer("sample_consistency")(frame, DS)
    sim = out["sample_similarity"].iloc[0]
    assert 0.0 <= sim <= 1.0 + 1e-9
    if len(set(outputs)) == 1:
        assert sim == pytest.approx(1.0)
