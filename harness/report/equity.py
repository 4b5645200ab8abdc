"""Sections for the district's reviewers: does every family get the same quality (slices),
what staff did with the drafts (the review station), and the evidence index appendix."""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from typing import Any

import pandas as pd

from harness.metrics import metric_def
from harness.report.alt import Figure
from harness.report.format import STYLE, fmt, note, table_html
from harness.report.glossary import candidate_names
from harness.report.vocab import reword, run_vocab
from harness.store.runs import RunData

# The sections the readiness report renders, by evidence-index id (harness.gates.index).
READINESS_SECTIONS = (
    "decision",
    "gates",
    "governance",
    "comparison",
    "categories",
    "equity",
    "editing",
    "consistency",
    "governance-flags",
    "calibration",
    "sensitive",
    "pilot",
    "methodology",
)


def equity_table(
    run: RunData, by: str = "language", metrics: Sequence[str] | None = None
) -> pd.DataFrame:
    """Per slice (e.g. each language) and candidate: mean [interval], questions, and whether
    the slice has enough questions to count (numeric columns kept for analysts)."""
    from harness.gates.slices import slices

    names = list(
        metrics or ("required_facts_coverage", "unsupported_claims_count", "word_similarity")
    )
    have = set(run.scores["metric"])
    t = slices(run, by, [m for m in names if m in have])
    return t.assign(label=[metric_def(m).label for m in t["metric"]])


def equity_section(
    run: RunData, by: str = "language", metric: str = "required_facts_coverage"
) -> Any:
    """ "Does every family get the same quality?": one figure per the slice field, and the table."""
    from IPython.display import HTML

    from harness.gates.decision import load_gates
    from harness.gates.slices import (
        ai_candidates,
        count_label,
        slice_counts,
        slice_figure,
        slice_name,
    )

    items = run.dataset.items
    if by not in items.columns or items[by].nunique(dropna=True) < 2:
        return note(
            f"This run's questions have one {by} only, so quality cannot be compared across "
            f"families by {by}; add the `{by}` field to the items (see datasets/README.md)."
        )
    if metric not in set(run.scores["metric"]):
        return note(f"This run has no '{metric_def(metric).label}' scores to compare by {by}.")
    names = candidate_names(run)
    fig, alt = slice_figure(run, metric, by, gates=load_gates(), names=names)
    t = equity_table(run, by, [metric])  # every measure by slice: equity_table(run, by)
    unit = metric_def(metric).unit
    counts = slice_counts(t, ai_candidates(run))  # the one count the figure's labels read
    t = t.assign(
        column=[count_label(slice_name(by, s), counts.get(str(s), 0)) for s in t["slice"]],
        cell=[
            f"{fmt(m)} [{fmt(lo)} to {fmt(hi)}]" + (" too few" if small else "")
            for m, lo, hi, small in zip(t["mean"], t["low"], t["high"], t["small"], strict=True)
        ],
    )
    # one row per candidate, a column per slice: the slice's name and its questions in the head
    view = (
        t.pivot_table(index="candidate", columns="column", values="cell", aggfunc="first")
        .reindex([c for c in run.candidate_names() if c in set(t["candidate"])])
        .fillna("—")
        .rename(index=names)
        .reset_index()
    )
    view.columns.name = None
    caption = (
        f"{metric_def(metric).label} ({unit}), average [95% interval]: each {by} on its "
        + reword(
            f"own; a {by} with fewer than 10 questions ('too few') is shown but not counted "
            "as evidence either way.",
            run_vocab(run),
        )
    )
    return HTML(STYLE + Figure(fig, alt, table=table_html(view, caption).data).html())


def staff_review_section(run: RunData) -> Any:
    """ "What staff did with the drafts": the review station's measured evidence, if any."""
    from harness.review import evidence
    from harness.review.db import db_path, exists

    if not exists(db_path(run.store.path)):
        status = evidence.staff_review_status(run)
        said = status["text"][0].upper() + status["text"][1:]
        return note(
            f"{said}. No drafts of this run were reviewed in the review station yet: when "
            "staff review them during the pilot, the minutes they take replace the estimates "
            "here and in the decision."
            + (
                " The phase comparison report measures the pilot log."
                if status["pilot_replies"]
                else ""
            )
        )
    from IPython.display import HTML

    html = evidence.section_html(run)
    head = "<h2>What staff did with the drafts</h2>"  # the notebook's heading says it already
    return HTML(STYLE + html.removeprefix(head))


def evidence_appendix(run: RunData, sections: Sequence[str] = READINESS_SECTIONS) -> Any:
    """The evidence index: each item the district's reviewers ask for, the section that answers
    it, and whether this run evidences it (harness.gates.index)."""
    from harness.gates.index import COSN, ED, NIST, TITLE_VI, evidence_index

    t = evidence_index(run, list(sections))
    short = {ED: "ED 2025", COSN: "CoSN", NIST: "NIST AI RMF", TITLE_VI: "Title VI"}
    t = t.assign(
        framework=[short.get(f, f) for f in t["framework"]],
        reason=[textwrap.shorten(r, 90, placeholder=" …") for r in t["reason"]],  # whole: the
    ).drop(columns="section")  # numeric twin harness.gates.index.evidence_index
    return table_html(
        t.rename(columns={"item": "what a reviewer asks for", "framework": "from"}),
        "Each answered in this report; 'not evidenced by this run' says what is missing. "
        f"From: {'; '.join(f'{v} = {k}' for k, v in short.items())}.",
    )


def data_review_table(run: RunData) -> Any:
    """How many required facts and sensitive flags ``harness import`` proposed, and how many a
    person accepted (no gate uses a suggestion until then)."""
    from harness.importers import suggestion_counts

    counts = suggestion_counts(run.dataset.items)
    if counts.empty or int(counts["proposed"].sum()) == 0:
        return note(
            "No suggestions: this dataset's required facts and sensitive flags were written by "
            "people, not proposed by the import."
        )
    view = counts.rename(
        index={
            "required_facts": "required facts",
            "sensitive": "sensitive questions",
            "source_links": "source links",
        }
    ).reset_index(names="what")
    return table_html(view, "Proposed by the import; accepted or rejected by a person.")
