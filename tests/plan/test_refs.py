"""Everything a plan names resolves at plan load: a typo costs nothing, exit 2, zero calls."""

from __future__ import annotations

import pytest
import yaml

from harness.cli.commands import main
from harness.errors import PlanError
from harness.run import load_plan  # names resolved against the registries (harness.load_plan)
from tests.conftest import REPO, model_candidate, write_plan

MARK = "MARK-template-ran"


def _edit(path, **changes):
    data = yaml.safe_load(path.read_text())
    for k, v in changes.items():
        if v is None:
            data.pop(k, None)
        else:
            data[k] = v
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


@pytest.mark.parametrize(
    ("change", "where", "words"),
    [
        ({"scorers": ["edit", "judgee"]}, "scorers.1", "valid scorers: "),
        ({"governance": "nope.yaml"}, "governance", "names 'nope.yaml', which does not exist"),
        ({"judge": {"rubric": "missing.yaml"}}, "judge.rubric", "which does not exist"),
    ],
)
def test_unresolved_names_fail_at_plan_load(tmp_path, mini, change, where, words):
    plan = _edit(write_plan(tmp_path, mini, [{"name": "canned", "baseline": "template"}]), **change)
    with pytest.raises(PlanError) as err:
        load_plan(plan)
    assert any(p.field == where and words in str(p) for p in err.value.problems), err.value


def test_unknown_canned_replies_file_fails_at_plan_load(tmp_path, mini):
    cand = {"name": "canned", "baseline": "template", "options": {"path": "none.yaml"}}
    with pytest.raises(PlanError, match=r"candidates\.0\.options\.path"):
        load_plan(write_plan(tmp_path, mini, [cand]))


@pytest.mark.parametrize(
    ("prompt", "line"),
    [
        (
            "Q: {{ item.input }}\n{{ cycler.__init__.__globals__.os.popen('touch " + MARK + "') }}",
            2,
        ),
        ("{{ self._TemplateReference__context }}", 1),
        ("{{ item|attr('__class__') }}", 1),
        ("Q\n\n{{ '{0.__class__}'.format(item) }}", 3),
        ("{{ item.input }", 1),
    ],
)
def test_unsafe_or_broken_prompt_exits_2_before_any_call(
    tmp_path, mini, results, loopback, monkeypatch, capsys, prompt, line
):
    monkeypatch.chdir(tmp_path)
    srv = loopback()
    plan = write_plan(tmp_path, mini, [model_candidate(srv.base_url)])
    (tmp_path / "prompt.j2").write_text(prompt)
    assert main(["--results", str(results), "run", str(plan), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert f"prompt.j2 line {line}:" in err, err
    assert srv.request_count == 0 and not list(results.iterdir())
    assert not (tmp_path / MARK).exists()


def test_scorer_typo_exits_2_before_any_draft_is_paid_for(
    tmp_path, mini, results, loopback, capsys
):
    srv = loopback()
    plan = _edit(write_plan(tmp_path, mini, [model_candidate(srv.base_url)]), scorers=["judgee"])
    assert main(["--results", str(results), "run", str(plan), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "scorers.0' names 'judgee', which is not a scorer" in err and "judge" in err
    assert "Traceback" not in err
    assert srv.request_count == 0 and not list(results.iterdir())


def test_unsafe_rubric_prompt_exits_2_naming_the_rubric_line(tmp_path, mini, loopback):
    rubric = yaml.safe_load((REPO / "rubrics" / "judge.yaml").read_text())
    rubric["prompt"] = "Rate {{ draft }}\n{{ draft.__class__.__mro__ }}"
    (tmp_path / "rubric.yaml").write_text(yaml.safe_dump(rubric, sort_keys=False))
    srv = loopback()
    plan = _edit(
        write_plan(tmp_path, mini, [model_candidate(srv.base_url)]),
        judge={"model": "openai/loopback", "api_base": srv.base_url, "rubric": "rubric.yaml"},
    )
    with pytest.raises(PlanError) as err:
        load_plan(plan)
    p = err.value.problems[0]
    assert p.file.endswith("rubric.yaml") and p.field == "prompt" and "__class__" in p.message
    text = (tmp_path / "rubric.yaml").read_text().splitlines()
    assert "__class__" in text[p.line - 1], (p.line, text)


@pytest.mark.parametrize("plan", [REPO / "plans" / "demo.yaml", REPO / "plans" / "baselines.yaml"])
def test_shipped_plans_and_rubrics_pass(plan):
    load_plan(plan)


def test_declared_scorer_names_match_the_registry():
    from harness.scorers import declared_scorer_names, scorer_names

    assert declared_scorer_names() == set(scorer_names())
