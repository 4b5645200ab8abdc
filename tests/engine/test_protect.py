from __future__ import annotations

import json

import pytest
import yaml

from harness.engine.protect import Redactor
from harness.errors import RunError
from harness.run.audit import verify
from harness.run.merge import merge_runs
from harness.run.runner import RunOptions, run_plan
from harness.scorers.scoring import score_run
from tests.conftest import model_candidate, write_plan

QUIET = RunOptions(progress=False)


def _governance(tmp_path, providers):
    p = tmp_path / "governance.yaml"
    p.write_text(yaml.safe_dump({"approved_providers": providers}))
    return p


def test_unapproved_endpoint_is_refused_before_any_request(tmp_path, mini, results, loopback):
    srv = loopback()
    gov = _governance(tmp_path, ["local/smollm2"])
    plan = write_plan(tmp_path, mini, [model_candidate(srv.base_url)], governance=str(gov))
    with pytest.raises(RunError, match=r"refused before any call: m \(openai/loopback at "):
        run_plan(plan, results_dir=results, options=QUIET)
    assert srv.request_count == 0
    assert not any(results.iterdir())  # no run folder was even created


def test_hosted_provider_needs_approval_without_governance(tmp_path, mini, results):
    plan = write_plan(
        tmp_path, mini, [{"name": "gpt", "model": "openai/gpt-4o-mini", "prompt": "prompt.j2"}]
    )
    with pytest.raises(RunError, match="only this machine"):
        run_plan(plan, results_dir=results, options=QUIET)


def test_approved_endpoint_runs_and_is_recorded(tmp_path, mini, results, loopback):
    srv = loopback()
    gov = _governance(tmp_path, ["local/smollm2", "http://127.0.0.1"])
    plan = write_plan(tmp_path, mini, [model_candidate(srv.base_url)], governance=str(gov))
    store = run_plan(plan, results_dir=results, options=QUIET)
    m = store.read_manifest()
    assert m["data_protection"]["approved_providers"] == ["local/smollm2", "http://127.0.0.1"]
    assert m["endpoints"] == [srv.base_url.rsplit("/v1", 1)[0]]
    assert str(gov.resolve()) in m["audit"]["files"]["plan"]
    assert m["audit"]["models"] == {"m": "openai/loopback"}
    assert m["git"]["commit"] is None or len(m["git"]["commit"]) == 40


def test_redaction_removes_personal_data_from_what_is_sent(tmp_path, mini_copy, results, loopback):
    lines = (mini_copy / "items.jsonl").read_text().splitlines()
    rec = json.loads(lines[0])
    rec["input"] += (
        " Reach me at ana.ruiz@example.org or (555) 201-3344, student id 20214455."
        " Thanks, Omar Haddad"
    )
    lines[0] = json.dumps(rec)
    (mini_copy / "items.jsonl").write_text("\n".join(lines) + "\n")
    srv = loopback()
    plan = write_plan(tmp_path, mini_copy, [model_candidate(srv.base_url)], redact="all")
    store = run_plan(plan, results_dir=results, options=QUIET)
    sent = json.dumps(srv.recorded.requests)
    assert "ana.ruiz@example.org" not in sent and "201-3344" not in sent
    assert "20214455" not in sent and "Omar Haddad" not in sent
    assert "[EMAIL]" in sent and "[PHONE]" in sent and "[NAME]" in sent
    assert "555-0157" in sent  # approved sources are public: district numbers stay
    red = store.read_manifest()["data_protection"]
    assert red["redact"] == "all" and red["redaction"]["email"] == 1
    # stored results hold what the model wrote, and no personal data was put back
    outputs = " ".join(store.generations()["output"].dropna())
    assert "ana.ruiz@example.org" not in outputs


@pytest.mark.parametrize(
    "text,expected",
    [
        ("call 555-201-3344 or (555) 201-3344", "call [PHONE] or [PHONE]"),
        ("mail a.b@c.org now", "mail [EMAIL] now"),
        ("ID 1234567 and fee $10 and 555-0157", "ID [STUDENT_ID] and fee $10 and [PHONE]"),
        ("Ana Ruiz and ana ruiz", "[NAME] and [NAME]"),
    ],
)
def test_redactor_table(text, expected):
    assert Redactor(["Ana Ruiz"]).text(text) == expected


def test_verify_catches_an_edited_dataset_file(tmp_path, mini_copy, results, loopback):
    srv = loopback()
    plan = write_plan(tmp_path, mini_copy, [model_candidate(srv.base_url)])
    store = run_plan(plan, results_dir=results, options=QUIET)
    report = verify(store)
    assert (report["status"] == "unchanged").all() and len(report) >= 8
    p = mini_copy / "sources" / "lunch-2025.md"
    p.write_text(p.read_text().replace("$3.75", "$4.00"))
    (tmp_path / "prompt.j2").write_text("changed {{ item.input }}")
    (mini_copy / "sources" / "new-doc.md").write_text("new text")
    report = verify(store).set_index("file")
    assert report.loc[str(p), "status"] == "changed"
    assert report.loc[str((tmp_path / "prompt.j2").resolve()), "status"] == "changed"
    assert report.loc[str(mini_copy / "sources" / "new-doc.md"), "status"] == "added"


def test_shards_merged_equal_an_unsharded_run(tmp_path, mini, results, loopback):
    srv = loopback(reply=lambda m: "Answer: " + m[-1]["content"][-40:])
    plan = write_plan(
        tmp_path,
        mini,
        [{"name": "retrieval", "baseline": "retrieval"}, model_candidate(srv.base_url, samples=2)],
    )
    opts = RunOptions(progress=False, cache="off")
    whole = run_plan(plan, results_dir=results, options=opts)
    shards = [
        run_plan(
            plan,
            results_dir=results,
            run_id=f"s{i}",
            options=RunOptions(progress=False, cache="off", shard=(i, 3)),
        )
        for i in (1, 2, 3)
    ]
    assert sum(len(s.generations()) for s in shards) == len(whole.generations())
    merged = merge_runs([s.run_id for s in shards], results_dir=results, run_id="merged")
    cols = ["key", "item_id", "candidate", "sample", "output", "status"]
    a = whole.generations()[cols].sort_values("key").reset_index(drop=True)
    b = merged.generations()[cols].sort_values("key").reset_index(drop=True)
    assert a.equals(b)
    sa = score_run(whole).sort_values(["key", "metric"]).reset_index(drop=True)
    sb = score_run(merged).sort_values(["key", "metric"]).reset_index(drop=True)
    assert sa["value"].fillna(-1).tolist() == pytest.approx(sb["value"].fillna(-1).tolist())
    assert merged.read_manifest()["merged_from"] == ["s1", "s2", "s3"]
    with pytest.raises(RunError, match="more than one shard"):
        merge_runs(["s1", "s1"], results_dir=results, run_id="bad")


def test_shards_are_deterministic_and_disjoint(mini):
    from harness.data.dataset import load_dataset
    from harness.plan.spec import Plan
    from harness.run.runner import select_items

    plan = Plan(
        name="x",
        dataset=str(mini),
        tasks=["faq_reply"],
        candidates=[{"name": "c", "baseline": "template"}],
    )
    ds = load_dataset(mini)
    parts = [set(select_items(plan, ds, shard=(i, 4))[0].index) for i in (1, 2, 3, 4)]
    assert set().union(*parts) == set(select_items(plan, ds)[0].index)
    assert sum(len(p) for p in parts) == len(set().union(*parts))
    assert parts == [set(select_items(plan, ds, shard=(i, 4))[0].index) for i in (1, 2, 3, 4)]
