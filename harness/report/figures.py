"""Figures (aggregated before drawing: the size of a figure does not grow with the run)."""

from __future__ import annotations

import textwrap
from typing import Any

import numpy as np
import pandas as pd

from harness import stats
from harness.metrics import COMPARE_METRICS, metric_def
from harness.report.alt import Figure, listing
from harness.report.format import fmt, plain, unit_of
from harness.report.glossary import candidate_names, category_name
from harness.report.tables import by_category, category_metric, comparison_numbers
from harness.report.vocab import reword, run_vocab
from harness.stats import summarize
from harness.store.runs import RunData
from harness.textsafe import mpl

# Okabe-Ito, safe for the common colour-vision deficiencies; shapes repeat the cue.
AI_COLOR, BASELINE_COLOR = "#0072B2", "#999999"
VERDICT_STYLE = {
    "better": ("#009E73", "o", "AI better"),
    "worse": ("#D55E00", "X", "AI worse"),
    "could be chance": ("#666666", "s", "could be chance (Holm)"),
}
UNCLEAR_STYLE = ("#666666", "s", "no clear difference")


def similarity_figure(run: RunData, metric: str | None = None) -> Any:
    """Bar chart: mean of a 0-1 metric per candidate, with 95% CIs."""
    import matplotlib.pyplot as plt

    metric = metric or category_metric(run) or "word_similarity"
    summ = summarize(run.scores[run.scores["metric"] == metric])
    order = run.candidate_names()
    summ = summ.set_index("candidate").reindex(order).dropna(subset=["mean"])
    kinds = run.candidate_kinds()
    fig, ax = plt.subplots(figsize=(7, 0.6 * len(summ) + 1.4))
    colors = [AI_COLOR if kinds.get(c) == "model" else BASELINE_COLOR for c in summ.index]
    err = [summ["mean"] - summ["ci_low"], summ["ci_high"] - summ["mean"]]
    shown = candidate_names(run)
    ax.barh([mpl(shown[c]) for c in summ.index], summ["mean"], xerr=err, color=colors, capsize=4)
    if unit_of(metric) == "0-1":
        ax.set_xlim(0, 1)
    ax.invert_yaxis()
    ax.set_xlabel(
        f"{plain(metric)} ({'higher' if stats.higher_is_better(metric) else 'lower'} is better)"
    )
    ax.set_title(
        reword(
            "Average per question (blue: AI, grey: today's alternatives; bars: 95% interval)",
            run_vocab(run),
        ),
        fontsize=10,
    )
    fig.tight_layout()
    plt.close(fig)
    unit = unit_of(metric)
    ranked = summ.sort_values("mean", ascending=not stats.higher_is_better(metric))
    parts = [
        f"{shown[str(c)]}{' (AI)' if kinds.get(c) == 'model' else ''} {fmt(r['mean'], unit)} "
        f"[{fmt(r['ci_low'], unit)} to {fmt(r['ci_high'], unit)}]"
        for c, r in ranked.iterrows()
    ]
    alt = (
        f"Bar chart of the average {plain(metric)} per candidate with 95% intervals, best first: "
        f"{listing(parts)}."
        if parts
        else f"Bar chart of {plain(metric)} per candidate: no scores in this run."
    )
    return Figure(fig, alt)


def comparison_figure(run: RunData, metrics: list[str] | None = None) -> Any:
    """Forest plot: how much better (right) or worse (left) each AI candidate is than each baseline."""
    import matplotlib.pyplot as plt

    present = run.metric_names()
    names = metrics or [m for m in COMPARE_METRICS if m in present] or present[:4]
    comp = comparison_numbers(run, names)
    comp = comp[comp["n"] > 0]
    shown = candidate_names(run)
    ncols = min(2, max(1, len(names)))  # two panels a row: readable on a printed page
    nrows = -(-max(1, len(names)) // ncols)
    fig, axes = plt.subplots(
        nrows,
        ncols,
        figsize=(
            3.4 * ncols + 1.6,
            (0.3 * max(1, len(comp) // max(1, len(names))) + 1.2) * nrows + 0.5,
        ),
        squeeze=False,
    )
    for ax in axes.flat[len(names) :]:
        ax.axis("off")
    for ax, m in zip(axes.flat, names, strict=False):
        c = comp[comp["metric"] == m]
        labels = [
            mpl(f"{shown[a]}\nvs {shown[b]}")  # two short lines: the panels keep their width
            for a, b in zip(c["candidate"], c["baseline"], strict=True)
        ]
        y = np.arange(len(c))
        styles = [VERDICT_STYLE.get(v, UNCLEAR_STYLE) for v in c["verdict"]]
        colors = [st[0] for st in styles]
        # the table's "how much better the AI is": the same signed number, drawn
        ax.hlines(y, c["advantage_low"], c["advantage_high"], colors=colors, lw=2)
        for marker in {st[1] for st in styles}:
            idx = [i for i, st in enumerate(styles) if st[1] == marker]
            ax.scatter(
                c["advantage"].iloc[idx],
                y[idx],
                c=[colors[i] for i in idx],
                marker=marker,
                zorder=3,
            )
        ax.axvline(0, color="#333", lw=0.8)
        first = any(ax is row[0] for row in axes)
        ax.set_yticks(y, labels if first else [""] * len(y), fontsize=8)
        ax.invert_yaxis()
        ax.set_title(mpl(textwrap.fill(plain(m), 38)), fontsize=8)
        ax.set_xlabel(f"← baseline better · AI better → ({metric_def(m).unit})", fontsize=8)
        ax.tick_params(axis="x", labelsize=8)
    w = run_vocab(run)
    fig.suptitle(
        reword("Paired difference on the same questions (95% interval)\n", w)
        + "circle: AI better, cross: AI worse, square: no clear difference",
        fontsize=9,
    )
    fig.tight_layout()
    plt.close(fig)
    parts = [
        f"{plain(r['metric'])}, {shown[r['candidate']]} vs {shown[r['baseline']]}: "
        f"{VERDICT_STYLE.get(r['verdict'], UNCLEAR_STYLE)[2]} "
        f"({fmt(r['gain'], unit_of(r['metric']))}, interval {fmt(r['gain_low'], unit_of(r['metric']))} "
        f"to {fmt(r['gain_high'], unit_of(r['metric']))}, positive = AI better)"
        for _, r in comp.iterrows()
    ]
    better = int((comp["verdict"] == "better").sum())
    worse = int((comp["verdict"] == "worse").sum())
    alt = (
        reword(
            "Forest plot of how much better each AI candidate is than each baseline on the same "
            "questions (positive = AI better): ",
            w,
        )
        + f"{better} of {len(comp)} comparisons favour the AI, {worse} favour the baseline. "
        f"{listing(parts, 8)}."
        if len(comp)
        else reword(
            "Forest plot of paired differences: no AI candidate and baseline share questions.", w
        )
    )
    return Figure(fig, alt)


def gate_bar(dec: Any, metric: str) -> float | None:
    """The bar of the decision's overall threshold gate on ``metric`` (None without one)."""
    gates = getattr(dec, "gates", None)
    if gates is None or not len(gates) or "bar" not in gates:
        return None
    g = gates[(gates["metric"] == metric) & (gates["test"] == "threshold")]
    g = g[g["scope"] == "overall"] if (g["scope"] == "overall").any() else g
    bars = pd.to_numeric(g["bar"], errors="coerce").dropna()
    return float(bars.iloc[0]) if len(bars) else None


def category_figure(run: RunData, metric: str | None = None, dec: Any = None) -> Any:
    """Heat map of one metric by category and candidate (a weak topic stands out).

    The colour scale (cividis, colour-blind safe) ends at the gate's bar when ``dec`` (the
    decision) has a threshold gate on the metric: every cell at or past the bar is the
    brightest colour, and every cell short of it is visibly darker.
    """
    import matplotlib.pyplot as plt

    metric = metric or category_metric(run)
    table = by_category(run, metric) if metric else pd.DataFrame()
    fig, ax = plt.subplots(
        figsize=(1.3 * max(1, table.shape[1] - 1) + 3, 0.38 * max(1, len(table)) + 1.5)
    )
    if table.empty:
        ax.text(0.5, 0.5, "no scores", ha="center")
        plt.close(fig)
        return Figure(fig, f"Heat map of {plain(str(metric))} by topic: no scores in this run.")
    data = table.set_index("category").rename(columns=candidate_names(run))
    values = data.to_numpy(dtype=float)
    higher = stats.higher_is_better(str(metric))
    bar = gate_bar(dec, str(metric))
    finite = values[~np.isnan(values)]
    share = unit_of(str(metric)) == "0-1"
    biggest = float(finite.max()) if len(finite) else 1.0
    low = 0.0 if share or not len(finite) else min(0.0, float(finite.min()))
    if higher:  # the bright end is the bar: a cell that passes is as bright as it gets
        lo_v, hi_v = low, bar if bar is not None else (1.0 if share else biggest)
    else:  # lower is better: at or under the bar is the bright end
        lo_v = bar if bar is not None else low
        hi_v = max(biggest, lo_v + 1e-9)
    cmap = "cividis" if higher else "cividis_r"
    im = ax.imshow(values, cmap=cmap, aspect="auto", vmin=lo_v, vmax=hi_v)
    ax.set_xticks(
        range(data.shape[1]), [mpl(c) for c in data.columns], rotation=30, ha="right", fontsize=8
    )
    ax.set_yticks(range(data.shape[0]), [mpl(category_name(c)) for c in data.index], fontsize=8)
    for (i, j), v in np.ndenumerate(values):
        if not np.isnan(v):
            short = bar is not None and (v < bar if higher else v > bar)
            rgba = im.cmap(im.norm(v))
            light = 0.299 * rgba[0] + 0.587 * rgba[1] + 0.114 * rgba[2] > 0.5
            ax.text(
                j,
                i,
                f"{v:.2f}{'*' if short else ''}",
                ha="center",
                va="center",
                fontsize=7,
                color="black" if light else "white",
            )
    cb = fig.colorbar(im, ax=ax, shrink=0.8, extend="max" if higher else "min")
    if bar is not None:
        cb.set_label(f"scale ends at the bar ({bar:g}); * = short of it", fontsize=8)
    ax.set_title(f"{plain(str(metric))} by topic", fontsize=10)
    fig.tight_layout()
    plt.close(fig)
    cells = [
        (float(v), category_name(str(data.index[i])), str(data.columns[j]))
        for (i, j), v in np.ndenumerate(values)
        if not np.isnan(v)
    ]
    worst = (min if higher else max)(cells) if cells else None
    alt = f"Heat map of {plain(str(metric))} by topic (rows) and candidate (columns)."
    if bar is not None:
        short = [c for c in cells if (c[0] < bar if higher else c[0] > bar)]
        alt += (
            f" The colour scale ends at the gate's bar of {bar:g}: {len(short)} of "
            f"{len(cells)} cells fall short of it."
        )
    if worst is not None:
        alt += f" Weakest: {worst[1]} for {worst[2]} at {worst[0]:.2f}."
    return Figure(fig, alt)


def minutes_figure(run: RunData) -> Any:
    """Estimated reviewer minutes per reply, by candidate, against writing from scratch."""
    import matplotlib.pyplot as plt

    wide, w = run.wide_scores(), run_vocab(run)
    if "review_minutes" not in wide:
        fig, ax = plt.subplots(figsize=(6, 1.5))
        ax.text(0.5, 0.5, "this run has no edit-effort scores", ha="center")
        ax.axis("off")
        plt.close(fig)
        return Figure(
            fig, reword("Editing effort per reply: this run has no edit-effort scores.", w)
        )
    order = [c for c in run.candidate_names() if c in set(wide["candidate"])]
    per_item = wide.groupby(["candidate", "item_id"])[["review_minutes"]].mean().reset_index()
    data = [per_item.loc[per_item["candidate"] == c, "review_minutes"].dropna() for c in order]
    scratch = (
        wide.drop_duplicates("item_id")["scratch_minutes"].dropna()
        if "scratch_minutes" in wide
        else pd.Series(dtype=float)
    )
    fig, ax = plt.subplots(figsize=(7, 0.6 * len(order) + 1.6))
    shown = [candidate_names(run)[c] for c in order]
    ax.boxplot(
        [*data, scratch],
        vert=False,
        tick_labels=[*map(mpl, shown), "write from scratch"],
        showfliers=False,
    )
    ax.invert_yaxis()
    ax.set_xlabel(reword("estimated staff minutes per reply (read + check + edit)", w))
    ax.set_title(
        reword("Editing effort per reply (box: middle half of questions; line: median)", w),
        fontsize=10,
    )
    fig.tight_layout()
    plt.close(fig)
    medians = [
        f"{name} {fmt(float(d.median()), 'minutes')} minutes"
        for name, d in zip([*shown, "writing from scratch"], [*data, scratch], strict=True)
        if len(d)
    ]
    alt = (
        reword(
            "Box plot of estimated staff minutes to read, check and edit each reply, per "
            "candidate, against writing the approved answer from scratch. Medians: ",
            w,
        )
        + f"{listing(medians, 8)}."
    )
    return Figure(fig, alt)
