"""The pilot's sample size: the closed form against a textbook case, the simulation of the gate's
rule against its own target, and Holm's rule against statsmodels."""

from __future__ import annotations

import numpy as np
import pytest

import harness.pilot.sample as sample


@pytest.mark.parametrize(
    ("d", "expected"),
    [
        # G*Power 3.1, t tests, matched pairs, two tails, alpha 0.05, power 0.80 (Faul et al. 2007;
        # Cohen 1988 table 2.4.1 gives the same to within one): the lower end of a 95% interval
        # clearing the bar is the one-sided test at 0.025
        (0.5, 34),
        (0.8, 15),
        (0.2, 199),
    ],
)
def test_closed_form_matches_the_textbook_within_one_draft(d, expected):
    n = sample.closed_form_n(effect=d * 3.0, bar=0.0, sd=3.0, level=0.95, power=0.8)
    assert abs(n - expected) <= 1


def test_an_effect_that_does_not_clear_the_bar_is_out_of_reach():
    assert sample.closed_form_n(1.0, 1.0, 2.0) > sample.MAX_DRAFTS
    assert sample.needed_n([sample.MeasureSpec("m", 0.5, 1.0, 2.0)], 0, staff=3) is None


def test_holm_gives_the_same_decisions_as_statsmodels():
    from statsmodels.stats.multitest import multipletests

    rng = np.random.default_rng(7)
    p = rng.uniform(0, 0.06, size=(12, 3))
    ours = sample.holm_reject(p, 0.025)
    for row, mine in zip(p, ours, strict=True):
        assert mine.tolist() == multipletests(row, alpha=0.025, method="holm")[0].tolist()
    assert ours.any() and not ours.all()  # the sample holds both kinds of decision


def test_at_the_stated_size_the_gate_clears_in_80_percent_of_1000_simulated_pilots():
    specs = [
        sample.MeasureSpec("minutes", effect=4.0, bar=0.0, sd=8.0, sd_between=1.0),
        sample.MeasureSpec("drafts used", effect=0.3, bar=0.0, sd=0.46, share=True),
    ]
    n = sample.needed_n(specs, 0, staff=3, seed=11)
    assert n is not None
    fresh = sample.simulate_power(specs, n, staff=3, sims=1000, seed=12345)[0]
    assert 0.75 <= fresh <= 0.85
    # one draft fewer is not enough, by the search's own seed
    assert sample.simulate_power(specs, n - 1, staff=3, seed=11)[0] < 0.8
    # the closed form (no reviewers, no Holm) is a first guess the simulation corrects
    guess = sample.closed_form_n(4.0, 0.0, 8.0)
    assert abs(guess - n) / n < 0.5
