from __future__ import annotations

import math

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rapidfuzz.distance import Levenshtein

from harness.scorers import get_scorer, metrics, scorer_names
from harness.scorers.edit import DEFAULT_RATES, edit_effort, words

REF = "A replacement pass costs $10 at the school office."

CASES = [
    # draft, expected (char_similarity, word_similarity, inserted, deleted, substituted)
    (REF, (1.0, 1.0, 0, 0, 0)),
    ("A replacement pass costs $5 at the school office.", (None, 8 / 9, 0, 0, 1)),
    ("A pass costs $10 at the school office.", (None, 8 / 9, 1, 0, 0)),
    ("Hello! A replacement pass costs $10 at the school office.", (None, 9 / 10, 0, 1, 0)),
    ("", (0.0, 0.0, 9, 0, 0)),
]


@pytest.mark.parametrize("draft,expected", CASES)
def test_hand_checked_drafts(draft, expected):
    got = edit_effort(draft, REF)
    char, word, ins, dele, sub = expected
    if char is not None:
        assert got["char_similarity"] == pytest.approx(char)
    assert got["word_similarity"] == pytest.approx(word)
    assert (
        got["words_inserted_count"],
        got["words_deleted_count"],
        got["words_substituted_count"],
    ) == (ins, dele, sub)


def test_minutes_follow_the_rates():
    r = DEFAULT_RATES
    got = edit_effort("A pass costs $10 at the school office.", REF)
    read = 8 / r["read_wpm"]
    assert got["review_minutes"] == pytest.approx(read + 1 / r["compose_wpm"] + r["lookup_minutes"])
    assert got["scratch_minutes"] == pytest.approx(9 / r["compose_wpm"] + r["lookup_minutes"])
    assert got["saved_minutes"] == pytest.approx(got["scratch_minutes"] - got["review_minutes"])


def test_a_draft_that_must_be_rewritten_saves_nothing():
    got = edit_effort("Thank you for contacting us, someone will reply soon.", REF)
    assert got["saved_minutes"] <= 0


def test_missing_output_is_unscored_not_zero():
    got = edit_effort(None, REF)
    assert all(math.isnan(v) for v in got.values())


def test_registry_lists_and_rejects():
    assert "edit" in scorer_names()
    assert metrics()["review_minutes"].higher_is_better is False
    with pytest.raises(ValueError, match=r"valid scorers: .*edit"):
        get_scorer("edti")


def test_batch_scorer_keeps_rows_aligned():
    frame = pd.DataFrame(
        {"output": [REF, None, "x"], "reference": [REF, REF, REF]}, index=[10, 11, 12]
    )
    out = get_scorer("edit")(frame, None)
    assert list(out.index) == [10, 11, 12]
    assert out.loc[10, "word_similarity"] == 1.0
    assert math.isnan(out.loc[11, "word_similarity"])


text = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=80)


@settings(max_examples=200, deadline=None)
@given(text, text)
def test_properties_bounds_identity_symmetry(a, b):
    s = edit_effort(a, b)
    for k in ("char_similarity", "word_similarity"):
        assert 0.0 <= s[k] <= 1.0
    assert edit_effort(b, b)["char_similarity"] == 1.0
    assert edit_effort(b, b)["words_inserted_count"] == 0
    assert s["char_similarity"] == pytest.approx(edit_effort(b, a)["char_similarity"])
    assert s["review_minutes"] >= 0
    # word-level agrees with a plain reference implementation
    assert s["word_similarity"] == pytest.approx(_plain_word_similarity(words(a), words(b)))
    assert s["char_similarity"] == pytest.approx(Levenshtein.normalized_similarity(a, b))


def _plain_word_similarity(x: list[str], y: list[str]) -> float:
    if not x and not y:
        return 1.0
    prev = list(range(len(y) + 1))
    for i, wx in enumerate(x, 1):
        cur = [i]
        for j, wy in enumerate(y, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (wx != wy)))
        prev = cur
    return 1 - prev[-1] / max(len(x), len(y))


def test_the_light_rate_fit_equals_the_cross_validated_one():
    """Scoring fits the rates without scikit-learn; the result is fit_effort_rates' own."""
    import pytest as _pytest

    from harness.data.dataset import load_dataset
    from harness.scorers.edit import fit_effort_rates, rates_from_log

    from ..conftest import SAMPLE

    log = load_dataset(SAMPLE).pilot_log
    light, full = rates_from_log(log), fit_effort_rates(log)[0]
    assert light is not None and light.keys() == full.keys()
    for k in full:
        assert light[k] == _pytest.approx(full[k], rel=1e-6)
    assert rates_from_log(log.head(3)) is None  # too few timed entries to fit


def test_whether_minutes_are_fitted_is_read_from_the_log_without_fitting(monkeypatch):
    """Every report's decision asks whether the minutes rest on fitted rates: the answer is
    whether the log has enough timed entries to fit (as rates_from_log decides), found without
    running the fit (scipy.optimize's import alone is ~0.45 CPU s of each render)."""
    import harness.scorers.edit as edit
    from harness.data.dataset import load_dataset
    from harness.gates.evaluation import minutes_are_fitted

    from ..conftest import SAMPLE

    log = load_dataset(SAMPLE).pilot_log
    want = [edit.rates_from_log(x) is not None for x in (log, log.head(3), log.head(0))]
    assert want == [True, False, False]

    def no_fit(*a, **kw):
        raise AssertionError("fitted")

    monkeypatch.setattr(edit, "bounded_fit", no_fit)
    assert [minutes_are_fitted(x) for x in (log, log.head(3), log.head(0), None)] == [
        *want,
        False,
    ]


def test_the_bounded_fit_agrees_with_the_subset_search_and_scikit_learn():
    """scipy's lsq_linear with bounds finds the same non-negative fit as the exhaustive search
    over feature subsets it replaced, and as scikit-learn's positive LinearRegression, on the
    sample district's pilot log (tolerance: 1e-6 relative, 1e-9 absolute minutes)."""
    import itertools

    import numpy as np
    import pytest as _pytest
    from sklearn.linear_model import LinearRegression

    from harness.data.dataset import load_dataset
    from harness.scorers.edit import FIT_FEATURES, bounded_fit, pilot_effort_features

    from ..conftest import SAMPLE

    feats = pilot_effort_features(load_dataset(SAMPLE).pilot_log).dropna(subset=["minutes"])
    x = feats[list(FIT_FEATURES)].to_numpy(dtype=float)
    y = feats["minutes"].to_numpy(dtype=float)
    best = None
    for r in range(x.shape[1] + 1):  # the old exhaustive search, kept here as the reference
        for cols in itertools.combinations(range(x.shape[1]), r):
            a = np.column_stack([x[:, list(cols)], np.ones(len(x))])
            sol, *_ = np.linalg.lstsq(a, y, rcond=None)
            if (sol[:-1] < 0).any():
                continue
            sse = float(np.sum((a @ sol - y) ** 2))
            if best is None or sse < best[0] - 1e-12:
                coef = np.zeros(x.shape[1])
                coef[list(cols)] = sol[:-1]
                best = (sse, coef, float(sol[-1]))
    coef, intercept = bounded_fit(x, y)
    assert coef == _pytest.approx(best[1], rel=1e-6, abs=1e-9)
    assert intercept == _pytest.approx(best[2], rel=1e-6, abs=1e-9)
    sk = LinearRegression(positive=True).fit(x, y)
    assert coef == _pytest.approx(sk.coef_, rel=1e-6, abs=1e-9)
    assert (coef >= 0).all()


def test_prepare_fits_the_rates_ahead_only_when_scoring_will_use_them():
    """`harness run` lets the scorers prepare while its calls are in flight: the edit scorer
    fits its rates to the pilot log then, not after the last call."""
    from harness.data.dataset import load_dataset
    from harness.plan.spec import ScorerSpec
    from harness.scorers import edit
    from harness.scorers.scoring import prepare_scorers
    from tests.conftest import REPO

    ds = load_dataset(REPO / "datasets" / "sample-district")
    assert ds.pilot_log is not None and not ds.pilot_log.empty
    edit._FITTED.pop(ds.fingerprint, None)
    prepare_scorers([ScorerSpec(name="edit", options={"fit": False})], ds)
    assert ds.fingerprint not in edit._FITTED
    prepare_scorers([ScorerSpec(name="edit")], ds)
    assert edit._FITTED[ds.fingerprint] == edit.rates_from_log(ds.pilot_log)
