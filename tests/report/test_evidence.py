"""Evidence a superintendent can trust (issue 13): the right district, the approved answer as
the ceiling, claims a district would recognise, retrieval a district could send, one
definition per metric behind every table, figure and verdict, plain exports handled honestly."""

from __future__ import annotations

import json
import re
import shutil

import numpy as np
import pandas as pd
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.data.dataset import load_dataset
from harness.gates.decision import decide
from harness.run.runner import RunOptions, run_plan
from harness.scorers.accuracy import check_claims
from harness.scorers.governance import personal_data
from harness.scorers.scoring import score_run
from harness.store.runs import load_run
from tests.conftest import MINI, REPO, SAMPLE, model_candidate, write_plan

QUIET = RunOptions(progress=False)
ALL_BUT_JUDGE = ["edit", "required_facts", "claims", "personal_data", "escalation", "length"]


def _run(tmp_path, dataset, candidates, **extra):
    results = tmp_path / "results"
    plan = write_plan(
        tmp_path, dataset, candidates, scorers=ALL_BUT_JUDGE, reference_row=True, **extra
    )
    store = run_plan(plan, results_dir=results, options=QUIET)
    score_run(store)
    return load_run(store.run_id, results)


# 1. the right district ----------------------------------------------------------------------


def test_the_district_and_checklist_come_from_the_plan(tmp_path, loopback):
    gov = yaml.safe_load((REPO / "rubrics" / "governance.yaml").read_text())
    gov["district"] = "Maple Ridge School District"
    (tmp_path / "gov.yaml").write_text(yaml.safe_dump(gov))
    srv = loopback()
    run = _run(
        tmp_path, MINI, [model_candidate(srv.base_url)], governance=str(tmp_path / "gov.yaml")
    )
    from harness.report.decision import district_name

    assert district_name(run) == "Maple Ridge School District"
    dec = decide(run, "pre_pilot")
    assert dec.governance_file == str((tmp_path / "gov.yaml").resolve())
    assert (dec.governance["status"] == "complete").all()


def test_without_a_governance_file_nothing_is_borrowed(tmp_path, loopback):
    srv = loopback()
    run = _run(tmp_path, MINI, [model_candidate(srv.base_url)])
    from harness.report.decision import district_name, governance_table

    assert district_name(run) == "mini-district"  # never the shipped sample's Cedar Hollow
    dec = decide(run, "pre_pilot")
    assert dec.governance_file is None
    assert (dec.governance["status"] == "missing").all() and dec.verdict == "Not ready"
    html = governance_table(dec).data
    assert "names no governance file" in html and "rubrics/governance.yaml" in html
    assert (dec.providers["status"] == "approved").all()  # only this machine, as the run applied


def test_the_first_screen_names_what_each_candidate_is(tmp_path):
    run = _run(tmp_path, MINI, [{"name": "canned", "baseline": "template"}])
    from harness.report.decision import cover

    html = cover(run, "pre_pilot").data
    assert "canned holding reply" in html and "Approved answer" in html
    assert "fingerprint" not in html and run.run_id not in html  # ids only in the appendix
    from harness.plan.spec import CandidateSpec
    from harness.run.provenance import EMBEDDED_DESCRIPTION, default_description

    smol = CandidateSpec(name="s", model="local/smollm2", prompt="p.j2")
    assert default_description(smol) == EMBEDDED_DESCRIPTION
    assert "135 million" in EMBEDDED_DESCRIPTION and "demonstration" in EMBEDDED_DESCRIPTION


# 2. the approved answer as the ceiling ------------------------------------------------------


def test_the_approved_answer_is_a_reference_row_never_a_contender(tmp_path, loopback):
    srv = loopback()
    run = _run(tmp_path, MINI, [model_candidate(srv.base_url)])
    assert "approved_answer" in run.candidate_names()
    assert run.candidate_kinds()["approved_answer"] == "reference"
    sims = run.scores.query("candidate == 'approved_answer' and metric == 'word_similarity'")
    assert len(sims) and (sims["value"] == 1.0).all()
    dec = decide(run, "pre_pilot")
    assert "approved_answer" not in set(dec.all_gates["candidate"])


def test_a_gate_the_approved_answer_cannot_clear_is_not_reachable(tmp_path, loopback):
    srv = loopback(reply="Call 555-0157.")
    run = _run(tmp_path, MINI, [model_candidate(srv.base_url)])
    gates = tmp_path / "gates.yaml"
    gates.write_text(
        yaml.safe_dump(
            {
                "phases": {
                    "pre_pilot": {
                        "question": "Good enough?",
                        "gates": [
                            {
                                "name": "g",
                                "title": "Impossible closeness",
                                "metric": "word_similarity",
                                "test": "threshold",
                                "threshold": 1.01,
                            }
                        ],
                    }
                }
            }
        )
    )
    row = decide(run, "pre_pilot", gates=gates).gates.iloc[0]
    assert row["status"] == "not evaluated" and not row["reachable"]
    assert "not reachable with this data" in row["evidence"]


def test_the_sample_districts_own_answers_pass_or_are_marked_unreachable(tmp_path):
    """The approved answers as a vendor's drafts: every required gate passes, or says why not."""
    ds = load_dataset(SAMPLE)
    drafts = tmp_path / "drafts.csv"
    ds.items[ds.items["task"] == "faq_reply"]["reference"].rename("draft").rename_axis(
        "item_id"
    ).to_csv(drafts)
    run = _run(
        tmp_path,
        SAMPLE,
        [
            {"name": "canned-reply", "baseline": "template"},
            {"name": "staff-first-draft", "baseline": "staff_first_draft"},
            {"name": "approved-as-drafts", "drafts": str(drafts)},
        ],
        governance=str(REPO / "rubrics" / "governance.yaml"),
    )
    dec = decide(run, "pre_pilot")
    req = dec.gates[dec.gates["required"]]
    assert len(req)
    for _, g in req.iterrows():
        assert g["status"] == "pass" or (
            g["status"] == "not evaluated"
            and (
                "not reachable" in g["evidence"]
                or "it needs" in g["evidence"]
                or "judge" in g["evidence"]
            )
        ), (g["title"], g["status"], g["evidence"])


# 3. claims a district would recognise; names and other families ------------------------------


def test_the_directory_supports_the_switchboard_and_is_never_personal_data():
    ds = load_dataset(SAMPLE)
    canned = "For urgent matters, please call the District Office at 555-0100."
    item = ds.items.loc["faq-att-006"] if "faq-att-006" in ds.items.index else ds.items.iloc[0]
    rows = check_claims(canned, "My child is sick.", list(item["source_ids"]), ds)
    phone = [r for r in rows if r["kind"] == "phone"]
    assert phone and all(r["status"] == "supported" for r in phone)
    assert personal_data(canned, "My child is sick.", ds) == []


def test_a_persons_name_is_supported_only_by_the_items_own_material(mini_copy):
    (mini_copy / "people.csv").write_text("name\nMaya Ortega\n")
    src = mini_copy / "sources" / "lunch-2025.md"
    src.write_text(src.read_text() + "\nMaya Ortega won the lunch art contest.\n")
    ds = load_dataset(mini_copy)
    bus = ds.items.loc["faq-001"]
    rows = check_claims("Maya Ortega can ride the bus.", bus["input"], list(bus["source_ids"]), ds)
    names = [r for r in rows if r["kind"] == "name"]
    assert names and all(r["status"] == "unsupported" for r in names)
    own = check_claims(
        "Maya Ortega can ride the bus.", "Maya Ortega lost her pass.", list(bus["source_ids"]), ds
    )
    assert all(r["status"] == "supported" for r in own if r["kind"] == "name")


def test_retrieval_never_hands_over_another_familys_answer(tmp_path):
    # Issue 22 changed this: the retrieval baseline now answers from the best passage OR
    # approved answer the knowledge base finds (as a district's tool would). What it must never
    # do is hand over another family's details or the item's own answer: a retrieved answer
    # has its greeting, sign-off and the names of people.csv removed.
    from harness.candidates.baselines import depersonalize, get_baseline

    ds = load_dataset(SAMPLE)
    fn = get_baseline("retrieval", ds, {"cache_dir": tmp_path}, REPO / "plans")
    names = [str(n) for n in ds.people["name"]]
    for item_id in ds.items.index[:60]:
        item = {**ds.items.loc[item_id].to_dict(), "id": item_id}
        out = fn(item).text
        assert out != item["reference"]
        assert not any(re.search(rf"\b{re.escape(n)}\b", out) for n in names)
        assert not re.match(r"\s*(dear|hi|hello|hola)\b", out, re.I)
    text = "Dear Ms. Ruiz,\nMaya Ruiz can return Monday.\nThanks,\nNurse Kim"
    assert "Ruiz" not in depersonalize(text, ["Maya Ruiz"]) and "Dear" not in depersonalize(
        text, []
    )


# 4. one definition per metric -----------------------------------------------------------------


@settings(max_examples=25, deadline=None)
@given(
    metric=st.sampled_from(["unsupported_claims_count", "saved_minutes", "word_similarity"]),
    shift=st.floats(-3, 3),
)
def test_table_figure_and_verdict_agree_on_the_sign(metric, shift):
    from harness import stats
    from harness.metrics import metric_def

    rng = np.random.default_rng(0)
    base = rng.uniform(0, 1, 30)
    rows = [
        {
            "key": f"i{i}|{c}|0",
            "item_id": f"i{i}",
            "candidate": c,
            "sample": 0,
            "metric": metric,
            "value": v,
        }
        for i, (a, b) in enumerate(zip(base + shift, base, strict=True))
        for c, v in (("ai", a), ("canned", b))
    ]
    comp = stats.paired_comparisons(pd.DataFrame(rows), ["ai"], ["canned"], [metric], resamples=200)
    r = comp.iloc[0]
    better = shift > 0 if metric_def(metric).higher_is_better else shift < 0
    if abs(shift) > 0.01:
        assert (r["gain"] > 0) == better  # the table's advantage and the figure's point
        if r["verdict"] in ("better", "worse"):
            assert (r["verdict"] == "better") == better


def test_the_forest_plot_draws_the_tables_numbers(tmp_path, loopback):
    srv = loopback(reply="Call 555-9999 on 3 March at 9:15 for $99.")
    run = _run(
        tmp_path, MINI, [{"name": "canned", "baseline": "template"}, model_candidate(srv.base_url)]
    )
    from harness.report.figures import comparison_figure
    from harness.report.tables import comparison_numbers, comparison_table

    nums = comparison_numbers(run, ["unsupported_claims_count"])
    fig = comparison_figure(run, ["unsupported_claims_count"])
    from matplotlib.collections import PathCollection

    drawn = np.concatenate(
        [c.get_offsets()[:, 0] for c in fig.axes[0].collections if isinstance(c, PathCollection)]
    )
    assert np.allclose(sorted(drawn), sorted(nums["advantage"].dropna()))
    table = comparison_table(run, ["unsupported_claims_count"])
    col = "how much better the AI is [95% interval]"
    assert table[col].str.contains("per draft").all()  # a unit on every number
    for (_, t), (_, n) in zip(table.iterrows(), nums.iterrows(), strict=True):
        assert t[col].startswith(f"{round(n['advantage'], 2) + 0.0:.2f}")


def test_minutes_saved_is_one_rule():
    from harness.scorers.edit import edit_effort

    for draft in ("", "x", "Sorry to hear that! A replacement pass costs $10.", "a b c d e f g"):
        e = edit_effort(draft, "Sorry to hear that! A replacement pass costs $10 at the office.")
        assert e["saved_minutes"] == pytest.approx(e["scratch_minutes"] - e["review_minutes"])


def test_a_minutes_gate_is_advisory_until_a_pilot_log_fits_the_rates(tmp_path, loopback):
    srv = loopback()
    ds = tmp_path / "ds"
    shutil.copytree(MINI, ds)
    (ds / "pilot_log.csv").unlink()
    run = _run(
        tmp_path, ds, [{"name": "canned", "baseline": "template"}, model_candidate(srv.base_url)]
    )
    dec = decide(run, "pre_pilot")
    minutes = dec.gates[dec.gates["metric"] == "saved_minutes"]
    assert len(minutes) and not minutes["required"].any()
    assert minutes["evidence"].str.contains("advisory until a pilot log").all()


# 8. plain exports ---------------------------------------------------------------------------


def test_an_unchecked_gate_names_the_missing_field(tmp_path, loopback):
    ds = tmp_path / "plain"
    shutil.copytree(MINI, ds)
    lines = [json.loads(x) for x in (ds / "items.jsonl").read_text().splitlines()]
    for r in lines:  # no fact list, and approved answers that state no checkable fact
        r.pop("required_facts", None)
        r.pop("sensitive", None)
        r["reference"] = "Thanks for asking; the office will look into it and write back."
    (ds / "items.jsonl").write_text("\n".join(json.dumps(r) for r in lines) + "\n")
    srv = loopback()
    run = _run(tmp_path, ds, [model_candidate(srv.base_url)])
    g = decide(run, "pre_pilot").gates
    ev = g.loc[g["metric"] == "required_facts_coverage", "evidence"]
    assert len(ev) and ev.str.contains("required_facts").all()
    assert not ev.str.contains("widen the selection").any()


def test_a_cut_off_draft_is_counted_and_fails_length(tmp_path, loopback):
    import tests.loopback as lb  # noqa: F401  (the server answers finish_reason "stop")

    srv = loopback()
    run = _run(tmp_path, MINI, [model_candidate(srv.base_url)])
    t = run.scores.query("metric == 'truncated' and candidate == 'm'")["value"]
    assert len(t) and (t == 0).all()
    from harness.scorers import get_scorer

    frame = pd.DataFrame(
        {
            "output": ["A short reply that stops mid", "Done."],
            "task": ["faq_reply"] * 2,
            "finish_reason": ["length", "stop"],
        }
    )
    got = get_scorer("length")(frame, load_dataset(MINI))
    assert got["truncated"].tolist() == [1.0, 0.0] and got["length_ok"].tolist() == [0.0, 1.0]


def test_an_untitled_source_shows_its_first_heading_never_its_file_stem(mini_copy):
    (mini_copy / "sources" / "zz-untitled-42.md").write_text("# Early release days\n\nNoon.\n")
    ds = load_dataset(mini_copy)
    assert ds.sources.loc["zz-untitled-42", "title"] == "Early release days"
    assert not ds.sources.loc["zz-untitled-42", "titled"]


PLAIN_ROWS = [
    ("How much is a lost bus pass?", "A replacement pass is $10 at the school office.", "transportation"),
    ("When does the bus come?", "Buses arrive at 7:40 a.m. at every stop.", "transportation"),
    ("What does lunch cost?", "Lunch costs $3.75 a day; breakfast is free.", "nutrition"),
    ("Can I pay for lunch online?", "Yes, pay online in HollowLink at any time.", "nutrition"),
]  # fmt: skip


def _plain_export(tmp_path):
    """question, answer, category and a few sources, nothing else (imported)."""
    import csv

    from harness.importers import import_export

    src = tmp_path / "faq.csv"
    with src.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["question", "answer", "category"])
        w.writerows(PLAIN_ROWS)
    policies = tmp_path / "policies"
    policies.mkdir()
    (policies / "bus.md").write_text(
        "# Bus passes\n\nA replacement pass is $10. Buses arrive at 7:40 a.m.\n"
    )
    (policies / "lunch.md").write_text("# Lunch prices\n\nLunch costs $3.75. Pay in HollowLink.\n")
    out = tmp_path / "maple-ridge"
    import_export(src, out, sources=policies)
    return out


def _maple_ridge_governance(tmp_path):
    """The shipped checklist, complete, for the imported district."""
    text = (REPO / "rubrics" / "governance.yaml").read_text().replace("Cedar Hollow", "Maple Ridge")
    (tmp_path / "gov.yaml").write_text(text)
    return str(tmp_path / "gov.yaml")


def test_a_plain_export_is_not_decided_for_missing_evidence(tmp_path, loopback):
    """Governance complete, only data missing: "Not decided: evidence missing", never "Not
    ready", each required gate naming what would make it checkable; the approved answer's own
    row says the same."""
    srv = loopback(reply="A replacement pass is $10 at the office.")
    run = _run(
        tmp_path,
        _plain_export(tmp_path),
        [{"name": "canned", "baseline": "template"}, model_candidate(srv.base_url)],
        governance=_maple_ridge_governance(tmp_path),
    )
    dec = decide(run, "pre_pilot")
    assert dec.verdict == "Not decided: evidence missing", dec.reason
    assert dec.reason.startswith("Not decided: evidence missing — ")
    req = dec.gates[dec.gates["required"]]
    assert len(req) and not (req["status"] == "fail").any()
    for _, g in req[req["status"] != "pass"].iterrows():
        assert g["needs"], g["title"]
        assert g["title"] in dec.reason and g["needs"] in dec.reason, (g["needs"], dec.reason)
    # the approved answers state fees and times: fact coverage is measured (issue 22), and the
    # facts gates wait for more questions, not for a fact list
    assert "needs required_facts" not in dec.reason and "at least 10 scored questions" in dec.reason
    ref = dec.candidates.set_index("candidate").loc["approved_answer"]
    assert ref["verdict"] == "Not decided: evidence missing" and ref["role"] == "reference"
    assert dec.candidate == "m"  # the approved answer is shown, never decided on


def test_a_drafts_candidate_that_drafted_one_question_passes_no_gate(tmp_path):
    (tmp_path / "vendor.csv").write_text(
        "item_id,draft\nfaq-001,A replacement pass is $10 at the school office.\n"
    )
    run = _run(
        tmp_path,
        MINI,
        [{"name": "canned", "baseline": "template"}, {"name": "vendor", "drafts": "vendor.csv"}],
        governance=str(REPO / "rubrics" / "governance.yaml"),
    )
    n = len(run.manifest["selection"]["item_ids"])
    dec = decide(run, "pre_pilot")
    assert not (dec.gates["status"] == "pass").any(), dec.gates[["title", "status", "n"]]
    drafted = dec.gates[dec.gates["evidence"].str.contains("vendor has no draft for")]
    assert len(drafted)
    for evidence in drafted["evidence"]:  # a gate over a slice judges fewer than all n
        missing, judged = map(
            int, re.search(r"no draft for (\d+) of the (\d+) questions", evidence).groups()
        )
        assert 0 < missing <= judged <= n and judged - missing <= 1, evidence
    assert drafted["evidence"].str.contains(f"of the {n} questions").any()
    assert dec.verdict != "Ready" and dec.verdict != "Ready with conditions"


def test_a_plain_export_renders_a_coherent_report(tmp_path, loopback):
    """question, answer, category and a few sources, nothing else: the right district, the
    approved-answer row at similarity 1.0, every unchecked gate naming its missing field."""
    from harness.report import render_report

    rows = PLAIN_ROWS
    out = _plain_export(tmp_path)
    srv = loopback(reply="A replacement pass is $10 at the office.")
    run = _run(
        tmp_path,
        out,
        [{"name": "canned", "baseline": "template"}, model_candidate(srv.base_url)],
        governance=_maple_ridge_governance(tmp_path),
    )
    html = render_report(
        run.run_id, phase="pre_pilot", results_dir=run.store.path.parent
    ).read_text()
    assert "maple-ridge" in html and "Cedar Hollow" not in html  # the run's own district
    assert "Decision: Not decided: evidence missing<" in html  # the cover, the one verdict
    assert "approved answer" in html.split("Every AI candidate")[0]  # the gate table's column
    sims = run.scores.query("candidate == 'approved_answer' and metric == 'word_similarity'")
    assert len(sims) == len(rows) and (sims["value"] == 1.0).all()
    gates = decide(run, "pre_pilot").gates
    unchecked = gates[(gates["status"] == "not evaluated") & gates["reachable"].astype(bool)]
    fields = (
        "required_facts",
        "sensitive",
        "staff_first_draft",
        "pilot_log",
        "ratings",
        "judge",
        "at least",
        "or more scored questions",  # a language slice with too few questions
    )
    for _, g in unchecked.iterrows():
        assert any(f in g["evidence"] for f in fields), (g["title"], g["evidence"])
    assert "widen the selection" not in html
