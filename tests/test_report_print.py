"""The reports print (Letter and A4, decision on page 1, nothing cut) and pass axe-core.

The browser tests drive Debian's headless Chromium over the DevTools protocol
(tests/chromium.py) on the four reports of two small real runs, and print them to PDF.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from harness.report import load_run
from harness.report.alt import Figure
from harness.report.figures import (
    category_figure,
    comparison_figure,
    gate_bar,
    minutes_figure,
    similarity_figure,
)
from harness.report.format import STYLE, captioned
from harness.report.printing import PRINT_STYLE, accessible_tables

from .chromium import (
    AXE_JS,
    OVERFLOW_JS,
    PAPERS,
    Chromium,
    chromium_path,
    pdf_page_sizes,
    pdf_pages,
    pdf_text,
)
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
    assert cut == []  # no table, figure or example wider than the printed page
    pages = pdf_pages(pdf)
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
