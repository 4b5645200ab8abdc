"""A run's pilot log (``harness.store.run_pilot_log``) holds its own workflows' entries only:
a summary-only run never reads the FAQ pilot's minutes, and an FAQ run reads what it read."""

from __future__ import annotations

import pandas as pd
import pytest

from harness.gates.decision import Evidence, decide
from harness.gates.pilot_log import outcomes
from harness.review.evidence import staff_review_status
from harness.run.runner import RunOptions, run_plan
from harness.scorers.scoring import score_run
from harness.store.runs import load_run
from tests.conftest import MINI, model_candidate, write_plan

QUIET = RunOptions(progress=False)
NO_ENTRIES = "no pilot log entries for this workflow"


def _run(tmp_path, loopback, tasks):
    """A loopback model and the canned baseline on the mini district's items of these
    workflows."""
    results = tmp_path / "results"
    srv = loopback()
    plan = write_plan(
        tmp_path,
        MINI,
        [{"name": "canned", "baseline": "template"}, model_candidate(srv.base_url)],
        tasks=tasks,
        scorers=["edit", "length"],
    )
    store = run_plan(plan, results_dir=results, options=QUIET)
    score_run(store)
    return load_run(store.run_id, results)


def test_a_summary_run_reads_no_faq_pilot_entries(tmp_path, loopback):
    run = _run(tmp_path, loopback, ["inbound_summary"])
    assert run.dataset.pilot_log is not None and len(run.dataset.pilot_log) == 4  # FAQ replies
    ev = Evidence.from_run(run)
    assert ev.pilot_log is not None and ev.pilot_log.empty
    gates = decide(run, "post_pilot").gates
    pilot = gates[gates["metric"].str.startswith("pilot:")]
    assert len(pilot) and (pilot["status"] == "not evaluated").all()
    assert pilot["evidence"].str.contains(NO_ENTRIES).all()
    assert pilot["needs"].str.contains("entries of inbound_summary").all()
    status = staff_review_status(run)
    assert status["pilot_replies"] == 0 and not status["happened"]
    assert NO_ENTRIES in status["text"]
    from harness.store import run_pilot_log

    log = run_pilot_log(run)
    assert log is not None and log.empty and log.attrs["tasks"] == ["inbound_summary"]
    assert log.attrs["entries"] == 4
    from harness.report.phases import pilot_log_for, pilot_table

    assert NO_ENTRIES in pilot_table(pilot_log_for(run)).data  # the phase comparison says so
    assert pilot_log_for(run, str(MINI)).empty  # a log given by path is the workflow's too


def test_an_faq_run_keeps_its_pilot_figures(tmp_path, loopback):
    run = _run(tmp_path, loopback, ["faq_reply"])
    old = run.dataset.pilot_log.drop(columns="task")  # the frame as it was before the column
    ev = Evidence.from_run(run)
    assert ev.pilot_log is run.dataset.pilot_log  # every entry is an FAQ reply: all kept
    pd.testing.assert_frame_equal(outcomes(ev.pilot_log), outcomes(old))
    status = staff_review_status(run)
    assert status["pilot_replies"] == 2 and status["baseline_replies"] == 2
    gates = decide(run, "post_pilot").gates
    pilot = gates[gates["metric"].str.startswith("pilot:")]
    assert len(pilot) and not pilot["evidence"].str.contains(NO_ENTRIES).any()
    assert pilot["n"].max() == pytest.approx(4)
