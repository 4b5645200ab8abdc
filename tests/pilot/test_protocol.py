"""The pilot protocol end to end on the shipped baselines plan and the sample district: written,
frozen, never replaced; a gate edited after the freeze shows in the post-pilot reports with its
time; a pilot short of its sample gets "not enough evidence yet" with the numbers, no verdict."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
import yaml

import harness.pilot.protocol as protocol
from harness.cli.commands import main
from harness.report import render_comparison, render_report

from ..conftest import REPO


@pytest.fixture(scope="module")
def pre_pilot(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("pilot")
    results = tmp / "results"
    assert main(["--results", str(results), "run", str(REPO / "plans" / "baselines.yaml")]) == 0
    run_id = next(p.name for p in results.iterdir() if p.is_dir() and not p.name.startswith("."))
    gates = tmp / "gates.yaml"
    shutil.copy(REPO / "rubrics" / "gates.yaml", gates)
    return tmp, results, run_id, gates


def _plan_and_start(tmp: Path, results: Path, run_id: str, gates: Path, *extra: str) -> Path:
    draft = tmp / "protocols" / "replies.draft.yaml"
    args = ["--results", str(results), "pilot", "plan", run_id, "--gates", str(gates)]
    assert main([*args, "--out", str(draft), *extra]) == 0
    assert main(["pilot", "start", str(draft)]) == 0
    return draft.with_name("replies.yaml")


def test_plan_then_start_freezes_a_protocol_that_is_never_replaced(pre_pilot, capsys):
    tmp, results, run_id, gates = pre_pilot
    frozen = _plan_and_start(tmp / "a", results, run_id, gates)
    out = capsys.readouterr().out
    assert re.search(r"sample: about \d+ reviewed drafts over \d+ weeks at your volume", out)
    proto = protocol.load(frozen)
    assert proto["frozen"]["sha256"] == protocol.digest(proto)
    assert f"sha256 {proto['frozen']['sha256']}" in out
    assert proto["pre_pilot_run"] == run_id and proto["gates_file"] == str(gates.resolve())
    minutes = next(m for m in proto["measures"] if m["gate"] == "pilot-saves-time")
    assert minutes["bar"] == 0.0 and minutes["n"] >= 2
    assert "pilot_log.csv" in minutes["source"]  # the source of the spread is named
    assert 0.75 <= minutes["simulated_power"] <= 0.85
    assert protocol.changes(frozen) == []
    # a second start never replaces the frozen file
    assert main(["pilot", "start", str(frozen.with_name("replies.draft.yaml"))]) == 2
    assert "never replaced" in capsys.readouterr().err
    # editing the frozen file itself breaks its seal, and the change is listed
    text = frozen.read_text().replace("staff: 3", "staff: 9", 1)
    frozen.write_text(text)
    assert [c["field"] for c in protocol.changes(frozen)] == ["content"]


def _decision_div(html: str) -> str:
    start = html.index('id="decision"')
    return html[start : html.index("</div>", start)]


def test_a_gate_edited_after_the_start_and_a_short_pilot_show_in_the_later_reports(pre_pilot):
    tmp, results, run_id, gates = pre_pilot
    local = tmp / "b"
    local.mkdir()
    edited = local / "gates.yaml"
    shutil.copy(gates, edited)
    # the district cares about 1.5 minutes saved per reply: more drafts than the log's 35
    frozen = _plan_and_start(local, results, run_id, edited, "--effect", "pilot-saves-time=1.5")
    proto = protocol.load(frozen)
    need = proto["sample"]["drafts"]
    assert need > 35
    doc = yaml.safe_load(edited.read_text())
    gate = next(g for g in doc["phases"]["post_pilot"]["gates"] if g["name"] == "pilot-saves-time")
    gate["threshold"] = 1.0
    edited.write_text(yaml.safe_dump(doc, sort_keys=False))

    comparison = render_comparison(run_id, run_id, results_dir=results, protocol=frozen)
    html = comparison.read_text()
    seal = proto["frozen"]["sha256"]
    assert html.index(seal) < html.index("What the pilot changed")  # page 1
    box = _decision_div(html)
    assert f"not enough evidence yet: 35 of {need} reviewed drafts" in box
    assert "Not ready" not in box and "Ready" not in box.replace("Not decided", "")
    changed = html[html.index('id="protocol-changes"') :]
    assert "Changed after the freeze" in changed and "<mark>" in changed
    assert re.search(r"pilot-saves-time</b>, threshold: frozen 0.0, now 1.0", changed)
    assert re.search(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d", changed)  # with its time
    # consistency across staff, per staff member with intervals, never by name
    staff = html[html.index("Consistency across staff (anonymised)") :]
    staff = staff[: staff.index("The same questions, before and after")]
    assert "Staff A" in staff and "minutes_low" in staff
    assert not re.search(r"staff_0\d", staff)
    # the district's minutes beside published results, read from the repository's copy
    assert "Beside published results" in html and "schoolsweek.co.uk" in html

    readiness = render_report(
        run_id, phase="post_pilot", results_dir=results, gates=edited, protocol=frozen
    ).read_text()
    assert readiness.index(seal) < readiness.index("The gates behind the decision")
    assert f"35 of {need} reviewed drafts" in _decision_div(readiness)
    assert "pilot-saves-time</b>, threshold: frozen 0.0, now 1.0" in readiness


def test_the_station_queue_is_sized_from_the_frozen_protocol(pre_pilot):
    import json
    import sqlite3

    from harness.review import db
    from harness.review.station import prepare
    from harness.store.runs import load_run

    tmp, results, run_id, gates = pre_pilot
    frozen = _plan_and_start(tmp / "c", results, run_id, gates, "--staff", "2")
    need = protocol.load(frozen)["sample"]["drafts"]
    # the caller (harness review) reads the protocol and hands the station its sample
    sample = protocol.queue_sample(load_run(run_id, results), frozen)
    assert sample is not None and sample["protocol"] == frozen.name
    path = prepare(
        run_id, ["Ana", "Ben"], results_dir=results, modes=("drafts",), sized_from=sample
    )
    with sqlite3.connect(path) as c:
        firsts = c.execute(
            "SELECT reviewer, COUNT(*) FROM tasks WHERE mode = 'drafts' AND review = 1 "
            "GROUP BY reviewer"
        ).fetchall()
        config = json.loads(c.execute("SELECT value FROM meta WHERE key = 'config'").fetchone()[0])
    assert sum(n for _, n in firsts) == need
    assert max(n for _, n in firsts) - min(n for _, n in firsts) <= 1  # spread evenly
    assert config["sized_from"]["drafts"] == need
    assert config["sized_from"]["sha256"] == protocol.load(frozen)["frozen"]["sha256"]
    assert db.exists(path)


@pytest.mark.parametrize("need", [7, 21, 60])
def test_the_queue_follows_the_sample(need):
    import pandas as pd

    from harness.review.queue import build_queue, sized

    drafts = pd.DataFrame(
        {
            "draft_id": [f"d{i}" for i in range(90)],
            "item_id": [f"q{i}" for i in range(90)],
            "candidate": ["ai"] * 90,
            "category": ["bus", "lunch", "fees"] * 30,
            "text": [f"draft {i}" for i in range(90)],
            "control": [False] * 90,
        }
    )
    tasks = build_queue(drafts, ["Ana", "Ben", "Cy"], double_share=0.2)
    out = sized(tasks, need)
    firsts = out[(out["mode"] == "drafts") & (out["review"] == 1)]
    assert len(firsts) == need
    seconds = out[out["review"] == 2]
    assert set(seconds["draft_id"]) <= set(firsts["draft_id"])
    for _, mine in out.groupby("reviewer"):
        assert mine["position"].tolist() == list(range(len(mine)))
