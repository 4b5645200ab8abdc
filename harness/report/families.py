"""Sections per family of measures: editing minutes, consistency, governance flags, the judge
(each a table, or a note saying why the run has none), and the failed drafts."""

from __future__ import annotations

from typing import Any

import pandas as pd

from harness.report.format import note, plain, table_html
from harness.report.glossary import candidate_names
from harness.report.tables import family_metrics, metric_table
from harness.report.vocab import reword, run_vocab
from harness.scorers import scorer_info, scorer_names
from harness.stats import summarize
from harness.store.runs import RunData

MAX_FAILURES = 50


def family_table(run: RunData, family: str) -> pd.DataFrame:
    """The metrics of one family (consistency, governance, judge, ...) per candidate, with CIs
    (formatted text; numeric twin: :func:`harness.report.metric_numbers`)."""
    return metric_table(run, family_metrics(run, family))


def minutes_table(run: RunData) -> pd.DataFrame:
    """Estimated staff minutes per reply and minutes saved, per candidate, with intervals
    (formatted text; numeric twin: :func:`harness.report.metric_numbers`)."""
    names = [
        m for m in ("scratch_minutes", "review_minutes", "saved_minutes") if m in run.metric_names()
    ]
    if not names:
        return pd.DataFrame(columns=["candidate"])
    summ = summarize(run.scores[run.scores["metric"].isin(names)])
    shown = candidate_names(run)
    rows = []
    for cand in run.candidate_names():
        row: dict[str, Any] = {"candidate": shown[cand]}
        for m in names:
            s = summ[(summ["candidate"] == cand) & (summ["metric"] == m)]
            if s.empty or pd.isna(s["mean"].iloc[0]):
                row[plain(m)] = "—"
                continue
            r = s.iloc[0]
            row[plain(m)] = f"{r['mean']:.1f} [{r['ci_low']:.1f}–{r['ci_high']:.1f}]"
            if m == "saved_minutes":
                row["hours saved per 100 replies"] = f"{r['mean'] * 100 / 60:.1f}"
        rows.append(row)
    return pd.DataFrame(rows)


def draft_problems(run: RunData) -> pd.DataFrame:
    """Per AI candidate: samples asked for, drafts produced, failed after retries, produced
    with no text, and cut off at the token cap (the length scorer's ``truncated``). The one
    count the cover, the failed-drafts section and the analyst's tables read."""
    cols = ["candidate", "samples", "drafts", "failed", "no_output", "truncated"]
    ai = [c["name"] for c in run.manifest.get("candidates", []) if c.get("kind") == "model"]
    g = run.generations
    rows = []
    for cand in ai:
        mine = g[g["candidate"] == cand]
        ok = mine[mine["status"] == "ok"]
        text = ok["output"].fillna("").astype(str).str.strip() if "output" in ok else ok["status"]
        cut = run.scores[(run.scores["candidate"] == cand) & (run.scores["metric"] == "truncated")]
        rows.append(
            [
                cand,
                len(mine),
                int((text != "").sum()),
                int((mine["status"] == "failed").sum()),
                int((text == "").sum()),
                int(cut["value"].fillna(0).sum()),
            ]
        )
    return pd.DataFrame(rows, columns=cols).astype({c: "int64" for c in cols[1:]})


def draft_problem_sentences(run: RunData) -> list[str]:
    """Plain sentences for the cover when AI drafts failed, came back empty or were cut off
    (nothing when every draft is whole)."""
    out = []
    for r in draft_problems(run).to_dict("records"):
        n, who = int(r["samples"]), str(r["candidate"])
        cut, empty, failed = int(r["truncated"]), int(r["no_output"]), int(r["failed"])
        if not n:
            continue
        if cut:
            out.append(
                f"{cut} of the {n} AI drafts ({cut / n:.0%}) of {who} were cut off at the "
                "model's length limit, so their endings are missing"
            )
        if empty:
            out.append(f"{empty} of the {n} AI drafts of {who} came back empty")
        if failed:
            out.append(
                f"{failed} of the {n} AI drafts of {who} failed after retries; each counts "
                "as a failure in the gates"
            )
    return out


def failures(run: RunData) -> pd.DataFrame:
    """Samples whose calls all failed: recorded with their error, never scored as 0."""
    g = run.generations
    f = g[g["status"] == "failed"][["item_id", "candidate", "sample", "attempts", "error"]]
    return f.reset_index(drop=True)


def failures_table(run: RunData, limit: int = MAX_FAILURES) -> Any:
    """Failed drafts (the first ``limit``), with a count of the rest."""
    f = failures(run)
    if f.empty:  # a note, not an empty table of column names
        return note("No failures: every draft was produced.")
    cap = f"{len(f)} drafts failed after retries; they are left out of every average." + (
        f" The first {limit} are listed." if len(f) > limit else ""
    )
    return table_html(f.head(limit), cap)


def _unmeasured(run: RunData, family: str, what: str) -> str:
    """Why a family has no scores: its scorers are not in the plan, or the data cannot feed
    them (which field would)."""
    from harness.metrics import NEEDS

    planned = {
        s.get("name")
        for s in (run.manifest.get("scorers") or run.manifest.get("plan", {}).get("scorers") or [])
        if isinstance(s, dict)
    }
    mine = {n for n in scorer_names() if scorer_info(n).family == family}
    if not planned & mine:
        return (
            f"This run did not measure {what}: the plan has no '{family}' scorers (an analyst "
            "adds them and scores the run again)."
        )
    needs = sorted(
        {NEEDS[m.name][1] for n in mine for m in scorer_info(n).metrics if m.name in NEEDS}
    )
    return (
        f"The plan measures {what}, but this data cannot: "
        + ("; ".join(needs) if needs else "no question gave a score")
        + "."
    )


def family_section(run: RunData, family: str, what: str) -> Any:
    """The table of one scorer family, or a plain note that the run did not measure it."""
    table = family_table(run, family)
    if table.empty:
        return note(_unmeasured(run, family, what))
    # a reader reads the measure's name; its id stays in family_table() and the glossary
    view = table.drop(columns="metric", errors="ignore")
    caption = "Average per question [95% interval], n = questions scored."
    return table_html(view, reword(caption, run_vocab(run)))


def run_overview(run: RunData) -> pd.DataFrame:
    """The run at a glance: one row per candidate with counts, cost and latency."""
    g = run.generations
    return (
        g.groupby("candidate", sort=False)
        .agg(
            drafts=("status", lambda s: int((s == "ok").sum())),
            failed=("status", lambda s: int((s == "failed").sum())),
            cached=("cached", "sum"),
            cost_usd=("cost_usd", "sum"),
            median_latency_s=("latency_s", "median"),
        )
        .reset_index()
    )
