"""Statistics for aggregates: seeded bootstrap confidence intervals, summaries per candidate."""

from __future__ import annotations

import numpy as np
import pandas as pd

DEFAULT_RESAMPLES = 2000
DEFAULT_SEED = 20261128


def bootstrap_ci(
    values: np.ndarray | pd.Series | list[float],
    level: float = 0.95,
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = DEFAULT_SEED,
) -> tuple[float, float, float]:
    """Mean and percentile bootstrap interval; NaN values are unscored and left out."""
    x = np.asarray(values, dtype=np.float64)
    x = x[~np.isnan(x)]
    if x.size == 0:
        return (np.nan, np.nan, np.nan)
    if x.size == 1:
        return (float(x[0]), float(x[0]), float(x[0]))
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, x.size, size=(resamples, x.size))
    means = x[idx].mean(axis=1)
    alpha = (1 - level) / 2
    lo, hi = np.quantile(means, [alpha, 1 - alpha])
    return (float(x.mean()), float(lo), float(hi))


def summarize(
    scores: pd.DataFrame,
    by: list[str] | None = None,
    level: float = 0.95,
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = DEFAULT_SEED,
) -> pd.DataFrame:
    """Mean with a bootstrap CI per group and metric; counts scored and unscored rows.

    Samples of one item are averaged first, so an item with 5 samples weighs as much as an
    item with 1 (the item is the unit of analysis).
    """
    by = by or ["candidate"]
    per_item = (
        scores.groupby([*by, "metric", "item_id"], sort=False, dropna=False)["value"]
        .mean()
        .reset_index()
    )
    rows = []
    for keys, grp in per_item.groupby([*by, "metric"], sort=False):
        mean, lo, hi = bootstrap_ci(grp["value"].to_numpy(), level, resamples, seed)
        keys = keys if isinstance(keys, tuple) else (keys,)
        rows.append(
            {
                **dict(zip([*by, "metric"], keys, strict=True)),
                "mean": mean,
                "ci_low": lo,
                "ci_high": hi,
                "n": int(grp["value"].notna().sum()),
                "unscored": int(grp["value"].isna().sum()),
            }
        )
    return pd.DataFrame(rows, columns=[*by, "metric", "mean", "ci_low", "ci_high", "n", "unscored"])
