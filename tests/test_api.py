"""The Python calls the README documents, each run in the layout's spelling (issue 21).

The README spells each CLI command's call from the public API of ``harness`` itself
(``harness.load_dataset``, ``harness.run_plan``, ``harness.score_run``, ``harness.render_report``)
and the rest from its stage package. A call renamed here is renamed in the README too.
"""

from __future__ import annotations

import pandas as pd
import pytest

import harness
import harness.data
import harness.gates.decision
import harness.importers
import harness.review as review
import harness.run
from harness import stats, textsafe
from harness.gates.slices import slices
from harness.scorers import accuracy, edit

from .conftest import SAMPLE, baselines_run


@pytest.fixture(scope="module")
def baseline_run(tmp_path_factory):
    # made by harness.run_plan once per session (tests/conftest.py's baselines_run)
    return baselines_run(tmp_path_factory)


def test_load_dataset_returns_numeric_frames():
    for load in (harness.load_dataset, harness.data.load_dataset):
        ds = load(SAMPLE)
        assert isinstance(ds.items, pd.DataFrame) and len(ds.items) > 100


def test_run_score_and_report_from_python(baseline_run):
    run_id, results = baseline_run
    assert harness.run_plan is harness.run.run_plan
    scores = harness.score_run(run_id, results)
    assert {"item_id", "candidate", "metric", "value"} <= set(scores.columns)
    assert not stats.summarize(scores).empty


@pytest.mark.slow
def test_render_report_from_python(baseline_run):
    run_id, results = baseline_run
    path = harness.render_report(run_id, results_dir=results)
    assert path.name == "readiness_report.html" and path.stat().st_size > 10_000


def test_slices_and_the_evidence_index(baseline_run):
    run_id, results = baseline_run
    run = harness.load_run(run_id, results)
    table = slices(run, "language", ["required_facts_coverage"])
    assert set(table["slice"]) >= {"en", "es"}
    fig, alt = harness.gates.slice_figure(
        run, "required_facts_coverage", "language", gates=harness.gates.decision.load_gates()
    )
    assert fig is not None and alt
    index = harness.gates.evidence_index(run, ["equity"])
    assert len(index) > 5
    assert textsafe.mpl("$5 fee") == r"\$5 fee"


def test_importers_scorers_and_review_calls():
    ds = harness.load_dataset(SAMPLE)
    counts = harness.importers.suggestion_counts(ds.items)
    assert isinstance(counts, pd.DataFrame)
    assert callable(harness.importers.import_export)
    item = ds.items.iloc[0]
    assert isinstance(accuracy.unsupported_claims("Call 555-0100 on Friday.", item, ds), list)
    if ds.pilot_log is not None and len(ds.pilot_log) >= 10:
        rates, _ = edit.fit_effort_rates(ds.pilot_log)
        assert rates
    assert callable(review.start) and callable(review.export)
    assert harness.load_plan is harness.run.names.load_plan  # every name resolved
    assert harness.decide is harness.gates.decision.decide
