"""The reports print (Letter and A4, decision on page 1, nothing cut) and pass axe-core.

The browser tests drive Debian's headless Chromium over the DevTools protocol
(tests/chromium.py) on the four reports of two small real runs, and print them to PDF.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from harness.report import load_run
from harness.report.alt import Figure
from harness.report.breaks import SHY, hyphenate
from harness.report.figures import (
    category_figure,
    comparison_figure,
    gate_bar,
    minutes_figure,
    similarity_figure,
)
from harness.report.format import STYLE, captioned
from harness.report.printing import PRINT_STYLE, accessible_tables, finish
from tests.chromium import (
    AXE_JS,
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
from tests.conftest import MINI, model_candidate, shared_copy, write_plan

from .test_report import reports, runs  # noqa: F401  (the same two small runs, rendered)

DEFAULT_ALT = "No description has been provided for this image"


# contrast (WCAG 2.1 relative luminance) ------------------------------------------------------
def _luminance(hex_color: str) -> float:
    rgb = [int(hex_color.lstrip("#")[i : i + 2], 16) / 255 for i in (0, 2, 4)]
    lin = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in rgb]
    return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]


def contrast(a: str, b: str) -> float:
    hi, lo = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


@pytest.mark.parametrize(
    ("a", "b", "expected"), [("#000000", "#ffffff", 21.0), ("#ffffff", "#ffffff", 1.0)]
)
def test_contrast_formula(a, b, expected):
    assert contrast(a, b) == pytest.approx(expected, abs=0.01)


@pytest.mark.parametrize(("tag", "decoration"), [("ins", "underline"), ("del", "line-through")])
def test_diff_marks_carry_a_cue_besides_colour_at_4_5_to_1(tag, decoration):
    rule = re.search(rf"(?m)^{tag}\{{([^}}]*)\}}", STYLE)
    assert rule, f"no {tag} rule in the report style"
    props = dict(p.split(":", 1) for p in rule.group(1).split(";") if ":" in p)
    assert props["text-decoration"].startswith(decoration)
    assert contrast(props["color"], props["background"]) >= 4.5
    assert contrast(props["color"], "#ffffff") >= 4.5  # also when printed without backgrounds


# tables --------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("html", "caption", "scopes", "wide"),
    [
        (
            "<h3>Scores ¶</h3><table><thead><tr><th>a</th><th>b</th></tr></thead>"
            "<tbody><tr><td>1</td><td>2</td></tr></tbody></table>",
            "Scores",
            ["col", "col"],
            False,
        ),
        (
            "<h2>X</h2><table><caption>Own caption</caption><tbody><tr><th>k</th><td>v</td></tr>"
            "</tbody></table>",
            "Own caption",
            ["row"],
            False,
        ),
        (
            "<table><tr>" + "<th>c</th>" * 8 + "</tr><tr>" + "<td>1</td>" * 8 + "</tr></table>",
            "Table",
            ["col"] * 8,
            True,
        ),
    ],
)
def test_accessible_tables_caption_and_scope(html, caption, scopes, wide):
    out = accessible_tables(html)
    assert re.search(r"<caption[^>]*>([^<]*)</caption>", out).group(1) == caption
    assert re.findall(r'<th scope="(\w+)"', out) == scopes
    assert ("harness-wide" in out) is wide


def test_captioned_puts_the_caption_inside_the_table():
    out = captioned("<table class='t'><thead><tr><th>a</th></tr></thead></table>", "Why <b>")
    assert out.startswith("<table class='t'><caption>Why &lt;b&gt;</caption>")
    assert '<th scope="col">a</th>' in out


def test_print_style_has_page_rules_and_undoes_the_template_page_breaks():
    assert "@page" in PRINT_STYLE and "size: portrait" in PRINT_STYLE
    assert re.search(r"\.jp-OutputArea-child \{ break-inside: auto !important", PRINT_STYLE)
    for needed in ("table-layout: auto", "max-width: 100%", "break-inside: avoid"):
        assert needed in PRINT_STYLE


# figures -------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("make", "says"),
    [
        (similarity_figure, "Bar chart of the average"),
        (comparison_figure, "comparisons favour the AI"),
        (category_figure, "Heat map of"),
        (minutes_figure, "Medians:"),
    ],
)
def test_figures_carry_alt_text_with_their_finding(runs, make, says):  # noqa: F811
    run = load_run(runs[1].run_id, runs[1].path.parent)
    fig = make(run)
    assert isinstance(fig, Figure)
    assert says in fig.alt and DEFAULT_ALT not in fig.alt
    assert re.search(r"\d\.\d", fig.alt)  # it states numbers, not only what kind of chart
    html = fig._repr_html_()
    assert html.count("<img") == 1 and 'src="data:image/png;base64,' in html
    assert re.search(r'alt="[^"]{40,}"', html)


def test_equity_section_draws_its_figure_as_every_figure_is_drawn(runs):  # noqa: F811
    """The slice figure is an alt.Figure (one way to make an accessible figure: a <figure>
    with its alt text, then its data table), not a second inline-PNG helper."""
    import harness.report.equity as equity
    from harness.report import equity_section

    assert not hasattr(equity, "figure_html")
    run = load_run(runs[1].run_id, runs[1].path.parent)
    html = equity_section(run, by="category").data
    assert html.count("<img") == 1 and html.count('<figure class="harness-figure">') == 1
    assert re.search(r'<figure class="harness-figure"><img src="data:image/png;base64,', html)
    assert re.search(r'alt="[^"]{40,}"', html)
    assert html.index("</figure>") < html.index("<table") and "<caption" in html


def test_heat_map_scale_ends_at_the_gate_bar(runs):  # noqa: F811
    from harness.report import decision

    run = load_run(runs[1].run_id, runs[1].path.parent)
    dec = decision(run, "pre_pilot")
    bar = gate_bar(dec, "required_facts_coverage")
    assert bar == pytest.approx(0.7)  # rubrics/gates.yaml: facts-covered
    fig = category_figure(run, "required_facts_coverage", dec=dec)
    norm = fig.axes[0].images[0].norm
    assert (norm.vmin, norm.vmax) == (0.0, pytest.approx(0.7))
    assert "cividis" in fig.axes[0].images[0].cmap.name
    assert "ends at the gate's bar of 0.7" in fig.alt


def test_rendered_reports_are_accessible_markup(reports):  # noqa: F811
    for name, path in reports.items():
        html = path.read_text()
        assert DEFAULT_ALT not in html, name
        tables = re.findall(r"<table\b.*?</table>", html, re.S)
        assert all("<caption" in t for t in tables), name
        assert not re.search(r"<th(?![^>]*scope=)[\s>]", html), name
        assert 'id="harness-print"' in html, name
    readiness = reports["readiness"].read_text()
    assert re.search(
        r'<h2 class="verdict">Decision: (Ready|Ready with conditions|Not decided: evidence missing|Not ready)<',
        readiness,
    )
    assert "How to read the examples" in readiness and "<ins>underlined" in readiness


# browser -------------------------------------------------------------------------------------
needs_browser = [
    pytest.mark.browser,
    pytest.mark.skipif(chromium_path() is None, reason="no Chromium (apt-get install chromium)"),
]


@pytest.mark.parametrize("name", ["readiness", "comparison", "calibration", "explore"])
@pytest.mark.skipif(not AXE_JS.is_file(), reason="no axe-core in .cache/npm (make axe)")
@needs_browser[0]
@needs_browser[1]
def test_axe_core_finds_no_wcag_violation(reports, tmp_path: Path, name):  # noqa: F811
    with Chromium(tmp_path / "profile") as browser:
        browser.open(reports[name])
        violations = browser.axe()
        alts = browser.evaluate("[...document.images].map(i => i.getAttribute('alt') || '')")
    assert violations == [], violations
    assert all(len(a) > 20 and a != DEFAULT_ALT for a in alts), alts


@pytest.mark.parametrize("paper", sorted(PAPERS))
@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="no pdftotext (poppler-utils)")
@needs_browser[0]
@needs_browser[1]
def test_readiness_report_prints_decision_first_and_nothing_cut(reports, tmp_path: Path, paper):  # noqa: F811
    pdf = tmp_path / f"readiness-{paper}.pdf"
    width, height = PAPERS[paper]
    with Chromium(tmp_path / "profile") as browser:
        browser.open(reports["readiness"])
        pdf.write_bytes(browser.pdf(paper))
        browser.print_layout(width - 1.0)  # the printed width: paper minus two 0.5 in margins
        cut = browser.evaluate(OVERFLOW_JS)
        page = browser.evaluate(TEXT_JS)
    assert cut == []  # no table, figure or example wider than the printed page
    pages = pdf_pages(pdf)
    printed = pdf_text(
        pdf, 1, pages, layout=False
    )  # no word cut but at a hyphenation point: not "kin d"
    assert split_words(printed, page["text"], " ".join(page["markers"])) == []
    assert stranded(pdf, page["keep"], footer_lines=0) == []
    assert 1 <= pages <= 15
    for w, h in pdf_page_sizes(pdf):  # every page is the paper, portrait (points)
        assert (w, h) == (pytest.approx(width * 72, abs=1), pytest.approx(height * 72, abs=1))
    first = pdf_text(pdf, 1, 1)
    assert re.search(
        r"Decision: (Ready|Ready with conditions|Not decided: evidence missing|Not ready)", first
    )
    assert "AI drafting readiness report" in first
    leader = pdf_text(pdf, 1, 2)  # the leader's part: cover, decision, every gate, in 2 pages
    assert "The gates behind the decision" in leader and "own verdict" in leader
    for page in range(1, pages + 1):  # no blank page
        assert pdf_text(pdf, page, page).strip(), f"page {page} of {pages} is blank"


@pytest.mark.parametrize("name", ["comparison", "calibration", "explore"])
@needs_browser[0]
@needs_browser[1]
def test_other_reports_print_with_nothing_cut(reports, tmp_path: Path, name):  # noqa: F811
    with Chromium(tmp_path / "profile") as browser:
        browser.open(reports[name])
        browser.print_layout(PAPERS["a4"][0] - 1.0)  # A4 is the narrower paper
        assert browser.evaluate(OVERFLOW_JS) == []


# where words break ---------------------------------------------------------------------------
def test_words_get_soft_hyphens_only_at_hyphenation_points():
    assert hyphenate("completeness", "en", 6) == f"com{SHY}plete{SHY}ness"
    assert hyphenate("información", "es", 6) == f"in{SHY}for{SHY}ma{SHY}ción"
    assert hyphenate("kind baseline", "en", 6) == f"kind base{SHY}line"
    assert hyphenate("13.6 0.85 2026-12-01 $10", "en", 1) == "13.6 0.85 2026-12-01 $10"
    marks = "e\u0301\u0302" * 20  # a run of letters without hyphenation points, with marks
    out = hyphenate(marks, "en")
    assert SHY in out and f"{SHY}\u0301" not in out and f"{SHY}\u0302" not in out
    assert out.replace(SHY, "") == marks


def test_a_table_that_fits_keeps_its_words_whole_and_searchable():
    small = "<html lang='en'><body><table><tr><th>criterion</th></tr><tr><td>completeness</td></tr></table></body></html>"
    assert SHY not in finish(small) and "completeness" in finish(small)


def test_a_table_too_wide_for_the_page_is_hyphenated_by_its_language():
    cells = "".join(f"<td>transportation{i} Sensitive</td>" for i in range(9))
    es = "<td lang='es'>inscripciones</td>"
    out = finish(f"<html lang='en'><body><table><tr>{cells}{es}</tr></table></body></html>")
    assert f"trans{SHY}porta{SHY}tion" in out and f"ins{SHY}crip{SHY}cio{SHY}nes" in out
    assert "Sensitive" in out  # the shorter words are left whole: the table fits without them


def test_identifiers_break_before_underscores_and_hopeless_tables_are_squeezed():
    row = "".join(f"<td>{n}.123456 words_substituted_count</td>" for n in range(22))
    out = finish(f"<html><body><table><tr>{row}</tr></table></body></html>")
    assert "words<wbr/>_substituted<wbr/>_count" in out and SHY not in out
    squeezed = r'<table class="[^"]*harness-squeeze'
    assert re.search(squeezed, out)  # 22 columns of numbers cannot fit: may break anywhere
    assert not re.search(squeezed, finish("<table><tr><td>0.5</td></tr></table>"))


def test_a_long_url_breaks_at_wbr_never_with_a_hyphen():
    url = "https://www.sample-district.example.org/departments/transportation/bus-routes"
    out = finish(f"<html><body><p>See {url} today</p></body></html>")
    assert "<wbr/>" in out and SHY not in out
    assert re.sub(r"<wbr/?>", "", out).count(url) == 1


def test_a_digest_or_code_never_gets_a_soft_hyphen():
    # a protocol's SHA-256 on page 1 is copied to check the file: a soft hyphen inside it
    # (pyphen found "fe-fee" in one digest in ten) made it another string, and made the
    # digest unsearchable in the report
    digest = "ba16baabe60516b6aed226c56f278cedc9c6d7e6aeb60fefee325e6501067cfb"
    for html in (
        f"<html><body><p>sha256 <code>{digest}</code></p></body></html>",
        f"<html><body><p>sealed with {digest} today</p></body></html>",
    ):
        out = finish(html)
        assert SHY not in out and out.count(digest) == 1  # whole: it fits a printed line
    word = "a" + "supercalifragilisticexpialidocious" * 2  # a long word in prose still does
    out = finish(f"<html><body><p><code>{word}</code> {word}</p></body></html>")
    assert SHY in out.split("</code>")[1] and SHY not in out.split("</code>")[0]


def test_print_style_never_breaks_a_word_anywhere():
    # "ba seli ne": a word cut at any letter; only a table that cannot fit otherwise may
    for rule in re.findall(r"[^{}]*\{[^}]*anywhere[^}]*\}", PRINT_STYLE):
        assert rule.strip().startswith("table.harness-squeeze"), rule
    assert "hyphens: manual" in PRINT_STYLE
    assert re.search(r"caption \{[^}]*break-after: avoid", PRINT_STYLE)


# text in any script, through a real report -------------------------------------------------
SCRIPTS = {
    "faq-002": (
        "es",
        "¿Cuándo empieza la inscripción extraordinaria para estudiantes internacionales?",
    ),
    "faq-004": ("en", "مرحبا، متى يبدأ التسجيل؟ שלום, מתי מתחילה שנת הלימודים? " * 2),
    "faq-005": (
        "en",
        "Bus 🚌🏫👩‍👩‍👧‍👦👍🏽🇺🇸" * 12 + " Re\u0301sume\u0301" * 3 + " Zu\u0308\u0301rich" * 2,
    ),
    "faq-006": (
        "en",
        "Pneumonoultramicroscopicsilicovolcanoconiosis Donaudampfschifffahrtsgesellschaftskapitän "
        "https://www.sample-district.k12.example.org/departments/transportation/bus-routes/"
        "2026-2027/elementary?school=lincoln&grade=3 " + "qwrtzpsdfghjklxcvbnm" * 4,
    ),
}


def _build_script_report(tmp: Path) -> None:
    """A run whose questions and drafts are in many scripts, scored, its readiness report
    rendered; ``built.txt`` holds the report's path relative to ``tmp``."""
    import json

    from loopback import Behaviour, LoopbackServer

    from harness.report import render_report
    from harness.run.runner import RunOptions, run_plan
    from harness.scorers import scorer_names
    from harness.scorers.scoring import score_run

    ds = tmp / "mini"
    shutil.copytree(MINI, ds)
    rows = [json.loads(line) for line in (ds / "items.jsonl").read_text().splitlines()]
    for row in rows:
        if row["id"] in SCRIPTS:
            row["language"], text = SCRIPTS[row["id"]]
            row["input"] = text + " " + row["input"]
    (ds / "items.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    reply = "A pass is $10. " + " ".join(t for _, t in SCRIPTS.values())
    with LoopbackServer(Behaviour(reply=reply)) as srv:
        plan = write_plan(
            tmp,
            ds,
            [{"name": "canned", "baseline": "template"}, model_candidate(srv.base_url)],
            scorers=[n for n in scorer_names() if n != "judge"],
        )
        store = run_plan(plan, results_dir=tmp / "results", options=RunOptions(progress=False))
    score_run(store)
    path = render_report(store.run_id, phase="pre_pilot", results_dir=tmp / "results")
    (tmp / "built.txt").write_text(str(path.relative_to(tmp)))


@pytest.fixture(scope="module")
def script_report(tmp_path_factory):
    """The readiness report of a run whose questions and drafts are in many scripts (built once
    per test session, a copy per module: ``shared_copy``)."""
    folder = shared_copy(tmp_path_factory, "script-report", _build_script_report)
    return folder / (folder / "built.txt").read_text()


def _printed_text(report: Path, tmp_path: Path, paper: str) -> tuple[Path, list, dict]:
    """The report printed by the harness's own engine, what is cut, and the page's text."""
    from harness.report.pdf import print_pdf

    pdf = print_pdf(report, tmp_path / f"report-{paper}.pdf", paper=paper, footer="Mini District")
    with Chromium(tmp_path / "profile") as browser:
        browser.open(report)
        browser.print_layout(PAPERS[paper][0] - 1.0)
        cut = browser.evaluate(OVERFLOW_JS)
        page = browser.evaluate(TEXT_JS)
    return pdf, cut, page


@pytest.mark.parametrize("paper", sorted(PAPERS))
@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="no pdftotext (poppler-utils)")
@needs_browser[0]
@needs_browser[1]
def test_any_script_prints_whole_with_no_word_split(script_report, tmp_path: Path, paper):
    html = script_report.read_text()
    assert "Pneumonoultramicroscopicsilicovolcanoconiosis" in html.replace(SHY, "")
    pdf, cut, page = _printed_text(script_report, tmp_path, paper)
    assert cut == []  # right-to-left text, emoji, marks and long words stay on the page
    pages = pdf_pages(pdf)
    printed = pdf_text(pdf, 1, pages, layout=False)
    footer = f"Mini District Page of {' '.join(str(i) for i in range(1, pages + 1))}"
    markers = " ".join(page["markers"])
    assert split_words(printed, page["text"], f"{footer} {markers}") == []
    assert stranded(pdf, page["keep"]) == []  # no heading or caption alone at a page's foot
    assert "Donaudampfschifffahrts" in re.sub(r"\s*\u2010?\u00ad\s*", "", printed)


@pytest.mark.skipif(shutil.which("pdfinfo") is None, reason="no pdfinfo (poppler-utils)")
@needs_browser[0]
@needs_browser[1]
def test_report_pdf_is_tagged_titled_in_its_language_with_a_footer(runs, tmp_path: Path):  # noqa: F811
    from pypdf import PdfReader

    from harness.cli.commands import main

    store = runs[1]
    argv = ["--results", str(store.path.parent), "report", store.run_id, "--pdf", "--paper", "a4"]
    assert main(argv) == 0
    pdf = store.path / "readiness_report.pdf"
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True).stdout
    assert re.search(r"(?m)^Tagged:\s+yes$", info)
    # the title is the district and the phase, never the run id (issue 24 item 3)
    manifest = store.read_manifest()
    district = manifest.get("district") or manifest["dataset"]["name"]
    title = f"{district}: AI drafting readiness report, before the pilot"
    assert re.search(r"(?m)^Title:\s+" + re.escape(title) + "$", info)
    assert store.run_id not in info
    assert PdfReader(pdf).trailer["/Root"]["/Lang"] == "en"
    for w, h in pdf_page_sizes(pdf):
        assert (w, h) == (pytest.approx(8.27 * 72, abs=1), pytest.approx(11.69 * 72, abs=1))
    pages = pdf_pages(pdf)
    assert 1 <= pages <= 15
    first = pdf_text(pdf, 1, 1)
    district = store.read_manifest().get("district") or store.read_manifest()["dataset"]["name"]
    assert re.search(rf"{re.escape(district)}\s+Page 1 of {pages}\s*$", first.strip())


def test_pdf_without_chromium_is_one_clear_line(runs, monkeypatch, capsys):  # noqa: F811
    from harness.cli.commands import main

    monkeypatch.setenv("PATH", "/nonexistent")
    store = runs[1]
    argv = ["--results", str(store.path.parent), "report", store.run_id, "--pdf"]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "Chromium" in err and "make browser" in err


def _document(title: str, style: str, body: str) -> str:
    return (
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{title}</title>'
        f"{style}</head><body><main>{body}</main></body></html>"
    )


def _printed(tmp_path: Path, title: str, html: str) -> Path:
    """``html`` printed on Letter by the product's own PDF path, with ``title`` as its footer."""
    from harness.report.pdf import print_pdf

    page = tmp_path / f"{title.lower()}.html"
    page.write_text(html, encoding="utf-8")
    return print_pdf(page, paper="letter", footer=title)


def _keep_page(style: str) -> str:
    """Sections laid out as nbconvert does (a heading ends a Markdown cell, the table follows in
    an output cell), with fillers of many lengths so some fall at the foot of a page."""
    cells = []
    for i in range(40):
        filler = " ".join(
            ["Families ask when the buses run and what lunch costs."] * (2 + i * 7 % 19)
        )
        rows = "".join(f"<tr><th>row {r}</th><td>{r * 3}</td></tr>" for r in range(3))
        cells.append(
            '<div class="jp-Cell jp-MarkdownCell"><div class="jp-RenderedMarkdown '
            f'jp-RenderedHTMLCommon"><p>{filler}</p><h3>Section heading {i}</h3></div></div>'
            '<div class="jp-Cell jp-CodeCell"><div class="jp-OutputArea"><div class="'
            'jp-OutputArea-child"><div class="jp-RenderedHTMLCommon">'
            f"<table><caption>First table {i}</caption>{rows}</table><p>{filler[: i * 13]}</p>"
            f"<table><caption>Second table {i}</caption>{rows}</table></div></div></div></div>"
        )
    return _document("Keep", style, "".join(cells))


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="no pdftotext (poppler-utils)")
@needs_browser[0]
@needs_browser[1]
def test_headings_and_captions_keep_with_what_follows(tmp_path: Path):

    pdf = _printed(tmp_path, "Keep", _keep_page(PRINT_STYLE))
    keep = [f"Section heading {i}" for i in range(40)]
    keep += [f"{w} table {i}" for w in ("First", "Second") for i in range(40)]
    assert pdf_pages(pdf) > 3
    assert stranded(pdf, keep) == []


def _header_page(style: str) -> str:
    """Tables as pandas writes them (a <thead>, then rows six lines tall) after fillers of many
    lengths, so some header rows fall at the foot of a page with no room for a row."""
    cells = []
    for i in range(40):
        filler = " ".join(f"Families ask when bus {i}-{k} runs." for k in range(1 + i * 7 % 23))
        cell = "<br>".join(f"line {k} of a measure's long name" for k in range(6))
        rows = "".join(f"<tr><td>{cell}</td><td>{r * 3}</td></tr>" for r in range(2))
        cells.append(
            f"<p>{filler}</p><table><caption>Table {i}</caption><thead><tr><th>measure named "
            f"{i}</th><th>value</th></tr></thead><tbody>{rows}</tbody></table>"
        )
    return _document("Heads", style, "".join(cells))


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="no pdftotext (poppler-utils)")
@needs_browser[0]
@needs_browser[1]
def test_a_table_header_row_never_ends_a_page_without_its_first_row(tmp_path: Path):
    """Chromium ignores break-after on a header row and repeats a <thead> on each page: without
    the print style's rule, a header alone at a page's foot came back atop the next page."""

    pdf = _printed(tmp_path, "Heads", _header_page(PRINT_STYLE))
    assert pdf_pages(pdf) > 3
    assert stranded_headers(pdf) == []
