from __future__ import annotations

import json
import re
import shutil
import subprocess

import pytest

from harness.errors import ReportError
from harness.report import render_notebook, render_report
from harness.runner import RunOptions, run_plan
from harness.scoring import score_run

from .conftest import model_candidate, write_plan

INJECT = (
    '<script>document.title="PWNED"</script>'
    "<img src=x onerror=\"document.body.setAttribute('data-pwned','1')\">"
)


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    """A small real run (baselines + a loopback model) with a hostile question, rendered."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).parent))
    from loopback import Behaviour, LoopbackServer

    from .conftest import MINI

    tmp = tmp_path_factory.mktemp("report")
    ds = tmp / "mini"
    shutil.copytree(MINI, ds)
    lines = (ds / "items.jsonl").read_text().splitlines()
    rec = json.loads(lines[3])
    rec["input"] += " " + INJECT
    lines[3] = json.dumps(rec)
    (ds / "items.jsonl").write_text("\n".join(lines) + "\n")
    results = tmp / "results"
    with LoopbackServer(Behaviour(reply=lambda m: "Model says: " + INJECT)) as srv:
        plan = write_plan(
            tmp,
            ds,
            [
                {"name": "canned", "baseline": "template"},
                {"name": "retrieval", "baseline": "retrieval"},
                model_candidate(srv.base_url),
            ],
        )
        store = run_plan(plan, results_dir=results, options=RunOptions(progress=False))
    score_run(store)
    path = render_report(store.run_id, phase="pre_pilot", results_dir=results)
    return store, path


def test_report_is_html_without_code_with_figures(rendered):
    store, path = rendered
    assert path == store.path / "readiness_report.html"
    html = path.read_text()
    assert "AI drafting readiness report" in html
    assert "Before the pilot" in html
    assert "How the candidates compare" in html
    assert len(re.findall(r"data:image/png;base64", html)) >= 2
    assert "run = report.load_run" not in html
    assert store.read_manifest()["reports"]["pre_pilot"] == "readiness_report.html"


def test_dataset_and_model_text_is_escaped(rendered):
    _, path = rendered
    html = path.read_text()
    assert '<script>document.title="PWNED"</script>' not in html
    assert not re.search(r"<img[^>]*onerror", html)  # shown as text, never a live tag
    assert "&lt;script&gt;" in html


def test_unknown_parameter_is_refused(rendered, tmp_path):
    with pytest.raises(ReportError, match=r"does not take parameter.*colour.*it takes"):
        render_notebook("readiness_report", {"colour": "blue"}, tmp_path)


def test_unknown_phase_and_run(rendered):
    store, _ = rendered
    with pytest.raises(ReportError, match="unknown phase"):
        render_report(store.run_id, phase="someday", results_dir=store.path.parent)
    from harness.errors import RunError

    with pytest.raises(RunError, match="no run 'nope'"):
        render_report("nope", results_dir=store.path.parent)


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
def test_report_in_headless_chromium(rendered, tmp_path):
    _, path = rendered
    base = [_chromium(), *CHROME_FLAGS, f"--user-data-dir={tmp_path / 'profile'}"]
    dom = subprocess.run(
        [*base, "--virtual-time-budget=3000", "--dump-dom", path.as_uri()],
        capture_output=True,
        text=True,
        timeout=120,
    ).stdout
    assert "How the candidates compare" in dom
    assert dom.count("<img") >= 2
    assert re.search(r"<body[^>]*>", dom)
    assert not re.search(r"<body[^>]*data-pwned", dom)  # the injected onerror did not run
    assert "<title>PWNED</title>" not in dom
    shot = tmp_path / "report.png"
    subprocess.run(
        [*base, "--window-size=1280,1600", f"--screenshot={shot}", path.as_uri()],
        capture_output=True,
        timeout=120,
    )
    assert shot.is_file() and shot.stat().st_size > 20_000
