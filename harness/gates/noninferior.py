"""No worse than before? The paired non-inferiority test of the phase comparison's column, from
statsmodels (``ttost_paired``'s lower half), imported when called, never on the scoring path."""

from __future__ import annotations

import numpy as np
import pandas as pd


def noninferior_paired(
    after: np.ndarray | pd.Series | list[float],
    before: np.ndarray | pd.Series | list[float],
    margin: float,
    higher_better: bool = True,
) -> float:
    """One-sided p-value that ``after`` is worse than ``before`` by ``margin`` or more, on pairs:
    the non-inferiority half of statsmodels' ``ttost_paired`` (imported here, never on the
    scoring path). NaN pairs are left out; NaN below 2 pairs."""
    a = np.asarray(after, dtype=np.float64)
    b = np.asarray(before, dtype=np.float64)
    keep = ~(np.isnan(a) | np.isnan(b))
    a, b = a[keep], b[keep]
    if a.size < 2:
        return float("nan")
    if not higher_better:  # turn it so that higher is better
        a, b = -a, -b
    d = a - b
    if np.ptp(d) == 0:
        return 0.0 if d[0] > -margin else 1.0
    from statsmodels.stats.weightstats import ttost_paired

    _, lower, _ = ttost_paired(a, b, -float(margin), np.inf)
    return float(lower[1])
