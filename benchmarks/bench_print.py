"""Print rendered reports to PDF in headless Chromium on Letter and A4: pages, cut elements.

    .venv/bin/python benchmarks/bench_print.py results/RUN/readiness_report.html [more.html ...]

Each report is printed by the harness's own engine (``harness report --pdf``: DevTools
``Page.printToPDF``, tagged, portrait, 0.5 in margins, page numbers and the district in the
footer) and laid out as print media at the printed width, where anything wider than the page
(a table, a figure, an example) is listed as cut. The printed text (pdftotext) is checked for
words split at a point that is not a hyphenation point, and for headings or captions left
alone at the foot of a page. Also runs axe-core when ``make axe`` has installed it. Writes
benchmarks/results/bench_print.json.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))
sys.path.insert(0, str(REPO))

from chromium import (  # noqa: E402
    AXE_JS,
    OVERFLOW_JS,
    PAPERS,
    TEXT_JS,
    Chromium,
    pdf_pages,
    pdf_text,
    split_words,
    stranded,
)

from harness.report.pdf import print_pdf  # noqa: E402


def measure(report: Path, tmp: Path, keep: Path | None = None) -> dict[str, object]:
    """Pages on each paper, what is cut, whether page 1 holds the decision, axe violations."""
    out: dict[str, object] = {"report": str(report)}
    with Chromium(tmp / "profile") as browser:
        browser.open(report)
        page = browser.evaluate(TEXT_JS)
        browser.open(report)
        for paper in PAPERS:
            pdf = print_pdf(report, (keep or tmp) / f"{report.stem}-{paper}.pdf", paper, "District")
            pages = pdf_pages(pdf)
            blank = [
                p for p in range(1, pages + 1) if len(pdf_text(pdf, p, p).split()) <= 5
            ]  # the footer alone
            footer = f"District Page of {' '.join(map(str, range(1, pages + 1)))}"
            printed = pdf_text(pdf, 1, pages, layout=False)
            out[paper] = {
                "pages": pages,
                "blank_pages": blank,
                "decision_on_page_1": "Decision:" in pdf_text(pdf, 1, 1),
                "split_words": split_words(
                    printed, page["text"], f"{footer} {' '.join(page['markers'])}"
                ),
                "stranded": stranded(pdf, page["keep"]),
            }
        browser.print_layout(min(w for w, _ in PAPERS.values()) - 1.0)
        out["cut"] = browser.evaluate(OVERFLOW_JS)
        if AXE_JS.is_file():
            browser.send("Emulation.setEmulatedMedia", media="screen")
            out["axe_violations"] = [v["id"] for v in browser.axe()]
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("reports", nargs="+", type=Path)
    ap.add_argument("--keep", type=Path, help="a folder to keep the PDFs in")
    args = ap.parse_args()
    if args.keep:
        args.keep.mkdir(parents=True, exist_ok=True)
    rows = []
    with tempfile.TemporaryDirectory(ignore_cleanup_errors=True) as tmp:
        for report in args.reports:
            row = measure(report, Path(tmp), args.keep)
            rows.append(row)
            print(
                f"{report.name}: letter {row['letter']['pages']} pages, "  # type: ignore[index]
                f"A4 {row['a4']['pages']} pages, cut {len(row['cut'])}, "  # type: ignore[index]
                f"split words {len(row['letter']['split_words'])} / "  # type: ignore[index]
                f"{len(row['a4']['split_words'])}, "  # type: ignore[index]
                f"stranded {len(row['letter']['stranded'])} / "  # type: ignore[index]
                f"{len(row['a4']['stranded'])}, "  # type: ignore[index]
                f"axe {row.get('axe_violations', 'not run')}"
            )
    dest = REPO / "benchmarks" / "results" / "bench_print.json"
    dest.write_text(json.dumps(rows, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
