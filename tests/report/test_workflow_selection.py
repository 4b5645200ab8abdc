"""Phase 1: the shipped workflows plan on the sample district, the criteria traced to the data,
the recommendation rule, the rendered page (at most 4 Letter pages) and each workflow's own
section in the readiness report."""

from __future__ import annotations

import math
import shutil

import numpy as np
import pandas as pd
import pytest

from harness.cli.commands import main
from harness.data.dataset import load_dataset
from harness.report import load_run, workflow_criteria, workflow_sections
from harness.report.workflows import recommend
from harness.run.runner import RunOptions, run_plan
from tests.conftest import REPO, SAMPLE

PLAN = REPO / "plans" / "workflows.yaml"


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    results = tmp_path_factory.mktemp("wf") / "results"
    store = run_plan(PLAN, results_dir=results, options=RunOptions(progress=False))
    return load_run(store.run_id, results)


def test_every_workflow_is_scored_with_its_own_measures(run):
    w = run.wide_scores().merge(
        run.generations[["key", "task"]], on="key", how="left", validate="one_to_one"
    )
    own = {
        "inbound_summary": [
            "summary_ask_coverage",
            "summary_fact_accuracy",
            "summary_routing_ok",
            "summary_urgency_ok",
        ],
        "newsletter": ["event_coverage", "event_accuracy", "headline_ok", "structure_ok"],
    }
    for task, metrics in own.items():
        mine = w[w["task"] == task]
        others = w[w["task"] != task]
        for m in metrics:
            assert mine[m].notna().any(), (task, m)
            assert others[m].isna().all(), (task, m)  # another workflow is never scored on it
    ref = w[w["candidate"] == "approved_answer"]
    assert ref.groupby("task")["summary_ask_coverage"].mean()["inbound_summary"] == 1.0
    assert ref.groupby("task")["event_coverage"].mean()["newsletter"] == 1.0


def test_approved_answers_clear_each_workflows_own_gates(run):
    from harness.gates.decision import decide, load_gates

    d = decide(run, "pre_pilot")
    ref = d.reference.set_index("gate")
    pg = load_gates().phase("pre_pilot")
    for task in ["inbound_summary", "newsletter", "staff_question"]:
        for g in (g for g in pg.gates if g.tasks == [task] and g.required):
            assert ref.loc[g.name, "status"] == "pass", (g.name, ref.loc[g.name, "evidence"])


@pytest.mark.parametrize("phase", ["post_pilot", "pre_expansion"])
def test_approved_texts_clear_each_workflows_own_later_gates(run, phase):
    """The post-pilot and pre-expansion gates of each workflow (issue 23) are bars the
    district's own approved texts clear: the Spanish versions, the safety flags, the citations."""
    from harness.gates.decision import decide, load_gates

    ref = decide(run, phase).reference.set_index("gate")
    pg = load_gates().phase(phase)
    for task in ["inbound_summary", "newsletter", "staff_question"]:
        own = [g for g in pg.gates if g.tasks == [task] and g.required]
        assert len(own) >= 3, (phase, task)
        for g in own:
            assert ref.loc[g.name, "status"] == "pass", (phase, g.name, ref.loc[g.name, "evidence"])


def test_criteria_trace_to_the_data(run):
    c = workflow_criteria(run)
    items = load_dataset(SAMPLE).items
    assert list(c.index) == ["faq_reply", "inbound_summary", "newsletter", "staff_question"]
    for task in c.index:
        mine = items[items["task"] == task]
        assert c.loc[task, "items"] == len(mine)
        sens = mine["sensitive"].eq(True) | mine["safety_cues"].apply(
            lambda v: isinstance(v, list | np.ndarray)
        )
        assert c.loc[task, "sensitive_share"] == pytest.approx(sens.mean())
    # no counts column and no inbound log: volume unknown, never item dates
    assert c["volume_per_month"].isna().all()
    # measured pain only where the pilot log has baseline rows for the workflow
    # (the workflow's rows: each entry's task decided at load, a row naming no item being an FAQ
    # reply; before the pilot log had a task, only rows naming an item were matched)
    log = load_dataset(SAMPLE).pilot_log
    base = log[(log["phase"] == "baseline") & (log["task"] == "faq_reply")]
    assert (~base["item_id"].isin(items.index)).any()  # replies naming no item count too
    minutes = (base["drafting_minutes"].fillna(0) + base["review_minutes"]).mean()
    assert c.loc["faq_reply", "staff_minutes_measured"] == pytest.approx(minutes)
    assert math.isnan(c.loc["newsletter", "staff_minutes_measured"])
    assert c.loc["newsletter", "staff_minutes_estimated"] > 0  # the labelled estimate
    lo, mid, hi = (
        c.loc["inbound_summary", k]
        for k in ("best_quality_low", "best_quality", "best_quality_high")
    )
    assert lo <= mid <= hi
    assert "staff-first-draft" not in c.attrs["best_candidate"].values()


def test_an_inbound_log_gives_the_volume(run, tmp_path):
    ds = tmp_path / "district"
    shutil.copytree(SAMPLE, ds)
    pd.DataFrame(
        {
            "date": ["2026-01-05", "2026-01-20", "2026-02-03", "2026-02-04"],
            "task": ["inbound_summary"] * 3 + ["newsletter"],
        }
    ).to_csv(ds / "inbound_log.csv", index=False)
    store = run_plan(
        PLAN, dataset=ds, results_dir=tmp_path / "r", options=RunOptions(progress=False)
    )
    c = workflow_criteria(load_run(store.run_id, tmp_path / "r"))
    assert c.loc["inbound_summary", "volume_per_month"] == 1.5  # 3 messages over 2 months
    assert c.loc["newsletter", "volume_per_month"] == 1.0
    assert math.isnan(c.loc["faq_reply", "volume_per_month"])


def _criteria(changes):
    base = pd.DataFrame(
        {
            "measurable_share": [1.0, 1.0, 1.0],
            "sensitive_share": [0.05, 0.1, 0.0],
            "saved_minutes_low": [1.0, 0.5, 2.0],
            "staff_minutes_measured": [10.0, np.nan, np.nan],
            "staff_minutes_estimated": [10.0, 15.0, 30.0],
            "volume_per_month": [np.nan] * 3,
        },
        index=["faq_reply", "inbound_summary", "newsletter"],
    )
    for (task, col), v in changes.items():
        base.loc[task, col] = v
    return base


@pytest.mark.parametrize(
    "changes,choice",
    [
        ({}, "newsletter"),  # the most minutes saved at the interval's lower bound
        ({("newsletter", "sensitive_share"): 0.5}, "faq_reply"),  # too risky to review
        ({("newsletter", "measurable_share"): 0.5}, "faq_reply"),  # cannot be measured
        ({("inbound_summary", "saved_minutes_low"): 3.0}, "inbound_summary"),
    ],
)
def test_recommendation_rule(changes, choice):
    assert recommend(_criteria(changes))["workflow"] == choice


def test_page_renders_recommends_and_prints_on_four_pages(run, capsys):
    results = str(run.store.path.parent)
    assert main(["report", run.run_id, "--phase", "workflow_selection", "--results", results]) == 0
    path = run.store.path / "workflow_selection.html"
    html = path.read_text(encoding="utf-8")
    assert "Start with:" in html and "What would change this" in html
    assert "volume unknown" in html.lower() or "Volume is unknown" in html
    assert "ESTIMATE" in html  # an effort-model figure says it is one
    try:
        from harness.report.render import print_report

        pdf = print_report(path)
    except Exception as exc:  # no Chromium on this machine
        pytest.skip(f"cannot print: {exc}")
    from pypdf import PdfReader

    assert 1 <= len(PdfReader(str(pdf)).pages) <= 4


def test_readiness_report_speaks_about_each_workflow(run, tmp_path):
    html = workflow_sections(run).data
    assert "Summaries of inbound messages: the workflow" in html
    assert "Newsletter sections: the workflow" in html
    assert (
        "Share of the message&#x27;s asks the summary carries" in html or "asks the summary" in html
    )
    faq = run_plan(
        REPO / "plans" / "baselines.yaml", results_dir=tmp_path, options=RunOptions(progress=False)
    )
    assert workflow_sections(load_run(faq.run_id, tmp_path)) is None  # no page added


def test_a_run_of_one_workflow_says_nothing_was_compared(tmp_path):
    from harness.plan.spec import load_plan
    from harness.report.workflow_pages import recommendation_html

    plan = load_plan(REPO / "plans" / "inbound_summary.yaml")
    plan.candidates = [c for c in plan.candidates if not c.is_model]  # no model call in a test
    store = run_plan(plan, results_dir=tmp_path, options=RunOptions(progress=False))
    html = recommendation_html(load_run(store.run_id, tmp_path)).data
    assert "Start with: Summaries of inbound messages" in html
    assert "nothing was compared" in html


def test_the_staff_question_workflow_has_its_own_section(run):
    html = workflow_sections(run).data
    assert "Staff questions about policy: the workflow" in html
    assert "Answers citing the passage that holds the answer" in html
