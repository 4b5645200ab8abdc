"""Every name a plan uses resolves against the registries of the stages that own them, before
the first call, though the plan stage imports neither (harness/run/names.py)."""

from __future__ import annotations

import pytest
import yaml

import harness
from harness.errors import PlanError
from harness.plan.spec import load_plan as load_plan_shape
from harness.run import load_plan, plan_names, run_plan
from tests.conftest import write_plan


def _plan(tmp_path, mini, **change):
    path = write_plan(tmp_path, mini, [{"name": "canned", "baseline": "template"}])
    data = yaml.safe_load(path.read_text())
    data.update(change)
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def test_an_unknown_baseline_fails_at_load_naming_its_line_and_the_valid_ones(tmp_path, mini):
    path = _plan(tmp_path, mini, candidates=[{"name": "c", "baseline": "canned"}])
    for loader in (load_plan, harness.load_plan):
        with pytest.raises(PlanError) as err:
            loader(path)
        (p,) = err.value.problems
        assert p.field == "candidates.0.baseline" and "unknown baseline 'canned'" in p.message
        assert "retrieval, staff_first_draft, template" in p.hint
        assert "baseline: canned" in path.read_text().splitlines()[p.line - 1]


def test_the_registries_are_the_candidates_and_scorers_own():
    from harness.candidates.baselines import BASELINES
    from harness.scorers import scorer_names

    names = plan_names()
    assert set(names.baselines) == set(BASELINES)
    assert names.scorers() == scorer_names()
    assert names.is_scorer("edit") and not names.is_scorer("judgee")


def test_without_the_registries_a_plan_is_checked_for_shape_and_files_only(tmp_path, mini):
    path = _plan(tmp_path, mini, scorers=["judgee"])
    assert load_plan_shape(path).scorers[0].name == "judgee"
    with pytest.raises(PlanError, match="which is not a scorer"):
        load_plan(path)


def test_run_plan_resolves_a_plan_object_before_anything_is_created(tmp_path, mini, results):
    plan = load_plan_shape(_plan(tmp_path, mini, scorers=["edit", "judgee"]))
    with pytest.raises(PlanError) as err:
        run_plan(plan, results_dir=results)
    assert [p.field for p in err.value.problems] == ["scorers.1"]
    assert "valid scorers: " in err.value.problems[0].hint
    assert not list(results.iterdir())


def test_harness_run_reads_and_resolves_the_plan_once(tmp_path, mini, results, monkeypatch):
    """The CLI loads the plan once and hands the loaded plan to the call workers' early start
    and to run_plan (the plan file read once, its names resolved once)."""
    import sys

    import harness.plan.spec as spec
    import harness.run.names as names_module
    from harness.cli.commands import main

    monkeypatch.delitem(sys.modules, "litellm", raising=False)  # as in a fresh `harness run`
    reads: list[str] = []
    resolved: list[int] = []
    real_load, real_names = spec.load_yaml, names_module.plan_names
    monkeypatch.setattr(spec, "load_yaml", lambda p, w: reads.append(w) or real_load(p, w))
    monkeypatch.setattr(names_module, "plan_names", lambda: resolved.append(1) or real_names())
    path = _plan(tmp_path, mini)
    assert main(["--results", str(results), "run", str(path), "--quiet", "--no-score"]) == 0
    assert (reads.count("plan"), len(resolved)) == (1, 1)
