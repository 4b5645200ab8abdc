"""The board packet (issue 24): the demo's readiness report prints on at most 15 pages, Letter
and A4, with no table, figure or example cut, no heading, caption or table header row left
alone at a page's foot, no word split, and languages named in words on page 1.

Built once per test session (``shared_copy``) on a demo-sized run: plans/demo.yaml as shipped
(the sample district's 32 questions, its three baselines and the approved answer, every scorer,
the judge with its calibration on 16 rated drafts), with one change: the embedded SmolLM2 (and
its judge) is a real loopback server on 127.0.0.1 that writes drafts as long as SmolLM2's, cut
at the same 150-token cap, so the report has the demo's sections and sizes in seconds instead
of the model's minutes. The PDF is printed by the harness's own engine (``--pdf``).
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
import yaml

from harness.report.pdf import print_pdf
from tests.chromium import (
    OVERFLOW_JS,
    PAPERS,
    TEXT_JS,
    Chromium,
    chromium_path,
    pdf_page_sizes,
    pdf_pages,
    pdf_text,
    split_words,
    stranded,
    stranded_headers,
)
from tests.conftest import REPO, shared_copy, shipped_plan

DEMO = REPO / "plans" / "demo.yaml"
MAX_PAGES = 15  # issue 24 (and issue 22's budget): a board packet's readiness report
JUDGE = json.dumps({"accuracy": 2, "completeness": 3, "tone": 4, "rationale": ""})


def _draft(messages: list[dict[str, str]]) -> str:
    """A reply like SmolLM2's: a placeholder greeting, the question's words, invented dates,
    fees and phone numbers, and more words than the 150-token cap lets through."""
    asked = " ".join(messages[-1]["content"].split()[-20:])
    if "DRAFT to rate" in messages[-1]["content"]:
        return JUDGE
    body = (
        "Dear [Parent's Name], thank you for reaching out about " + asked + ". "
        "Registration opens on September 12, 2025 at the District Office, 410 Orchard Lane; "
        "the fee is $25 and you can call 555-0123 between 8 a.m. and 4 p.m. with questions. "
    )
    return body * 4


def _demo_plan(tmp: Path, base_url: str) -> Path:
    """plans/demo.yaml with its paths made absolute and the embedded model at ``base_url``."""
    plan = shipped_plan(DEMO)
    for c in plan["candidates"]:
        if c.get("model") == "local/smollm2":
            c.update(model="openai/smollm2", api_base=base_url)
    plan["judge"].update(model="openai/smollm2", api_base=base_url)
    path = tmp / "demo.yaml"
    path.write_text(yaml.safe_dump(plan, sort_keys=False), encoding="utf-8")
    return path


def _build_demo_report(tmp: Path) -> None:
    """The demo-sized run, scored, its readiness report rendered; ``built.txt`` holds the
    report's path relative to ``tmp``."""
    from loopback import Behaviour, LoopbackServer

    from harness.report import render_report
    from harness.run.runner import RunOptions, run_plan

    results = tmp / "results"
    with LoopbackServer(Behaviour(reply=_draft, honour_max_tokens=True)) as srv:
        plan = _demo_plan(tmp, srv.base_url)
        store = run_plan(plan, results_dir=results, options=RunOptions(progress=False))
    path = render_report(store.run_id, phase="pre_pilot", results_dir=results)
    (tmp / "built.txt").write_text(str(path.relative_to(tmp)))


@pytest.fixture(scope="module")
def demo_report(tmp_path_factory) -> Path:
    """The readiness report of a demo-sized run (built once per session, a copy per module)."""
    folder = shared_copy(tmp_path_factory, "demo-report", _build_demo_report)
    return folder / (folder / "built.txt").read_text()


needs_print = [
    pytest.mark.browser,
    pytest.mark.skipif(chromium_path() is None, reason="no Chromium (apt-get install chromium)"),
    pytest.mark.skipif(shutil.which("pdftotext") is None, reason="no pdftotext (poppler-utils)"),
]


@pytest.mark.parametrize("paper", sorted(PAPERS))
@needs_print[0]
@needs_print[1]
@needs_print[2]
def test_the_demo_report_fits_a_board_packet(demo_report: Path, tmp_path: Path, paper: str):
    manifest = json.loads((demo_report.parent / "manifest.json").read_text())
    district = manifest.get("district") or manifest["dataset"]["name"]
    pdf = print_pdf(demo_report, tmp_path / f"board-{paper}.pdf", paper=paper, footer=district)
    width, height = PAPERS[paper]
    with Chromium(tmp_path / "profile") as browser:
        browser.open(demo_report)
        browser.print_layout(width - 1.0)  # the printed width: paper minus two 0.5 in margins
        cut = browser.evaluate(OVERFLOW_JS)
        page = browser.evaluate(TEXT_JS)
    pages = pdf_pages(pdf)  # counted by pdfinfo on the PDF the harness's engine printed
    assert 1 <= pages <= MAX_PAGES, f"{pages} {paper} pages, the budget is {MAX_PAGES}"
    assert cut == []  # no table, figure or example wider than the printed page
    for w, h in pdf_page_sizes(pdf):
        assert (w, h) == (pytest.approx(width * 72, abs=1), pytest.approx(height * 72, abs=1))
    assert stranded(pdf, page["keep"]) == []  # no heading or caption alone at a page's foot
    assert stranded_headers(pdf) == []  # nor a table's header row, its rows on the next page
    printed = pdf_text(pdf, 1, pages, layout=False)
    footer = f"{district} Page of {' '.join(str(i) for i in range(1, pages + 1))}"
    assert split_words(printed, page["text"], f"{footer} {' '.join(page['markers'])}") == []
    for n in range(1, pages + 1):  # no blank page
        assert pdf_text(pdf, n, n).strip(), f"page {n} of {pages} is blank"
    # the leader's first pages: the decision, the gates and the languages in words
    first = pdf_text(pdf, 1, 1, layout=False)
    assert "Decision:" in first and "English, Spanish" in first
    leader = " ".join(pdf_text(pdf, 1, 2, layout=False).split())
    assert not re.search(r"\b(en|es)\b(,| \(n=|:)", leader), "a language code on pages 1-2"
    assert "The gates behind the decision" in leader


def test_analysts_detail_left_the_packet_and_is_said_where_it_is(demo_report: Path):
    """What moved out of the board packet: the measure-by-measure table (explore report) and
    the judge's score-by-score table (judge calibration report); the packet says where."""
    from harness.report import calibration_section, judge_spread, load_run

    html = demo_report.read_text()
    assert "Every measure in this run" not in html
    assert "explore report" in html and "judge calibration report" in html
    run = load_run(demo_report.parent.name, demo_report.parent.parent)
    spread = judge_spread(run)
    assert len(spread) == 3 and (spread["drafts"] == 16).all()  # the 16 drafts it was checked on
    # the judge of this run answers 2/3/4 to every draft: its most frequent score goes to all
    assert spread.set_index("criterion")["most_frequent_score"].to_dict() == {
        "accuracy": 2.0,
        "completeness": 3.0,
        "tone": 4.0,
    }
    assert "16 of 16 drafts on accuracy (a 2)" in html
    full = calibration_section(run).data  # the calibration report's view: the whole table
    assert ">human score</th>" in full and "How spread" not in full
    short = calibration_section(run, detail=False).data
    assert ">human score</th>" not in short and "16 of 16 drafts on tone (a 4)" in short


def _leader_text(html: str) -> tuple[str, list[str]]:
    """The visible words of the leader's part of a report (everything before the analyst's
    appendix, "How these numbers are made"), figure alt texts included, and its table cells."""
    from bs4 import BeautifulSoup

    html = html.replace("\u00ad", "").replace("<wbr>", "")  # print's soft hyphens
    cut = html.find(">How these numbers are made")
    soup = BeautifulSoup(html[: cut if cut > 0 else None], "html.parser")
    for tag in soup(["style", "script"]):
        tag.decompose()
    alts = " ".join(str(img.get("alt", "")) for img in soup.find_all("img"))
    cells = [c.get_text(" ", strip=True) for c in soup.find_all(["td", "th"])]
    return soup.get_text(" ") + " " + alts, cells


def test_no_plan_name_of_a_candidate_reaches_a_leader(demo_report: Path):
    """Every table, figure and sentence a leader reads names a candidate as its glossary entry
    does ("Canned reply", "AI: ..."): never the plan's name (canned-reply, smollm2), the
    reference row's id (approved_answer) or the model string (local/smollm2 in the demo,
    openai/smollm2 here), except where the plan name is the model's own name inside its entry."""
    import matplotlib.text

    from harness.report import (
        category_figure,
        comparison_figure,
        load_run,
        minutes_figure,
        similarity_figure,
    )
    from harness.report.glossary import candidate_names, model_name

    run = load_run(demo_report.parent.name, demo_report.parent.parent)
    names = candidate_names(run)
    ids = set(names) | {str(c["model"]) for c in run.manifest["candidates"] if c.get("model")}
    assert {"canned-reply", "staff-first-draft", "smollm2", "approved_answer"} <= ids
    assert names["canned-reply"] == "Canned reply" and names["smollm2"].startswith("AI: ")
    assert names["approved_answer"] == "Approved answer"
    text, cells = _leader_text(demo_report.read_text())
    figures = [similarity_figure(run), comparison_figure(run), category_figure(run)]
    figures.append(minutes_figure(run))
    drawn = [t.get_text() for f in figures for t in f.figure.findobj(matplotlib.text.Text)]
    for shown in names.values():  # each candidate is there under its plain name ...
        assert shown in text and [t for t in drawn if shown in t], shown
    models = [model_name(i) for i in ids if "/" in i]  # "smollm2 (AI model from openai)"
    for shown in sorted([*names.values(), *models], key=len, reverse=True):  # ... nowhere else
        text, drawn = text.replace(shown, " "), [t.replace(shown, " ") for t in drawn]
    for ident in sorted(ids):
        word = re.compile(r"(?<![\w/-])" + re.escape(ident) + r"(?![\w-])")
        if re.search(r"[-_/0-9]", ident):  # no plain English word: nowhere at all
            assert not word.search(text), f"'{ident}' in the leader's pages"
        assert ident not in cells, f"a table cell reads '{ident}'"
        assert not [t for t in drawn if word.search(t)], f"a figure label reads '{ident}'"
