from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest
import yaml

from harness.cli.commands import main
from harness.data.dataset import load_dataset
from harness.run.runner import RunOptions, run_plan
from harness.scorers.scoring import score_run
from tests.conftest import REPO, model_candidate, write_plan

QUIET = RunOptions(progress=False)
GOVERNANCE = REPO / "rubrics" / "governance.yaml"


def _gates(tmp_path: Path, threshold: float, min_n: int | None = 5) -> Path:
    """Gates on the mini district (8 questions): min_n 5 lets its questions count as evidence."""
    extra = {"min_n": min_n} if min_n else {}
    p = tmp_path / f"gates-{threshold}-{min_n}.yaml"
    p.write_text(
        yaml.safe_dump(
            {
                "phases": {
                    "pre_pilot": {
                        "question": "Good enough to pilot?",
                        "gates": [
                            {
                                "name": "close",
                                "title": "Close to the approved answer",
                                "metric": "word_similarity",
                                "test": "threshold",
                                "threshold": threshold,
                                **extra,
                            },
                            {
                                "name": "beats-canned",
                                "title": "Better than the canned reply",
                                "metric": "word_similarity",
                                "test": "superiority",
                                "baseline": "template",
                                "required": False,
                                **extra,
                            },
                        ],
                    }
                }
            },
            sort_keys=False,
        )
    )
    return p


def _answers(dataset: Path):
    ds = load_dataset(dataset)
    pairs = list(zip(ds.items["input"], ds.items["reference"], strict=True))

    def reply(msgs):  # a "model" that returns the approved answer of the question it is asked
        text = msgs[-1]["content"]
        return next((ref for q, ref in pairs if q in text), "I do not know.")

    return reply


def _run(tmp_path, dataset, srv, results, run_id, folder="p"):
    d = tmp_path / folder
    d.mkdir(exist_ok=True)
    plan = write_plan(
        d, dataset, [{"name": "canned", "baseline": "template"}, model_candidate(srv.base_url)]
    )
    store = run_plan(
        plan, results_dir=results, run_id=run_id, options=RunOptions(progress=False, cache="off")
    )
    score_run(store)
    return store


@pytest.fixture
def good_run(tmp_path, mini, results, loopback):
    srv = loopback(reply=_answers(mini))
    return _run(tmp_path, mini, srv, results, "good")


def test_check_passes_and_writes_junit_and_markdown(tmp_path, good_run, results, capsys):
    junit, md = tmp_path / "junit.xml", tmp_path / "summary.md"
    code = main(
        [
            "--results",
            str(results),
            "check",
            "good",
            "--phase",
            "pre_pilot",
            "--gates",
            str(_gates(tmp_path, 0.5)),
            "--governance",
            str(GOVERNANCE),
            "--junit",
            str(junit),
            "--markdown",
            str(md),
        ]
    )
    out = capsys.readouterr().out
    assert code == 0, out
    assert "RESULT: PASS" in out
    root = ET.parse(junit).getroot()
    suites = {s.get("name"): s for s in root.iter("testsuite")}
    assert suites["gates.pre_pilot"].get("failures") == "0"
    names = [tc.get("name") for tc in suites["gates.pre_pilot"].iter("testcase")]
    assert "Close to the approved answer" in names
    assert suites["governance"].get("failures") == "0"
    assert "Readiness check" in md.read_text() and "PASS" in md.read_text()


def test_check_fails_on_a_missed_gate(tmp_path, good_run, results, capsys):
    junit = tmp_path / "junit.xml"
    code = main(
        [
            "--results",
            str(results),
            "check",
            "good",
            "--gates",
            str(_gates(tmp_path, 1.01)),
            "--governance",
            str(GOVERNANCE),
            "--junit",
            str(junit),
        ]
    )
    assert code == 1
    assert "RESULT: FAIL" in capsys.readouterr().out
    failures = list(ET.parse(junit).getroot().iter("failure"))
    assert failures and "Close to the approved answer" in ET.tostring(
        ET.parse(junit).getroot(), encoding="unicode"
    )


def test_check_fails_on_a_regression(tmp_path, good_run, mini, results, loopback, capsys):
    worse = loopback(reply=lambda m: "Thank you for your message. We will reply soon.")
    _run(tmp_path, mini, worse, results, "worse", folder="q")
    junit = tmp_path / "junit.xml"
    code = main(
        [
            "--results",
            str(results),
            "check",
            "worse",
            "--against",
            "good",
            "--gates",
            str(_gates(tmp_path, 0.0)),
            "--governance",
            str(GOVERNANCE),
            "--junit",
            str(junit),
        ]
    )
    out = capsys.readouterr().out
    assert code == 1, out
    reg = [s for s in ET.parse(junit).getroot().iter("testsuite") if s.get("name") == "regression"]
    assert reg and int(reg[0].get("failures")) >= 1
    assert "regression" in out
    # and the same comparison the other way round is no regression
    assert (
        main(
            [
                "--results",
                str(results),
                "check",
                "good",
                "--against",
                "worse",
                "--gates",
                str(_gates(tmp_path, 0.0)),
                "--governance",
                str(GOVERNANCE),
            ]
        )
        == 0
    )


def test_check_bad_input_exits_2(tmp_path, good_run, results, capsys):
    assert main(["--results", str(results), "check", "nope"]) == 2
    bad = tmp_path / "bad.yaml"
    bad.write_text("phases:\n  pre_pilot:\n    gates:\n      - metric: x\n        tset: 1\n")
    assert main(["--results", str(results), "check", "good", "--gates", str(bad)]) == 2
    assert "bad.yaml" in capsys.readouterr().err


def test_incomplete_governance_fails_the_check(tmp_path, good_run, results):
    gov = yaml.safe_load(GOVERNANCE.read_text())
    gov["when_draft_is_wrong"] = ""
    p = tmp_path / "gov.yaml"
    p.write_text(yaml.safe_dump(gov))
    assert (
        main(
            [
                "--results",
                str(results),
                "check",
                "good",
                "--gates",
                str(_gates(tmp_path, 0.0)),
                "--governance",
                str(p),
            ]
        )
        == 1
    )


@pytest.mark.slow
def test_ci_script_passes_then_fails_when_a_candidate_gets_worse(tmp_path, mini_copy, loopback):
    """scripts/ci-evaluate (the workflow's steps) end to end, twice."""
    srv = loopback(reply=_answers(mini_copy))
    plan = write_plan(
        tmp_path,
        mini_copy,
        [
            {"name": "canned", "baseline": "template"},
            {"name": "staff", "baseline": "staff_first_draft"},
            model_candidate(srv.base_url),
        ],
    )
    results = tmp_path / "results"
    env = dict(
        os.environ,
        PLAN=str(plan),
        DATASET=str(mini_copy),
        HARNESS_RESULTS=str(results),
        OUT=str(tmp_path / "out"),
        GATES=str(_gates(tmp_path, 0.0)),
        GOVERNANCE=str(GOVERNANCE),
        ACCEPT="1",
        HARNESS=str(Path(sys.executable).with_name("harness")),
    )
    first = subprocess.run(
        [str(REPO / "scripts" / "ci-evaluate")],
        env={**env, "RUN_ID": "r1"},
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=600,
    )
    assert first.returncode == 0, first.stdout + first.stderr
    assert (results / "ACCEPTED").read_text().strip() == "r1"
    assert (tmp_path / "out" / "readiness_report.html").is_file()
    # a month later the staff drafts in the data got worse: the staff candidate regresses
    lines = (mini_copy / "items.jsonl").read_text().splitlines()
    recs = [json.loads(x) for x in lines]
    for r in recs:
        if r.get("staff_first_draft"):
            r["staff_first_draft"] = "See website."
    (mini_copy / "items.jsonl").write_text("\n".join(json.dumps(r) for r in recs) + "\n")
    second = subprocess.run(
        [str(REPO / "scripts" / "ci-evaluate")],
        env={**env, "RUN_ID": "r2"},
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=600,
    )
    assert second.returncode == 1, second.stdout + second.stderr
    assert "regression" in second.stdout
    assert (results / "ACCEPTED").read_text().strip() == "r1"  # a failing run is not accepted
    shutil.rmtree(results / ".cache", ignore_errors=True)


def test_regression_margins_name_registered_metrics():
    from harness.gates.ci import DEFAULT_MARGINS
    from harness.scorers import metrics

    assert set(DEFAULT_MARGINS) <= set(metrics())


# -- missing evidence: its own verdict and its own exit code (issue 22 item 8, issue 24) --------


@pytest.mark.parametrize(
    ("threshold", "min_n", "code", "verdict", "result"),
    [
        (0.5, 2, 0, "Ready", "PASS"),
        (1.01, 2, 1, "Not ready", "FAIL"),
        # 8 questions, below the one minimum n (10): neither pass nor fail
        (0.5, None, 4, "Not decided: evidence missing", "EVIDENCE MISSING"),
        (1.01, None, 4, "Not decided: evidence missing", "EVIDENCE MISSING"),
    ],
)
def test_check_has_one_verdict_and_an_exit_code_for_missing_evidence(
    tmp_path, good_run, results, capsys, threshold, min_n, code, verdict, result
):
    gates = _gates(tmp_path, threshold, min_n)
    junit, md = tmp_path / "junit.xml", tmp_path / "summary.md"
    got = main(
        ["--results", str(results), "check", "good", "--gates", str(gates), "--governance",
         str(GOVERNANCE), "--junit", str(junit), "--markdown", str(md)]
    )  # fmt: skip
    out = capsys.readouterr().out
    assert got == code, out
    line = next(x for x in out.splitlines() if x.startswith("decision: "))
    assert line.startswith(f"decision: {verdict} — ") and line.count("Not ready") <= 1
    assert f"decision: {verdict} — {verdict}" not in out and f"RESULT: {result}" in out
    assert f"Readiness check: {verdict} ({result})" in md.read_text()
    root = ET.parse(junit).getroot()
    props = {p.get("name"): p.get("value") for p in root.iter("property")}
    assert props["verdict"] == verdict and props["exit_code"] == str(code)
    errors = sum(int(s.get("errors", 0)) for s in root.iter("testsuite"))
    assert (errors > 0) is (code == 4)


def _judged_run(tmp_path, dataset, srv, results, run_id):
    d = tmp_path / run_id
    d.mkdir()
    plan = write_plan(
        d,
        dataset,
        [{"name": "canned", "baseline": "template"}, model_candidate(srv.base_url)],
        scorers=["edit", "judge"],
        judge={
            "model": "openai/judge",
            "api_base": srv.base_url,
            "candidates": ["m"],
            "calibration_sample": {"max_drafts": 3},
            "min_rated": 2,
        },
    )
    store = run_plan(plan, results_dir=results, run_id=run_id, options=QUIET)
    score_run(store)


def test_a_pull_request_that_deletes_ratings_cannot_pass(tmp_path, mini_copy, results, loopback):
    """The judge gate needs ratings.csv: deleting it leaves the gate unchecked, exit 4."""
    reply = '{"accuracy": 4, "completeness": 3, "tone": 5, "rationale": "ok"}'
    srv = loopback(
        reply=lambda m: reply if "DRAFT to rate" in m[-1]["content"] else "A pass costs $10."
    )
    gates = tmp_path / "judge-gates.yaml"
    gates.write_text(
        yaml.safe_dump(
            {"phases": {"pre_pilot": {"question": "Good enough?", "gates": [
                {"name": "judge", "title": "The judge rates it accurate",
                 "metric": "judge_accuracy", "test": "threshold", "threshold": 0.5, "min_n": 2},
            ]}}}
        )
    )  # fmt: skip
    args = ["--gates", str(gates), "--governance", str(GOVERNANCE)]
    _judged_run(tmp_path, mini_copy, srv, results, "before")
    # with ratings the judge was checked and disagrees: a failure (1)
    assert main(["--results", str(results), "check", "before", *args]) == 1
    (mini_copy / "ratings.csv").unlink()
    _judged_run(tmp_path, mini_copy, srv, results, "after")
    assert main(["--results", str(results), "check", "after", *args]) == 4
