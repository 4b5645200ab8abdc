"""`harness demo` keeps one embedded server for its run and its scoring pass."""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest

from harness.cli import commands

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("plan", "leases"),
    [("plans/demo.yaml", True), ("plans/baselines.yaml", False)],
)
def test_the_demo_leases_the_embedded_server_only_for_a_plan_that_uses_it(
    plan, leases, tmp_path, monkeypatch
):
    started = []

    @contextlib.contextmanager
    def fake_serve(log_dir=None, **kw):  # records the lease; the real one is tested in engine/
        started.append(log_dir)
        yield None

    monkeypatch.setattr("harness.engine.local.serve_smollm2", fake_serve)
    with commands._embedded_lease(REPO / plan, tmp_path):
        pass
    assert started == ([tmp_path / ".cache"] if leases else [])
