"""Statistics: seeded bootstrap intervals, paired comparisons against baselines, win rates.

The item is the unit of analysis: samples of one item are averaged first. Every interval is a
seeded bootstrap (percentile; BCa for skewed counts, :func:`mean_interval`), so a report
rendered twice shows the same numbers. Every function that returns a table returns a DataFrame
the notebooks plot. The paired non-inferiority test from statsmodels is
:func:`harness.gates.noninferior.noninferior_paired`.
"""

from __future__ import annotations

import math
from statistics import NormalDist
from typing import Any

import numpy as np
import pandas as pd

DEFAULT_RESAMPLES = 2000
DEFAULT_SEED = 20261128
# The fewest scored questions that count as evidence: below it a gate, a slice or a language is
# "not enough evidence" (the readiness decision's one minimum n; a gate may set its own min_n).
MIN_N = 10
LARGE_N = 20_000  # above this many items, intervals use the normal approximation


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
    if x.size > LARGE_N:
        # The bootstrap of a mean converges to the normal interval; at this size they agree to
        # the third decimal, and resampling would need resamples x n memory.
        mean = float(x.mean())
        half = float(NormalDist().inv_cdf(1 - (1 - level) / 2) * x.std(ddof=1) / np.sqrt(x.size))
        return (mean, mean - half, mean + half)
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, x.size, size=(resamples, x.size))
    means = x[idx].mean(axis=1)
    alpha = (1 - level) / 2
    lo, hi = np.quantile(means, [alpha, 1 - alpha])
    mean = float(x.mean())
    return (mean, float(min(lo, mean)), float(max(hi, mean)))


def summarize(
    scores: pd.DataFrame,
    by: list[str] | None = None,
    level: float = 0.95,
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = DEFAULT_SEED,
) -> pd.DataFrame:
    """Mean with an interval per group and metric (:func:`mean_interval`: BCa for counts);
    counts scored and unscored rows.

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
        keys = keys if isinstance(keys, tuple) else (keys,)
        mean, lo, hi = mean_interval(grp["value"].to_numpy(), str(keys[-1]), level, resamples, seed)
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


# ---------------------------------------------------------------------------------------------
# Direction, per-item means, paired comparisons
# ---------------------------------------------------------------------------------------------

COMPARISON_COLUMNS = [
    "metric",
    "candidate",
    "baseline",
    "higher_is_better",
    "n",
    "candidate_mean",
    "baseline_mean",
    "diff",
    "diff_low",
    "diff_high",
    "gain",
    "gain_low",
    "gain_high",
    "wins",
    "ties",
    "losses",
    "win_rate",
    "tie_rate",
    "loss_rate",
    "p_value",
    "p_holm",
    "verdict",
]


def higher_is_better(metric: str) -> bool:
    """Direction of a metric (its one definition: :func:`harness.metrics.metric_def`)."""
    from harness.metrics import metric_def

    return metric_def(metric).higher_is_better


def per_item(scores: pd.DataFrame, by: list[str] | None = None) -> pd.DataFrame:
    """Average the samples of each item: one row per (by..., metric, item_id)."""
    by = by or ["candidate"]
    return (
        scores.groupby([*by, "metric", "item_id"], sort=False, dropna=False)["value"]
        .mean()
        .reset_index()
    )


def paired_values(scores: pd.DataFrame, metric: str, candidate: str, baseline: str) -> pd.DataFrame:
    """Per-item means of candidate and baseline on the items both have scored (index item_id)."""
    s = scores[(scores["metric"] == metric) & scores["candidate"].isin([candidate, baseline])]
    wide = s.groupby(["item_id", "candidate"])["value"].mean().unstack("candidate")
    for c in (candidate, baseline):
        if c not in wide.columns:
            wide[c] = np.nan
    wide = wide[[candidate, baseline]].dropna()
    wide.columns = pd.Index(["candidate", "baseline"])
    return wide


def paired_bootstrap(
    candidate: np.ndarray | pd.Series | list[float],
    baseline: np.ndarray | pd.Series | list[float],
    level: float = 0.95,
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = DEFAULT_SEED,
) -> tuple[float, float, float]:
    """Mean of candidate - baseline over the same items, with a paired percentile bootstrap CI.

    Pairs where either side is NaN (unscored) are left out.
    """
    a = np.asarray(candidate, dtype=np.float64)
    b = np.asarray(baseline, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"paired values need equal lengths, got {a.size} and {b.size}")
    keep = ~(np.isnan(a) | np.isnan(b))
    return bootstrap_ci(a[keep] - b[keep], level, resamples, seed)


def unpaired_replicates(
    candidate: np.ndarray | pd.Series | list[float],
    baseline: np.ndarray | pd.Series | list[float],
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = DEFAULT_SEED,
) -> tuple[float, np.ndarray]:
    """Difference of means of two independent groups and its two-sample bootstrap replicates
    (NaN and an empty array when a group is empty)."""
    a = np.asarray(candidate, dtype=np.float64)
    b = np.asarray(baseline, dtype=np.float64)
    a, b = a[~np.isnan(a)], b[~np.isnan(b)]
    if a.size == 0 or b.size == 0:
        return (np.nan, np.empty(0))
    rng = np.random.default_rng(seed)
    ma = a[rng.integers(0, a.size, size=(resamples, a.size))].mean(axis=1)
    mb = b[rng.integers(0, b.size, size=(resamples, b.size))].mean(axis=1)
    return (float(a.mean() - b.mean()), ma - mb)


def unpaired_bootstrap(
    candidate: np.ndarray | pd.Series | list[float],
    baseline: np.ndarray | pd.Series | list[float],
    level: float = 0.95,
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = DEFAULT_SEED,
) -> tuple[float, float, float]:
    """Difference of means of two independent groups, with a two-sample bootstrap CI."""
    diff, reps = unpaired_replicates(candidate, baseline, resamples, seed)
    if reps.size == 0:
        return (np.nan, np.nan, np.nan)
    alpha = (1 - level) / 2
    lo, hi = np.quantile(reps, [alpha, 1 - alpha])
    return (diff, float(min(lo, diff)), float(max(hi, diff)))


def bootstrap_p(replicates: np.ndarray, bar: float | np.ndarray) -> np.ndarray | float:
    """One-sided bootstrap p-value that an improvement does not exceed ``bar``: resampled means
    at or below it, ``(count + 1) / (resamples + 1)``, along the last axis (one row per simulated
    pilot). The readiness gates and the pilot's sample simulation both use it."""
    r = np.asarray(replicates, dtype=np.float64)
    bar_arr = np.asarray(bar, dtype=np.float64)
    if r.ndim > 1 and bar_arr.ndim:
        bar_arr = bar_arr[..., None]
    p = ((r <= bar_arr).sum(axis=-1) + 1) / (r.shape[-1] + 1)
    return float(p) if np.ndim(p) == 0 else p


def wilcoxon_p(diffs: np.ndarray | pd.Series | list[float]) -> float:
    """Two-sided Wilcoxon signed-rank p-value of paired differences (1.0 when all are zero)."""
    d = np.asarray(diffs, dtype=np.float64)
    d = d[~np.isnan(d)]
    if d.size == 0:
        return float("nan")
    if np.all(d == 0):
        return 1.0
    from scipy.stats import wilcoxon

    return float(wilcoxon(d, zero_method="wilcox", alternative="two-sided").pvalue)


def holm(pvalues: np.ndarray | pd.Series | list[float]) -> np.ndarray:
    """Holm step-down adjusted p-values (family-wise error); NaN stays NaN and is not counted."""
    p = np.asarray(pvalues, dtype=np.float64)
    out = np.full(p.shape, np.nan)
    ok = np.flatnonzero(~np.isnan(p))
    m = ok.size
    if m == 0:
        return out
    order = ok[np.argsort(p[ok], kind="stable")]
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p[i]))
        out[i] = running
    return out


def holm_reject(pvals: np.ndarray | list[float], alpha: float) -> np.ndarray:
    """Holm's step-down rejections at family-wise level ``alpha``, for each row of p-values.

    One row is one family (the required pilot gates of a phase; one simulated pilot). The
    readiness gates (:mod:`harness.gates.evaluation`) and the pilot's sample simulation
    (:mod:`harness.pilot.sample`) both decide with this function, so the protocol simulates
    the rule the gates apply. The same decisions as
    ``statsmodels.stats.multitest.multipletests(row, alpha, "holm")`` (tested), for thousands of
    rows at once: statsmodels 0.15.0's ``multipletests`` runs a full ``gc.collect()`` per call.
    """
    p = np.atleast_2d(np.asarray(pvals, dtype=np.float64))
    k = p.shape[1]
    order = np.argsort(p, axis=1, kind="stable")
    ranked = np.take_along_axis(p, order, axis=1)
    steps = alpha / (k - np.arange(k))
    keep = np.cumprod(ranked <= steps, axis=1).astype(bool)
    out = np.zeros_like(keep)
    np.put_along_axis(out, order, keep, axis=1)
    return out


def win_tie_loss(
    candidate: np.ndarray | pd.Series | list[float],
    baseline: np.ndarray | pd.Series | list[float],
    higher_better: bool = True,
    tie_tolerance: float = 1e-9,
) -> dict[str, float]:
    """Counts and rates of items where the candidate is better, equal or worse than the baseline."""
    a = np.asarray(candidate, dtype=np.float64)
    b = np.asarray(baseline, dtype=np.float64)
    keep = ~(np.isnan(a) | np.isnan(b))
    gain = (a[keep] - b[keep]) * (1.0 if higher_better else -1.0)
    n = int(gain.size)
    wins = int((gain > tie_tolerance).sum())
    losses = int((gain < -tie_tolerance).sum())
    ties = n - wins - losses
    rate = (lambda k: k / n) if n else (lambda k: float("nan"))
    return {
        "wins": wins,
        "ties": ties,
        "losses": losses,
        "win_rate": rate(wins),
        "tie_rate": rate(ties),
        "loss_rate": rate(losses),
    }


def _compare_one(
    pairs: pd.DataFrame,
    metric: str,
    higher: bool,
    level: float,
    resamples: int,
    seed: int,
) -> dict[str, Any]:
    a, b = pairs["candidate"].to_numpy(), pairs["baseline"].to_numpy()
    diff, lo, hi = paired_bootstrap(a, b, level, resamples, seed)
    gain, g_lo, g_hi = (diff, lo, hi) if higher else (-diff, -hi, -lo)
    return {
        "metric": metric,
        "higher_is_better": higher,
        "n": len(pairs),
        "candidate_mean": float(a.mean()) if len(a) else np.nan,
        "baseline_mean": float(b.mean()) if len(b) else np.nan,
        "diff": diff,
        "diff_low": lo,
        "diff_high": hi,
        "gain": gain,
        "gain_low": g_lo,
        "gain_high": g_hi,
        **win_tie_loss(a, b, higher),
        "p_value": wilcoxon_p(a - b),
    }


def _verdict(row: pd.Series, alpha: float) -> str:
    if row["n"] == 0 or pd.isna(row["gain"]):
        return "no paired items"
    if row["gain_low"] > 0 and (pd.isna(row["p_holm"]) or row["p_holm"] < alpha):
        return "better"
    if row["gain_high"] < 0 and (pd.isna(row["p_holm"]) or row["p_holm"] < alpha):
        return "worse"
    if row["gain_low"] > 0 or row["gain_high"] < 0:
        return "could be chance"  # the interval excludes 0, the Holm-corrected test does not
    return "no clear difference"


def paired_comparisons(
    scores: pd.DataFrame,
    candidates: list[str],
    baselines: list[str],
    metrics: list[str] | None = None,
    level: float = 0.95,
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = DEFAULT_SEED,
) -> pd.DataFrame:
    """Each candidate against each baseline on the same items, per metric.

    ``diff`` is candidate - baseline in the metric's own units; ``gain`` is the same difference
    turned so that positive always means the candidate is better (a ``_minutes`` or ``_count``
    metric gains when it falls). The p-values (Wilcoxon signed-rank) are Holm-corrected across
    every comparison in the table; ``verdict`` needs both the interval and the corrected p-value.
    """
    names = metrics if metrics is not None else sorted(scores["metric"].unique())
    rows = []
    for metric in names:
        higher = higher_is_better(metric)
        for cand in candidates:
            for base in baselines:
                if cand == base:
                    continue
                pairs = paired_values(scores, metric, cand, base)
                rows.append(
                    {
                        **_compare_one(pairs, metric, higher, level, resamples, seed),
                        "candidate": cand,
                        "baseline": base,
                    }
                )
    frame = pd.DataFrame(rows, columns=[c for c in COMPARISON_COLUMNS if c != "verdict"])
    frame["p_holm"] = holm(frame["p_value"].to_numpy()) if len(frame) else []
    alpha = 1 - level
    frame["verdict"] = [_verdict(r, alpha) for _, r in frame.iterrows()] if len(frame) else []
    return frame[COMPARISON_COLUMNS]


def non_inferiority(
    scores: pd.DataFrame,
    metric: str,
    candidate: str,
    baseline: str,
    margin: float,
    level: float = 0.95,
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = DEFAULT_SEED,
) -> pd.DataFrame:
    """Is the candidate no worse than the baseline by more than ``margin`` (metric units)?

    Non-inferior when the lower end of the interval of the gain (candidate better = positive)
    stays above ``-margin``. One row: the evidence and ``non_inferior`` (bool).
    """
    if margin < 0:
        raise ValueError(f"margin must be >= 0, got {margin}")
    pairs = paired_values(scores, metric, candidate, baseline)
    row = _compare_one(pairs, metric, higher_is_better(metric), level, resamples, seed)
    row.update(candidate=candidate, baseline=baseline, margin=margin)
    row["non_inferior"] = bool(row["n"] > 0 and row["gain_low"] > -margin)
    return pd.DataFrame([row])


def summarize_by_category(
    scores: pd.DataFrame,
    categories: pd.Series,
    level: float = 0.95,
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = DEFAULT_SEED,
) -> pd.DataFrame:
    """Mean with a bootstrap CI per category, candidate and metric (``categories``: item_id -> category)."""
    s = scores.assign(category=scores["item_id"].map(categories).fillna("(none)"))
    return summarize(s, by=["category", "candidate"], level=level, resamples=resamples, seed=seed)


def comparisons_by_category(
    scores: pd.DataFrame,
    categories: pd.Series,
    candidates: list[str],
    baselines: list[str],
    metrics: list[str],
    level: float = 0.95,
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = DEFAULT_SEED,
) -> pd.DataFrame:
    """Paired comparisons within each category (Holm-corrected within the whole table)."""
    s = scores.assign(category=scores["item_id"].map(categories).fillna("(none)"))
    parts = []
    for cat, grp in s.groupby("category", sort=True):
        part = paired_comparisons(grp, candidates, baselines, metrics, level, resamples, seed)
        parts.append(part.assign(category=cat))
    if not parts:
        return pd.DataFrame(columns=["category", *COMPARISON_COLUMNS])
    frame = pd.concat(parts, ignore_index=True)
    frame["p_holm"] = holm(frame["p_value"].to_numpy())
    alpha = 1 - level
    frame["verdict"] = [_verdict(r, alpha) for _, r in frame.iterrows()]
    return frame[["category", *COMPARISON_COLUMNS]]


BCA_MAX_N = 5000  # above this many values the BCa jackknife is slow: the normal interval


def bca_interval(
    *samples: np.ndarray | pd.Series | list[float],
    level: float = 0.95,
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = DEFAULT_SEED,
) -> tuple[float, float, float]:
    """Estimate and BCa bootstrap interval of one sample's mean, or of the first's mean minus
    the second's (BCa corrects for bias and skew: revisions per reply pile up at 0), computed as
    ``scipy.stats.bootstrap(method="BCa")`` does, in numpy (tests/test_stats.py: importing
    scipy.stats cost a CPU second of each report). NaN is left out; above :data:`BCA_MAX_N`
    values, the normal interval; no spread: the estimate twice; BCa undefined: percentile."""
    xs = [np.asarray(s, dtype=np.float64) for s in samples]
    xs = [x[~np.isnan(x)] for x in xs]
    if not xs or any(x.size == 0 for x in xs):
        return (np.nan, np.nan, np.nan)
    est = float(xs[0].mean() - (xs[1].mean() if len(xs) > 1 else 0.0))
    if any(x.size < 2 for x in xs) or all(np.ptp(x) == 0 for x in xs):
        return (est, est, est)
    if sum(x.size for x in xs) > BCA_MAX_N:
        se = float(np.sqrt(sum(x.var(ddof=1) / x.size for x in xs)))
        half = NormalDist().inv_cdf(1 - (1 - level) / 2) * se
        return (est, est - half, est + half)
    rng = np.random.default_rng(seed)
    means = [x[rng.integers(0, x.size, (resamples, x.size))].mean(axis=-1) for x in xs]
    reps = means[0] - means[1] if len(means) > 1 else means[0]
    with np.errstate(divide="ignore", invalid="ignore"):
        z0 = _ndtri(((reps < est).sum() + (reps <= est).sum()) / (2 * reps.size))
        nums = dens = 0.0  # the jackknife (leave one out) of each sample, for the acceleration
        for sign, x in zip((1.0, -1.0), xs, strict=False):
            u = sign * (x - x.mean())  # (n - 1) x (mean of the jackknife means - each one)
            nums, dens = nums + (u**3).sum() / x.size**3, dens + (u**2).sum() / x.size**2
        a = nums / dens**1.5 / 6 if dens > 0 else np.nan
        z = _ndtri((1 - level) / 2)
        ends = [_ndtr(z0 + (z0 + q) / (1 - a * (z0 + q))) for q in (z, -z)]
    if not all(0.0 <= e <= 1.0 for e in ends):  # NaN too: the percentile interval instead
        two = unpaired_bootstrap(xs[0], xs[1], level, resamples, seed) if len(xs) > 1 else None
        return two or bootstrap_ci(xs[0], level, resamples, seed)
    lo, hi = (float(v) for v in np.quantile(reps, ends))
    return (est, min(lo, est), max(hi, est))


def _ndtri(p: float) -> float:  # the standard normal quantile (scipy's ndtri): +-inf at 1, 0
    return NormalDist().inv_cdf(p) if 0 < p < 1 else (-math.inf if p == 0 else math.inf)


def _ndtr(z: float) -> float:  # the standard normal CDF (scipy's ndtr), NaN kept
    return 0.5 * math.erfc(-z / math.sqrt(2))


def mean_interval(
    values: np.ndarray | pd.Series | list[float],
    metric: str,
    level: float = 0.95,
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = DEFAULT_SEED,
) -> tuple[float, float, float]:
    """Mean and interval of a metric's per-item values, by the metric's kind: a count (most
    drafts 0, a few many: unsupported claims per draft) gets the BCa interval
    (:func:`bca_interval`; the normal interval above :data:`BCA_MAX_N` values), any other
    metric the percentile bootstrap (:func:`bootstrap_ci`). Tables, figures and gates all
    call this, so a number and its interval are the same everywhere."""
    from harness.metrics import metric_def

    if metric_def(metric).kind == "count":
        return bca_interval(values, level=level, resamples=resamples, seed=seed)
    return bootstrap_ci(values, level, resamples, seed)
