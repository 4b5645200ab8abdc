from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from harness.errors import ReportError
from harness.report import (
    render_calibration,
    render_comparison,
    render_explore,
    render_notebook,
    render_report,
)
from harness.run.runner import RunOptions, run_plan
from harness.scorers import scorer_names
from harness.scorers.scoring import score_run
from harness.store.runs import open_run
from tests.conftest import MINI, model_candidate, shared_copy, write_plan

INJECT = (
    '<script>document.title="PWNED"</script>'
    "<img src=x onerror=\"document.body.setAttribute('data-pwned','1')\">"
)


def _build_runs(tmp: Path) -> None:
    """Two small real runs (baselines + a loopback model) with a hostile question and reply,
    scored, with their four reports rendered; ``built.json`` names the runs and the reports."""
    from loopback import Behaviour, LoopbackServer

    ds = tmp / "mini"
    shutil.copytree(MINI, ds)
    lines = (ds / "items.jsonl").read_text().splitlines()
    rec = json.loads(lines[3])
    rec["input"] += " " + INJECT
    lines[3] = json.dumps(rec)
    (ds / "items.jsonl").write_text("\n".join(lines) + "\n")
    results = tmp / "results"
    scorers = [n for n in scorer_names() if n != "judge"]
    stores = []
    for reply in (
        "Model says: " + INJECT,
        "A replacement pass is $10 at the school office, ready within 2 school days. " + INJECT,
    ):
        with LoopbackServer(Behaviour(reply=lambda m, r=reply: r)) as srv:
            plan = write_plan(
                tmp,
                ds,
                [
                    {"name": "canned", "baseline": "template"},
                    {"name": "retrieval", "baseline": "retrieval"},
                    {"name": "staff", "baseline": "staff_first_draft"},
                    model_candidate(srv.base_url),
                ],
                scorers=scorers,
            )
            store = run_plan(plan, results_dir=results, options=RunOptions(progress=False))
        score_run(store)
        stores.append(store)
    before, after = stores
    reports = {
        "readiness": render_report(after.run_id, phase="pre_pilot", results_dir=results),
        "comparison": render_comparison(before.run_id, after.run_id, results_dir=results),
        "calibration": render_calibration(after.run_id, results_dir=results),
        "explore": render_explore(after.run_id, results_dir=results),
    }
    assert all(p.parent == after.path for p in reports.values())
    built = {"runs": [s.run_id for s in stores], "reports": {k: p.name for k, p in reports.items()}}
    (tmp / "built.json").write_text(json.dumps(built))


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Two small real runs (baselines + a loopback model) with a hostile question and reply.

    Built, scored and rendered once per test session (``shared_copy``); each module that uses
    them (this one, tests/report/test_print.py) gets a copy of its own to write into.
    """
    folder = shared_copy(tmp_path_factory, "report-runs", _build_runs)
    built = json.loads((folder / "built.json").read_text())
    return [open_run(run_id, folder / "results") for run_id in built["runs"]]


@pytest.fixture(scope="module")
def reports(runs):
    """The four reports of the two runs (readiness, comparison, calibration, explore)."""
    after = runs[1]
    built = json.loads((after.path.parent.parent / "built.json").read_text())
    return {name: after.path / file for name, file in built["reports"].items()}


def test_readiness_report_answers_first(runs, reports):
    path = reports["readiness"]
    store = runs[1]
    assert path == store.path / "readiness_report.html"
    html = path.read_text()
    first = html.index('id="decision"')
    for heading in ("The gates behind the decision", "How the candidates compare"):
        assert html.index(heading) > first  # the decision comes before everything else
    assert "Before the pilot" in html[: first + 2000] or "Before the pilot" in html
    assert re.search(
        r"Decision: (Ready|Ready with conditions|Not decided: evidence missing|Not ready)<", html
    )
    for section in (
        "Governance checklist",
        "AI against today",
        "Results by category",
        "Editing effort and minutes saved",
        "Consistency",
        "Governance flags in the drafts",
        "Failed drafts",
        "Examples for review",
        "Every sensitive question",
        "How these numbers are made",
    ):
        assert section in html, section
    assert len(re.findall(r"data:image/png;base64", html)) >= 4
    assert "run = report.load_run" not in html
    assert store.read_manifest()["reports"]["pre_pilot"] == "readiness_report.html"


def test_reports_are_self_contained_and_small(reports):
    for path in reports.values():
        html = path.read_text()
        assert "<script" not in html.lower()  # no CDN loaders, nothing to run
        assert "Content-Security-Policy" in html
        assert not re.search(r"""(src|href)=["']https?://""", html)
        assert path.stat().st_size < 20_000_000


def test_dataset_and_model_text_is_escaped(reports):
    for name in ("readiness", "explore"):
        html = reports[name].read_text()
        assert '<script>document.title="PWNED"</script>' not in html
        assert not re.search(r"<img[^>]*onerror", html)  # shown as text, never a live tag
    assert "&lt;script&gt;" in reports["readiness"].read_text()  # explore truncates long text


def test_comparison_report(runs, reports):
    html = reports["comparison"].read_text()
    assert "What changed between phases" in html
    assert "Decision after the pilot" in html and 'id="decision"' in html
    assert "Staff minutes saved per reply" in html  # the pilot log's measured outcome
    assert "The same questions, before and after" in html
    assert "improved" in html  # the second run's drafts carry the facts the first lacked
    assert len(re.findall(r"data:image/png;base64", html)) >= 1


def test_calibration_report_without_calibration_says_so(reports):
    html = reports["calibration"].read_text()
    assert "AI judge calibration" in html
    assert "This run has no AI judge, so there is no calibration to show" in html


def _tables(html: str) -> list:
    """Every <table> in ``html`` as a DataFrame of text (header row = columns), stdlib parser."""
    from html.parser import HTMLParser

    import pandas as pd

    class Parser(HTMLParser):
        def __init__(self):
            super().__init__()
            self.tables, self.row, self.cell = [], None, None

        def handle_starttag(self, tag, attrs):
            if tag == "table":
                self.tables.append([])
            elif tag == "tr":
                self.row = []
            elif tag in ("td", "th"):
                self.cell = ""

        def handle_data(self, data):
            if self.cell is not None:
                self.cell += data.replace("\u00ad", "")  # soft hyphens where print needs them

        def handle_endtag(self, tag):
            if tag in ("td", "th") and self.cell is not None:
                self.row.append(self.cell.strip())
                self.cell = None
            elif tag == "tr" and self.row is not None:
                self.tables[-1].append(self.row)
                self.row = None

    parser = Parser()
    parser.feed(html)
    out = []
    for rows in parser.tables:
        if rows:
            out.append(pd.DataFrame(rows[1:], columns=rows[0]))
    return out


def test_readiness_report_shows_the_judge_beside_its_calibration(tmp_path, loopback):
    judge_reply = '{"accuracy": 4, "completeness": 3, "tone": 5, "rationale": "ok"}'

    def reply(msgs):
        return judge_reply if "DRAFT to rate" in msgs[-1]["content"] else "A pass costs $10."

    srv = loopback(reply=reply)
    plan = write_plan(
        tmp_path,
        MINI,
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
    results = tmp_path / "results"
    store = run_plan(plan, results_dir=results, options=RunOptions(progress=False))
    scores = score_run(store)
    judged = scores[scores["metric"] == "judge_accuracy"].groupby("candidate")["value"]
    assert judged.apply(lambda v: v.isna().all()).to_dict() == {"canned": True, "m": False}
    html = render_report(store.run_id, phase="pre_pilot", results_dir=results).read_text()
    section = html[html.index("Does the judge agree with human raters?") :]
    assert "Not calibrated" in section  # a judge that gives every draft 4/3/5 does not agree
    assert "3 of the 5 human-rated drafts" in section and "seed 20261201" in section
    tables = _tables(section.split("Every measure in this run")[0])
    agreement = next(t for t in tables if "agreement (weighted kappa)" in t.columns)
    assert agreement["criterion"].tolist() == ["accuracy", "completeness", "tone"]
    assert (agreement["rated drafts (n)"] == "3").all() and (agreement["calibrated"] == "no").all()
    conf = next(t for t in tables if "human score" in t.columns)
    counts = conf[[c for c in conf if c.startswith("judge ")]].astype(int)
    assert counts.groupby(conf["criterion"]).sum().sum(axis=1).tolist() == [3, 3, 3]
    assert counts["judge 4"].groupby(conf["criterion"]).sum()["accuracy"] == 3  # always 4
    assert "openai/judge (rates m)" in html  # the cover names what the judge rated


def test_calibrate_without_judge_is_a_clear_error(runs):
    from harness.cli.commands import main

    assert main(["--results", str(runs[1].path.parent), "calibrate", runs[1].run_id]) == 2


def test_unknown_parameter_is_refused(tmp_path):
    with pytest.raises(ReportError, match=r"does not take parameter.*colour.*it takes"):
        render_notebook("readiness_report", {"colour": "blue"}, tmp_path)


def test_unknown_phase_run_and_bad_gates(runs, tmp_path):
    store = runs[1]
    with pytest.raises(ReportError, match="unknown phase"):
        render_report(store.run_id, phase="someday", results_dir=store.path.parent)
    from harness.errors import PlanError, RunError

    with pytest.raises(RunError, match="no run 'nope'"):
        render_report("nope", results_dir=store.path.parent)
    bad = tmp_path / "gates.yaml"
    bad.write_text("phases:\n  pre_pilot:\n    question: ok?\n    gates: []\n")
    with pytest.raises(PlanError, match=r"gates.yaml line 4"):
        render_report(store.run_id, results_dir=store.path.parent, gates=bad)


def test_report_cli_prints_the_path(runs, capsys):
    from harness.cli.commands import main

    store = runs[1]
    assert (
        main(["--results", str(store.path.parent), "report", store.run_id, "--phase", "post_pilot"])
        == 0
    )
    out = capsys.readouterr().out
    assert out.strip() == f"report: {store.path / 'readiness_report.html'}"


def _chromium():
    return shutil.which("chromium") or shutil.which("chromium-browser")


CHROME_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.mark.browser
@pytest.mark.skipif(_chromium() is None, reason="no Chromium here (make test installs Debian's)")
@pytest.mark.parametrize(
    ("name", "decision", "figures"),
    [
        ("readiness", True, 4),
        ("comparison", True, 1),
        ("calibration", False, 0),
        ("explore", False, 0),
    ],
)
def test_reports_in_headless_chromium(reports, tmp_path: Path, name, decision, figures):
    path = reports[name]
    base = [_chromium(), *CHROME_FLAGS, f"--user-data-dir={tmp_path / 'profile'}"]
    dom = subprocess.run(
        [*base, "--virtual-time-budget=3000", "--dump-dom", path.as_uri()],
        capture_output=True,
        text=True,
        timeout=120,
    ).stdout
    assert re.search(r"<body[^>]*>", dom)
    if decision:
        assert re.search(
            r"Decision: (Ready|Ready with conditions|Not decided: evidence missing|Not ready)", dom
        )
    assert dom.count("<img") >= figures
    assert not re.search(r"<body[^>]*data-pwned", dom)  # the injected onerror did not run
    assert "<title>PWNED</title>" not in dom
    shot = tmp_path / f"{name}.png"
    subprocess.run(
        [*base, "--window-size=1280,1600", f"--screenshot={shot}", path.as_uri()],
        capture_output=True,
        timeout=120,
    )
    assert shot.is_file() and shot.stat().st_size > 10_000
