from __future__ import annotations

import json

from harness.cli.commands import main
from harness.data.dataset import load_dataset
from harness.gates.feeds import dataset_warnings


def _msgs(ds) -> list[str]:
    return [str(w) for w in dataset_warnings(ds)]


def test_a_bare_dataset_gets_every_warning(tmp_path, mini_copy, capsys):
    recs = [json.loads(x) for x in (mini_copy / "items.jsonl").read_text().splitlines()]
    for r in recs:
        r["source_ids"] = []
        for k in ("required_facts", "sensitive", "sensitive_reason", "staff_first_draft",
                  "paraphrase_group"):  # fmt: skip
            r.pop(k, None)
    (mini_copy / "items.jsonl").write_text("\n".join(json.dumps(r) for r in recs) + "\n")
    (mini_copy / "sources" / "untitled.md").write_text("Just text.\n")
    (mini_copy / "ratings.csv").unlink()
    (mini_copy / "pilot_log.csv").unlink()
    msgs = "\n".join(_msgs(load_dataset(mini_copy)))
    assert f"{len(recs)} of {len(recs)} items cite no source" in msgs
    assert "current sources are cited by no item" in msgs and "untitled" in msgs
    assert "1 sources have no title (untitled)" in msgs
    # the approved answers state fees and phone numbers: those are the facts (issue 22)
    assert "cannot be checked without required_facts" not in msgs
    for r in recs:
        r["reference"] = "Thanks for asking; we will look into it and write back."
    (mini_copy / "items.jsonl").write_text("\n".join(json.dumps(r) for r in recs) + "\n")
    msgs = "\n".join(_msgs(load_dataset(mini_copy)))
    assert "phase pre_pilot: 3 gate(s) cannot be checked without required_facts" in msgs
    assert "facts-covered, facts-every-topic, facts-every-language" in msgs
    assert (
        "phase pre_pilot: 1 gate(s) cannot be checked without sensitive (sensitive-escalated)"
        in msgs
    )
    assert "without staff_first_draft (close-to-staff-draft (advisory))" in msgs
    assert "without pilot_log.csv" in msgs and "without ratings.csv" in msgs
    assert main(["validate", str(mini_copy)]) == 0
    assert "warnings:" in capsys.readouterr().out
    assert main(["validate", str(mini_copy), "--strict"]) == 2


def test_a_complete_dataset_has_no_gate_warnings(mini):
    msgs = _msgs(load_dataset(mini))
    assert not [m for m in msgs if "gate(s) cannot be checked" in m and "pre_pilot" in m]


def test_empty_sources_folder_is_a_warning_not_an_error(tmp_path):
    ds_dir = tmp_path / "d"
    (ds_dir / "sources").mkdir(parents=True)
    (ds_dir / "items.jsonl").write_text(json.dumps(
        {"id": "a", "task": "faq_reply", "input": "q?", "reference": "r.", "source_ids": [],
         "category": "general"}) + "\n")  # fmt: skip
    assert "holds no source documents" in "\n".join(_msgs(load_dataset(ds_dir)))


def test_a_dataset_is_warned_only_about_the_gates_of_its_own_workflows(mini_copy):
    """Issue 23: the FAQ gates (escalation of sensitive questions) name faq_reply; a dataset of
    summaries and newsletter sections alone is not told it cannot feed them."""
    recs = [json.loads(x) for x in (mini_copy / "items.jsonl").read_text().splitlines()]
    for r in recs:
        r.pop("sensitive", None)
        r.pop("sensitive_reason", None)
    (mini_copy / "items.jsonl").write_text("\n".join(json.dumps(r) for r in recs) + "\n")
    assert "sensitive-escalated" in "\n".join(_msgs(load_dataset(mini_copy)))
    others = [r for r in recs if r["task"] != "faq_reply"]
    assert others
    (mini_copy / "items.jsonl").write_text("\n".join(json.dumps(r) for r in others) + "\n")
    for name in ("ratings.csv", "pilot_log.csv"):  # they rate and log FAQ items
        (mini_copy / name).unlink()
    assert "sensitive-escalated" not in "\n".join(_msgs(load_dataset(mini_copy)))
