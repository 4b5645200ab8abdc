"""A rendered report printed to a tagged, accessible PDF by headless Chromium.

The engine is the browser the report tests already use (:class:`harness.report.browser.Browser`:
Debian's ``chromium``, installed by ``make browser``, driven over the DevTools protocol through a
pipe): the PDF is what a leader gets from the browser's own Print, with the same print
stylesheet. ``Page.printToPDF`` writes a tagged PDF (``generateTaggedPDF``: headings,
paragraphs, tables and figures with their alt text in the structure tree, the document's
language and title) with the page number and the district's name in the footer.
"""

from __future__ import annotations

import html
import os
import tempfile
from pathlib import Path

from harness.errors import ReportError
from harness.report.browser import PAPERS, Browser, require_chromium

# The footer of every page: the district's name at the left, the page number and count at the right.
FOOTER = (
    '<div style="font: 8pt sans-serif; color: #333; width: 100%; margin: 0 0.5in; '
    'display: flex; justify-content: space-between;">'
    "<span>{left}</span>"
    '<span>Page <span class="pageNumber"></span> of <span class="totalPages"></span></span>'
    "</div>"
)


def print_pdf(
    page: Path,
    out: Path | None = None,
    paper: str = "letter",
    footer: str = "",
    timeout: float = 180.0,
) -> Path:
    """Print an HTML report to a tagged PDF beside it (or at ``out``); returns the PDF's path.

    ``paper`` is letter or a4 (portrait); ``footer`` is the text at the left of every page's
    footer (the district's name), the page number and count at its right.
    """
    if paper not in PAPERS:
        raise ReportError(f"unknown paper '{paper}'; papers: {', '.join(PAPERS)}")
    require_chromium()
    out = out or page.with_suffix(".pdf")
    with (
        tempfile.TemporaryDirectory(prefix="harness-pdf-", ignore_cleanup_errors=True) as tmp,
        Browser(Path(tmp), timeout) as browser,
    ):
        browser.open(page)
        data = browser.pdf(paper, FOOTER.format(left=html.escape(footer)), tagged=True)
    tmp_out = out.with_name(out.name + ".tmp")
    tmp_out.write_bytes(data)
    os.replace(tmp_out, out)
    return out
