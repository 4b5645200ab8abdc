"""scripts/relayout.py --rewrite: old import paths become the new ones, once (issue 21)."""

from __future__ import annotations

import importlib.util
import subprocess
import sys

import pytest

from .conftest import REPO

spec = importlib.util.spec_from_file_location("relayout", REPO / "scripts" / "relayout.py")
relayout = importlib.util.module_from_spec(spec)
spec.loader.exec_module(relayout)

CASES = [
    (
        "from harness import safeyaml, stats",
        "from harness.data import safeyaml\nfrom harness import stats",
    ),
    ("from harness import plan", "from harness.plan import spec as plan"),
    (
        "from harness.plan import load_plan, Plan as P",
        "from harness.plan.spec import load_plan, Plan as P",
    ),
    ("import harness.engine as eng", "import harness.engine.calls as eng"),
    ("    from harness.candidates import watchdog", "    from harness.engine import watchdog"),
    ("from harness.gates import decide", "from harness.gates.decision import decide"),
    ('setattr("harness.engine.Engine", f)', 'setattr("harness.engine.calls.Engine", f)'),
    ("harness.candidates.llm.backoff_delay", "harness.engine.llm.backoff_delay"),
    (
        "see harness/plan.py, tests/test_runner.py::t",
        "see harness/plan/spec.py, tests/run/test_runner.py::t",
    ),
    ('"load_dataset": "harness.datasets"', '"load_dataset": "harness.data.dataset"'),
    (
        "from harness.importers.mapping import infer_mapping",
        "from harness.data.mapping import infer_mapping",
    ),
    (
        '    "from harness.slices import slices\\n",',
        '    "from harness.gates.slices import slices\\n",',
    ),
    # new-layout code is left alone
    ("python -m harness.cli run", "python -m harness.cli run"),
    ('harness = "harness.cli:main"', 'harness = "harness.cli:main"'),
    ("from harness.gates import evidence_index", "from harness.gates import evidence_index"),
    ("harness.gates.slice_figure(run)", "harness.gates.slice_figure(run)"),
    ("from harness.plan.spec import Plan", "from harness.plan.spec import Plan"),
    ("from harness.scorers import metrics", "from harness.scorers import metrics"),
    ("import harness.review as review", "import harness.review as review"),
]


@pytest.mark.parametrize(("old", "new"), CASES)
def test_rewrite_gives_the_new_name_and_is_idempotent(old, new):
    assert relayout.rewrite_text(old) == new
    assert relayout.rewrite_text(new) == new


def test_the_mapping_is_unambiguous():
    assert relayout.check(REPO) == []


def test_the_repository_is_already_rewritten():
    """Nothing of the old layout is left in code (README.md is the lead's: ignored)."""
    out = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "relayout.py"), "--rewrite", "--dry-run"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    assert [line for line in out[:-1] if line != "README.md"] == []
