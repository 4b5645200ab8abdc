"""A pilot protocol freezes the gates of the workflow it pilots (issue 23): a summary pilot's
protocol never holds a gate written only for FAQ replies, an FAQ pilot keeps every gate it froze
before, and a later edit to another workflow's gate is not a change to the frozen protocol."""

from __future__ import annotations

import shutil

import pytest
import yaml

import harness.pilot.protocol as protocol
from harness.gates.specs import load_gates
from harness.run.names import load_plan
from harness.run.runner import RunOptions, run_plan
from harness.store.runs import load_run

from ..conftest import REPO

POST = ("post_pilot", "pre_expansion")


def _run(results, plan_path, **update):
    plan = load_plan(plan_path)
    if update:
        plan = plan.model_copy(update=update)
    store = run_plan(plan, results_dir=results, options=RunOptions(progress=False))
    return load_run(store.run_id, results)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    results = tmp_path_factory.mktemp("proto-wf") / "results"
    summary = _run(
        results,
        REPO / "plans" / "workflows.yaml",
        name="summaries",
        workflow="Summarising inbound family messages",
        tasks=["inbound_summary"],
    )
    faq = _run(results, REPO / "plans" / "baselines.yaml")
    return summary, faq


def _names(proto, phase):
    return [g["name"] for g in proto["gates"].get(phase, [])]


def test_a_summary_pilot_freezes_only_its_workflows_gates(runs):
    summary, _ = runs
    proto = protocol.build(summary)
    assert proto["tasks"] == ["inbound_summary"]
    gs = load_gates()
    for phase in POST:
        frozen = proto["gates"][phase]
        assert frozen, phase
        for g in frozen:  # every frozen gate judges summaries: none is FAQ-only
            assert "tasks" not in g or "inbound_summary" in g["tasks"], (phase, g["name"])
        names = _names(proto, phase)
        assert "sensitive-escalated" not in names and "facts-covered" not in names
        own = [g.name for g in gs.phase(phase).gates if g.tasks == ["inbound_summary"]]
        assert own and set(own) <= set(names), phase  # the summary's own measures are there
    measured = {m["gate"] for m in proto["measures"]}
    assert measured == set(_names(proto, "post_pilot"))
    assert "summary-safety" in measured and "facts-covered" not in measured


def test_an_faq_pilot_keeps_the_gates_it_froze_before(runs):
    _, faq = runs
    proto = protocol.build(faq)
    assert proto["tasks"] == ["faq_reply"]
    gs = load_gates()
    for phase in POST:
        # every gate judging FAQ replies (no 'tasks', or one naming faq_reply), in file order
        want = [g.name for g in gs.phase(phase).gates if g.tasks is None or "faq_reply" in g.tasks]
        assert _names(proto, phase) == want
    assert _names(proto, "post_pilot")[:7] == [
        "pilot-saves-time",
        "pilot-fewer-hand-written",
        "pilot-faster",
        "pilot-fewer-revisions",
        "facts-covered",
        "no-invented-facts",
        "sensitive-escalated",
    ]
    assert not [n for n in _names(proto, "post_pilot") if n.startswith(("summary-", "staff-"))]


def test_an_edit_to_another_workflows_gate_is_no_change(runs, tmp_path):
    summary, _ = runs
    gates = tmp_path / "gates.yaml"
    shutil.copy(REPO / "rubrics" / "gates.yaml", gates)
    draft = protocol.write(protocol.build(summary, gates), tmp_path / "summaries.draft.yaml")
    frozen = protocol.freeze(draft)
    assert protocol.changes(frozen) == []
    doc = yaml.safe_load(gates.read_text())
    post = {g["name"]: g for g in doc["phases"]["post_pilot"]["gates"]}
    post["sensitive-escalated"]["threshold"] = 0.99  # an FAQ-only gate: not this pilot's
    gates.write_text(yaml.safe_dump(doc, sort_keys=False))
    assert protocol.changes(frozen) == []
    post["summary-safety"]["threshold"] = 0.9  # the piloted workflow's own gate
    gates.write_text(yaml.safe_dump(doc, sort_keys=False))
    changed = protocol.changes(frozen)
    assert [(c["phase"], c["gate"], c["field"]) for c in changed] == [
        ("post_pilot", "summary-safety", "threshold")
    ]
