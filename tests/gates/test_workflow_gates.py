"""Gates per workflow (issue 23 item 5): a gate naming ``tasks`` judges only those workflows'
items, a run is judged on the gates of the workflows it holds, and the shipped gates judge
summaries, newsletters and staff questions on their own measures, with bars in units."""

from __future__ import annotations

import pandas as pd
import pytest

from harness.gates.decision import (
    NOT_DECIDED,
    NOT_READY,
    READY,
    Evidence,
    Governance,
    evaluate,
    load_gates,
)
from harness.metrics import metric_def
from harness.plan.spec import load_plan
from tests.conftest import REPO
from tests.gates.test_decision import CANDIDATES, GOV, gate, gateset, scores_of

WORKFLOWS = ["inbound_summary", "newsletter", "staff_question"]
FAQ_ONLY = {"required_facts_coverage", "escalation_ok", "judge_accuracy"}


def _decide(values, gates, tasks):
    """A decision on items i0, i1, ... whose tasks are given in order."""
    scores = scores_of(values)
    ids = [f"i{i}" for i in range(len(tasks))]
    items = pd.DataFrame({"task": tasks, "category": "general"}, index=ids)
    ev = Evidence(
        scores=scores,
        categories=items["category"],
        candidates=CANDIDATES,
        items=items,
    )
    return evaluate(ev, "pre_pilot", gates, Governance.model_validate(GOV))


def test_a_gate_judges_only_its_workflows_items():
    tasks = ["faq_reply"] * 10 + ["inbound_summary"] * 10
    vals = [0.2] * 10 + [0.95] * 10
    gs = gateset(
        gate(name="faq", metric="word_similarity", threshold=0.8, tasks=["faq_reply"]),
        gate(name="sum", metric="word_similarity", threshold=0.8, tasks=["inbound_summary"]),
        gate(name="all", metric="word_similarity", threshold=0.5),
    )
    d = _decide({("ai", "word_similarity"): vals}, gs, tasks)
    by = d.gates.set_index("gate")
    assert by.loc["faq", "status"] == "fail" and by.loc["faq", "value"] == pytest.approx(0.2)
    assert by.loc["sum", "status"] == "pass" and by.loc["sum", "value"] == pytest.approx(0.95)
    assert by.loc["all", "value"] == pytest.approx(0.575)  # no tasks: every workflow
    assert by.loc["faq", "n"] == by.loc["sum", "n"] == 10
    assert d.verdict == NOT_READY


def test_a_run_is_judged_on_the_gates_of_its_own_workflow():
    gs = gateset(
        gate(name="faq", metric="word_similarity", threshold=0.99, tasks=["faq_reply"]),
        gate(name="sum", metric="word_similarity", threshold=0.8, tasks=["inbound_summary"]),
    )
    d = _decide({("ai", "word_similarity"): [0.95] * 12}, gs, ["inbound_summary"] * 12)
    assert d.gates["gate"].tolist() == ["sum"]  # the FAQ gate does not judge summaries
    assert d.verdict == READY


def test_a_workflow_without_gates_is_not_decided():
    gs = gateset(gate(name="faq", metric="word_similarity", threshold=0.5, tasks=["faq_reply"]))
    d = _decide({("ai", "word_similarity"): [0.95] * 12}, gs, ["newsletter"] * 12)
    assert d.gates.empty
    assert d.verdict == NOT_DECIDED
    assert "no pre_pilot gate for this run's workflow (newsletter)" in d.reason
    assert (d.candidates["verdict"] == NOT_DECIDED).all()  # never "passed all 0 gates"


def test_a_gate_refuses_a_task_name_that_is_not_one():
    with pytest.raises(Exception, match="tasks"):
        gateset(gate(metric="word_similarity", threshold=0.5, tasks=["Inbound Summary"]))


@pytest.mark.parametrize("task", WORKFLOWS)
def test_shipped_gates_judge_each_workflow_on_its_own_measures(task):
    pg = load_gates().phase("pre_pilot")
    own = [g for g in pg.gates if g.tasks == [task]]
    plan = load_plan(REPO / "plans" / f"{task}.yaml")
    from harness.scorers import scorer_info

    measured = {m.name for s in plan.scorers for m in scorer_info(s.name).metrics}
    assert len(own) >= 4 and len([g for g in own if g.required]) >= 2
    for g in own:
        assert g.metric in measured, (g.name, "the workflow's own plan measures it")
        assert metric_def(g.metric).unit, g.name  # a unit for every bar
        assert f"{g.threshold:g}" in g.title, (g.name, "the title states the bar")
    applied = {g.metric for g in pg.for_tasks({task})}
    if task != "staff_question":  # staff answers carry facts like FAQ replies do
        assert not applied & FAQ_ONLY
    assert not {g.metric for g in pg.for_tasks({"faq_reply"})} & {g.metric for g in own}


def test_a_newsletter_without_the_spanish_version_fails_the_spanish_gate():
    """The shipped newsletter-spanish gate, on the sample district's sections it publishes in
    Spanish: the approved sections pass; the same sections without their Spanish version fail."""
    from harness.data.dataset import load_dataset
    from harness.gates.evaluation import evaluate_gate
    from harness.scorers import get_scorer
    from harness.scorers.language import english_part
    from tests.conftest import SAMPLE
    from tests.scorers import frame_of

    ds = load_dataset(SAMPLE)
    items = ds.items
    es = items.index[(items["task"] == "newsletter") & items["publish_es"].eq(True)].tolist()
    assert len(es) == 3
    refs = {i: str(items.loc[i, "reference"]) for i in es}
    rows = [(i, "canned", 0, refs[i]) for i in es] + [
        (i, "ai", 0, english_part(refs[i])) for i in es
    ]
    frame = frame_of(ds, rows)
    wide = get_scorer("newsletter")(frame, ds)
    assert wide["spanish_version_ok"].tolist() == [1.0] * 3 + [0.0] * 3
    assert wide["section_length_ok"].tolist() == [1.0] * 6  # the English part is the section
    long = pd.DataFrame(
        {
            "key": frame["key"],
            "item_id": frame["item_id"],
            "candidate": frame["candidate"],
            "sample": 0,
            "metric": "spanish_version_ok",
            "value": wide["spanish_version_ok"],
        }
    )
    ev = Evidence(scores=long, categories=items["category"], candidates=CANDIDATES, items=items)
    gs = load_gates()
    for phase in ("pre_pilot", "post_pilot", "pre_expansion"):
        g = next(g for g in gs.phase(phase).gates if g.name == "newsletter-spanish")
        assert g.tasks == ["newsletter"]
        assert evaluate_gate(g, "canned", ev, gs)["status"] == "pass", phase
        assert evaluate_gate(g, "ai", ev, gs)["status"] == "fail", phase
