"""A model candidate's prompt: the samples of one item are rendered (and retrieved) once."""

from __future__ import annotations

import harness.knowledge
from harness.candidates.prompts import PromptBuilder
from harness.data.dataset import load_dataset
from harness.plan.spec import load_plan
from tests.conftest import REPO, SAMPLE

DS = load_dataset(SAMPLE)


def _builder(tmp_path):
    plan = load_plan(REPO / "plans" / "demo.yaml")
    spec = next(c for c in plan.candidates if c.is_model)
    return PromptBuilder(spec, plan, DS, tmp_path / "kb")


def test_the_samples_of_one_item_retrieve_once(tmp_path, monkeypatch):
    calls: list[str] = []
    real = harness.knowledge.retrieve_rows

    def counted(kb, item, k):
        calls.append(item["id"])
        return real(kb, item, k)

    monkeypatch.setattr(harness.knowledge, "retrieve_rows", counted)
    build = _builder(tmp_path)
    a = {**DS.item("faq-trn-005"), "id": "faq-trn-005"}
    outs = [build.prompt(dict(a)) for _ in range(4)]
    assert calls == ["faq-trn-005"]
    assert all(o == outs[0] for o in outs)
    outs[0][0][0]["content"] = "changed by a caller"  # each sample gets its own messages
    assert build.prompt(dict(a))[0][0]["content"] != "changed by a caller"


def test_a_different_item_or_message_is_rendered_again(tmp_path):
    build = _builder(tmp_path)
    a = {**DS.item("faq-trn-005"), "id": "faq-trn-005"}
    b = {**DS.item("faq-trn-006"), "id": "faq-trn-006"}
    redacted = {**a, "input": a["input"] + " [REDACTED NAME]"}
    ma, mb, mr = (build.prompt(x)[0][-1]["content"] for x in (a, b, redacted))
    assert len({ma, mb, mr}) == 3
    assert "[REDACTED NAME]" in mr and a["input"] in ma
