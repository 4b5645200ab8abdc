from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

import harness
from harness.store.runs import list_runs, open_run

from .conftest import REPO


@pytest.fixture
def in_notebooks(monkeypatch):
    monkeypatch.chdir(REPO / "notebooks")


def test_load_plan_and_dataset_from_a_notebook_folder(in_notebooks):
    plan = harness.load_plan("plans/demo.yaml")
    assert plan.path == REPO / "plans" / "demo.yaml"
    assert len(harness.load_dataset("datasets/sample-district").items) > 100


def test_results_resolve_to_the_project_root_from_notebooks(tmp_path, monkeypatch):
    root = tmp_path / "proj"
    (root / "harness").mkdir(parents=True)
    (root / "pyproject.toml").write_text("[project]\nname='x'\n")
    run = root / "results" / "r1"
    run.mkdir(parents=True)
    (run / "manifest.json").write_text(json.dumps({"run_id": "r1", "status": "complete"}))
    (root / "notebooks").mkdir()
    monkeypatch.chdir(root / "notebooks")
    monkeypatch.delenv("HARNESS_RESULTS", raising=False)
    from harness.paths import resolve_path

    assert resolve_path("results") == root / "results"
    assert open_run("latest", "results").path == run  # explore.ipynb's default parameters
    assert list_runs()["run_id"].tolist() == ["r1"]


@pytest.mark.parametrize("name", ["results", "plans/demo.yaml", "nowhere/at/all"])
def test_the_current_folder_wins_and_unknown_paths_stay_as_given(tmp_path, monkeypatch, name):
    from harness.paths import project_root, resolve_path

    monkeypatch.chdir(tmp_path)
    assert project_root() is None  # outside any checkout: nothing is borrowed
    assert resolve_path(name) == Path(name)
    (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
    (tmp_path / name).write_text("x")
    assert resolve_path(name) == Path(name) and Path(name).exists()
    assert os.path.isabs(resolve_path(tmp_path / name))


@pytest.mark.parametrize(
    "name", ["readiness_report", "phase_comparison", "judge_calibration", "explore"]
)
def test_every_notebook_runs_all_with_its_defaults(tmp_path, mini, monkeypatch, name):
    """ "Run All" in JupyterLab: the kernel in notebooks/, the tagged defaults, a real run."""
    import shutil

    import nbformat
    import papermill as pm

    from harness.report.kernel import papermill_kernel_options
    from harness.run.runner import RunOptions, run_plan

    from .conftest import write_plan

    root = tmp_path / "proj"
    (root / "harness").mkdir(parents=True)
    (root / "pyproject.toml").write_text("[project]\nname='x'\n")
    (root / "notebooks").mkdir()
    shutil.copy(REPO / "notebooks" / f"{name}.ipynb", root / "notebooks")
    plan = write_plan(tmp_path, mini, [{"name": "canned", "baseline": "template"}])
    run_plan(plan, results_dir=root / "results", options=RunOptions(progress=False))
    monkeypatch.delenv("HARNESS_RESULTS", raising=False)
    out = tmp_path / "executed.ipynb"
    pm.execute_notebook(
        str(root / "notebooks" / f"{name}.ipynb"),
        str(out),
        kernel_name="python3",
        progress_bar=False,
        cwd=str(root / "notebooks"),
        **papermill_kernel_options(),
    )
    nb = nbformat.read(str(out), as_version=4)
    errors = [
        o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"
    ]
    assert errors == []
    if name == "explore":  # it shows the run it found under ../results (the default)
        outs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
        assert any("canned" in str(o) for o in outs)


def test_the_suite_keeps_out_of_the_checkouts_results_folder(tmp_path_factory):
    """tests/conftest.py points $HARNESS_RESULTS at the session's temp root, one folder for every
    pytest-xdist worker: a run, response cache or knowledge index a test makes in the default
    place lands there, never in the checkout's results/ (a user's runs and the demo's index)."""
    from harness.knowledge.index import default_cache_dir
    from harness.store.runs import default_results_dir

    root = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = root.parent  # the folder above each worker's popen-gwK/, as shared_copy finds it
    assert default_results_dir() == root / "default-results"
    assert default_cache_dir() == root / "default-results" / ".cache" / "knowledge"
    assert not default_results_dir().resolve().is_relative_to(REPO.resolve())
