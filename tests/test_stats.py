from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harness import stats

finite = st.floats(min_value=-100, max_value=100, allow_nan=False, allow_infinity=False)


def long_scores(values: dict[str, list[float]], metric: str = "word_similarity") -> pd.DataFrame:
    rows = [
        {
            "key": f"i{i}|{c}|0",
            "item_id": f"i{i}",
            "candidate": c,
            "sample": 0,
            "metric": metric,
            "value": v,
        }
        for c, vals in values.items()
        for i, v in enumerate(vals)
    ]
    return pd.DataFrame(rows)


@pytest.mark.parametrize(
    ("pvalues", "expected"),
    [
        ([0.01, 0.04, 0.03], [0.03, 0.06, 0.06]),
        ([0.5], [0.5]),
        ([0.01, float("nan"), 0.02], [0.02, float("nan"), 0.02]),
        ([0.6, 0.7], [1.0, 1.0]),
        ([], []),
    ],
)
def test_holm_hand_checked(pvalues, expected):
    got = stats.holm(pvalues)
    assert np.allclose(got, expected, equal_nan=True)


@given(st.lists(st.floats(min_value=0, max_value=1), min_size=1, max_size=30))
def test_holm_never_below_raw_and_at_most_one(p):
    adj = stats.holm(p)
    assert np.all(adj >= np.asarray(p) - 1e-12)
    assert np.all(adj <= 1.0)
    order = np.argsort(p, kind="stable")
    assert np.all(np.diff(adj[order]) >= -1e-12)  # monotone in the raw order


@pytest.mark.parametrize(
    ("metric", "higher"),
    [
        ("word_similarity", True),
        ("review_minutes", False),
        ("saved_minutes", True),  # the registry says so, although it ends in _minutes
        ("made_up_count", False),
        ("made_up_minutes", False),
        ("made_up_score", True),
    ],
)
def test_direction(metric, higher):
    assert stats.higher_is_better(metric) is higher


@pytest.mark.parametrize(
    ("cand", "base", "higher", "expected"),
    [
        ([1, 2, 3], [0, 2, 4], True, (1, 1, 1)),
        ([1, 2, 3], [0, 2, 4], False, (1, 1, 1)),
        ([5, 5], [1, 1], False, (0, 0, 2)),
        ([1, float("nan")], [0, 0], True, (1, 0, 0)),
    ],
)
def test_win_tie_loss(cand, base, higher, expected):
    r = stats.win_tie_loss(cand, base, higher)
    assert (r["wins"], r["ties"], r["losses"]) == expected
    n = sum(expected)
    assert math.isclose(r["win_rate"] + r["tie_rate"] + r["loss_rate"], 1.0) or n == 0


@pytest.mark.parametrize(
    ("diffs", "small"),
    [([0.0] * 10, False), ([0.3 + 0.01 * i for i in range(20)], True), ([1, -1] * 10, False)],
)
def test_wilcoxon(diffs, small):
    p = stats.wilcoxon_p(diffs)
    assert (p < 0.01) is small
    assert stats.wilcoxon_p([0.0] * 5) == 1.0
    assert math.isnan(stats.wilcoxon_p([]))


@settings(max_examples=60, deadline=None)
@given(st.lists(finite, min_size=1, max_size=40))
def test_ci_contains_mean(x):
    mean, lo, hi = stats.bootstrap_ci(x, resamples=200)
    assert lo <= mean + 1e-9 and mean <= hi + 1e-9
    assert math.isclose(mean, float(np.mean(x)), rel_tol=1e-9, abs_tol=1e-9)


@settings(max_examples=60, deadline=None)
@given(st.lists(finite, min_size=1, max_size=40))
def test_identical_sides_differ_by_zero(x):
    assert stats.paired_bootstrap(x, x, resamples=200) == (0.0, 0.0, 0.0)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(finite, finite), min_size=1, max_size=40))
def test_swapping_sides_flips_sign(pairs):
    a, b = [p[0] for p in pairs], [p[1] for p in pairs]
    d, lo, hi = stats.paired_bootstrap(a, b, resamples=200)
    d2, lo2, hi2 = stats.paired_bootstrap(b, a, resamples=200)
    assert d == pytest.approx(-d2, abs=1e-9)
    assert lo == pytest.approx(-hi2, abs=1e-9) and hi == pytest.approx(-lo2, abs=1e-9)


@settings(max_examples=40, deadline=None)
@given(st.lists(finite, min_size=1, max_size=30), st.lists(finite, min_size=1, max_size=30))
def test_unpaired_interval_contains_difference(a, b):
    d, lo, hi = stats.unpaired_bootstrap(a, b, resamples=200)
    assert lo <= d + 1e-9 <= hi + 2e-9
    assert d == pytest.approx(np.mean(a) - np.mean(b), abs=1e-9)


def test_bootstrap_is_seeded():
    x = np.random.default_rng(1).random(50)
    assert stats.bootstrap_ci(x) == stats.bootstrap_ci(x)
    assert stats.bootstrap_ci(x, seed=1) != stats.bootstrap_ci(x, seed=2)


@pytest.mark.parametrize(
    ("metric", "cand", "base", "verdict", "gain_sign"),
    [
        ("word_similarity", [0.9] * 12, [0.5] * 12, "better", 1),
        ("word_similarity", [0.5] * 12, [0.9] * 12, "worse", -1),
        ("review_minutes", [2.0 + 0.01 * i for i in range(12)], [5.0] * 12, "better", 1),
        ("word_similarity", [0.5, 0.6] * 6, [0.6, 0.5] * 6, "no clear difference", 0),
    ],
)
def test_paired_comparisons_direction_aware(metric, cand, base, verdict, gain_sign):
    scores = long_scores({"ai": cand, "canned": base}, metric)
    comp = stats.paired_comparisons(scores, ["ai"], ["canned"], [metric])
    assert list(comp.columns) == stats.COMPARISON_COLUMNS
    r = comp.iloc[0]
    assert r["verdict"] == verdict
    assert r["n"] == 12
    assert np.sign(round(r["gain"], 9)) == gain_sign
    assert r["diff"] == pytest.approx(np.mean(cand) - np.mean(base))


def test_comparisons_pair_only_shared_items_and_holm_across_table():
    scores = long_scores({"ai": [0.9, 0.8, 0.7, float("nan")], "b1": [0.1, 0.2, 0.3, 0.4]})
    more = long_scores({"b2": [0.5, 0.5]})
    comp = stats.paired_comparisons(pd.concat([scores, more]), ["ai"], ["b1", "b2"])
    assert comp.set_index("baseline")["n"].to_dict() == {"b1": 3, "b2": 2}
    assert (comp["p_holm"] >= comp["p_value"]).all()


@pytest.mark.parametrize(
    ("margin", "shift", "expected"),
    [(0.1, -0.02, True), (0.01, -0.05, False), (0.0, 0.05, True), (0.05, -0.2, False)],
)
def test_non_inferiority(margin, shift, expected):
    base = [0.5 + 0.01 * (i % 5) for i in range(30)]
    cand = [b + shift for b in base]
    out = stats.non_inferiority(
        long_scores({"ai": cand, "staff": base}), "word_similarity", "ai", "staff", margin
    )
    assert bool(out.iloc[0]["non_inferior"]) is expected
    assert out.iloc[0]["margin"] == margin


def test_non_inferiority_refuses_negative_margin():
    with pytest.raises(ValueError, match="margin must be >= 0"):
        stats.non_inferiority(long_scores({"a": [1], "b": [1]}), "word_similarity", "a", "b", -1)


def test_by_category():
    scores = long_scores({"ai": [1.0, 0.0, 1.0, 0.0]})
    cats = pd.Series({"i0": "bus", "i1": "lunch", "i2": "bus", "i3": "lunch"})
    by = stats.summarize_by_category(scores, cats)
    assert by.set_index("category")["mean"].to_dict() == {"bus": 1.0, "lunch": 0.0}
    comp = stats.comparisons_by_category(
        long_scores({"ai": [1.0, 0.0, 1.0, 0.0], "b": [0.0, 0.0, 0.0, 1.0]}),
        cats,
        ["ai"],
        ["b"],
        ["word_similarity"],
    )
    assert comp.set_index("category")["diff"].to_dict() == {"bus": 1.0, "lunch": -0.5}


def test_summarize_keeps_unscored_apart():
    scores = long_scores({"ai": [1.0, float("nan"), 0.0]})
    s = stats.summarize(scores)
    assert s.iloc[0]["n"] == 2 and s.iloc[0]["unscored"] == 1 and s.iloc[0]["mean"] == 0.5


def test_holm_agrees_with_statsmodels_multipletests():
    # Kept by hand: statsmodels 0.15.0's multipletests(method="holm") runs gc.collect() on
    # every call (about 0.3 s each on a busy machine); the two must give the same p-values.
    from statsmodels.stats.multitest import multipletests

    rng = np.random.default_rng(3)
    for size in (1, 2, 5, 12):
        p = rng.uniform(0, 0.2, size=size)
        assert np.allclose(stats.holm(p), multipletests(p, method="holm")[1])


def test_bootstrap_p_hand_computed():
    # 2 of 9 resampled means at or below the bar: (2 + 1) / (9 + 1)
    reps = np.array([-0.5, 0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7])
    assert stats.bootstrap_p(reps, 0.0) == pytest.approx(0.3)
    rows = np.vstack([reps, reps + 1.0])  # one row per simulated pilot
    assert stats.bootstrap_p(rows, 0.0).tolist() == pytest.approx([0.3, 0.1])


def test_bca_interval_matches_a_hand_computed_bca():
    """BCa by hand on scipy's own bootstrap distribution: bias from the share of resampled
    means below the mean (a tie counts half), acceleration from the jackknife, then the
    adjusted percentiles."""
    from scipy.stats import bootstrap, norm

    x = np.array([0, 0, 0, 1, 0, 2, 0, 0, 1, 3, 0, 0, 5, 0, 1.0])  # revisions: skewed
    est, lo, hi = stats.bca_interval(x, resamples=999, seed=7)
    res = bootstrap((x,), np.mean, n_resamples=999, method="BCa", rng=np.random.default_rng(7))
    reps = res.bootstrap_distribution
    z0 = norm.ppf(((reps < x.mean()).sum() + (reps <= x.mean()).sum()) / (2 * reps.size))
    jack = np.array([np.delete(x, i).mean() for i in range(x.size)])
    dev = jack.mean() - jack
    a = (dev**3).sum() / (6 * ((dev**2).sum()) ** 1.5)
    ends = []
    for q in (0.025, 0.975):
        z = norm.ppf(q)
        ends.append(np.percentile(reps, 100 * norm.cdf(z0 + (z0 + z) / (1 - a * (z0 + z)))))
    assert est == pytest.approx(x.mean())
    assert (lo, hi) == pytest.approx(tuple(ends), abs=1e-9)
    assert hi - est > est - lo  # skewed to the right, as revision counts are
    # two independent samples: the first's mean minus the second's
    d, dlo, dhi = stats.bca_interval(x, x + 1.0, resamples=999)
    assert d == pytest.approx(-1.0) and dlo < -1.0 < dhi
    assert stats.bca_interval([2.0, 2.0, 2.0]) == (2.0, 2.0, 2.0)
    assert all(np.isnan(stats.bca_interval([]))) and stats.bca_interval([1.0])[1] == 1.0


def test_count_intervals_are_bca_and_agree_with_the_percentile_ones_on_the_sample_district():
    """Skewed counts (unsupported and superseded claims per draft: most drafts 0, a few several)
    get BCa intervals (scipy's ``bootstrap``); on the sample district's staff first drafts,
    scored by the real claims scorer, each end moves by at most 0.05 per draft or 20% of the
    percentile interval's width, whichever is larger; the mean does not move. Shares keep the
    percentile bootstrap. (The effort rates' bounded fit is checked against the old subset
    search in tests/scorers/test_edit.py.)"""
    from scipy.stats import skew

    from harness.data.dataset import load_dataset
    from harness.scorers import get_scorer

    from .conftest import SAMPLE

    ds = load_dataset(SAMPLE)
    items = ds.items[ds.items["staff_first_draft"].notna()]
    frame = items.reset_index(names="item_id").assign(output=items["staff_first_draft"].values)
    scored = get_scorer("claims")(frame, ds)
    assert len(scored) >= 50
    for metric in ("unsupported_claims_count", "superseded_claims_count"):
        values = scored[metric].to_numpy(dtype=float)
        assert skew(values) > 1  # skewed: the case BCa is for
        old = stats.bootstrap_ci(values)
        new = stats.mean_interval(values, metric)
        assert new == stats.bca_interval(values)
        assert new[0] == pytest.approx(old[0])
        tol = max(0.05, 0.2 * (old[2] - old[1]))
        assert abs(new[1] - old[1]) <= tol and abs(new[2] - old[2]) <= tol, (metric, old, new)
    share = scored["claim_support"].to_numpy(dtype=float)
    assert stats.mean_interval(share, "claim_support") == stats.bootstrap_ci(share)
    # above the size where the jackknife stays fast, the normal interval
    big = np.tile(scored["unsupported_claims_count"].to_numpy(dtype=float), 100)
    assert big.size > stats.BCA_MAX_N
    m, lo, hi = stats.mean_interval(big, "unsupported_claims_count")
    half = 1.959964 * big.std(ddof=1) / np.sqrt(big.size)
    assert (lo, hi) == pytest.approx((m - half, m + half), rel=1e-5)


def test_bca_interval_equals_scipy_bootstrap_without_importing_scipy_stats():
    """The numpy BCa gives scipy.stats.bootstrap's interval (same seed: same resamples) on
    skewed counts, one sample and two, and computing it (or a normal interval) never imports
    scipy.stats, whose import cost a CPU second of each report and `harness check`."""
    import subprocess
    import sys
    import warnings

    from scipy.stats import bootstrap

    rng = np.random.default_rng(3)
    checked = 0
    for seed in range(60):
        xs = [rng.poisson(rng.uniform(0.2, 3), int(rng.integers(3, 60))).astype(float)]
        if seed % 2:
            xs.append(rng.poisson(1.0, int(rng.integers(3, 40))).astype(float))

        def stat(*a, axis=-1):
            return a[0].mean(axis=axis) - (a[1].mean(axis=axis) if len(a) > 1 else 0.0)

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ref = bootstrap(tuple(xs), stat, n_resamples=999, method="BCa", vectorized=True,
                            rng=np.random.default_rng(seed)).confidence_interval  # fmt: skip
        if np.isnan(ref.low) or all(np.ptp(x) == 0 for x in xs):
            continue
        est, lo, hi = stats.bca_interval(*xs, resamples=999, seed=seed)
        assert (lo, hi) == pytest.approx((min(ref.low, est), max(ref.high, est)), abs=1e-9)
        checked += 1
    assert checked >= 50
    code = (
        "import sys, numpy as np; from harness import stats; "
        "stats.bca_interval([0, 0, 1, 3.0], [0, 1, 1, 2.0]); stats.bca_interval(np.arange(6000.0)); "
        "stats.bootstrap_ci(np.arange(30000.0)); print('scipy.stats' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
