"""The Phase 1 page (which workflow first) and each workflow's own section of the readiness
report: escaped HTML over :mod:`harness.report.workflows`'s numbers."""

from __future__ import annotations

from typing import Any

import pandas as pd

from harness.report.format import STYLE, esc, table_html
from harness.report.tables import family_metrics, metric_table
from harness.report.workflows import (
    HEADLINE,
    MAX_SENSITIVE,
    MIN_MEASURABLE,
    NAMES,
    recommend,
    workflow_criteria,
)
from harness.store.runs import RunData


def _f(x: float, digits: int = 2) -> str:
    return "unknown" if pd.isna(x) else f"{x:.{digits}f}"


def criteria_table(run: RunData) -> pd.DataFrame:
    """The criteria side by side, one column per workflow, every value with its unit in the
    row's name (numeric twin: ``workflow_criteria``, one row per workflow). Show it with
    ``table_html(table, CRITERIA_CAPTION)``."""
    c = workflow_criteria(run)
    rows = {
        "Items in the dataset (count)": c["items"],
        "Common: messages per month (count; unknown without a counts column or log)": c[
            "volume_per_month"
        ],
        "Measurable: share with a checkable approved reference (0-1)": c["measurable_share"],
        "Risk: share sensitive or safety (0-1)": c["sensitive_share"],
        "Risk: share of messages with personal data (0-1)": c["personal_data_share"],
        "Pain: staff minutes per item, measured (pilot log baseline)": c["staff_minutes_measured"],
        "Pain: rows measured (count)": c["staff_minutes_rows"],
        "Pain: minutes to write from scratch, ESTIMATE (effort model)": c[
            "staff_minutes_estimated"
        ],
        "Best candidate: headline measure (0-1)": c["best_quality"],
        "  95% interval, low": c["best_quality_low"],
        "  95% interval, high": c["best_quality_high"],
        "Best candidate: minutes saved per item (estimate)": c["saved_minutes"],
        "  95% interval, low ": c["saved_minutes_low"],
        "  95% interval, high ": c["saved_minutes_high"],
    }
    table = pd.DataFrame(rows).T.round(2)
    table.columns = [NAMES.get(str(t), str(t)) for t in table.columns]
    return table.reset_index().rename(columns={"index": "criterion"})


CRITERIA_CAPTION = "The candidate workflows on the four criteria, from the data"


def recommendation_html(run: RunData) -> Any:
    """The recommendation, its reasons, and what would change it (escaped HTML)."""
    from IPython.display import HTML

    c = workflow_criteria(run)
    r = recommend(c)
    w, row = r["workflow"], c.loc[r["workflow"]]
    best = c.attrs["best_candidate"].get(w, "")
    head = HEADLINE.get(w, "word_similarity")
    pain = (
        f"staff spend {_f(row['staff_minutes_measured'], 1)} minutes per item (measured, "
        f"{int(row['staff_minutes_rows'])} pilot-log rows)"
        if pd.notna(row["staff_minutes_measured"])
        else f"writing one from scratch takes about {_f(row['staff_minutes_estimated'], 1)} "
        "minutes (an estimate from the effort model; nothing is measured)"
    )
    reasons = [
        f"{_f(row['measurable_share'] * 100, 0)}% of its items have an approved reference with "
        "checkable facts, so drafts can be scored against what the district approved;",
        f"{_f(row['sensitive_share'] * 100, 0)}% of its items are sensitive, so staff can review "
        "every draft safely;",
        f"{pain};",
        f"its best candidate ({esc(best)}) reaches {_f(row['best_quality'])} on "
        f"{esc(head)} (95% interval {_f(row['best_quality_low'])}-"
        f"{_f(row['best_quality_high'])}) and saves an estimated "
        f"{_f(row['saved_minutes'], 1)} minutes per item "
        f"({_f(row['saved_minutes_low'], 1)} to {_f(row['saved_minutes_high'], 1)}).",
    ]
    changes = []
    if c["volume_per_month"].isna().all():
        changes.append(
            "Volume is unknown for every workflow (no counts column and no inbound log): a month "
            "of counts showing another workflow is far more common would change the choice."
        )
    if len(c) == 1:
        changes.append(
            "This run holds one workflow, so nothing was compared: run a plan with every "
            "workflow (plans/workflows.yaml) before choosing."
        )
    if r["runner_up"]:
        ru = c.loc[r["runner_up"]]
        changes.append(
            f"The runner-up is {esc(NAMES.get(r['runner_up'], r['runner_up']))}: its lower "
            f"bound of minutes saved is {_f(ru['saved_minutes_low'], 1)}; a model candidate "
            f"whose interval clears {_f(row['saved_minutes_low'], 1)} there would move it ahead."
        )
    if pd.isna(row["staff_minutes_measured"]):
        changes.append(
            "Staff minutes for this workflow are an estimate: timing staff in the review "
            "station (from-scratch pages) may move it."
        )
    skipped = [t for t in c.index if t not in r["eligible"]]
    if skipped:
        changes.append(
            "Not eligible now: "
            + ", ".join(esc(NAMES.get(t, t)) for t in skipped)
            + f" (fewer than {MIN_MEASURABLE:.0%} measurable or more than {MAX_SENSITIVE:.0%} "
            "sensitive)."
        )
    items = "".join(f"<li>{x}</li>" for x in reasons)
    change = "".join(f"<li>{x}</li>" for x in changes)
    return HTML(
        STYLE
        + f'<div class="decision undecided"><p><strong>Start with: {esc(NAMES.get(w, w))}</strong></p>'
        f"<p>Why:</p><ul>{items}</ul><p>What would change this:</p><ul>{change}</ul></div>"
    )


# The scorer family holding each workflow's own measures, and what they ask of a draft.
SECTIONS = {
    "inbound_summary": (
        "summary",
        "Each summary is checked against the message's hand-labelled asks, the office that must "
        "act and its urgency, and against the approved summary: every ask carried, no date, "
        "name or number changed, routed to the right office, urgency and any safety concern "
        "kept, no more personal data than the approved summary holds.",
    ),
    "newsletter": (
        "newsletter",
        "Each section is checked against the approved section and the district's style guide: "
        "every dated event, place and amount present and correct, nothing invented or "
        "superseded, a short specific headline, paragraphs and one contact, 120-260 words, and "
        "a Spanish version where the district publishes one.",
    ),
    "staff_question": (
        "citations",
        "Each answer is checked against the passages that hold the approved answer's quoted "
        "sentences: the passages it cites exist, are current and support it, one of them holds "
        "the answer, a question the policies cannot answer is declined (and one they answer is "
        "not), and the passages the writer was given include the supporting ones.",
    ),
}


def workflow_sections(run: RunData) -> Any:
    """One section per workflow of the run that has its own measures (summaries, newsletter
    sections); nothing at all for a run without them, so the report's pages do not grow."""
    from IPython.display import HTML

    parts = []
    for task in [str(t) for t in run.manifest["plan"]["tasks"]]:
        if task not in SECTIONS:
            continue
        family, what = SECTIONS[task]
        names = family_metrics(run, family)
        if not names:
            continue
        table = metric_table(run, names).drop(columns=["metric"])
        parts.append(
            f"<h2>{esc(NAMES.get(task, task))}: the workflow's own measures</h2>"
            f"<p>{esc(what)}</p>"
            + table_html(table, "Average per item [95% interval], n = items scored.").data
        )
    return HTML(STYLE + "".join(parts)) if parts else None
