"""A lease held across engine sessions only when a plan uses the embedded model (harness demo)."""

from __future__ import annotations

import contextlib

import pytest

from harness.engine import local


@pytest.mark.parametrize(
    ("models", "leases"),
    [
        (["", "", "", "local/smollm2", "local/smollm2"], True),  # plans/demo.yaml
        (["", "", "openai/gpt-4o-mini", ""], False),
    ],
)
def test_the_demo_leases_the_embedded_server_only_for_a_plan_that_uses_it(
    models, leases, tmp_path, monkeypatch
):
    started = []

    @contextlib.contextmanager
    def lease(log_dir=None, **kw):  # records the lease; the real one: tests/engine
        started.append(log_dir)
        yield None

    monkeypatch.setattr(local, "serve_smollm2", lease)
    with local.lease_if_embedded(models, tmp_path):
        pass
    assert started == ([tmp_path] if leases else [])
