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
from harness.report.browser import chromium_path, headless_command
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
    # repetitive manual responses per phase, as harness.pilot.repetitive counts them
    from harness.pilot.repetitive import repetitive_counts
    from harness.store.runs import load_run

    after = load_run(runs[1].run_id, runs[1].path.parent)
    cache = runs[1].path.parent / ".cache" / "knowledge"
    counts = repetitive_counts(after.dataset.pilot_log, after.dataset, cache)
    assert "Repetitive manual responses" in html
    section = html[html.index("Repetitive manual responses") :]
    for _, row in counts.iterrows():
        assert row["judged"] > 0 and f"{row['already_answered']} of {row['judged']} (" in section


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

    long_reply = "A pass costs $10. " + "We are glad to help with anything else you need. " * 6

    def reply(msgs):
        return judge_reply if "DRAFT to rate" in msgs[-1]["content"] else long_reply

    srv = loopback(reply=reply, honour_max_tokens=True)  # every draft is cut at 50 words
    plan = write_plan(
        tmp_path,
        MINI,
        [{"name": "canned", "baseline": "template"}, model_candidate(srv.base_url)],
        scorers=["edit", "length", "judge"],
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
    # issue 24 (the board packet): the score-by-score table moved to the judge calibration
    # report; the readiness report keeps one sentence of it, the judge's most frequent score
    assert not any("human score" in t.columns for t in tables)
    assert "3 of 3 drafts on accuracy (a 4)" in section  # always 4
    assert "(rates AI: loopback)" in html  # what the judge rated
    _one_fact_one_number_about_the_judge_and_the_drafts(store, results, html)
    calib = (store.path / "judge_calibration.html").read_text()  # written by calibrate above
    conf = next(t for t in _tables(calib) if "human score" in t.columns)
    counts = conf[[c for c in conf if c.startswith("judge ")]].astype(int)
    assert counts.groupby(conf["criterion"]).sum().sum(axis=1).tolist() == [3, 3, 3]
    assert counts["judge 4"].groupby(conf["criterion"]).sum()["accuracy"] == 3  # always 4


def _page_one(html: str) -> str:
    """The leader's first page: the cover and the decision, up to the gates."""
    return _visible_text(html[: html.index("The gates behind the decision")])


def _one_fact_one_number_about_the_judge_and_the_drafts(store, results, html):
    """Issue 24 item 1 on a run with a judge, ratings and drafts cut at the token cap."""
    from harness.cli.commands import main
    from harness.gates.index import evidence_index
    from harness.report import load_run
    from harness.report.equity import READINESS_SECTIONS

    run = load_run(store.run_id, results)
    # page 1 says how many AI drafts were cut off, as the length scorer counted them
    cut = run.scores[(run.scores["metric"] == "truncated") & (run.scores["candidate"] == "m")]
    n_cut, n_ai = int(cut["value"].sum()), int(cut["value"].notna().sum())
    assert n_cut == n_ai == len(run.generations[run.generations["candidate"] == "m"]) > 0
    assert f"{n_cut} of the {n_ai} AI drafts" in _page_one(html)
    # the evidence index counts the judge's check as the cover does: drafts checked of rated
    index = evidence_index(run, list(READINESS_SECTIONS)).set_index("item")
    judge_row = "An AI judge's scores are checked against human raters before they count"
    assert "3 of the 5 human-rated drafts" in index.loc[judge_row, "reason"]
    assert "3 of the 5 human-rated drafts" in _page_one(html)
    # the calls the judge made for its check are the calls for the 3 rated drafts, not the
    # whole judging pass (the run's drafts and the bias probe besides)
    cal = json.loads((store.path / "calibration.json").read_text())
    assert cal["counts"]["calls"] + cal["counts"]["cached"] == 3
    before = (store.path / "calibration.json").read_text()
    # harness calibrate re-runs the judge: it says so and keeps the earlier calibration
    import contextlib
    import io

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["--results", str(results), "calibrate", store.run_id]) == 0
    said = out.getvalue()
    assert "re-ran the AI judge on 3 of the 5 human-rated drafts" in said
    kept = [p for p in store.path.rglob("calibration.json") if p != store.path / "calibration.json"]
    assert [p.read_text() for p in kept] == [before] and str(kept[0].parent) in said
    again = json.loads((store.path / "calibration.json").read_text())
    assert again["counts"]["calls"] + again["counts"]["cached"] == 3
    calib = (store.path / "judge_calibration.html").read_text()
    words = f"{again['counts']['calls']} new, {again['counts']['cached']} replies reused"
    assert words in calib
    readiness = render_report(store.run_id, phase="pre_pilot", results_dir=results).read_text()
    assert words in readiness


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


def test_report_cli_prints_the_path(runs, capsys, tmp_path):
    from harness.cli.commands import main

    # a copy: the post-pilot render must not replace the shared pre-pilot report other tests read
    results = tmp_path / "results"
    shutil.copytree(runs[1].path, results / runs[1].run_id)
    run_id = runs[1].run_id
    assert main(["--results", str(results), "report", run_id, "--phase", "post_pilot"]) == 0
    out = capsys.readouterr().out
    assert out.strip() == f"report: {results / run_id / 'readiness_report.html'}"


def _chromium():
    return chromium_path()


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
    base = headless_command(tmp_path / "profile")
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


def _visible_text(html: str) -> str:
    """The text a reader sees: tags, styles, soft hyphens and <wbr> dropped, alt text kept."""
    import html as html_lib

    alts = [a or b for a, b in re.findall(r"alt='([^']*)'|alt=\"([^\"]*)\"", html)]
    body = re.sub(r"(?s)<(style|head)[^>]*>.*?</\1>", " ", html)
    text = re.sub(r"<[^>]+>", " ", body).replace("\u00ad", "")
    return html_lib.unescape(text + " " + " ".join(alts))


def test_leader_reports_grade_no_staff_member(reports):
    """The governance section promises the pilot is not an evaluation of individual staff: no
    leader-facing report shows a staff member's own figures, only the spread between them."""
    import pandas as pd

    staff = set(pd.read_csv(MINI / "pilot_log.csv")["staff_member"].dropna())
    assert staff
    for name in ("readiness", "comparison"):
        text = _visible_text(reports[name].read_text())
        shown = sorted(s for s in staff if re.search(rf"\b{re.escape(s)}\b", text))
        assert shown == [], f"{name} names staff members {shown}"
    comparison = reports["comparison"].read_text()
    assert "Spread between staff members" in comparison


def test_one_fact_one_number_across_figure_table_and_evidence_index(runs, reports):
    """Issue 24 item 1: a slice's question count reads the same in the figure, the table and
    the evidence index; the pilot is evidenced exactly when the staff section says it happened;
    the index never asks to add a scorer the plan already has."""
    import pandas as pd

    from harness.gates.index import evidence_index
    from harness.gates.slices import slice_figure
    from harness.report import equity_table, load_run
    from harness.report.equity import READINESS_SECTIONS

    store = runs[1]
    run = load_run(store.run_id, store.path.parent)
    metric = "required_facts_coverage"
    table = equity_table(run, "category", [metric])
    ai = table[table["candidate"] == "m"].set_index("slice")["n"]
    fig, alt = slice_figure(run, metric, by="category")
    ticks = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    for slc, n in ai.items():
        label = next(t for t in ticks if t.startswith(slc))
        assert f"{n} questions" in label, (label, n)  # the AI drafts' count, as the table's
        assert f"{slc} ({n} questions" in alt
    # the pilot: one fact behind the staff section and the evidence index
    html = reports["readiness"].read_text()
    staff = _visible_text(html.split("What staff did with the drafts")[1].split("<h2")[0])
    index = evidence_index(run, list(READINESS_SECTIONS)).set_index("item")
    pilot = index.loc["3. Pilot with staff reviewing every draft"]
    log = pd.read_csv(MINI / "pilot_log.csv")
    n_pilot = int((log["phase"] == "pilot").sum())
    assert pilot["status"] == "evidenced"
    assert f"{n_pilot} replies" in pilot["reason"] and f"{n_pilot} replies" in staff
    assert "No staff review yet" not in staff
    # a scorer the plan has is never asked for: the reason says what its scores need
    plan_scorers = {s["name"] for s in run.manifest["plan"]["scorers"]}
    assert "sample_consistency" in plan_scorers
    for item, row in index.iterrows():
        for name in plan_scorers:
            assert f"add the {name} scorer" not in row["reason"], (item, row["reason"])
        assert "add the scorer to the plan" not in row["reason"], (item, row["reason"])
    reliable = index.loc["MEASURE 2.5: drafts are reliable (the same answer when asked again)"]
    assert "samples: 2" in reliable["reason"]


def test_pages_one_and_two_speak_plainly_with_units_and_a_glossary(runs, reports):
    """Issue 24 item 3: the cover, the decision and the gates carry no internal name, id, seed,
    path, command or NaN; gate evidence has units; every id the run shows has a glossary entry
    whose name is the one rendered; an id without an entry fails."""
    from harness.report import glossary_entries, load_run
    from harness.report.glossary import entry

    store = runs[1]
    run = load_run(store.run_id, store.path.parent)
    html = reports["readiness"].read_text()
    first = _visible_text(html[: html.index("Governance checklist")])
    snake = sorted(set(re.findall(r"\b[a-z]+(?:_[a-z0-9]+)+\b", first)))
    assert snake == [], snake  # no metric id, category id or field name
    for token in ("openai/", "local/", "seed", "NaN", "harness ", store.run_id, "/tmp/", "$ "):
        assert token not in first, token
    assert re.search(r"average [0-9.]+ (per draft|[a-z ]+ per draft|minutes|\(share)", first)
    g = glossary_entries(run).set_index(["kind", "id"])
    for name in run.candidate_names():
        shown = g.loc[("candidate", name), "name"]
        assert shown in first, shown  # the cover names each candidate by its entry
    assert g.loc[("candidate", "m"), "name"] == "AI: loopback"
    assert (g["name"] != g.index.get_level_values("id")).all()  # every id has a plain name
    appendix = _visible_text(html[html.index("Glossary") :])
    for (kind, _), row in g.iterrows():
        if kind != "category":
            assert row["name"] in appendix, row["name"]
    with pytest.raises(KeyError, match="no glossary entry"):
        entry("metric", "no_such_measure")
    # later pages: no NaN, no command for the reader, no machine path, questions in words
    whole = _visible_text(html)
    assert not re.search(r"\bNaN\b", whole)
    assert not re.search(r"harness (calibrate|review|score|run|report) ", whole)
    assert str(store.path.parent) not in whole and str(MINI) not in whole
    sensitive = html[html.index("Every sensitive question") :]
    listing = next(t for t in _tables(sensitive) if "why it is sensitive" in t.columns)
    assert not listing["question"].isin(run.dataset.items.index).any()
    from harness.gates.specs import GOVERNANCE_ENTRIES
    from harness.report.glossary import ENTRY_NAMES

    assert set(ENTRY_NAMES) == set(GOVERNANCE_ENTRIES)  # every checklist entry has words


def test_every_public_table_has_a_documented_numeric_twin(runs):
    """Issue 24 item 7: a formatted table (text cells) names its numeric twin, which gives the
    same figures as numbers."""
    import pandas as pd

    from harness import report

    run = report.load_run(runs[1].run_id, runs[1].path.parent)
    formatted = {
        n
        for n in report.__all__
        if n.endswith("_table") and n not in ("table_html", "gate_table", "governance_table")
    }
    formatted -= {"candidates_table", "failures_table", "glossary_table", "pilot_table"}
    formatted -= {"staff_table", "staff_spread_table", "phase_table", "confusion_table"}
    formatted -= {"data_review_table", "equity_table"}  # numeric or notes already
    # issue 25's: takes a pilot log, not a run; its numbers are pilot.field.studies() and
    # gates.pilot_log.outcomes(log), named in its docstring
    formatted -= {"field_evidence_table"}
    assert formatted <= set(report.NUMERIC_TWINS), formatted - set(report.NUMERIC_TWINS)
    for table, twin in report.NUMERIC_TWINS.items():
        assert twin in report.__all__ and twin in (getattr(report, table).__doc__ or ""), table
        args = (run, "accuracy") if table == "family_table" else (run,)
        numbers = getattr(report, twin)(run)
        assert isinstance(numbers, pd.DataFrame)
        if table != "calibration_table":  # this run has no judge
            assert len(numbers.select_dtypes("number").columns) > 0, twin
        assert isinstance(getattr(report, table)(*args), pd.DataFrame)


def test_notebooks_find_runs_where_harness_results_points(runs, monkeypatch, tmp_path):
    """Issue 24 item 7: a notebook opened with its default parameters finds the newest run under
    $HARNESS_RESULTS (as the CLI does), and says where it looked when there is none."""
    import ast

    from harness.errors import RunError
    from harness.report import load_run

    store = runs[1]
    monkeypatch.setenv("HARNESS_RESULTS", str(store.path.parent))
    for nb in sorted((Path(__file__).parents[1] / "notebooks").glob("*.ipynb")):
        cell = json.loads(nb.read_text())["cells"][0]
        params = {}
        for node in ast.parse("".join(cell["source"])).body:
            if isinstance(node, ast.Assign):
                params[node.targets[0].id] = ast.literal_eval(node.value)
        run = load_run("latest", params["results_dir"])
        assert run.store.path.parent == store.path.parent, nb.name
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.setenv("HARNESS_RESULTS", str(empty))
    with pytest.raises(RunError, match=rf"no runs under {re.escape(str(empty))}.*HARNESS_RESULTS"):
        load_run("latest", "")
