from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import yaml

from harness.data.dataset import load_dataset
from harness.errors import PlanError
from harness.gates.decision import (
    CONDITIONS,
    NOT_DECIDED,
    NOT_READY,
    READY,
    Evidence,
    GateSet,
    Governance,
    evaluate,
    judge_calibrated,
    load_gates,
    load_governance,
)
from tests.conftest import SAMPLE

GOV = {
    "approval_owner": "Director of Communications",
    "approved_sources": ["current policies"],
    "human_review": "every draft",
    "when_draft_is_wrong": "discard, write from sources, log it",
    "internal_explanation": "staff briefing",
    "pilot_is_not": ["automatic replies"],
    "approved_providers": ["local/smollm2", "127.0.0.1"],
    "ai_disclosure": "a line at the end of every AI-assisted reply",
    "report_sign_off": {
        "name": "Dana Whitfield",
        "role": "Director of Communications",
        "date": "2026-01-23",
    },
    "data_flow": [
        {"data": "messages and drafts", "provider": "local/smollm2", "retention": "one year"}
    ],
    "incident_path": {"report": "to Communications", "correct": "within a day", "log": "pilot log"},
    "staff_training": ["a 60-minute session before the pilot"],
}
CANDIDATES = pd.DataFrame(
    [
        {
            "name": "ai",
            "kind": "model",
            "baseline": None,
            "model": "local/smollm2",
            "api_base": None,
        },
        {
            "name": "canned",
            "kind": "baseline",
            "baseline": "template",
            "model": None,
            "api_base": None,
        },
    ]
)


def scores_of(values: dict[tuple[str, str], list[float]]) -> pd.DataFrame:
    """{(candidate, metric): per-item values} -> long scores (items i0, i1, ...)."""
    rows = [
        {
            "key": f"i{i}|{c}|0",
            "item_id": f"i{i}",
            "candidate": c,
            "sample": 0,
            "metric": m,
            "value": v,
        }
        for (c, m), vals in values.items()
        for i, v in enumerate(vals)
    ]
    return pd.DataFrame(rows)


def gateset(*gates: dict, phase: str = "pre_pilot") -> GateSet:
    return GateSet.model_validate(
        {"resamples": 500, "phases": {phase: {"question": "Good enough?", "gates": list(gates)}}}
    )


def gate(**kw) -> dict:
    return {"name": "g", "title": "A gate", "test": "threshold", **kw}


def run_decision(values, gates, categories=None, gov=GOV, calibration=None, candidates=CANDIDATES):
    scores = scores_of(values)
    items = sorted(scores["item_id"].unique())
    cats = pd.Series(categories or dict.fromkeys(items, "general"))
    ev = Evidence(scores=scores, categories=cats, candidates=candidates, calibration=calibration)
    return evaluate(ev, "pre_pilot", gates, Governance.model_validate(gov))


def test_passed_on_the_mean_but_failed_on_the_interval():
    vals = [1.0] * 8 + [0.0, 0.3]  # mean 0.83 clears 0.8; the interval reaches well below
    d = run_decision(
        {("ai", "word_similarity"): vals}, gateset(gate(metric="word_similarity", threshold=0.8))
    )
    g = d.gates.iloc[0]
    assert g["value"] == pytest.approx(0.83)
    assert g["ci_low"] < 0.8 < g["value"]
    assert g["status"] == "fail"
    assert "the interval reaches" in g["evidence"]
    assert d.verdict == NOT_READY


def test_a_tight_interval_above_the_bar_passes():
    d = run_decision(
        {("ai", "word_similarity"): [0.9, 0.92, 0.91, 0.93] * 5},
        gateset(gate(metric="word_similarity", threshold=0.8)),
    )
    assert d.gates.iloc[0]["status"] == "pass"
    assert d.verdict == READY
    assert d.reason.startswith("Ready: ai passed all 1 gates")


def test_category_floor_fails_while_overall_passes():
    vals = [0.95] * 12 + [0.3] * 3
    cats = {f"i{i}": ("transportation" if i < 12 else "special_education") for i in range(15)}
    gs = gateset(
        gate(name="overall", metric="word_similarity", threshold=0.6),
        gate(name="floor", metric="word_similarity", threshold=0.6, scope="every_category"),
    )
    d = run_decision({("ai", "word_similarity"): vals}, gs, categories=cats)
    by = d.gates.set_index("gate")
    assert by.loc["overall", "status"] == "pass"
    assert by.loc["floor", "status"] == "fail"
    assert "special_education" in by.loc["floor", "evidence"]
    assert "transportation" not in by.loc["floor", "evidence"].split(";")[0]
    assert by.loc["floor", "value"] == pytest.approx(0.3)  # the weakest category's evidence
    assert d.verdict == NOT_READY


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"approval_owner": None}, "approval_owner missing"),
        ({"pilot_is_not": []}, "pilot_is_not empty"),
        ({"when_draft_is_wrong": "   "}, "when_draft_is_wrong empty"),
        ({"approved_providers": ["openai/*"]}, "unapproved AI service (local/smollm2)"),
    ],
)
def test_governance_gap_alone_makes_it_not_ready(change, expected):
    gov = {k: v for k, v in GOV.items() if k not in change or change[k] is not None}
    gov.update({k: v for k, v in change.items() if v is not None})
    d = run_decision(
        {("ai", "word_similarity"): [0.95] * 10},
        gateset(gate(metric="word_similarity", threshold=0.5)),
        gov=gov,
    )
    assert d.gates.iloc[0]["status"] == "pass"
    assert d.verdict == NOT_READY
    assert expected in d.reason


@pytest.mark.parametrize(
    ("calibration", "status", "why"),
    [
        # (None: never checked is missing evidence, not a failure: see the test below)
        ({"calibrated": False}, "fail", "uncalibrated"),
        ({"calibrated": True}, "pass", ""),
        ({"calibrated": False, "by_criterion": {"accuracy": {"calibrated": True}}}, "pass", ""),
        (
            {"calibrated": True, "by_criterion": {"accuracy": {"calibrated": False}}},
            "fail",
            "uncalibrated",
        ),
    ],
)
def test_judge_gate_needs_a_calibrated_judge(calibration, status, why):
    d = run_decision(
        {("ai", "judge_accuracy"): [0.9] * 10},
        gateset(gate(metric="judge_accuracy", threshold=0.5)),
        calibration=calibration,
    )
    g = d.gates.iloc[0]
    assert g["status"] == status
    assert why in g["evidence"] if why else g["evidence"]


TWO_AI = pd.concat(
    [
        CANDIDATES,
        pd.DataFrame(
            [
                {
                    "name": "ai2",
                    "kind": "model",
                    "baseline": None,
                    "model": "local/smollm2",
                    "api_base": None,
                }
            ]
        ),
    ],
    ignore_index=True,
)
NAN = [float("nan")] * 10


@pytest.mark.parametrize(("calibrated", "ai_status"), [(True, "pass"), (False, "fail")])
def test_judge_rows_left_unscored_for_other_candidates(calibrated, ai_status):
    # the judge rated only "ai": the baseline's and ai2's judge rows are NaN, never 0
    values = {
        ("ai", "judge_accuracy"): [0.9] * 10,
        ("ai2", "judge_accuracy"): NAN,
        ("canned", "judge_accuracy"): NAN,
        ("ai", "word_similarity"): [0.9] * 10,
        ("ai2", "word_similarity"): [0.9] * 10,
    }
    gs = gateset(
        gate(name="level", metric="judge_accuracy", threshold=0.5, required=False),
        {
            "name": "vs-canned",
            "title": "Judged better than canned",
            "metric": "judge_accuracy",
            "test": "superiority",
            "baseline": "template",
            "required": False,
        },
        gate(name="words", metric="word_similarity", threshold=0.5),
    )
    d = run_decision(values, gs, calibration={"calibrated": calibrated}, candidates=TWO_AI)
    by = d.all_gates.set_index(["candidate", "gate"])
    assert by.loc[("ai", "level"), "status"] == ai_status
    assert by.loc[("ai2", "level"), "status"] == "not evaluated"
    assert "does not rate ai2's drafts" in by.loc[("ai2", "level"), "evidence"]
    assert by.loc[("ai", "vs-canned"), "status"] == ("not evaluated" if calibrated else "fail")
    if calibrated:
        assert "no items scored for both" in by.loc[("ai", "vs-canned"), "evidence"]
    # unscored judge rows leave the required gate alone; the open advisory gates are conditions
    assert by.loc[("ai2", "words"), "status"] == "pass"
    assert d.verdict == CONDITIONS


@pytest.mark.parametrize(("required", "verdict"), [(True, NOT_DECIDED), (False, CONDITIONS)])
def test_absent_metric_is_not_evaluated(required, verdict):
    gs = gateset(
        gate(name="present", metric="word_similarity", threshold=0.5),
        gate(name="absent", metric="required_facts_coverage", threshold=0.5, required=required),
    )
    d = run_decision({("ai", "word_similarity"): [0.9] * 10}, gs)
    by = d.gates.set_index("gate")
    assert by.loc["absent", "status"] == "not evaluated"
    assert "no 'required_facts_coverage' scores" in by.loc["absent", "evidence"]
    assert d.verdict == verdict


@pytest.mark.parametrize(
    ("test", "ai", "canned", "margin", "status"),
    [
        ("superiority", [2.0, 2.1, 1.9, 2.2] * 4, [5.0, 5.2, 4.9, 5.1] * 4, None, "pass"),
        ("superiority", [5.0, 5.2, 4.9, 5.1] * 4, [2.0, 2.1, 1.9, 2.2] * 4, None, "fail"),
        ("non_inferiority", [5.1, 5.3, 5.0, 5.2] * 4, [5.0, 5.2, 4.9, 5.1] * 4, 0.5, "pass"),
        ("non_inferiority", [6.0, 6.2, 5.9, 6.1] * 4, [5.0, 5.2, 4.9, 5.1] * 4, 0.5, "fail"),
    ],
)
def test_paired_gates_know_lower_minutes_are_better(test, ai, canned, margin, status):
    g = gate(metric="review_minutes", test=test, baseline="template")
    if margin is not None:
        g["margin"] = margin
    d = run_decision(
        {("ai", "review_minutes"): ai, ("canned", "review_minutes"): canned}, gateset(g)
    )
    row = d.gates.iloc[0]
    assert row["status"] == status
    assert row["baseline"] == "canned"  # the baseline kind resolved to the run's candidate


def test_missing_baseline_is_not_evaluated():
    g = gate(metric="word_similarity", test="superiority", baseline="staff_first_draft")
    d = run_decision({("ai", "word_similarity"): [0.9] * 5}, gateset(g))
    assert d.gates.iloc[0]["status"] == "not evaluated"
    assert "no 'staff_first_draft' baseline" in d.gates.iloc[0]["evidence"]


def test_best_candidate_is_decided_on():
    cands = TWO_AI
    d = run_decision(
        {("ai", "word_similarity"): [0.2] * 10, ("ai2", "word_similarity"): [0.9] * 10},
        gateset(gate(metric="word_similarity", threshold=0.5)),
        candidates=cands,
    )
    assert d.candidate == "ai2" and d.verdict == READY
    assert set(d.all_gates["candidate"]) == {"ai", "ai2"}
    assert d.candidates.iloc[0]["candidate"] == "ai2"


def test_no_ai_candidate_is_not_ready():
    d = run_decision(
        {("canned", "word_similarity"): [0.9] * 5},
        gateset(gate(metric="word_similarity", threshold=0.5)),
        candidates=CANDIDATES[CANDIDATES["kind"] == "baseline"],
    )
    assert d.verdict == NOT_READY and "no AI candidate" in d.reason


def test_pilot_gate_reads_the_pilot_log():
    ds = load_dataset(SAMPLE)
    ev = Evidence(
        scores=scores_of({("ai", "word_similarity"): [0.9] * 5}),
        categories=pd.Series(dtype=str),
        candidates=CANDIDATES,
        pilot_log=ds.pilot_log,
    )
    gs = gateset(
        gate(name="saves", metric="pilot:minutes_saved_per_reply", threshold=0.0),
        gate(name="revisions", metric="pilot:fewer_revisions", threshold=0.0),
        phase="post_pilot",
    )
    d = evaluate(ev, "post_pilot", gs, Governance.model_validate(GOV))
    by = d.gates.set_index("gate")
    assert by.loc["saves", "status"] == "pass" and by.loc["saves", "ci_low"] > 0
    assert by.loc["revisions", "status"] == "fail"  # the interval includes no change


@pytest.mark.parametrize(
    ("model", "api_base", "ok"),
    [
        ("local/smollm2", None, True),
        ("openai/gpt-4o-mini", None, False),
        ("openai/loopback", "http://127.0.0.1:8080/v1", True),
        ("azure/gpt", "https://x.openai.azure.com", False),
        (None, None, True),
    ],
)
def test_provider_allowed(model, api_base, ok):
    from harness.engine.protect import provider_approved as provider_allowed

    assert provider_allowed(model, api_base, ["local/smollm2", "127.0.0.1"]) is ok
    assert provider_allowed("azure/gpt", None, ["azure/*"])


def test_judge_calibrated_per_criterion_list():
    cal = {"criteria": [{"criterion": "tone", "calibrated": True}], "calibrated": False}
    assert judge_calibrated(cal, "judge_tone")[0] is True
    assert judge_calibrated(cal, "judge_accuracy")[0] is False


def test_shipped_rubrics_are_valid_and_complete():
    gs = load_gates()
    assert set(gs.phases) == {"pre_pilot", "post_pilot", "pre_expansion"}
    for pg in gs.phases.values():
        assert any(g.required for g in pg.gates)
    pre = {g.metric for g in gs.phase("pre_pilot").gates}
    assert {
        "required_facts_coverage",
        "unsupported_claims_count",
        "escalation_ok",
        "saved_minutes",
    } <= pre
    gov = load_governance()
    from harness.gates.decision import governance_checklist

    assert (governance_checklist(gov)["status"] == "complete").all()
    assert "local/smollm2" in (gov.approved_providers or [])


@pytest.mark.parametrize(
    ("text", "line", "fragment"),
    [
        (
            "phases:\n  pre_pilot:\n    question: ok?\n    gates:\n      - name: a\n        title: A gate\n        metric: m\n        test: threshold\n",
            5,
            "needs 'threshold'",
        ),
        (
            "phases:\n  pre_pilot:\n    question: ok?\n    gates:\n      - name: a\n        title: A gate\n        metric: m\n        test: threshold\n        threshold: 1\n        colour: red\n",
            10,
            "'phases.pre_pilot.gates.0.colour' is not a known setting",
        ),
        ("phases:\n  someday:\n    question: ok?\n    gates: []\n", 2, "someday"),
        (
            "phases:\n  pre_pilot:\n    question: ok?\n    gates:\n      - name: a\n        title: A gate\n        metric: m\n        test: superiority\n",
            5,
            "needs 'baseline'",
        ),
        ("phases: [\n", 2, "not valid YAML"),
    ],
)
def test_gate_file_errors_name_file_line_field(tmp_path: Path, text, line, fragment):
    p = tmp_path / "gates.yaml"
    p.write_text(text)
    with pytest.raises(PlanError) as exc:
        load_gates(p)
    msg = str(exc.value)
    assert f"{p} line {line}" in msg
    assert fragment in msg


def test_unknown_phase_lists_the_phases():
    with pytest.raises(PlanError, match=r"has no phase 'post_pilot'.*pre_pilot"):
        gateset(gate(metric="m", threshold=1)).phase("post_pilot")


def test_governance_file_errors(tmp_path: Path):
    p = tmp_path / "gov.yaml"
    p.write_text(
        yaml.safe_dump({"approval_owner": "x", "human_reviw": "y", "pilot_is_not": {"a": 1}})
    )
    with pytest.raises(PlanError) as exc:
        load_governance(p)
    msg = str(exc.value)
    assert "field 'human_reviw' is not a known setting" in msg
    assert "field 'pilot_is_not' must be text or a list of lines of text" in msg


@pytest.mark.parametrize(
    ("entry", "value", "field", "fragment"),
    [
        (
            "report_sign_off",
            {"name": "Dana", "role": "Director", "date": "soon"},
            "report_sign_off.date",
            "date",
        ),
        (
            "report_sign_off",
            {"name": "Dana", "date": "2026-01-23"},
            "report_sign_off.role",
            "is missing",
        ),
        (
            "data_flow",
            [{"data": "messages", "provider": "local/smollm2"}],
            "data_flow.0.retention",
            "is missing",
        ),
        ("data_flow", "messages go to the model", "data_flow", "list"),
        (
            "incident_path",
            {"report": "to Communications", "correct": "within a day"},
            "incident_path.log",
            "is missing",
        ),
        (
            "staff_training",
            {"hours": 1},
            "staff_training",
            "must be text or a list of lines of text",
        ),
    ],
)
def test_new_governance_entries_are_validated_with_file_line_field(
    tmp_path: Path, entry, value, field, fragment
):
    p = tmp_path / "gov.yaml"
    p.write_text(yaml.safe_dump({**GOV, entry: value}, sort_keys=False))
    with pytest.raises(PlanError) as exc:
        load_governance(p)
    msg = str(exc.value)
    assert f"{p} line " in msg and f"field '{field}'" in msg and fragment in msg.lower()


@pytest.mark.parametrize(
    ("entry", "value", "status"),
    [
        ("report_sign_off", {"name": " ", "role": "Director", "date": "2026-01-23"}, "empty"),
        ("data_flow", [], "empty"),
        ("data_flow", [{"data": "messages", "provider": "model", "retention": "  "}], "empty"),
        ("incident_path", {"report": "x", "correct": "y", "log": []}, "empty"),
        ("ai_disclosure", None, "missing"),
        (
            "data_flow",
            [{"data": "messages", "provider": "model", "retention": "1 year"}],
            "complete",
        ),
    ],
)
def test_new_governance_entries_complete_only_when_every_part_is_filled(entry, value, status):
    from harness.gates.decision import governance_checklist

    gov = {k: v for k, v in GOV.items() if k != entry}
    if value is not None:
        gov[entry] = value
    table = governance_checklist(Governance.model_validate(gov)).set_index("entry")
    assert table.loc[entry, "status"] == status
    d = run_decision(
        {("ai", "word_similarity"): [0.95] * 10},
        gateset(gate(metric="word_similarity", threshold=0.5)),
        gov=gov,
    )
    assert (d.verdict == NOT_READY) is (status != "complete")


def test_sign_off_is_shown_as_name_role_date():
    from harness.gates.decision import governance_checklist

    table = governance_checklist(Governance.model_validate(GOV)).set_index("entry")
    assert (
        table.loc["report_sign_off", "answer"]
        == "Dana Whitfield, Director of Communications, 2026-01-23"
    )
    assert (
        table.loc["data_flow", "answer"] == "messages and drafts -> local/smollm2 (kept: one year)"
    )


# -- missing evidence is its own verdict (issue 22 item 8, issue 20 item 4) -------------------

FACTS_NAN = [float("nan")] * 12  # scored drafts, but no item has required_facts
WORDS_OK = [0.95] * 12
PASSING = gate(name="words", title="Close wording", metric="word_similarity", threshold=0.5)
FAILING = gate(name="words", title="Close wording", metric="word_similarity", threshold=0.99)
FACTS = gate(
    name="facts", title="Carries the facts", metric="required_facts_coverage", threshold=0.5
)


@pytest.mark.parametrize(
    ("gates", "gov_change", "verdict", "words"),
    [
        # only data is missing: its own verdict, naming the field that would feed the gate
        (
            [PASSING, FACTS],
            {},
            "Not decided: evidence missing",
            ["Carries the facts", "required_facts"],
        ),
        # a failed required gate outranks missing evidence
        ([FAILING, FACTS], {}, "Not ready", ["failed 1 of 2", "Carries the facts"]),
        # so does an incomplete governance checklist
        ([PASSING, FACTS], {"approval_owner": ""}, "Not ready", ["approval_owner empty"]),
        # an advisory gate the data cannot check is a condition, not missing evidence
        ([PASSING, {**FACTS, "required": False}], {}, "Ready with conditions", ["advisory"]),
        ([PASSING], {}, "Ready", ["passed all 1 gates"]),
    ],
)
def test_missing_evidence_is_its_own_verdict(gates, gov_change, verdict, words):
    d = run_decision(
        {("ai", "word_similarity"): WORDS_OK, ("ai", "required_facts_coverage"): FACTS_NAN},
        gateset(*gates),
        gov={**GOV, **gov_change},
    )
    assert d.verdict == verdict, d.reason
    assert d.reason.startswith(verdict)
    for w in words:
        assert w in d.reason, (w, d.reason)


@pytest.mark.parametrize(
    ("values", "min_n", "status", "verdict"),
    [
        ([0.95] * 4, None, "not evaluated", "Not decided: evidence missing"),  # n=4 < 10
        ([0.05] * 4, None, "not evaluated", "Not decided: evidence missing"),  # either way
        ([0.95] * 10, None, "pass", "Ready"),
        ([0.95] * 4, 3, "pass", "Ready"),  # a gates file may ask for fewer, per gate
    ],
)
def test_too_few_questions_are_not_enough_evidence(values, min_n, status, verdict):
    g = {**PASSING, **({"min_n": min_n} if min_n else {})}
    d = run_decision({("ai", "word_similarity"): values}, gateset(g))
    row = d.gates.iloc[0]
    assert row["status"] == status and d.verdict == verdict
    if status == "not evaluated":
        assert "not enough evidence" in row["evidence"] and "at least 10" in row["needs"]


def test_not_enough_evidence_is_one_state_a_straddling_interval_fails():
    vals = [1.0] * 8 + [0.0, 0.3]
    d = run_decision(
        {("ai", "word_similarity"): vals}, gateset(gate(metric="word_similarity", threshold=0.8))
    )
    g = d.gates.iloc[0]
    assert g["status"] == "fail" and "not enough evidence" not in g["evidence"]
    assert d.verdict == NOT_READY


DRAFTS = pd.DataFrame(
    [
        {"name": "vendor", "kind": "drafts", "baseline": "drafts", "model": None, "api_base": None},
        {
            "name": "canned",
            "kind": "baseline",
            "baseline": "template",
            "model": None,
            "api_base": None,
        },
    ]
)


@pytest.mark.parametrize(
    ("metric", "mine", "theirs", "spec"),
    [
        ("word_similarity", 0.97, 0.2, {"threshold": 0.5}),
        ("unsupported_claims_count", 0.0, 0.0, {"threshold": 0.5}),
        ("word_similarity", 0.97, 0.2, {"test": "superiority", "baseline": "template"}),
    ],
)
def test_a_candidate_that_drafted_one_item_fails_its_gates(metric, mine, theirs, spec):
    """1 of 12 drafted: the 11 missing drafts count as failures, never as absent data."""
    values = {
        ("vendor", metric): [mine] + [float("nan")] * 11,
        ("canned", metric): [theirs] * 12,
    }
    scores = scores_of(values)
    ev = Evidence(
        scores=scores,
        categories=pd.Series(dict.fromkeys(sorted(scores["item_id"].unique()), "general")),
        candidates=DRAFTS,
        undrafted={"vendor": {f"i{i}" for i in range(1, 12)}},
    )
    g = {**gate(metric=metric), **spec}
    if "test" in spec:
        g.pop("threshold", None)
    d = evaluate(ev, "pre_pilot", gateset(g), Governance.model_validate(GOV))
    row = d.gates.iloc[0]
    assert row["status"] == "fail", row["evidence"]
    assert row["n"] == 12
    assert "no draft for 11 of the 12 questions" in row["evidence"]
    assert d.verdict == NOT_READY


@pytest.mark.parametrize(
    ("calibration", "status", "why"),
    [
        (None, "not evaluated", "calibration was not run"),  # no command on a leader page
        ({"unchecked": "the dataset has no ratings.csv"}, "not evaluated", "ratings.csv"),
        (
            {
                "calibrated": False,
                "judge": {"min_rated": 20},
                "by_criterion": {"accuracy": {"n": 5, "kappa": 0.9, "calibrated": False}},
            },
            "not evaluated",
            "5 rated drafts",
        ),
        (
            {
                "calibrated": False,
                "judge": {"min_rated": 20},
                "by_criterion": {"accuracy": {"n": 30, "kappa": 0.1, "calibrated": False}},
            },
            "fail",
            "uncalibrated",
        ),
    ],
)
def test_a_judge_nobody_could_check_is_missing_evidence_not_a_failure(calibration, status, why):
    d = run_decision(
        {("ai", "judge_accuracy"): [0.9] * 10},
        gateset(gate(metric="judge_accuracy", threshold=0.5)),
        calibration=calibration,
    )
    g = d.gates.iloc[0]
    assert g["status"] == status and why in g["evidence"], g["evidence"]
    assert d.verdict == ("Not decided: evidence missing" if status != "fail" else NOT_READY)


def _pilot_log(shift: float, n: int = 20) -> pd.DataFrame:
    """Replies before and during a pilot: minutes fall by ``shift``; revisions by a third of it."""
    import numpy as np

    before = np.random.default_rng(3).normal(10, 3, n)
    rows = [
        {"entry_id": f"{ph}{i}", "phase": ph, "review_minutes": m, "revision_count": m / 3,
         "approved": True, "final_text": "reply"}
        for ph, vals in (("baseline", before), ("pilot", before - shift))
        for i, m in enumerate(vals)
    ]  # fmt: skip
    return pd.DataFrame(rows)


def test_required_pilot_gates_are_judged_together_with_holm():
    """Each pilot gate clears its bar alone (p between 1.25% and 2.5%), but with two required
    pilot measures Holm's correction asks the smaller p-value to be at most 1.25%: both fail,
    as the protocol's simulation would have judged them."""
    ev = Evidence(
        scores=scores_of({("ai", "word_similarity"): [0.9] * 5}),
        categories=pd.Series(dtype=str),
        candidates=CANDIDATES,
        pilot_log=_pilot_log(2.4),
    )
    saves = gate(name="saves", metric="pilot:minutes_saved_per_reply", threshold=0.0)
    fewer = gate(name="fewer", metric="pilot:fewer_revisions", threshold=0.0)
    gov = Governance.model_validate(GOV)
    for alone in (saves, fewer):
        d = evaluate(ev, "post_pilot", gateset(alone, phase="post_pilot"), gov)
        row = d.gates.iloc[0]
        assert row["status"] == "pass", row["evidence"]
        p = float(row["evidence"].split("one-sided p = ")[1].split(" ")[0])
        assert 0.0125 < p <= 0.025
    both = evaluate(ev, "post_pilot", gateset(saves, fewer, phase="post_pilot"), gov)
    assert both.gates["status"].tolist() == ["fail", "fail"]
    assert all("Holm" in e and "clears the bar alone" in e for e in both.gates["evidence"])
    assert both.verdict == NOT_READY
    # an advisory pilot gate is not in the family: the required one is judged alone again
    advisory = evaluate(
        ev, "post_pilot", gateset(saves, {**fewer, "required": False}, phase="post_pilot"), gov
    )
    assert advisory.gates["status"].tolist() == ["pass", "pass"]
    # a clear improvement passes within the family too
    ev.pilot_log = _pilot_log(4.0)
    clear = evaluate(ev, "post_pilot", gateset(saves, fewer, phase="post_pilot"), gov)
    assert clear.gates["status"].tolist() == ["pass", "pass"]
    assert "it passes" in clear.gates["evidence"].iloc[0]


def test_the_gates_and_the_sample_simulation_share_one_holm_and_one_p_value():
    import harness.gates.evaluation as evaluation
    import harness.pilot.sample as sample
    from harness import stats

    assert sample.holm_reject is stats.holm_reject and sample.bootstrap_p is stats.bootstrap_p
    assert "holm_reject" in evaluation.holm_pilot.__code__.co_names
