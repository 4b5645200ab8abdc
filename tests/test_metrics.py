"""harness/metrics.py: one definition per metric, whichever scorer writes it."""

from __future__ import annotations

import ast
from pathlib import Path

import harness.metrics as metrics_module
from harness.metrics import METRICS, metric_def
from harness.scorers import Metric, metrics, scorer


def test_every_built_in_scorer_metric_has_its_row_in_the_table():
    """The table is the one definition: no built-in metric leans on the registry fallback."""
    assert sorted(set(metrics()) - set(METRICS)) == []


def test_a_scorer_registered_outside_the_table_gives_its_own_definition(monkeypatch):
    import harness.scorers as scorers_module

    # registered for this test only: other tests compare the registry with the built-in names
    monkeypatch.setattr(scorers_module, "_REGISTRY", dict(scorers_module._REGISTRY))
    monkeypatch.setattr(metrics_module, "REGISTERED", dict(metrics_module.REGISTERED))

    @scorer(
        "test_metrics_custom",
        family="test",
        metrics=[Metric("test_metrics_wait_score", "Minutes the family waited", False)],
    )
    def custom():  # pragma: no cover - never scored
        raise AssertionError

    d = metric_def("test_metrics_wait_score")
    assert d.label == "Minutes the family waited" and d.description == d.label
    assert d.higher_is_better is False and d.kind == "share"
    # the naming rule still decides a name nobody registered
    assert metric_def("test_metrics_unknown_count").higher_is_better is False
    assert metric_def("test_metrics_unknown_count").kind == "count"


def test_the_metrics_table_imports_no_stage():
    """harness/metrics.py sits at the root, below every stage: the registry fills it."""
    tree = ast.parse(Path(metrics_module.__file__).read_text(encoding="utf-8"))
    imported = [
        n.module if isinstance(n, ast.ImportFrom) else a.name
        for n in ast.walk(tree)
        if isinstance(n, (ast.Import, ast.ImportFrom))
        for a in (n.names if isinstance(n, ast.Import) else [n])
    ]
    assert [m for m in imported if m and m.startswith("harness")] == []


import math  # noqa: E402

import pytest  # noqa: E402


@pytest.mark.parametrize(
    ("received", "approved", "hours"),
    [
        ("2026-03-02T08:15:00-08:00", "2026-03-02T17:15:00.000000+00:00", 1.0),
        ("2026-03-02T08:00:00Z", "2026-03-03T08:30:00+00:00", 24.5),
        ("2026-03-02T09:00:00+01:00", "2026-03-02T08:00:00+00:00", 0.0),
        ("2026-03-02", "2026-03-02T08:00:00+00:00", math.nan),  # a day is not a time
        ("2026-03-02T08:00:00", "2026-03-02T09:00:00+00:00", math.nan),  # no offset
        (None, "2026-03-02T09:00:00+00:00", math.nan),
        ("2026-03-02T08:00:00Z", "", math.nan),  # not approved yet
    ],
)
def test_turnaround_runs_from_the_message_arriving_to_its_approval(received, approved, hours):
    from harness.metrics import turnaround_hours

    got = turnaround_hours(received, approved)
    assert (math.isnan(got) and math.isnan(hours)) or abs(got - hours) < 1e-9
