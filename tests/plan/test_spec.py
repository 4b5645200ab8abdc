"""Eval plan validation: the judge's options (candidates, calibration sample, response format)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from harness.errors import PlanError
from harness.plan.spec import CalibrationSample, JudgeSpec, load_plan
from tests.conftest import MINI, REPO

CANDIDATES = [
    {"name": "canned", "baseline": "template"},
    {"name": "ai", "model": "local/smollm2", "prompt": "prompt.j2"},
]


def _plan(tmp_path: Path, judge: dict) -> Path:
    (tmp_path / "prompt.j2").write_text("{{ item.input }}", encoding="utf-8")
    data = {
        "name": "t",
        "dataset": str(MINI),
        "tasks": ["faq_reply"],
        "candidates": CANDIDATES,
        "scorers": ["judge"],
        "judge": judge,
    }
    p = tmp_path / "plan.yaml"
    p.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return p


@pytest.mark.parametrize(
    "judge,field,message",
    [
        (
            {"candidates": ["ai", "gpt"]},
            "judge.candidates.1",
            "names 'gpt', which is not a candidate",
        ),
        ({"candidates": []}, "judge.candidates", "at least 1 item"),
        ({"candidates": ["ai", "ai"]}, "judge.candidates", "more than once: ai"),
        (
            {"calibration_sample": {"max_drafts": 0}},
            "judge.calibration_sample.max_drafts",
            "greater than or equal to 1",
        ),
        ({"calibration_sample": {}}, "judge.calibration_sample.max_drafts", "is missing"),
        (
            {"calibration_sample": {"max_drafts": 5, "stratify": "rater"}},
            "judge.calibration_sample.stratify",
            "'score' or 'item'",
        ),
        (
            {"calibration_sample": {"max_drafts": 5, "size": 5}},
            "judge.calibration_sample.size",
            "is not a known setting",
        ),
        ({"response_format": "grammar"}, "judge.response_format", "'json_schema'"),
        ({"rationale_chars": -1}, "judge.rationale_chars", "greater than or equal to 0"),
        (
            {"response_format": "json_schema", "params": {"response_format": {"type": "text"}}},
            "judge",
            "keep one",
        ),
    ],
)
def test_judge_option_errors_name_the_field(tmp_path, judge, field, message):
    with pytest.raises(PlanError) as err:
        load_plan(_plan(tmp_path, judge))
    problems = err.value.problems
    assert len(problems) == 1, problems
    p = problems[0]
    assert p.field == field and message in p.message
    assert p.line is not None and p.line > 1  # points into the judge section, not the top


def test_valid_judge_options_load(tmp_path):
    plan = load_plan(
        _plan(
            tmp_path,
            {
                "candidates": ["ai"],
                "calibration_sample": {"max_drafts": 12, "stratify": "item"},
                "response_format": "json_object",
                "rationale_chars": 80,
            },
        )
    )
    j = plan.judge
    assert j is not None and j.candidates == ["ai"] and j.response_format == "json_object"
    assert j.calibration_sample == CalibrationSample(max_drafts=12, seed=20261201, stratify="item")


def test_defaults_keep_todays_judge():
    j = JudgeSpec()
    assert j.candidates is None and j.calibration_sample is None and j.response_format == "auto"
    # a plan fingerprint ignores defaults, so old plans keep their fingerprint
    assert "candidates" not in j.model_dump(exclude_defaults=True)


def test_the_demo_plan_judges_only_smollm2_on_a_sample():
    plan = load_plan(REPO / "plans" / "demo.yaml")
    assert plan.judge is not None and "judge" in [s.name for s in plan.scorers]
    assert plan.judge.model == "local/smollm2" and plan.judge.candidates == ["smollm2"]
    sample = plan.judge.calibration_sample
    assert sample is not None and sample.max_drafts >= plan.judge.min_rated
    assert plan.resolve(str(plan.judge.rubric)).is_file()


def test_the_demo_selection_has_a_spanish_slice_and_about_32_items():
    from harness.data.dataset import load_dataset
    from harness.run.runner import select_items

    plan = load_plan(REPO / "plans" / "demo.yaml")
    items, _ = select_items(plan, load_dataset(plan.resolve(plan.dataset)))
    langs = items["language"].value_counts()
    assert 30 <= len(items) <= 34  # make demo stays well under 10 minutes with the judge
    assert langs["es"] >= 10  # at least the slices' min_n, so the Spanish slice is evidence
    assert items["sensitive"].sum() >= 8 and items["category"].nunique() == 10


@pytest.mark.parametrize(
    ("language", "line"),
    [
        ("en", "Write the reply to the parent."),
        (None, "Write the reply to the parent."),
        ("es", "Write the reply to the parent in Spanish."),
        ("vi", "Write the reply to the parent in English."),
    ],
)
def test_the_faq_prompt_drafts_in_the_familys_language(language, line):
    import jinja2

    text = (REPO / "plans" / "prompts" / "faq_reply.j2").read_text(encoding="utf-8")
    env = jinja2.Environment(undefined=jinja2.StrictUndefined)
    out = env.from_string(text).render(
        item={"input": "Q?", "language": language}, sources=[], retrieved=[], task="faq_reply"
    )
    assert out.strip().splitlines()[-1] == line
