"""The phase comparison's "no worse than before?" test: statsmodels' paired non-inferiority
half, against the t-test computed by hand (moved here from tests/test_stats.py with the
function)."""

from __future__ import annotations

import numpy as np
import pytest

from harness.gates.noninferior import noninferior_paired


def test_noninferior_paired_matches_the_hand_computed_t_test():
    from scipy.stats import t

    after = np.array([0.8, 0.7, 0.9, 0.6, 0.75])
    before = np.array([0.82, 0.71, 0.85, 0.66, 0.7])
    d = after - before
    tstat = (d.mean() + 0.05) / (d.std(ddof=1) / np.sqrt(d.size))
    assert noninferior_paired(after, before, 0.05) == pytest.approx(t.sf(tstat, 4))
    # lower is better: the same pairs turned around
    assert noninferior_paired(-after, -before, 0.05, higher_better=False) == pytest.approx(
        t.sf(tstat, 4)
    )
    assert np.isnan(noninferior_paired([1.0], [1.0], 0.1))
