"""The shipped prompts of the workflow plans render for every workflow's items, in the sandbox,
and each asks for what that workflow needs."""

from __future__ import annotations

import pytest

from harness.candidates.prompts import PromptBuilder
from harness.data.dataset import load_dataset
from harness.plan.spec import CandidateSpec, load_plan
from tests.conftest import REPO, SAMPLE

DS = load_dataset(SAMPLE)


@pytest.mark.parametrize(
    "item_id,says",
    [
        ("sum-018", "summary for the office that must act"),
        ("nl-002", "Write the newsletter section."),
        # a section the district publishes in Spanish too (publish_es) asks for both
        ("nl-001", "Write the newsletter section, then the same section in Spanish."),
        ("faq-enr-001", "Write the reply to the parent"),
        ("sq-001", "cite the passage ids you rely on"),
    ],
)
def test_one_prompt_across_workflows(item_id, says):
    plan = load_plan(REPO / "plans" / "workflows.yaml")
    spec = CandidateSpec(name="m", model="local/smollm2", prompt="prompts/workflows.j2")
    msgs = PromptBuilder(spec, plan, DS).messages(DS.item(item_id))
    assert says in msgs[-1]["content"]
    assert DS.items.loc[item_id, "input"][:40] in msgs[-1]["content"]


@pytest.mark.parametrize("name", ["inbound_summary", "newsletter", "staff_question"])
def test_workflow_plans_render_their_items(name):
    plan = load_plan(REPO / "plans" / f"{name}.yaml")
    spec = next(c for c in plan.candidates if c.is_model)
    render = PromptBuilder(spec, plan, DS)
    for iid in DS.items.index[DS.items["task"] == name]:
        system, user = render.messages(DS.item(iid))
        assert DS.items.loc[iid, "input"][:40] in user["content"]
        assert "Never" in system["content"]
