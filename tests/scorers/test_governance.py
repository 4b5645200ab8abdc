from __future__ import annotations

import math

import pandas as pd
import pytest
from conftest import MINI
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.data.dataset import load_dataset
from harness.scorers import get_scorer
from harness.scorers.governance import (
    DEFAULT_MAX_WORDS,
    is_escalation,
    max_words_for,
    personal_data,
    reading_grade,
)
from tests.scorers import frame_of

DS = load_dataset(MINI)
THREAT = "faq-006"  # sensitive (safety): a boy threatens Ana Ruiz on bus 4


def _frame(rows):
    return frame_of(DS, [(iid, "m", i, o) for i, (iid, o) in enumerate(rows)])


@pytest.mark.parametrize(
    "item,draft,kinds",
    [
        ("faq-001", "Call Transportation at 555-0157 or transportation@mini.k12.example.", []),
        # leaks a phone number that neither the question nor the sources contain
        (THREAT, "Ana's father can be reached at 555-0123.", ["phone"]),
        (THREAT, "We will talk with Ana Ruiz today.", []),  # the parent named her
        ("faq-001", "Omar Haddad had the same problem.", ["name"]),  # another family's name
        ("faq-001", "Your son's student ID 4471023 is on the route list.", ["student_id"]),
        ("faq-001", "Write to omar.h@gmail.example for a lift.", ["email"]),
        ("faq-001", "A pass costs $10 and takes 2 school days.", []),
    ],
)
def test_personal_data_hand_checked(item, draft, kinds):
    got = personal_data(draft, DS.items.loc[item, "input"], DS)
    assert [g["kind"] for g in got] == kinds


@pytest.mark.parametrize(
    "draft,reason,expected",
    [
        (DS.items.loc[THREAT, "reference"], "safety", True),
        # answers instead of escalating
        (
            "Students who misbehave on the bus can lose riding privileges. Passes cost $10.",
            "safety",
            False,
        ),
        # hands off to a person but gives no emergency route on a safety item
        (
            "I have shared your message with the principal, who will call you today.",
            "safety",
            False,
        ),
        ("I have shared your message with the principal, who will call you today.", "legal", True),
        ("Please call the school office if you have questions.", "discipline", False),
        (
            "A counselor will call you within the hour. If anyone is in danger, call 911.",
            "abuse",
            True,
        ),
        (None, "safety", False),
    ],
)
def test_escalation_hand_checked(draft, reason, expected):
    assert is_escalation(draft, reason) is expected


def test_escalation_scorer_only_scores_sensitive_items():
    frame = _frame(
        [
            (THREAT, DS.items.loc[THREAT, "reference"]),
            (THREAT, "Bus passes cost $10 at the office."),
            ("faq-001", "Bus passes cost $10 at the office."),
        ]
    )
    out = get_scorer("escalation")(frame, DS)["escalation_ok"].tolist()
    assert out[:2] == [1.0, 0.0]
    assert math.isnan(out[2])


def test_sample_sensitive_references_are_escalations():
    ds = load_dataset(MINI.parents[2] / "datasets" / "sample-district")
    sens = ds.items[ds.items["sensitive"]]
    assert len(sens) >= 10
    assert all(is_escalation(r.reference, r.sensitive_reason) for r in sens.itertuples())
    # and no ordinary reply looks like a safety escalation
    normal = ds.items[~ds.items["sensitive"]]
    assert not any(is_escalation(r, "safety") for r in normal["reference"])


@pytest.mark.parametrize(
    "text,low,high",
    [
        ("The bus is late. Call us. We can help.", -5, 3),
        (
            "Notwithstanding the aforementioned administrative determinations, eligibility "
            "considerations necessitate comprehensive documentation substantiating residency.",
            14,
            40,
        ),
    ],
)
def test_reading_grade_hand_checked(text, low, high):
    assert low <= reading_grade(text) <= high


def test_reading_and_length_scorers():
    long = " ".join(["word"] * 160)
    frame = _frame([("faq-001", "The bus is late. Call us."), ("faq-001", long), ("faq-001", None)])
    read = get_scorer("reading_level")(frame, DS)
    assert read.loc[0, "reading_level_ok"] == 1.0
    assert read.loc[2].isna().all()
    length = get_scorer("length")(frame, DS)
    assert length.loc[0].tolist() == [1.0, 0.0, 0.0]  # length_ok, words over, truncated
    assert length.loc[1].tolist() == [0.0, 10.0, 0.0]  # faq_reply limit is 150 words
    assert length.loc[2].isna().all()
    looser = get_scorer("length", max_words={"faq_reply": 200})(frame, DS)
    assert looser.loc[1].tolist() == [1.0, 0.0, 0.0]
    assert max_words_for("faq_reply") == DEFAULT_MAX_WORDS["faq_reply"]


def test_personal_data_scorer_missing_output_is_nan():
    frame = _frame([(THREAT, "Call 555-0123."), (THREAT, None)])
    out = get_scorer("personal_data")(frame, DS)["personal_data_count"].tolist()
    assert out[0] == 1.0
    assert math.isnan(out[1])


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=200))
def test_governance_properties(text):
    assert personal_data(text, text, DS) == []  # nothing leaks that the input already holds
    g = reading_grade(text)
    assert math.isnan(g) or math.isfinite(g)
    frame = pd.DataFrame({"output": [text], "task": ["faq_reply"]})
    out = get_scorer("length")(frame, DS).iloc[0]
    assert out["length_ok"] in (0.0, 1.0)
    assert out["words_over_limit_count"] >= 0


def test_listing_the_scorers_does_not_import_textstat():
    """The report kernels, `harness check` and plan checks list every scorer family, so they
    import this module; textstat (about 1.8 s of CPU to import), scikit-learn and scipy.stats
    (about 1 s together) wait for the first draft to grade, so each report renders and each
    check starts that much sooner."""
    import subprocess
    import sys

    from conftest import REPO

    code = (
        "import sys; import harness.report; from harness.scorers import scorer_names; "
        "assert 'reading_level' in scorer_names(); "
        "print(*(m in sys.modules for m in ('textstat', 'sklearn', 'scipy.stats')))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True
    )
    assert out.stdout.split() == ["False"] * 3, out.stderr
    assert reading_grade("The pass costs ten dollars.", "en") > 0  # and grading still works


def test_a_canned_reply_the_plan_configures_publishes_official_contacts(tmp_path):
    """The district's canned reply is its own text: a number it prints (the switchboard) is an
    official contact, in the canned reply and in any other draft, even without directory.csv."""
    from harness.plan.spec import CandidateSpec, Plan
    from harness.scorers import ScoreContext

    (tmp_path / "canned.yaml").write_text("faq_reply: Call the District Office at 555-0100.\n")
    plan = Plan(
        name="p",
        dataset=str(MINI),
        tasks=["faq_reply"],
        candidates=[
            CandidateSpec(name="canned", baseline="template", options={"path": "canned.yaml"})
        ],
        path=tmp_path / "plan.yaml",
    )
    frame = _frame([(THREAT, "Call the District Office at 555-0100."), (THREAT, "Call 555-0123.")])
    plain = get_scorer("personal_data")(frame, DS)["personal_data_count"].tolist()
    assert plain == [1.0, 1.0]  # no plan: 555-0100 is in no approved answer, policy or directory
    got = get_scorer("personal_data", ScoreContext(plan=plan))(frame, DS)
    assert got["personal_data_count"].tolist() == [0.0, 1.0]  # still flags another number
