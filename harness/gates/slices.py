"""Slices: does every group of families get the same quality?

A *slice field* is any item field (``language``, ``channel``, ``school``, ``grade_band``, a
paraphrase ``variant`` when the dataset has one) or a derived one (:data:`DERIVED`:
``length_band``, the length of the family's message). :func:`slice_table` gives, per candidate,
slice and metric, the mean with a seeded bootstrap interval (``harness.stats``), the number of
questions scored and a ``small`` flag below ``min_n`` (default :data:`MIN_N`): a small slice is
"not enough data", never a silent pass or fail. :func:`gap_interval` is the interval of the gap
between the best and the worst slice that the ``max_gap_by`` gates judge; :func:`slice_figure`
draws one metric per slice and candidate with the gate floor.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from harness.data.languages import language_name
from harness.errors import PlanError, Problem
from harness.stats import (
    DEFAULT_RESAMPLES,
    DEFAULT_SEED,
    MIN_N,
    higher_is_better,
    mean_interval,
)
from harness.textsafe import mpl

NONE_LABEL = "(none)"
SLICE_COLUMNS = ["candidate", "by", "slice", "metric", "mean", "low", "high", "n", "small"]
# (upper bound in words, label): a family's message of that many words or fewer
LENGTH_BANDS: tuple[tuple[float, str], ...] = (
    (30, "short (up to 30 words)"),
    (90, "medium (31-90 words)"),
    (math.inf, "long (over 90 words)"),
)
# Okabe-Ito: distinguishable with the common colour-vision deficiencies
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000"]


def length_band(text: Any) -> str:
    """The length band of a message (:data:`LENGTH_BANDS`); ``(none)`` without text."""
    if not isinstance(text, str) or not text.strip():
        return NONE_LABEL
    words = len(text.split())
    return next(label for top, label in LENGTH_BANDS if words <= top)


DERIVED: dict[str, tuple[str, Callable[[pd.DataFrame], pd.Series]]] = {
    "length_band": (
        "length of the family's message in words",
        lambda items: items["input"].map(length_band),
    ),
}


def slice_fields(items: pd.DataFrame) -> list[str]:
    """Fields the items can be sliced by: the derived ones and every field with 2-50 values."""
    out = list(DERIVED)
    skip = {"id", "input", "reference", "staff_first_draft", "source_ids", "required_facts"}
    for col in items.columns:
        if col in skip:
            continue
        vals = items[col].dropna()
        if vals.map(lambda v: isinstance(v, str | bool | int)).all() and 2 <= vals.nunique() <= 50:
            out.append(str(col))
    return out


def slice_labels(items: pd.DataFrame, by: str) -> pd.Series:
    """Item id -> slice label of field ``by`` (missing values are ``(none)``).

    Raises:
        PlanError: the items have no such field; the message lists the fields they have.
    """
    if by in DERIVED:
        labels = DERIVED[by][1](items)
    elif by in items.columns:
        labels = items[by].map(
            lambda v: (
                NONE_LABEL
                if v is None or (isinstance(v, float) and math.isnan(v)) or str(v).strip() == ""
                else str(v)
            )
        )
    else:
        raise PlanError(
            "slices",
            [
                Problem(
                    "dataset items",
                    None,
                    by,
                    "is not an item field, so the items cannot be sliced by it",
                    "slice by one of: " + ", ".join(slice_fields(items)),
                )
            ],
        )
    return pd.Series(labels.to_numpy(), index=items.index, name=by, dtype=object)


def slice_table(
    scores: pd.DataFrame,
    items: pd.DataFrame,
    by: str,
    metrics: Sequence[str] | None = None,
    min_n: int = MIN_N,
    level: float = 0.95,
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = DEFAULT_SEED,
) -> pd.DataFrame:
    """Mean, interval and count per candidate x slice x metric.

    Samples of one item are averaged first (the item is the unit). Unscored (NaN) values are
    left out of ``n``; a slice with fewer than ``min_n`` scored questions has ``small`` = True.

    Args:
        scores: long scores (``item_id, candidate, metric, value``).
        items: the dataset's items, indexed by item id.
        by: an item field or a :data:`DERIVED` field.
        metrics: the metrics to include (default: every metric with a score).
        min_n: the fewest questions a slice needs to count as evidence.
        level: the confidence level of the intervals.
        resamples: bootstrap resamples.
        seed: bootstrap seed.

    Returns:
        Columns :data:`SLICE_COLUMNS`; ``mean, low, high`` floats, ``n`` int, ``small`` bool.
    """
    labels = slice_labels(items, by)
    s = scores if metrics is None else scores[scores["metric"].isin(list(metrics))]
    per_item = s.groupby(["candidate", "metric", "item_id"], sort=False)["value"].mean()
    per_item = per_item.reset_index()
    per_item["slice"] = per_item["item_id"].map(labels).fillna(NONE_LABEL)
    rows = []
    for (cand, slc, metric), grp in per_item.groupby(["candidate", "slice", "metric"], sort=True):
        mean, lo, hi = mean_interval(grp["value"].to_numpy(), str(metric), level, resamples, seed)
        n = int(grp["value"].notna().sum())
        if n == 0:
            continue
        rows.append([cand, by, slc, metric, mean, lo, hi, n, n < min_n])
    out = pd.DataFrame(rows, columns=SLICE_COLUMNS)
    return out.astype(
        {"mean": "float64", "low": "float64", "high": "float64", "n": "int64", "small": "bool"}
    )


def slices(
    run: Any, by: str, metrics: Sequence[str] | None = None, min_n: int = MIN_N
) -> pd.DataFrame:
    """:func:`slice_table` of a loaded run (``harness.store.runs.load_run``)."""
    return slice_table(run.scores, run.dataset.items, by, metrics, min_n)


def gap_interval(
    groups: dict[str, np.ndarray],
    level: float = 0.95,
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = DEFAULT_SEED,
) -> tuple[float, float, float]:
    """Gap between the highest and the lowest slice mean, with a bootstrap interval.

    Each slice is resampled on its own (the slices hold different questions); each resample's
    gap is the range of its slice means. NaN values are unscored and left out.

    Returns:
        (gap, low, high); NaN when fewer than two slices hold a value.
    """
    arrays = [a[~np.isnan(a)] for a in (np.asarray(g, dtype=np.float64) for g in groups.values())]
    arrays = [a for a in arrays if a.size]
    if len(arrays) < 2:
        return (math.nan, math.nan, math.nan)
    rng = np.random.default_rng(seed)
    means = np.stack(
        [a[rng.integers(0, a.size, size=(resamples, a.size))].mean(axis=1) for a in arrays]
    )
    gaps = means.max(axis=0) - means.min(axis=0)
    gap = float(max(a.mean() for a in arrays) - min(a.mean() for a in arrays))
    alpha = (1 - level) / 2
    lo, hi = np.quantile(gaps, [alpha, 1 - alpha])
    return (gap, float(min(lo, gap)), float(max(hi, gap)))


def _floor_of(gates: Any, metric: str, by: str) -> float | None:
    """The bar of the first ``floor_by: by`` gate on ``metric`` in a GateSet, if any."""
    for pg in getattr(gates, "phases", {}).values():
        for g in pg.gates:
            if g.metric == metric and getattr(g, "floor_by", None) == by:
                return float(g.threshold)
    return None


def slice_figure(
    run: Any,
    metric: str,
    by: str = "language",
    floor: float | None = None,
    gates: Any = None,
    min_n: int = MIN_N,
    names: Mapping[str, str] | None = None,
) -> tuple[Any, str]:
    """One figure: the metric's mean per slice with its interval, one colour per candidate.

    Args:
        run: a loaded run (``.scores``, ``.dataset.items``).
        metric: the metric to draw.
        by: the slice field.
        floor: the gate floor to draw; default the ``floor_by`` gate on this metric in
            ``gates`` (a GateSet), else none.
        gates: a GateSet to take the floor from.
        min_n: slices below this many questions are drawn hollow and labelled "n=…, not enough
            data".
        names: candidate -> the name a reader sees (a report's glossary names); default the
            candidate's own name.

    Returns:
        (matplotlib Figure, alt text describing what it shows).
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    table = slices(run, by, [metric], min_n)
    counts = slice_counts(table, ai_candidates(run))
    if names:
        table = table.assign(candidate=[names.get(c, c) for c in table["candidate"]])
    if floor is None and gates is not None:
        floor = _floor_of(gates, metric, by)
    cands = list(dict.fromkeys(table["candidate"]))
    labels = sorted(set(table["slice"]))
    fig, ax = plt.subplots(figsize=(7.5, 0.9 + 0.45 * max(1, len(labels)) * max(1, len(cands))))
    step = 0.8 / max(1, len(cands))
    for ci, cand in enumerate(cands):
        t = table[table["candidate"] == cand].set_index("slice")
        colour = PALETTE[ci % len(PALETTE)]
        first = True
        for si, slc in enumerate(labels):
            if slc not in t.index:
                continue
            r = t.loc[slc]
            y = si + (ci - (len(cands) - 1) / 2) * step
            ax.errorbar(
                r["mean"],
                y,
                xerr=[[r["mean"] - r["low"]], [r["high"] - r["mean"]]],
                fmt="o",
                color=colour,
                mfc="white" if r["small"] else colour,
                capsize=3,
                label=mpl(cand) if first else None,
            )
            first = False
    handles, drawn = ax.get_legend_handles_labels()
    uniq = dict(zip(drawn, handles, strict=True))
    ax.set_yticks(range(len(labels)))
    ax.set_yticklabels(
        [mpl(count_label(slice_name(by, s), counts.get(s, 0), min_n)) for s in labels]
    )
    ax.invert_yaxis()
    if floor is not None:
        ax.axvline(floor, color="#444444", linestyle="--", linewidth=1)
        uniq[f"gate floor {floor:g}"] = ax.lines[-1]
    from harness.metrics import metric_def

    d = metric_def(metric)
    word = "higher is better" if higher_is_better(metric) else "lower is better"
    ax.set_xlabel(mpl(f"{d.label}, {d.unit} ({word}); dot = average, bar = 95% interval"))
    ax.set_title(mpl(f"{d.label} by {by}; hollow dot: fewer than {min_n} questions"))
    if uniq:
        ax.legend(uniq.values(), uniq.keys(), loc="best", fontsize=8)
    fig.tight_layout()
    alt = slice_alt_text(table, d.label, by, floor, min_n)
    shown = "; ".join(count_label(slice_name(by, s), counts.get(s, 0), min_n) for s in labels)
    return fig, f"Questions the AI drafts were scored on, per {by}: {shown}. {alt}"


def ai_candidates(run: Any) -> list[str]:
    """The run's AI candidates (the drafts the decision is about)."""
    manifest = getattr(run, "manifest", None) or {}
    return [c["name"] for c in manifest.get("candidates", []) if c.get("kind") == "model"]


def slice_counts(table: pd.DataFrame, candidates: Sequence[str]) -> dict[str, int]:
    """Questions scored per slice for the AI candidates (the most any of them has): the one
    count the figure, the equity table's AI rows, the language gates and the evidence index
    read. Without an AI candidate in ``table``, the most any candidate has."""
    t = table[table["candidate"].isin(list(candidates))]
    t = t if len(t) else table
    return {str(k): int(v) for k, v in t.groupby("slice")["n"].max().items()}


def slice_name(by: str, label: Any) -> str:
    """A slice label as a reader reads it: a language code in words ('es' -> 'Spanish')."""
    if by == "language" and str(label) != NONE_LABEL:
        return language_name(label)
    return str(label)


def count_label(slc: str, n: int, min_n: int = MIN_N) -> str:
    """'Spanish (11 questions)' or 'Spanish (3 questions, not enough data)'."""
    return f"{slc} ({n} question{'s' if n != 1 else ''}{', not enough data' if n < min_n else ''})"


def slice_alt_text(
    table: pd.DataFrame, metric: str, by: str, floor: float | None, min_n: int = MIN_N
) -> str:
    """A plain-text description of a slice figure, for screen readers."""
    if table.empty:
        return f"No {metric} scores to show by {by}."
    parts = [f"{metric} by {by}, average with 95% interval per candidate."]
    if floor is not None:
        parts.append(f"The gate floor is {floor:g}.")
    for cand, t in table.groupby("candidate", sort=False):
        cells = [
            f"{slice_name(by, r['slice'])} {r['mean']:.2f} ({r['low']:.2f} to {r['high']:.2f}, "
            f"n={int(r['n'])}" + (", not enough data" if int(r["n"]) < min_n else "") + ")"
            for r in t.to_dict("records")
        ]
        parts.append(f"{cand}: " + "; ".join(cells) + ".")
    return " ".join(parts)
