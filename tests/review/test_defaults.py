"""The station on runs a district would make: the shipped demo plan, reference row on.

Every real plan scores the approved answer as a reference row (``reference_row`` defaults on);
the station's own hidden control is the same approved answer. A run of ``plans/demo.yaml``
(its baselines alone, and with the embedded model on two items) must open in the station.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
import yaml

import harness.review as review
from harness.review import db
from harness.review.queue import CONTROL
from harness.run.runner import RunOptions, run_plan
from harness.store.runs import load_run
from tests.conftest import shipped_plan

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / "plans" / "demo.yaml"
ITEMS = ["faq-ath-001", "faq-ath-002", "faq-trn-005", "faq-nut-es01"]


def _demo_plan(tmp: Path, *, model: bool, ids: list[str]) -> Path:
    """plans/demo.yaml with paths made absolute and ``select`` overridden (and, without the
    model, its model candidate and judge left out); the reference row stays at its default."""
    plan = shipped_plan(DEMO)
    assert "reference_row" not in plan  # the shipped default: on
    plan["select"] = {"ids": ids}
    if not model:  # (the runs here are not scored: the station reads drafts only)
        plan.pop("judge")
        plan["scorers"] = ["edit"]
        plan["candidates"] = [c for c in plan["candidates"] if "baseline" in c]
    path = tmp / "plan.yaml"
    path.write_text(yaml.safe_dump(plan, sort_keys=False), encoding="utf-8")
    return path


def _opens(run_id: str, results: Path) -> None:
    st = review.start(run_id, ["Ana", "Ben"], results_dir=results, seed=3)
    try:
        with urllib.request.urlopen(st.links["Ana"], timeout=10) as r:
            page = r.read().decode()
        assert r.status == 200 and 'id="review-form"' in page
        assert not re.search(r"approved_answer|canned-reply|retrieval|staff-first-draft", page)
        # by default a queue opens with replies written from scratch (the time-saved baseline)
        assert 'data-mode="scratch"' in page
        with db.connect(st.db_file) as c:
            drafts = c.execute("SELECT candidate, control FROM drafts").fetchall()
            modes = [r[0] for r in c.execute("SELECT mode FROM tasks ORDER BY reviewer, position")]
        assert {"scratch", "drafts"} == set(modes)
        assert modes.count("scratch") == 3  # 20%, at least one per category (3 in ITEMS)
        controls = [d for d in drafts if d["candidate"] == CONTROL]
        # the approved answer is in the queue once per item, as the hidden control
        assert len(controls) == len(set(ITEMS)) and all(d["control"] for d in controls)
    finally:
        st.stop()


def test_the_station_opens_on_a_run_of_the_demo_plans_baselines_with_the_reference_row(tmp_path):
    store = run_plan(
        _demo_plan(tmp_path, model=False, ids=ITEMS),
        results_dir=tmp_path / "results",
        options=RunOptions(progress=False),
        score=False,  # the station reads drafts, not scores (the judge would cost minutes)
    )
    gens = load_run(store.run_id, tmp_path / "results").generations
    assert set(gens.loc[gens["kind"] == "reference", "candidate"]) == {CONTROL}
    _opens(store.run_id, tmp_path / "results")
    # the CLI on every interface: a warning, and links with this machine's address that work
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "harness.cli",
            "--results",
            str(tmp_path / "results"),
            "review",
            store.run_id,
            "--host",
            "0.0.0.0",
            "--allow-remote",
            "--port",
            "0",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")),
        cwd=REPO,
    )
    lines = []
    try:
        for line in proc.stdout:
            lines.append(line)
            if line.startswith("stop with Ctrl-C"):
                break
        text = "".join(lines)
        assert "exposed beyond this computer" in text, text + proc.stderr.read()
        links = re.findall(r"^\s+(\S+): (http://\S+)$", text, re.M)
        assert [n for n, _ in links] == ["Ana", "Ben"]
        for _, url in links:
            assert "127.0.0.1" not in url and "0.0.0.0" not in url
            with urllib.request.urlopen(url, timeout=10) as r:
                assert r.status == 200 and 'id="review-form"' in r.read().decode()
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=60)


@pytest.mark.local_model
def test_the_station_opens_on_a_run_of_the_demo_plan_itself(tmp_path):
    store = run_plan(
        _demo_plan(tmp_path, model=True, ids=ITEMS[:2]),
        results_dir=tmp_path / "results",
        options=RunOptions(progress=False),
        score=False,  # the station reads drafts, not scores (the judge would cost minutes)
    )
    st = review.start(store.run_id, ["Ana", "Ben"], results_dir=tmp_path / "results")
    try:
        with urllib.request.urlopen(st.links["Ana"], timeout=10) as r:
            assert r.status == 200 and 'id="review-form"' in r.read().decode()
        with db.connect(st.db_file) as c:
            cands = {r[0] for r in c.execute("SELECT candidate FROM drafts")}
        assert {"smollm2", CONTROL} <= cands
    finally:
        st.stop()
