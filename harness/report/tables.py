"""The report's tables: numeric summaries of a run, one row per candidate, metric or category."""

from __future__ import annotations

from typing import Any

import pandas as pd

from harness import stats
from harness.metrics import COMPARE_METRICS, HEADLINE_METRICS, metric_def
from harness.report.format import fmt, plain, unit_of
from harness.report.glossary import candidate_names, category_name
from harness.scorers import scorer_info, scorer_names
from harness.stats import summarize
from harness.store.runs import RunData


def metric_families() -> dict[str, str]:
    """Metric name -> scorer family (edit, accuracy, consistency, governance, judge)."""
    out = {}
    for name in scorer_names():
        info = scorer_info(name)
        for m in info.metrics:
            out[m.name] = info.family
    return out


def family_metrics(run: RunData, family: str) -> list[str]:
    """The metrics of one scorer family present in this run (judge_* counts as judge)."""
    fam = metric_families()
    return [
        m
        for m in run.metric_names()
        if fam.get(m) == family or (family == "judge" and m.startswith("judge_"))
    ]


def metric_numbers(run: RunData, metrics: list[str] | None = None) -> pd.DataFrame:
    """The numbers behind the summary, metric, family and minutes tables, for analysts: one row
    per candidate x metric with ``mean, ci_low, ci_high, n`` (floats / int) and the metric's
    one definition (``label, kind, unit, higher_is_better``)."""
    names = metrics if metrics is not None else run.metric_names()
    summ = summarize(run.scores[run.scores["metric"].isin(names)])
    defs = {m: metric_def(m) for m in names}
    order = {c: i for i, c in enumerate(run.candidate_names())}
    summ = summ[summ["metric"].isin(names)].assign(
        label=lambda f: f["metric"].map(lambda m: defs[m].label),
        kind=lambda f: f["metric"].map(lambda m: defs[m].kind),
        unit=lambda f: f["metric"].map(lambda m: defs[m].unit),
        higher_is_better=lambda f: f["metric"].map(lambda m: defs[m].higher_is_better),
        _c=lambda f: f["candidate"].map(order),
        _m=lambda f: f["metric"].map({m: i for i, m in enumerate(names)}),
    )
    return summ.sort_values(["_m", "_c"]).drop(columns=["_c", "_m"]).reset_index(drop=True)


def category_numbers(run: RunData, metric: str | None = None) -> pd.DataFrame:
    """The numbers behind the category table and heat map: candidate x category mean, interval
    and questions for one metric (default: the same one the table and figure use)."""
    metric = metric or category_metric(run)
    if metric is None:
        return pd.DataFrame(columns=["candidate", "category", "mean", "ci_low", "ci_high", "n"])
    s = run.scores[run.scores["metric"] == metric]
    return stats.summarize_by_category(s, run.dataset.items["category"]).reset_index(drop=True)


def summary_table(run: RunData, metric_names: list[str] | None = None) -> pd.DataFrame:
    """Candidates (and baselines) by headline metric: mean [95% CI], plus counts (formatted
    text; numeric twin: :func:`metric_numbers`)."""
    present = run.metric_names()
    names = metric_names or [m for m in HEADLINE_METRICS if m in present] or present[:6]
    summ = summarize(run.scores[run.scores["metric"].isin(names)])
    gens = run.generations
    kinds = run.candidate_kinds()
    shown = candidate_names(run)
    rows = []
    for cand in run.candidate_names():
        g = gens[gens["candidate"] == cand]
        row: dict[str, Any] = {
            "candidate": shown[cand],
            "kind": kinds.get(cand, "?"),
            "drafts": int((g["status"] == "ok").sum()),
            "failed": int((g["status"] == "failed").sum()),
            "no draft": int((g["status"] == "no_output").sum()),
        }
        for m in names:
            s = summ[(summ["candidate"] == cand) & (summ["metric"] == m)]
            unit = unit_of(m)
            if s.empty or pd.isna(s["mean"].iloc[0]):
                row[plain(m)] = "—"
            else:
                r = s.iloc[0]
                row[plain(m)] = (
                    f"{fmt(r['mean'], unit)} [{fmt(r['ci_low'], unit)}–{fmt(r['ci_high'], unit)}]"
                )
        rows.append(row)
    return pd.DataFrame(rows)


def metric_table(run: RunData, metrics: list[str] | None = None) -> pd.DataFrame:
    """Every metric of the run: what it means, which way is better, mean [CI] per candidate
    (formatted text; numeric twin: :func:`metric_numbers`)."""
    names = metrics if metrics is not None else run.metric_names()
    if not names:
        return pd.DataFrame(columns=["measure", "better when"])
    summ = summarize(run.scores[run.scores["metric"].isin(names)])
    shown = candidate_names(run)
    rows = []
    for m in names:
        unit = unit_of(m)
        row: dict[str, Any] = {
            "measure": plain(m),
            "metric": m,
            "better when": "higher" if stats.higher_is_better(m) else "lower",
        }
        for cand in run.candidate_names():
            s = summ[(summ["candidate"] == cand) & (summ["metric"] == m)]
            if s.empty or pd.isna(s["mean"].iloc[0]):
                row[shown[cand]] = "—"
            else:
                r = s.iloc[0]
                row[shown[cand]] = (
                    f"{fmt(r['mean'], unit)} [{fmt(r['ci_low'], unit)}–{fmt(r['ci_high'], unit)}]"
                    f" n={int(r['n'])}"
                )
        rows.append(row)
    return pd.DataFrame(rows)


def comparisons(run: RunData, metrics: list[str] | None = None) -> pd.DataFrame:
    """Every AI candidate against every baseline on the same items (see stats.paired_comparisons)."""
    names = metrics if metrics is not None else run.metric_names()
    return stats.paired_comparisons(
        run.scores, run.candidate_names("model"), run.candidate_names("baseline"), names
    )


_VERDICT_WORDS = {
    "better": "AI better",
    "worse": "AI worse",
    "could be chance": "could be chance",
    "no clear difference": "no clear difference",
    "no paired items": "no shared items",
}


def verdict_words(verdict: str, n_comparisons: int) -> str:
    """A comparison's verdict in plain words, saying why when the interval alone would not do."""
    if verdict == "could be chance":
        return (
            f"could be chance: the interval excludes no difference, but across {n_comparisons} "
            "comparisons at once a gap this size is expected by luck (Holm correction)"
        )
    return _VERDICT_WORDS.get(verdict, verdict)


def comparison_numbers(run: RunData, metrics: list[str] | None = None) -> pd.DataFrame:
    """The paired comparisons as numbers: ``advantage`` is how much better the AI candidate
    is than the baseline in the metric's own unit (positive = AI better, whatever the metric's
    direction), the same quantity the forest plot draws and the verdict reads."""
    present = run.metric_names()
    names = metrics or [m for m in COMPARE_METRICS if m in present] or present[:4]
    comp = comparisons(run, names)
    return comp.assign(
        advantage=comp["gain"], advantage_low=comp["gain_low"], advantage_high=comp["gain_high"]
    )


def comparison_table(run: RunData, metrics: list[str] | None = None) -> pd.DataFrame:
    """Paired comparisons in plain words: the AI's advantage [interval] with its unit,
    better / same / worse counts, the verdict (from :func:`comparison_numbers`)."""
    comp = comparison_numbers(run, metrics)
    shown = candidate_names(run)
    rows = []
    for _, r in comp.iterrows():
        d = metric_def(str(r["metric"]))
        unit = unit_of(r["metric"])
        rows.append(
            {
                "measure": d.label,
                "AI candidate": shown.get(r["candidate"], r["candidate"]),
                "compared with": shown.get(r["baseline"], r["baseline"]),
                "questions": int(r["n"]),
                "how much better the AI is [95% interval]": (
                    f"{fmt(r['advantage'], unit)} [{fmt(r['advantage_low'], unit)} to "
                    f"{fmt(r['advantage_high'], unit)}] {d.unit}"
                ),
                "AI better / same / worse on": (
                    f"{r['wins']} / {r['ties']} / {r['losses']} questions" if r["n"] else "—"
                ),
                "verdict": verdict_words(str(r["verdict"]), len(comp)),
            }
        )
    return pd.DataFrame(rows)


def category_table(run: RunData, metric: str | None = None) -> pd.DataFrame:
    """One metric by category (rows) and candidate (columns): mean and item count (formatted
    text; numeric twin: :func:`category_numbers`)."""
    metric = metric or category_metric(run)
    if metric is None:
        return pd.DataFrame(columns=["category"])
    s = run.scores[run.scores["metric"] == metric]
    summ = stats.summarize_by_category(s, run.dataset.items["category"])
    unit = unit_of(metric)
    summ["cell"] = [
        f"{fmt(m, unit)} [{fmt(lo, unit)}–{fmt(hi, unit)}]" if not pd.isna(m) else "—"
        for m, lo, hi in zip(summ["mean"], summ["ci_low"], summ["ci_high"], strict=True)
    ]
    table = summ.pivot_table(index="category", columns="candidate", values="cell", aggfunc="first")
    order = [c for c in run.candidate_names() if c in table.columns]
    table = table[order].rename(columns=candidate_names(run))
    table.columns.name = None
    counts = s.groupby(s["item_id"].map(run.dataset.items["category"]))["item_id"].nunique()
    table.insert(0, "questions", counts.reindex(table.index).fillna(0).astype(int))
    out = table.reset_index()  # categories in the glossary's words (category_numbers: ids)
    return out.assign(category=[category_name(c) for c in out["category"]])


def by_category(run: RunData, metric: str | None = None) -> pd.DataFrame:
    """Mean of one metric by category (rows) and candidate (columns); the same default metric
    as :func:`category_table`."""
    metric = metric or category_metric(run)
    if metric is None:
        return pd.DataFrame(columns=["category"])
    s = run.scores[run.scores["metric"] == metric]
    cats = run.dataset.items["category"]
    s = s.assign(category=s["item_id"].map(cats))
    table = s.pivot_table(index="category", columns="candidate", values="value", aggfunc="mean")
    order = [c for c in run.candidate_names() if c in table.columns]
    table = table[order].round(2)
    table.columns.name = None
    return table.reset_index()


def category_metric(run: RunData) -> str | None:
    present = run.metric_names()
    for m in ("required_facts_coverage", "word_similarity", "char_similarity"):
        if m in present:
            return m
    return present[0] if present else None
