from __future__ import annotations

import math

import pytest
import yaml

from harness.candidates.drafts import load_drafts
from harness.data.dataset import load_dataset
from harness.errors import PlanError
from harness.plan.spec import load_plan
from harness.run.runner import run_plan
from harness.scorers.scoring import score_generations, score_run

from ..conftest import write_plan

DRAFT_001 = (
    "A replacement pass costs $10 at the school office, ready in 2 school days. Call 555-0157."
)


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("item_id,draft\nnope,hello\n", "line 2: field 'item_id' 'nope' matches no item"),
        ("item_id,draft,sample\nfaq-001,a,0\nfaq-001,b,0\n", "line 3: field 'draft' repeats item 'faq-001' sample 0 (first on line 2)"),
        ("item_id,draft,sample\nfaq-001,a,x\n", "line 2: field 'sample' 'x' is not a sample number"),
        ("id,text\nfaq-001,a\n", "a drafts file needs 'item_id' (or 'question') and 'draft'"),
    ],
)  # fmt: skip
def test_bad_drafts_files_name_line_and_field(tmp_path, mini, text, needle):
    p = tmp_path / "drafts.csv"
    p.write_text(text, encoding="utf-8")
    with pytest.raises(PlanError) as err:
        load_drafts(p, load_dataset(mini))
    assert needle in str(err.value)


def test_drafts_may_name_items_by_their_question(tmp_path, mini):
    ds = load_dataset(mini)
    p = tmp_path / "d.jsonl"
    p.write_text('{"question": "  my son LOST his bus pass. what do i do", "draft": "x"}\n')
    assert load_drafts(p, ds) == {"faq-001": {0: "x"}}


def test_plan_accepts_a_drafts_candidate_and_checks_the_file(tmp_path, mini):
    plan = write_plan(tmp_path, mini, [{"name": "vendor", "drafts": "vendor.csv"}])
    with pytest.raises(
        PlanError, match=r"line \d+: field 'candidates.0.drafts' names 'vendor.csv'"
    ):
        load_plan(plan)
    (tmp_path / "vendor.csv").write_text("item_id,draft\nfaq-001,x\n")
    spec = load_plan(plan).candidates[0]
    assert spec.baseline == "drafts" and spec.options == {"path": "vendor.csv"}
    assert tmp_path / "vendor.csv" in load_plan(plan).files()  # hashed into the audit


def test_vendor_drafts_are_scored_like_any_output_and_missing_ones_are_unscored(
    tmp_path, mini, results
):
    (tmp_path / "vendor.csv").write_text(
        f'item_id,draft\nfaq-001,"{DRAFT_001}"\nfaq-004,\n', encoding="utf-8"
    )
    plan = write_plan(
        tmp_path,
        mini,
        [{"name": "canned", "baseline": "template"}, {"name": "vendor", "drafts": "vendor.csv"}],
        scorers=["edit", "required_facts"],
    )
    store = run_plan(plan, results_dir=results)
    scores = score_run(store)
    gens = store.generations().set_index(["candidate", "item_id"])
    assert gens.loc[("vendor", "faq-001"), "output"] == DRAFT_001
    assert gens.loc[("vendor", "faq-004"), "status"] == "no_output"  # empty draft
    assert gens.loc[("vendor", "faq-002"), "status"] == "no_output"  # no row at all
    v = scores[scores["candidate"] == "vendor"].set_index(["item_id", "metric"])["value"]
    assert v[("faq-001", "required_facts_coverage")] == 1.0
    for item in ("faq-002", "faq-004"):
        assert math.isnan(v[(item, "required_facts_coverage")])
        assert math.isnan(v[(item, "word_similarity")])
    # exactly like a model's output: the same text scores the same through score_generations
    g = store.generations()
    row = g[(g["candidate"] == "vendor") & (g["item_id"] == "faq-001")].assign(candidate="m")
    same = score_generations(row, load_dataset(mini), load_plan(plan).scorers)
    assert same.set_index("metric")["value"].to_dict() == {
        m: v[("faq-001", m)] for m in same["metric"]
    }
    assert yaml.safe_load((tmp_path / "plan.yaml").read_text())["candidates"][1]["drafts"]


def test_the_readiness_decision_covers_a_vendor_drafts_candidate(tmp_path, mini, results):
    from harness.gates.decision import decide
    from harness.report import load_run

    (tmp_path / "vendor.csv").write_text(f'item_id,draft\nfaq-001,"{DRAFT_001}"\n')
    plan = write_plan(
        tmp_path,
        mini,
        [{"name": "canned", "baseline": "template"}, {"name": "vendor", "drafts": "vendor.csv"}],
        scorers=["edit", "required_facts"],
    )
    store = run_plan(plan, results_dir=results)
    score_run(store)
    decision = decide(load_run(store.run_id, results), "pre_pilot")
    assert set(decision.all_gates["candidate"]) == {"vendor"}  # judged, like a model
    assert decision.providers.empty  # the harness sent no district data for it
