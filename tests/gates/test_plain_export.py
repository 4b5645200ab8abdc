"""The sample district as a plain export (issue 22, "Done when", the scoring half): its FAQ
items as a question, answer, category CSV and its policies as a folder, imported with
``harness import``; links, fact lists, sensitive flags, people and directory all gone. The
shipped baselines plan plus a vendor whose drafts are exactly the approved answers, scored with
the shipped scorers and decided against the shipped gates and governance."""

from __future__ import annotations

import csv
import json
import shutil

import pytest
import yaml

from harness.gates.decision import decide
from harness.importers import import_export
from harness.run.runner import RunOptions, run_plan
from harness.scorers.scoring import score_run
from harness.store.runs import load_run
from tests.conftest import REPO, SAMPLE


def plain_export(tmp_path):
    """datasets/sample-district's faq_reply items and policies as a district would export them."""
    rows = [json.loads(x) for x in (SAMPLE / "items.jsonl").read_text().splitlines()]
    faq = [r for r in rows if r["task"] == "faq_reply"]
    src = tmp_path / "faq_export.csv"
    with src.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["question", "answer", "category"])
        w.writerows([r["input"], r["reference"], r["category"]] for r in faq)
    policies = tmp_path / "policies"
    shutil.copytree(SAMPLE / "sources", policies)
    out = tmp_path / "cedar-hollow-export"
    result = import_export(src, out, sources=policies)
    return out, result, len(faq)


@pytest.fixture(scope="module")
def plain_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("plain")
    out, result, n = plain_export(tmp)
    items = [json.loads(x) for x in (out / "items.jsonl").read_text().splitlines()]
    with (tmp / "vendor.csv").open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["item_id", "draft"])
        w.writerows([r["id"], r["reference"]] for r in items)
    plan = yaml.safe_load((REPO / "plans" / "baselines.yaml").read_text())
    plan["dataset"] = str(out)
    plan["governance"] = str(REPO / "rubrics" / "governance.yaml")
    plan["candidates"].append({"name": "vendor", "drafts": "vendor.csv"})
    shutil.copy(REPO / "plans" / "canned_replies.yaml", tmp / "canned_replies.yaml")
    (tmp / "plan.yaml").write_text(yaml.safe_dump(plan, sort_keys=False))
    store = run_plan(
        tmp / "plan.yaml", results_dir=tmp / "results", options=RunOptions(progress=False)
    )
    score_run(store)
    return load_run(store.run_id, tmp / "results"), result, items, n


def _metric(run, candidate, metric):
    s = run.scores
    return s[(s["candidate"] == candidate) & (s["metric"] == metric)]["value"]


def test_the_export_is_plain(plain_run):
    _, _, items, n = plain_run
    assert len(items) == n == 141
    for r in items:
        assert not r.get("source_ids") and not r.get("required_facts") and "sensitive" not in r


@pytest.mark.parametrize("candidate", ["approved_answer", "vendor"])
def test_the_approved_answers_state_no_unsupported_claim_and_no_personal_data(plain_run, candidate):
    run, _, _, n = plain_run
    unsupported = _metric(run, candidate, "unsupported_claims_count")
    assert len(unsupported) == n and unsupported.notna().all()
    assert unsupported.sum() == 0  # before issue 22: 4.36 per approved answer
    assert _metric(run, candidate, "superseded_claims_count").sum() == 0
    personal = _metric(run, candidate, "personal_data_count")
    assert len(personal) == n and personal.sum() == 0


@pytest.mark.parametrize("candidate", ["approved_answer", "vendor"])
def test_fact_coverage_is_measured_on_at_least_95_percent_of_items(plain_run, candidate):
    run, _, _, n = plain_run
    cov = _metric(run, candidate, "required_facts_coverage")
    assert len(cov) == n and cov.notna().mean() >= 0.95  # before: 0 (no fact list)
    assert (cov.dropna() == 1.0).all()


def test_a_vendor_whose_drafts_are_the_approved_answers_is_never_not_ready(plain_run):
    run, _, _, _ = plain_run
    dec = decide(run, "pre_pilot")
    verdicts = dec.candidates.set_index("candidate")["verdict"]
    assert verdicts["vendor"] != "Not ready", dec.reason
    assert verdicts["approved_answer"] != "Not ready"
    g = dec.all_gates
    mine = g[(g["candidate"] == "vendor") & g["required"]]
    assert not (mine["status"] == "fail").any(), mine[["title", "status", "evidence"]]
    for gate in ("facts-covered", "no-invented-facts", "no-personal-data"):
        row = mine[mine["gate"] == gate]
        assert len(row) == 1 and row["status"].iloc[0] == "pass", row.to_dict("records")


def test_the_canned_reply_s_switchboard_number_is_no_personal_data(plain_run):
    """plans/canned_replies.yaml prints the District Office's 555-0100, which no FAQ answer or
    policy of the export states and no directory.csv lists: the district's own canned text
    publishes it, so it is an official contact (it counted as personal data in every draft)."""
    run, _, _, n = plain_run
    personal = _metric(run, "canned-reply", "personal_data_count")
    assert len(personal) == n and personal.notna().all()
    assert personal.sum() == 0


def test_the_import_lists_the_official_contacts_it_found(plain_run):
    _, result, _, _ = plain_run
    c = result.contacts
    assert c is not None and set(c["kind"]) == {"phone", "email", "url"}
    found = set(c.loc[c["kind"] == "phone", "key"])
    assert {"5550142", "5550157", "5550163", "5550199"} <= found  # the offices' numbers
    text = result.summary()
    assert "official contacts found in approved answers and policies" in text
    assert "555-0142" in text and "never counted as personal data" in text
