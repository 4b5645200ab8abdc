from __future__ import annotations

import csv
import json
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from harness.cli.commands import main
from harness.data.dataset import load_dataset
from harness.importers import (
    accept_suggestions,
    export_suggestions,
    import_export,
    suggestion_counts,
)
from harness.importers.suggest import propose_required_facts, propose_sensitive

from ..conftest import SAMPLE
from .makedocs import make_export


@pytest.mark.parametrize(
    ("message", "reason"),
    [
        ("A boy said he will bring a gun tomorrow", "safety"),
        ("My daughter is being bullied on the bus", "safety"),
        ("She came home with bruises and says the aide squeezed her arm", "abuse"),
        ("My lawyer says the custody order means her father cannot pick her up", "legal"),
        ("My son was suspended for 3 days, is that fair?", "discipline"),
        ("Please don't tell anyone about her pregnancy", "health_privacy"),
        ("A girl wrote that she “won’t be around after this week”", "safety"),
        ("How much is a bus pass?", None),
        ("What time does the school start?", None),
    ],
)
def test_sensitive_is_proposed_by_rule(message, reason):
    assert propose_sensitive(message) == reason


def test_rules_find_the_sample_districts_sensitive_items():
    items = load_dataset(SAMPLE).items
    flagged = items["input"].map(propose_sensitive)
    recall = flagged[items["sensitive"]].notna().mean()
    false_alarms = flagged[~items["sensitive"]].notna().mean()
    assert recall >= 0.8, recall
    assert false_alarms <= 0.15, false_alarms


@pytest.mark.parametrize(
    ("reference", "expected"),
    [
        ("A pass costs $150. Call 555-0134 by August 15, 2025.", ["$150", "555-0134", "August 15, 2025"]),
        ("Email nutrition@district.example.", ["nutrition@district.example"]),
        ("Thank you for asking.", []),
    ],
)  # fmt: skip
def test_required_facts_are_the_claims_the_accuracy_scorer_checks(reference, expected):
    facts = propose_required_facts(reference)
    for e in expected:
        assert any(e in f for f in facts), (e, facts)
    if not expected:
        assert facts == []


def test_csv_round_trip_moves_accepted_suggestions_into_gated_fields(tmp_path):
    src, policies = make_export(tmp_path / "d")
    out = tmp_path / "ds"
    import_export(src, out, sources=policies)
    before = load_dataset(out).items
    # proposals are not used until accepted: no required facts, nothing sensitive yet
    assert before["required_facts"].map(len).sum() == 0 and not before["sensitive"].any()
    assert suggestion_counts(before).loc["sensitive", "proposed"] >= 2
    sheet = tmp_path / "s.csv"
    assert main(["suggestions", "export", str(out), str(sheet)]) == 0
    rows = list(csv.DictReader(sheet.open(encoding="utf-8")))
    facts = [r for r in rows if r["kind"] == "required_fact"]
    sens = [r for r in rows if r["kind"] == "sensitive"]
    assert facts and sens
    facts[0]["accept"] = "yes"
    facts[0]["accepted_text"] = facts[0]["suggestion"] + " "  # edited text is used, stripped
    facts[1]["accept"] = "no"
    sens[0]["accept"] = "yes"
    with sheet.open("w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    assert main(["suggestions", "accept", str(out), str(sheet)]) == 0
    after = load_dataset(out).items
    assert after.loc[facts[0]["item_id"], "required_facts"] == [facts[0]["suggestion"]]
    assert bool(after.loc[sens[0]["item_id"], "sensitive"]) is True
    assert after.loc[sens[0]["item_id"], "sensitive_reason"] == sens[0]["suggestion"]
    counts = suggestion_counts(after)
    assert counts.loc["required_facts", "accepted"] == 1
    assert counts.loc["required_facts", "rejected"] == 1
    assert counts.loc["sensitive", "accepted"] == 1
    assert (counts["proposed"] == counts[["accepted", "rejected", "pending"]].sum(axis=1)).all()
    assert all(pd.api.types.is_integer_dtype(t) for t in counts.dtypes)
    # a second export no longer offers what was decided
    again = export_suggestions(out, tmp_path / "s2.csv")
    decided = {
        (facts[0]["item_id"], facts[0]["suggestion"]),
        (facts[1]["item_id"], facts[1]["suggestion"]),
    }
    assert not decided & set(zip(again["item_id"], again["suggestion"], strict=True))


def test_accept_names_bad_rows(tmp_path, mini_copy):
    sheet = tmp_path / "s.csv"
    sheet.write_text(
        "item_id,kind,suggestion,accepted_text,accept\n"
        "nope,required_fact,$10,$10,yes\n"
        "faq-001,required_fact,$10,$10,maybe\n",
        encoding="utf-8",
    )
    before = (mini_copy / "items.jsonl").read_text()
    with pytest.raises(Exception) as err:
        accept_suggestions(mini_copy, sheet)
    msg = str(err.value)
    assert f"{sheet} line 2: field 'item_id'" in msg and f"{sheet} line 3: field 'accept'" in msg
    assert (mini_copy / "items.jsonl").read_text() == before


def test_export_proposes_for_a_dataset_not_made_by_import(tmp_path, mini_copy):
    rows = export_suggestions(mini_copy, tmp_path / "s.csv")
    recs = [json.loads(x) for x in (mini_copy / "items.jsonl").read_text().splitlines()]
    with_facts = {r["id"] for r in recs if r.get("required_facts")}
    assert not with_facts & set(rows.loc[rows["kind"] == "required_fact", "item_id"])
    assert Path(tmp_path / "s.csv").is_file()


_PIECES = ["gun", "guns", "bullied", "bull", "suspended", "suspense", "won't be around",
           "wont be around", "self-harm", "self harm", "custody", "sue", "pursue", "post photos",
           "the", "bus", "pass", "lunch", " ", ".", "threatened", "threatening", "bruised"]  # fmt: skip


@given(st.lists(st.sampled_from(_PIECES), max_size=12))
def test_the_literal_prefilter_never_changes_a_verdict(pieces):
    from harness.importers.suggest import _ORDER, _RULES

    text = " ".join(pieces)
    found = {m.lastgroup for m in _RULES.finditer(text.lower())}
    expected = min(found, key=lambda r: _ORDER[str(r)]) if found else None
    assert propose_sensitive(text) == expected


@pytest.mark.parametrize(
    "text", ['=HYPERLINK("http://x")', "+1 555", "-5 days", "@sum", "plain", "'quoted"]
)
def test_sheet_cells_never_run_as_formulas_and_come_back_unchanged(text):
    from harness.importers.review import _sheet_safe, _sheet_text

    safe = _sheet_safe(text)
    assert not safe.startswith(("=", "+", "-", "@"))
    assert _sheet_text(safe) == text


def test_exported_sheet_quotes_a_formula_in_a_familys_message(tmp_path):
    src = tmp_path / "a.csv"
    src.write_text('question,answer\n"=HYPERLINK(""http://evil"")?","Call 555-0100 by 9:00 a.m."\n')
    import_export(src, tmp_path / "ds")
    export_suggestions(tmp_path / "ds", tmp_path / "s.csv")
    rows = list(csv.DictReader((tmp_path / "s.csv").open(encoding="utf-8")))
    assert rows and all(r["question"].startswith("'=HYPERLINK") for r in rows)
