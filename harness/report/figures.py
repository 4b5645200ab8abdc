"""Figures (aggregated before drawing: the size of a figure does not grow with the run)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from harness import stats
from harness.metrics import COMPARE_METRICS, metric_def
from harness.report.format import plain, unit_of
from harness.report.tables import by_category, category_metric, comparison_numbers
from harness.stats import summarize
from harness.store import RunData
from harness.textsafe import mpl


def similarity_figure(run: RunData, metric: str | None = None) -> Any:
    """Bar chart: mean of a 0-1 metric per candidate, with 95% CIs."""
    import matplotlib.pyplot as plt

    metric = metric or category_metric(run) or "word_similarity"
    summ = summarize(run.scores[run.scores["metric"] == metric])
    order = run.candidate_names()
    summ = summ.set_index("candidate").reindex(order).dropna(subset=["mean"])
    kinds = run.candidate_kinds()
    fig, ax = plt.subplots(figsize=(7, 0.6 * len(summ) + 1.4))
    colors = ["#2b6cb0" if kinds.get(c) == "model" else "#a0aec0" for c in summ.index]
    err = [summ["mean"] - summ["ci_low"], summ["ci_high"] - summ["mean"]]
    ax.barh(summ.index, summ["mean"], xerr=err, color=colors, capsize=4)
    if unit_of(metric) == "0-1":
        ax.set_xlim(0, 1)
    ax.invert_yaxis()
    ax.set_xlabel(
        f"{plain(metric)} ({'higher' if stats.higher_is_better(metric) else 'lower'} is better)"
    )
    ax.set_title(
        "Average per question (blue: AI, grey: today's alternatives; bars: 95% interval)",
        fontsize=10,
    )
    fig.tight_layout()
    plt.close(fig)
    return fig


def comparison_figure(run: RunData, metrics: list[str] | None = None) -> Any:
    """Forest plot: how much better (right) or worse (left) each AI candidate is than each baseline."""
    import matplotlib.pyplot as plt

    present = run.metric_names()
    names = metrics or [m for m in COMPARE_METRICS if m in present] or present[:4]
    comp = comparison_numbers(run, names)
    comp = comp[comp["n"] > 0]
    fig, axes = plt.subplots(
        1,
        max(1, len(names)),
        figsize=(
            3.2 * max(1, len(names)) + 1,
            0.45 * max(1, len(comp) // max(1, len(names))) + 1.8,
        ),
        squeeze=False,
    )
    for ax, m in zip(axes[0], names, strict=False):
        c = comp[comp["metric"] == m]
        labels = [f"{a} vs {b}" for a, b in zip(c["candidate"], c["baseline"], strict=True)]
        y = np.arange(len(c))
        colors = [
            "#2f855a" if v == "better" else "#c53030" if v == "worse" else "#718096"
            for v in c["verdict"]
        ]
        # the table's "how much better the AI is": the same signed number, drawn
        ax.hlines(y, c["advantage_low"], c["advantage_high"], colors=colors, lw=2)
        ax.scatter(c["advantage"], y, c=colors, zorder=3)
        ax.axvline(0, color="#333", lw=0.8)
        ax.set_yticks(y, labels if ax is axes[0][0] else [""] * len(y), fontsize=8)
        ax.invert_yaxis()
        ax.set_title(plain(m), fontsize=9)
        ax.set_xlabel(f"← baseline better · AI better → ({metric_def(m).unit})", fontsize=8)
    fig.suptitle("Paired difference on the same questions (95% interval)", fontsize=10)
    fig.tight_layout()
    plt.close(fig)
    return fig


def category_figure(run: RunData, metric: str | None = None) -> Any:
    """Heat map of one metric by category and candidate (a weak topic stands out)."""
    import matplotlib.pyplot as plt

    metric = metric or category_metric(run)
    table = by_category(run, metric) if metric else pd.DataFrame()
    fig, ax = plt.subplots(
        figsize=(1.3 * max(1, table.shape[1] - 1) + 3, 0.38 * max(1, len(table)) + 1.5)
    )
    if table.empty:
        ax.text(0.5, 0.5, "no scores", ha="center")
        plt.close(fig)
        return fig
    data = table.set_index("category")
    higher = stats.higher_is_better(str(metric))
    im = ax.imshow(
        data.to_numpy(dtype=float), cmap="RdYlGn" if higher else "RdYlGn_r", aspect="auto"
    )
    ax.set_xticks(range(data.shape[1]), data.columns, rotation=30, ha="right", fontsize=8)
    ax.set_yticks(range(data.shape[0]), [mpl(c) for c in data.index], fontsize=8)
    for (i, j), v in np.ndenumerate(data.to_numpy(dtype=float)):
        if not np.isnan(v):
            ax.text(j, i, f"{v:.2f}", ha="center", va="center", fontsize=7)
    fig.colorbar(im, ax=ax, shrink=0.8)
    ax.set_title(f"{plain(str(metric))} by topic", fontsize=10)
    fig.tight_layout()
    plt.close(fig)
    return fig


def minutes_figure(run: RunData) -> Any:
    """Estimated reviewer minutes per reply, by candidate, against writing from scratch."""
    import matplotlib.pyplot as plt

    wide = run.wide_scores()
    if "review_minutes" not in wide:
        fig, ax = plt.subplots(figsize=(6, 1.5))
        ax.text(0.5, 0.5, "this run has no edit-effort scores", ha="center")
        ax.axis("off")
        plt.close(fig)
        return fig
    order = [c for c in run.candidate_names() if c in set(wide["candidate"])]
    per_item = wide.groupby(["candidate", "item_id"])[["review_minutes"]].mean().reset_index()
    data = [per_item.loc[per_item["candidate"] == c, "review_minutes"].dropna() for c in order]
    scratch = (
        wide.drop_duplicates("item_id")["scratch_minutes"].dropna()
        if "scratch_minutes" in wide
        else pd.Series(dtype=float)
    )
    fig, ax = plt.subplots(figsize=(7, 0.6 * len(order) + 1.6))
    ax.boxplot(
        [*data, scratch], vert=False, tick_labels=[*order, "write from scratch"], showfliers=False
    )
    ax.invert_yaxis()
    ax.set_xlabel("estimated staff minutes per reply (read + check + edit)")
    ax.set_title(
        "Editing effort per reply (box: middle half of questions; line: median)", fontsize=10
    )
    fig.tight_layout()
    plt.close(fig)
    return fig
