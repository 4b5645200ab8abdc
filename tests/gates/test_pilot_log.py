from __future__ import annotations

import math

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.data.dataset import load_dataset
from harness.gates import pilot_log as pilot
from tests.conftest import SAMPLE


def log_of(rows: list[dict]) -> pd.DataFrame:
    base = {
        "final_text": "Lunch is $3.75.",
        "ai_draft": None,
        "approved": True,
        "revision_count": 0.0,
        "drafting_minutes": 0.0,
        "review_minutes": 0.0,
        "turnaround_hours": 1.0,
        "staff_member": "s1",
    }
    return pd.DataFrame([{**base, "entry_id": f"e{i}", **r} for i, r in enumerate(rows)])


def test_hand_checked_minutes_and_revisions():
    log = log_of(
        [
            {"phase": "baseline", "drafting_minutes": 8, "review_minutes": 2, "revision_count": 2},
            {"phase": "baseline", "drafting_minutes": 8, "review_minutes": 2, "revision_count": 2},
            {
                "phase": "pilot",
                "drafting_minutes": 1,
                "review_minutes": 3,
                "revision_count": 1,
                "ai_draft": "Lunch is $3.75.",
            },
            {
                "phase": "pilot",
                "drafting_minutes": 1,
                "review_minutes": 3,
                "revision_count": 1,
                "ai_draft": "Lunch is $3.75.",
            },
        ]
    )
    out = pilot.outcomes(log).set_index("measure")
    assert out.loc["minutes_saved_per_reply", ["baseline", "pilot", "improvement"]].tolist() == [
        10,
        4,
        6,
    ]
    assert (
        out.loc["minutes_saved_per_reply", "ci_low"] == 6
        and out.loc["minutes_saved_per_reply", "verdict"] == "improved"
    )
    assert out.loc["fewer_revisions", "improvement"] == 1
    assert out.loc["hand_written_reduction", "pilot"] == 0.0  # drafts kept as written
    assert out.loc["staff_consistency_minutes", "verdict"] == "not measured"  # one staff member


@pytest.mark.parametrize(
    ("draft", "final", "approved", "by_hand"),
    [
        ("Lunch is $3.75 at high schools.", "Lunch is $3.75 at high schools.", True, 0.0),
        ("Lunch is $3.75 at high schools.", "Lunch is $3.75 at the high schools.", True, 0.0),
        ("Lunch is $3.75 at high schools.", "Lunch is $3.75 at high schools.", False, 1.0),
        (
            "Buses run late today.",
            "Breakfast is free for every student this year at CEP schools.",
            True,
            1.0,
        ),
        (None, "Written from scratch.", True, 1.0),
    ],
)
def test_hand_written(draft, final, approved, by_hand):
    log = log_of([{"phase": "pilot", "ai_draft": draft, "final_text": final, "approved": approved}])
    assert pilot.hand_written(log).iloc[0] == by_hand


@pytest.mark.parametrize(
    ("draft", "final", "expected"),
    [("a b c d", "a b c d", 1.0), ("a b c d", "a b x d", 0.75), (None, "x", None), ("", "x", None)],
)
def test_kept_share(draft, final, expected):
    got = pilot.kept_share(draft, final)
    assert math.isnan(got) if expected is None else got == pytest.approx(expected)


def test_sample_district_outcomes_have_intervals():
    out = pilot.outcomes(load_dataset(SAMPLE).pilot_log)
    assert list(out.columns) == pilot.OUTCOME_COLUMNS
    assert set(out["measure"]) == set(pilot.MEASURES)
    for _, r in out.iterrows():
        assert r["ci_low"] <= r["improvement"] <= r["ci_high"]
        assert r["n_baseline"] > 0 and r["n_pilot"] > 0
    saved = out.set_index("measure").loc["minutes_saved_per_reply"]
    assert saved["improvement"] > 0 and saved["verdict"] == "improved"


def test_missing_columns_and_log():
    assert pilot.outcomes(None).empty
    log = log_of([{"phase": "baseline"}, {"phase": "pilot", "ai_draft": "x"}]).drop(
        columns=["turnaround_hours", "staff_member", "drafting_minutes"]
    )
    out = pilot.outcomes(log)
    assert "faster_turnaround_hours" not in set(out["measure"])
    assert (
        "review minutes per reply" in out.set_index("measure").loc["minutes_saved_per_reply", "how"]
    )
    assert pilot.by_staff(log).empty


def test_by_staff():
    staff = pilot.by_staff(load_dataset(SAMPLE).pilot_log)
    assert {"staff_member", "phase", "replies", "minutes", "approved_share"} <= set(staff.columns)
    assert staff["replies"].sum() == 57


@settings(max_examples=30, deadline=None)
@given(
    st.lists(st.floats(0, 60), min_size=1, max_size=12),
    st.lists(st.floats(0, 60), min_size=1, max_size=12),
    st.floats(0, 10),
)
def test_slower_pilot_saves_less(base, pil, extra):
    def saved(p):
        rows = [{"phase": "baseline", "review_minutes": m} for m in base]
        rows += [{"phase": "pilot", "review_minutes": m, "ai_draft": "x"} for m in p]
        return (
            pilot.outcomes(log_of(rows), resamples=200)
            .set_index("measure")
            .loc["minutes_saved_per_reply", "improvement"]
        )

    assert saved([m + extra for m in pil]) == pytest.approx(saved(pil) - extra, abs=1e-6)


def test_the_pilot_intervals_resample_within_each_staff_member():
    """Reviewers grouped, as the protocol's simulation resamples: each staff member's entries
    are resampled among their own, so a difference that lies only between staff members (Ana
    always 1 minute, Ben always 9) adds no uncertainty; ungrouped it would."""
    rows = [{"phase": "baseline", "review_minutes": 10.0, "staff_member": "Cy"}] * 4
    rows += [{"phase": "pilot", "review_minutes": 1.0, "staff_member": "Ana"}] * 3
    rows += [{"phase": "pilot", "review_minutes": 9.0, "staff_member": "Ben"}] * 3
    log = pd.DataFrame(rows).assign(revision_count=0, approved=True, final_text="x")
    saved = pilot.outcomes(log).set_index("measure").loc["minutes_saved_per_reply"]
    assert (saved["improvement"], saved["ci_low"], saved["ci_high"]) == (5.0, 5.0, 5.0)
    loose = pilot.outcomes(log.drop(columns="staff_member")).set_index("measure")
    assert loose.loc["minutes_saved_per_reply", "ci_low"] < 5.0
