"""The readiness, phase-comparison, calibration and explore reports, as a package.

Notebooks hold a tagged ``parameters`` cell and one call per cell into this package. Every
piece of dataset or model text is HTML-escaped here, so a question containing ``<script>``
shows as text and runs nothing. Tables are aggregated and examples capped before anything is
drawn, so a report stays small (a few MB) however many items a run holds.

Modules: ``format`` (escaping, numbers, style), ``tables`` (numeric tables), ``decision`` (the
first screen), ``figures``, ``examples``, ``phases`` (before/after and the pilot log),
``calibration`` (the judge against human ratings) and ``render`` (papermill + nbconvert). The
run reader (``RunData``, ``load_run``) lives in :mod:`harness.store`.
"""

from __future__ import annotations

from harness.report.calibration import (
    calibration_numbers,
    calibration_section,
    calibration_summary,
    calibration_table,
    calibration_tables,
    confusion_table,
    judge_scores,
    judge_spread,
)
from harness.report.ceiling import ceiling_section
from harness.report.decision import (
    PHASES,
    candidates_table,
    cover,
    decision,
    decision_box,
    gate_table,
    governance_table,
)
from harness.report.equity import (
    data_review_table,
    equity_section,
    equity_table,
    evidence_appendix,
    staff_review_section,
)
from harness.report.examples import (
    MAX_EXAMPLES,
    MAX_SENSITIVE,
    examples,
    methodology,
    run_details,
    sensitive_examples,
)
from harness.report.families import (
    MAX_FAILURES,
    failures,
    failures_table,
    family_section,
    family_table,
    minutes_table,
    run_overview,
)
from harness.report.figures import (
    category_figure,
    comparison_figure,
    minutes_figure,
    similarity_figure,
)
from harness.report.format import STATUS_WORDS, VERDICT_CLASS, dumps, esc, note, plain, table_html
from harness.report.glossary import glossary_entries, glossary_table
from harness.report.phases import (
    phase_changes,
    phase_cover,
    phase_table,
    pilot_decision_box,
    pilot_figure,
    pilot_log_for,
    pilot_table,
    staff_spread_table,
    staff_table,
)
from harness.report.pilot import (
    approval_section,
    field_evidence_table,
    five_questions_section,
    protocol_section,
    repetitive_section,
)
from harness.report.render import (
    NOTEBOOKS,
    calibrate_and_render,
    notebook_parameters,
    render_calibration,
    render_comparison,
    render_explore,
    render_notebook,
    render_report,
    render_workflow_selection,
    self_contained,
)
from harness.report.tables import (
    by_category,
    category_numbers,
    category_table,
    comparison_numbers,
    comparison_table,
    comparisons,
    family_metrics,
    metric_families,
    metric_numbers,
    metric_table,
    summary_table,
    verdict_words,
)
from harness.report.vocab import candidate_label
from harness.report.workflow_pages import CRITERIA_CAPTION as WORKFLOW_CRITERIA_CAPTION
from harness.report.workflow_pages import criteria_table as workflow_criteria_table
from harness.report.workflow_pages import recommendation_html as workflow_recommendation
from harness.report.workflow_pages import workflow_sections
from harness.report.workflows import workflow_criteria
from harness.store.runs import RunData, load_run

# Every public table of formatted text (what a report shows) and its numeric twin (the same
# figures as numbers, for analysts): each takes the run, and each docstring names its twin.
NUMERIC_TWINS = {
    "summary_table": "metric_numbers",
    "metric_table": "metric_numbers",
    "family_table": "metric_numbers",
    "minutes_table": "metric_numbers",
    "comparison_table": "comparison_numbers",
    "category_table": "category_numbers",
    "calibration_table": "calibration_numbers",
    "workflow_criteria_table": "workflow_criteria",
}

__all__ = [
    "MAX_EXAMPLES",
    "MAX_FAILURES",
    "MAX_SENSITIVE",
    "NOTEBOOKS",
    "NUMERIC_TWINS",
    "PHASES",
    "STATUS_WORDS",
    "VERDICT_CLASS",
    "WORKFLOW_CRITERIA_CAPTION",
    "RunData",
    "approval_section",
    "by_category",
    "calibrate_and_render",
    "calibration_numbers",
    "calibration_section",
    "calibration_summary",
    "calibration_table",
    "calibration_tables",
    "candidate_label",
    "candidates_table",
    "category_figure",
    "category_numbers",
    "category_table",
    "ceiling_section",
    "comparison_figure",
    "comparison_numbers",
    "comparison_table",
    "comparisons",
    "confusion_table",
    "cover",
    "data_review_table",
    "decision",
    "decision_box",
    "dumps",
    "equity_section",
    "equity_table",
    "esc",
    "evidence_appendix",
    "examples",
    "failures",
    "failures_table",
    "family_metrics",
    "family_section",
    "family_table",
    "field_evidence_table",
    "five_questions_section",
    "gate_table",
    "glossary_entries",
    "glossary_table",
    "governance_table",
    "judge_scores",
    "judge_spread",
    "load_run",
    "methodology",
    "metric_families",
    "metric_numbers",
    "metric_table",
    "minutes_figure",
    "minutes_table",
    "note",
    "notebook_parameters",
    "phase_changes",
    "phase_cover",
    "phase_table",
    "pilot_decision_box",
    "pilot_figure",
    "pilot_log_for",
    "pilot_table",
    "plain",
    "protocol_section",
    "render_calibration",
    "render_comparison",
    "render_explore",
    "render_notebook",
    "render_report",
    "render_workflow_selection",
    "repetitive_section",
    "run_details",
    "run_overview",
    "self_contained",
    "sensitive_examples",
    "similarity_figure",
    "staff_review_section",
    "staff_spread_table",
    "staff_table",
    "summary_table",
    "table_html",
    "verdict_words",
    "workflow_criteria",
    "workflow_criteria_table",
    "workflow_recommendation",
    "workflow_sections",
]
