"""Agreement between two reviewers of the same draft: Cohen's kappa with a bootstrap interval.

Criteria (1-5) use the quadratic-weighted kappa of :mod:`harness.scorers.calibration`; the
approve/reject decision uses the plain kappa. The interval resamples the doubly reviewed
drafts (seeded percentile bootstrap).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

DEFAULT_RESAMPLES = 1000


def _pairs(r: pd.DataFrame) -> pd.DataFrame:
    """Drafts judged by two reviewers: one row per draft with both reviewers' answers."""
    j = r
    if j.empty:
        return pd.DataFrame()
    j = j.sort_values(["draft_id", "reviewer"])
    firsts, seconds = [], []
    for _, g in j.groupby("draft_id", sort=True):
        if len(g) >= 2:
            firsts.append(g.iloc[0])
            seconds.append(g.iloc[1])
    return pd.DataFrame({"a": firsts, "b": seconds}) if firsts else pd.DataFrame()


def _kappa(x: np.ndarray, y: np.ndarray, weighted: bool) -> float:
    from sklearn.metrics import cohen_kappa_score

    from harness.scorers.calibration import weighted_kappa

    if len(x) == 0:
        return np.nan
    if weighted:
        return weighted_kappa(x, y)
    if len(set(x.tolist()) | set(y.tolist())) < 2:
        return np.nan
    return float(cohen_kappa_score(x, y))


def kappa_ci(
    x: np.ndarray,
    y: np.ndarray,
    *,
    weighted: bool,
    level: float = 0.95,
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = 0,
) -> tuple[float, float, float]:
    """Cohen's kappa of two raters (quadratic-weighted for 1-5 scores) with a bootstrap interval.

    The resamples are drawn one by one from the seeded generator as always; their kappas are
    computed together from per-resample confusion matrices (:func:`_resampled_kappas`, the
    formula of scikit-learn's ``cohen_kappa_score``), not by a call per resample."""
    k = _kappa(x, y, weighted)
    if np.isnan(k):
        return k, np.nan, np.nan
    rng = np.random.default_rng(seed)
    idx = np.array([rng.integers(0, len(x), size=len(x)) for _ in range(resamples)])
    reps = _resampled_kappas(x, y, idx.reshape(resamples, len(x)), weighted)
    reps = reps[~np.isnan(reps)]
    if not len(reps):
        return k, np.nan, np.nan
    alpha = (1 - level) / 2
    lo, hi = np.quantile(reps, [alpha, 1 - alpha])
    return k, float(min(lo, k)), float(max(hi, k))


def _resampled_kappas(x: np.ndarray, y: np.ndarray, idx: np.ndarray, weighted: bool) -> np.ndarray:
    """The kappa of each resample (a row of ``idx``, positions into ``x`` and ``y``): NaN where
    the resample holds one label only, as :func:`_kappa` says. Weighted: quadratic weights over
    the 1-5 half-point grid (:func:`harness.scorers.calibration.weighted_kappa`); plain: 0/1."""
    from harness.scorers.calibration import GRID, grid_index

    if weighted:
        ix, iy, n_labels = grid_index(x), grid_index(y), len(GRID)
    else:
        labels, codes = np.unique(np.concatenate([x, y]), return_inverse=True)
        ix, iy, n_labels = codes[: len(x)], codes[len(x) :], len(labels)
    r, _ = idx.shape
    # a pair off the labels (a NaN rating) is left out, as scikit-learn's labels= leaves it out
    ok = (ix >= 0) & (ix < n_labels) & (iy >= 0) & (iy < n_labels)
    ix, iy = np.where(ok, ix, 0), np.where(ok, iy, 0)
    cells = (np.arange(r)[:, None] * n_labels + ix[idx]) * n_labels + iy[idx]
    conf = np.bincount(cells.ravel(), ok[idx].ravel().astype(float), r * n_labels * n_labels)
    conf = conf.reshape(r, n_labels, n_labels)  # [resample, x label, y label]
    sum0, sum1 = conf.sum(axis=1), conf.sum(axis=2)  # y's labels, x's labels
    with np.errstate(divide="ignore", invalid="ignore"):
        expected = sum0[:, :, None] * sum1[:, None, :] / conf.sum(axis=(1, 2))[:, None, None]
    grid = np.arange(n_labels)
    w = (grid[:, None] - grid[None, :]) ** 2.0 if weighted else 1.0 - np.eye(n_labels)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = 1.0 - (w * conf).sum(axis=(1, 2)) / (w * expected).sum(axis=(1, 2))
    out[((sum0 + sum1) > 0).sum(axis=1) < 2] = np.nan
    return out


def agreement_table(
    judged: pd.DataFrame, level: float = 0.95, resamples: int = DEFAULT_RESAMPLES, seed: int = 0
) -> pd.DataFrame:
    """Agreement between two reviewers of the same draft, per criterion and for the decision.

    Columns: ``pairs``, ``kappa`` (quadratic-weighted for criteria, plain for approve/reject),
    ``ci_low``, ``ci_high`` (bootstrap over drafts), ``exact`` (share of equal answers).
    """
    cols = ["pairs", "kappa", "ci_low", "ci_high", "exact"]
    p = _pairs(judged)
    if p.empty:
        return pd.DataFrame(columns=cols).rename_axis("measure")
    crits = sorted({k for rr in p["a"] for k in rr["ratings"]})
    rows = {}
    for c in crits:
        both = [
            (a["ratings"][c], b["ratings"][c])
            for a, b in zip(p["a"], p["b"], strict=True)
            if c in a["ratings"] and c in b["ratings"]
        ]
        x = np.array([u for u, _ in both], dtype=float)
        y = np.array([v for _, v in both], dtype=float)
        k, lo, hi = kappa_ci(x, y, weighted=True, level=level, resamples=resamples, seed=seed)
        rows[c] = [len(both), k, lo, hi, float(np.mean(x == y)) if len(both) else np.nan]
    x = np.array([a["decision"] == "approved" for a in p["a"]], dtype=float)
    y = np.array([b["decision"] == "approved" for b in p["b"]], dtype=float)
    k, lo, hi = kappa_ci(x, y, weighted=False, level=level, resamples=resamples, seed=seed)
    rows["decision"] = [len(x), k, lo, hi, float(np.mean(x == y))]
    out = pd.DataFrame.from_dict(rows, orient="index", columns=cols).rename_axis("measure")
    return out.astype({"pairs": "int64"} | {c: "float64" for c in cols[1:]})
