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


def test_the_simulation_judges_two_phases_as_the_gate_judges_a_pilot_log():
    """The simulated pilots are the gate's: generate pilot logs from the same model (replies
    before the pilot, reviewed drafts during it, three staff), judge each with the gates' own
    code (``outcomes`` then ``bootstrap_p``), and the share that clears agrees with the
    simulation's power within Monte Carlo error (100 logs: +-0.13 is about three standard errors)."""
    import pandas as pd

    from harness.gates.pilot_log import outcomes
    from harness.stats import bootstrap_p

    spec = sample.MeasureSpec("minutes", effect=3.0, bar=0.0, sd=6.0, sd_before=5.0)
    n, staff = 16, 3
    sim = sample.simulate_power([spec], n, staff, sims=1000, seed=3)[0]
    assert 0.3 < sim < 0.9  # a size where a wrong rule would show
    rng = np.random.default_rng(99)
    sd_b, sd_d = spec.phase_sds()
    assert sd_b == 5.0 and abs(sd_d**2 + sd_b**2 - 36.0) < 1e-9
    who = [f"staff_{i % staff}" for i in range(n)]
    cleared = 0
    for k in range(100):
        log = pd.DataFrame(
            {
                "entry_id": [f"e{i}" for i in range(2 * n)],
                "phase": ["baseline"] * n + ["pilot"] * n,
                "staff_member": who + who,
                "review_minutes": np.r_[
                    10 + rng.normal(0, sd_b, n), 10 - spec.effect + rng.normal(0, sd_d, n)
                ],
                "revision_count": 0,
                "approved": "yes",
            }
        )
        out = outcomes(log, resamples=sample.SIM_RESAMPLES, seed=k)
        reps = np.asarray(out.attrs["replicates"]["minutes_saved_per_reply"])
        cleared += bootstrap_p(reps, spec.bar) <= 0.025
    assert abs(cleared / 100 - sim) <= 0.13
