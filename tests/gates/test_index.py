from __future__ import annotations

import dataclasses
from types import SimpleNamespace

import pandas as pd
import pytest

from harness.data.dataset import load_dataset
from harness.gates.decision import Governance
from harness.gates.facts import CHECKS
from harness.gates.index import (
    EVIDENCE_ITEMS,
    EVIDENCED,
    NOT_EVIDENCED,
    SECTIONS,
    evidence_index,
)
from tests.conftest import SAMPLE
from tests.gates.test_decision import GOV

DS = load_dataset(SAMPLE)
ALL = list(SECTIONS)


def run_of(metrics, items=None, dataset=DS, calibration=None, workflow="Parent replies"):
    items = items or list(DS.items.index[DS.items["task"] == "faq_reply"])
    rows = [
        {
            "key": f"{i}|ai|0",
            "item_id": i,
            "candidate": "ai",
            "sample": 0,
            "metric": m,
            "value": 0.5,
        }
        for i in items
        for m in metrics
    ]
    manifest = {
        "dataset": {"path": str(SAMPLE), "fingerprint": "abc123def4567890"},
        "plan": {"workflow": workflow, "tasks": ["faq_reply"], "candidates": [{"name": "ai"}]},
        "candidates": [{"name": "ai", "kind": "model", "model": "local/smollm2"}],
    }
    return SimpleNamespace(
        scores=pd.DataFrame(rows), dataset=dataset, manifest=manifest, calibration=calibration
    )


FULL = [
    "required_facts_coverage",
    "unsupported_claims_count",
    "sample_similarity",
    "personal_data_count",
    "escalation_ok",
    "saved_minutes",
    "judge_accuracy",
]


def index(run, sections=ALL, gov=GOV, **kw):
    t = evidence_index(run, sections, governance=Governance.model_validate(gov), **kw)
    return t.set_index("item")


def test_every_row_has_a_known_section_and_check():
    assert all(it.section in SECTIONS and it.check in CHECKS for it in EVIDENCE_ITEMS)
    frameworks = {it.framework for it in EVIDENCE_ITEMS}
    assert len(frameworks) == 5  # ED, CoSN, NIST, Title VI, the pilot phases


def test_a_full_run_evidences_every_item():
    t = index(run_of(FULL, calibration={"calibrated": False}))
    assert list(t.columns) == ["framework", "section", "status", "reason"]
    assert (t["status"] == EVIDENCED).all(), t[t["status"] != EVIDENCED]["reason"].to_dict()


JUDGE = "An AI judge's scores are checked against human raters before they count"
FAIR = "MEASURE 2.11: fairness: quality is measured for each group of families"
OTHER = "Families who write in another language are part of the test"


@pytest.mark.parametrize(
    ("change", "item", "reason"),
    [
        ({"dataset": dataclasses.replace(DS, ratings=None)}, JUDGE, "no ratings.csv"),
        ({"calibration": None}, JUDGE, "not checked against the human ratings"),
        ({"metrics": [m for m in FULL if m != "judge_accuracy"]}, JUDGE, "no AI judge"),
        (
            {
                "items": list(
                    DS.items.index[
                        (DS.items["language"] == "en") & (DS.items["task"] == "faq_reply")
                    ]
                )
            },
            FAIR,
            "fewer than two languages have 10 or more",
        ),
        (
            {
                "items": list(
                    DS.items.index[
                        (DS.items["language"] == "en") & (DS.items["task"] == "faq_reply")
                    ]
                )
            },
            OTHER,
            "no question written in a language other than English",
        ),
        (
            {"dataset": dataclasses.replace(DS, pilot_log=None)},
            "3. Pilot with staff reviewing every draft",
            "no pilot_log.csv",
        ),
        ({"workflow": ""}, "1. Pick one narrow workflow", "names no workflow"),
        (
            {"items": ["faq-enr-001", "faq-trn-es01"]},
            "MEASURE 2.2: the test set represents the questions families send",
            "leaves out categories",
        ),
    ],
)
def test_reasons_come_from_the_runs_data(change, item, reason):
    kw = {"metrics": FULL, "calibration": {"calibrated": True}, **change}
    metrics = kw.pop("metrics")
    t = index(run_of(metrics, **kw))
    assert t.loc[item, "status"] == NOT_EVIDENCED
    assert reason in t.loc[item, "reason"]


@pytest.mark.parametrize(
    ("drop", "item"),
    [
        ("ai_disclosure", "Families are told when AI helped draft a reply"),
        ("report_sign_off", "Leadership owns the pilot: a named approver signs the report"),
        (
            "data_flow",
            "Data: an inventory of which data goes to which provider and how long it is kept",
        ),
        ("incident_path", "MEASURE 3.3: a way to report, correct and log a wrong reply"),
        ("staff_training", "Operations: staff are trained before they review AI drafts"),
    ],
)
def test_a_missing_governance_entry_is_not_evidenced(drop, item):
    gov = {k: v for k, v in GOV.items() if k != drop}
    t = index(run_of(FULL, calibration={"calibrated": True}), gov=gov)
    assert t.loc[item, "status"] == NOT_EVIDENCED
    assert f"{drop} (missing)" in t.loc[item, "reason"]
    assert t.loc["2. Define governance before the pilot", "status"] == NOT_EVIDENCED


def test_a_section_the_report_lacks_is_not_evidenced():
    t = index(
        run_of(FULL, calibration={"calibrated": True}), sections=[s for s in ALL if s != "equity"]
    )
    assert t.loc[FAIR, "status"] == NOT_EVIDENCED
    assert "no 'Does every family get the same quality?' section" in t.loc[FAIR, "reason"]
    assert t.loc[JUDGE, "status"] == EVIDENCED


def test_unapproved_provider_is_not_evidenced():
    gov = {**GOV, "approved_providers": ["openai/*"]}
    t = index(run_of(FULL, calibration={"calibrated": True}), gov=gov)
    row = t.loc["Security and legal risk: only approved AI services receive district data"]
    assert row["status"] == NOT_EVIDENCED and "unapproved services: ai" in row["reason"]
