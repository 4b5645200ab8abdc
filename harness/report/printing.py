"""The last step of rendering: a print stylesheet, accessible tables and break points.

nbconvert's JupyterLab template keeps every output whole on paper
(``.jp-OutputArea-child { break-inside: avoid-page }``): an output taller than what is left of
a page moves to the next one and leaves the rest blank, and one taller than a page starts on a
fresh page. Its output areas scroll sideways (``overflow-x: auto``) and its tables have a fixed
layout, so on paper a wide table loses its right-hand columns. :data:`PRINT_STYLE` undoes
both: outputs break between rows, tables wrap within the page width, figures shrink to fit,
and only small things (a table row, a figure, the decision box) are kept whole; figures print
at most 3 in high. A heading keeps with what follows it (also when it ends a Markdown cell
and the table follows in the next), a caption with its table. Words break only where
:mod:`harness.report.breaks` put a soft hyphen or a ``<wbr>`` (never at any letter, never
inside a number), and table cells and examples take their direction from their own text, so
right-to-left questions lay out as they are written.

:func:`accessible_tables` gives every table a ``<caption>`` (the table's own, else the heading
it sits under, visually hidden because the heading already shows) and scopes every header
cell, for tables that come from a plain DataFrame.
"""

from __future__ import annotations

from typing import Any

from harness.report.breaks import break_words

WIDE_COLUMNS = 6  # a table with more columns prints smaller and may break inside words
# a table of at most this many rows (header included) prints whole: never its header alone at
# a page's foot with the rows on the next page
SHORT_ROWS = 6

PRINT_STYLE = """<style id="harness-print">
caption.harness-sr { position: absolute; width: 1px; height: 1px; overflow: hidden;
  clip: rect(0 0 0 0); white-space: nowrap; }
@page { size: portrait; margin: 0.5in; }
@media print {
  html, body, body.jp-Notebook, main { margin: 0 !important; padding: 0 !important;
    background: #fff !important; font-size: 10pt; }
  .jp-Cell, .jp-Cell-inputWrapper, .jp-Cell-outputWrapper, .jp-InputArea, .jp-OutputArea,
  .jp-OutputArea-child, .jp-OutputArea-output, .jp-RenderedHTMLCommon, .jp-MarkdownOutput {
    margin: 0 !important; padding: 0 !important; overflow: visible !important;
    max-width: 100% !important; min-width: 0 !important; }
  .jp-OutputArea-child { break-inside: auto !important; display: block !important; }
  .jp-InputPrompt, .jp-OutputPrompt, .jp-Collapser, .anchor-link { display: none !important; }
  .jp-RenderedHTMLCommon p, .jp-RenderedHTMLCommon li { font-size: 9.5pt; line-height: 1.3; }
  h1, h2, h3, h4 { break-after: avoid-page; break-inside: avoid; margin: 10pt 0 4pt !important; }
  .jp-Cell:has(.jp-RenderedMarkdown > :is(h1, h2, h3, h4):last-child) {
    break-after: avoid-page; }
  .jp-RenderedHTMLCommon h2 { font-size: 15pt; } .jp-RenderedHTMLCommon h3 { font-size: 12pt; }
  body { hyphens: manual; -webkit-hyphens: manual; }
  table { table-layout: auto !important; width: 100% !important; max-width: 100% !important;
    font-size: 8pt !important; overflow-wrap: normal; word-break: normal;
    margin: 4pt 0 8pt !important; }
  table.harness-wide { font-size: 7pt !important; }
  th, td { padding: 1.5pt 3pt !important; line-height: 1.2; overflow-wrap: normal !important;
    word-break: normal !important; unicode-bidi: plaintext; }
  table.harness-squeeze th, table.harness-squeeze td { overflow-wrap: anywhere !important; }
  caption { font-size: 8.5pt !important; break-after: avoid-page; }
  /* a caption paragraph keeps with the table, figure or example it introduces; a note that
     introduces nothing (p.caption alone: "No failures") chains nothing to what follows */
  p.caption:has(+ :is(table, div, img, figure)) { break-after: avoid-page; }
  :is(img, figure, .harness-figure) + p.caption { break-before: avoid-page; }
  thead { display: table-header-group; }
  /* a header row keeps its first row: never alone at a page's foot (Chromium ignores
     break-after on the header, but honours break-before on the first body row) */
  tbody > tr:first-child { break-before: avoid-page; }
  tr, img, figure, .harness-figure, .decision, table.harness-short { break-inside: avoid; }
  img, svg { max-width: 100% !important; max-height: 2.5in !important; width: auto !important;
    height: auto !important; }
  figure { margin: 4pt 0 !important; }
  .cover h1 { font-size: 20pt !important; }
  .decision { padding: 8pt 12pt !important; margin: 8pt 0 !important; }
  .decision .verdict { font-size: 20pt !important; }
  .decision .reason, .decision ul { font-size: 10pt !important; }
  .example { gap: 4pt 8pt !important; margin: 2pt 0 6pt !important;
    grid-template-columns: minmax(0, 1fr) minmax(0, 1fr) !important; }
  .example h4 { font-size: 9pt !important; margin: 0 !important; break-after: avoid; }
  .example div { font-size: 7.5pt !important; line-height: 1.2; padding: 3pt !important;
    min-width: 0; overflow-wrap: break-word; unicode-bidi: plaintext; }
  .example .q { break-after: avoid; }
  .jp-RenderedHTMLCommon pre { white-space: pre-wrap; overflow-wrap: break-word; }
}
</style>"""


def with_print_style(body: str) -> str:
    """The report HTML with the print stylesheet as the last style in its head."""
    if 'id="harness-print"' in body:
        return body
    if "</head>" in body:
        return body.replace("</head>", PRINT_STYLE + "\n</head>", 1)
    return PRINT_STYLE + body


def _heading_text(table: object) -> str:
    heading = table.find_previous(["h1", "h2", "h3", "h4"])  # type: ignore[attr-defined]
    if heading is None:
        return "Table"
    return " ".join(heading.get_text(" ", strip=True).replace("¶", "").split())


def accessible_tables(body: str) -> str:
    """Every table captioned (its own caption, else its heading) and every header cell scoped.

    A table with more than :data:`WIDE_COLUMNS` columns is marked ``harness-wide``: on paper
    it prints smaller.
    """
    if "<table" not in body:
        return body
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(body, "html.parser")
    _caption_and_scope(soup)
    return str(soup)


def _caption_and_scope(soup: Any) -> None:
    for table in soup.find_all("table"):
        first = table.find("tr")
        cls = table.get("class")
        classes: list[str] = cls.split() if isinstance(cls, str) else list(cls or [])
        if first is not None and len(first.find_all(["th", "td"])) > WIDE_COLUMNS:
            classes.append("harness-wide")
        if len(table.find_all("tr")) <= SHORT_ROWS:
            classes.append("harness-short")
        if classes:
            table["class"] = " ".join(dict.fromkeys(classes))
        if table.find("caption") is None:
            caption = soup.new_tag("caption", attrs={"class": "harness-sr"})
            caption.string = _heading_text(table)  # read aloud; on screen the heading says it
            table.insert(0, caption)
        for th in table.find_all("th"):
            if not th.get("scope"):
                in_head = th.find_parent("thead") is not None
                row_header = not in_head and th.parent is not None and th.parent.find("td")
                th["scope"] = "row" if row_header else "col"


def finish(body: str) -> str:
    """The last step before the report is written: accessible tables, break points for print
    (:mod:`harness.report.breaks`), the print stylesheet."""
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(body, "html.parser")
    _caption_and_scope(soup)
    lang = soup.html.get("lang") if soup.html is not None else None
    break_words(soup, str(lang or "en"))
    return with_print_style(str(soup))
