"""Headless Chromium for the report tests and the print benchmark: axe-core and PDF checks.

The browser is the product's own (:class:`harness.report.browser.Browser`: Debian's chromium,
headless and offline, DevTools over a pipe); this module adds what only the tests need: axe-core
from a local file, the print-overflow and text scripts, and poppler's page counts and text.
Nothing here reaches the network.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

from harness.report.browser import PAPERS, Browser, chromium_path

__all__ = [
    "AXE_JS",
    "OVERFLOW_JS",
    "PAPERS",
    "TEXT_JS",
    "Chromium",
    "chromium_path",
    "pdf_page_sizes",
    "pdf_pages",
    "pdf_text",
    "split_words",
    "stranded",
    "vocabulary",
]

REPO = Path(__file__).resolve().parents[1]
AXE_JS = REPO / ".cache" / "npm" / "node_modules" / "axe-core" / "axe.min.js"


class Chromium(Browser):
    """The product's headless Chromium, plus axe-core run from the local npm copy."""

    def axe(self, tags: tuple[str, ...] = ("wcag2a", "wcag2aa", "wcag21a", "wcag21aa")) -> Any:
        """axe-core's violations on the open page."""
        self.evaluate(AXE_JS.read_text(encoding="utf-8"))
        opts = json.dumps({"runOnly": {"type": "tag", "values": list(tags)}})
        return self.evaluate(
            f"axe.run(document, {opts}).then(r => r.violations.map(v => ({{id: v.id, "
            "impact: v.impact, help: v.help, nodes: v.nodes.map(n => n.html.slice(0, 200))})))",
            await_promise=True,
        )


# What overflows the printed width: tables, figures and anything wider than the page.
OVERFLOW_JS = """(() => {
  const page = document.documentElement.clientWidth;
  const out = [];
  for (const el of document.querySelectorAll('table, img, pre, .decision, .example')) {
    const r = el.getBoundingClientRect();
    const box = el.parentElement ? el.parentElement.getBoundingClientRect() : r;
    if (r.width === 0) continue;
    if (el.scrollWidth > el.clientWidth + 1 && el.tagName === 'TABLE' ||
        r.right > page + 1 || r.right > box.right + 1) {
      out.push(el.tagName + ': ' + (el.textContent || el.alt || '').trim().slice(0, 80));
    }
  }
  if (document.documentElement.scrollWidth > page + 1) out.push('page: ' + document.documentElement.scrollWidth);
  return out;
})()"""


def pdf_pages(pdf: Path) -> int:
    """Number of pages of a PDF (poppler's pdfinfo)."""
    out = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
    return int(next(line.split()[1] for line in out.splitlines() if line.startswith("Pages:")))


def pdf_text(pdf: Path, first: int, last: int, layout: bool = True) -> str:
    """The text of pages ``first``..``last`` of a PDF (poppler's pdftotext), laid out as on
    the page, or (``layout=False``) in reading order, each table cell a block of its own."""
    return subprocess.run(
        [
            "pdftotext",
            *(["-layout"] if layout else []),
            "-f",
            str(first),
            "-l",
            str(last),
            str(pdf),
            "-",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout


def pdf_page_sizes(pdf: Path) -> list[tuple[float, float]]:
    """Each page's (width, height) in points (pdfinfo -f 1 -l N)."""
    n = pdf_pages(pdf)
    out = subprocess.run(
        ["pdfinfo", "-f", "1", "-l", str(n), str(pdf)], capture_output=True, text=True, check=True
    ).stdout
    sizes = []
    for line in out.splitlines():
        if line.startswith("Page") and "size:" in line:
            parts = line.split("size:")[1].split()
            sizes.append((float(parts[0]), float(parts[2])))
    return sizes


# Split words: the printed text against the page's own text ----------------------------------
SHY, ZWSP = "\u00ad", "\u200b"

# The page's text as laid out for print, with each <wbr> as a zero-width space; the numbers of
# ordered lists (their markers are not text); headings and captions (kept with what follows).
TEXT_JS = """(() => {
  for (const w of [...document.querySelectorAll('wbr')]) w.replaceWith('\\u200b');
  const markers = [];
  for (const ol of document.querySelectorAll('ol')) {
    const n = ol.querySelectorAll(':scope > li').length, s = ol.start || 1;
    for (let i = s; i < s + n; i++) markers.push(i + '.');
  }
  const keep = [...document.querySelectorAll('h1, h2, h3, h4, caption:not(.harness-sr)')]
    .map(h => h.innerText.replace(/\\u00b6/g, '').trim()).filter(t => t);
  return {text: document.body.innerText, markers: markers, keep: keep};
})()"""

_BREAK_AFTER = "-\u2010\u2013\u2014/?!"


def _latin(token: str) -> bool:
    """A token in the Latin script (accents allowed), digits and punctuation."""
    return all(
        ord(c) < 0x250 or 0x1E00 <= ord(c) <= 0x1EFF or 0x2000 <= ord(c) <= 0x206F for c in token
    )


def vocabulary(page_text: str) -> tuple[set[str], set[str]]:
    """The page's whole words, and every piece of a word cut at one of its break points."""
    import unicodedata

    words: set[str] = set()
    pieces: set[str] = set()
    for raw in page_text.split():
        token = unicodedata.normalize("NFC", raw)
        plain, cuts = "", [0]
        for c in token:
            if c in (SHY, ZWSP):
                cuts.append(-len(plain) if c == SHY else len(plain))  # negative: shows a hyphen
                continue
            plain += c
            if c in _BREAK_AFTER:
                cuts.append(len(plain))
        words.add(plain)
        # pdftotext (reading order) drops a hyphen that ends a line and joins the word again:
        # canned-reply broken after its hyphen reads "cannedreply"
        hyphens = [i for i, c in enumerate(plain) if c == "-"][:5]
        for n in range(1, 1 << len(hyphens)):
            drop = {h for k, h in enumerate(hyphens) if n >> k & 1}
            words.add("".join(c for i, c in enumerate(plain) if i not in drop))
        cuts.append(len(plain))
        for i, a in enumerate(cuts):
            for b in cuts[i + 1 :]:
                piece = plain[abs(a) : abs(b)]
                pieces.add(piece)
                if b < 0:
                    pieces.update({piece + "-", piece + "\u2010", piece + SHY})
    return words, pieces


def split_words(printed: str, page_text: str, extra: str = "") -> list[str]:
    """Tokens of the printed text (pdftotext in reading order) that are neither a word of the
    page nor a piece of one cut at a break point (a soft hyphen, a ``<wbr>``, after a hyphen
    or a slash): "kin", "d"."""
    import unicodedata

    def slashes(text: str) -> str:  # pdftotext may drop the spaces around a slash: 0/5/8
        return text.replace("/", " / ")

    words, pieces = vocabulary(slashes(page_text + " " + extra))
    prefixes = {w[:i] for w in page_text.split() for i, c in enumerate(w) if c == "-" and i > 0}
    bad = []
    # Chromium keeps each soft hyphen in the PDF's text (U+00AD), a line broken at one ends in a
    # visible hyphen (U+2010) before it, and pdftotext may put spaces around one: a word broken
    # at a soft hyphen is joined again here, so what is left split was cut elsewhere.
    joined = re.sub(r"\s*\u2010?\u00ad\s*", "", slashes(printed))
    for raw in joined.split():
        token = unicodedata.normalize("NFC", raw)
        if not any(c.isalnum() for c in token) or not _latin(token):
            continue  # bullets, rules; right-to-left scripts and emoji are checked by layout
        if (
            token not in words
            and token not in pieces
            and not _after_hyphen(token, prefixes, words | pieces)
        ):
            bad.append(token)
    return bad


def _after_hyphen(token: str, prefixes: set[str], words: set[str]) -> bool:
    """A line broken after a hyphen in a table cell: pdftotext drops the hyphen and, in
    reading order, joins the part before it with the next cell's word ("Spanish" + "required"
    from "Spanish-" / "speaking" beside "required"); the next cell's word may itself be cut at
    a break point ("Best" from "Best-" / "matching" beside "base-" of "base-line")."""
    return any(token[:k] in prefixes and token[k:] in words for k in range(1, len(token)))


def stranded(pdf: Path, keep: list[str], footer_lines: int = 1) -> list[str]:
    """Headings and captions printed as the last line of a page (left alone at its bottom)."""
    norm = {" ".join(k.split()) for k in keep}
    out = []
    n = pdf_pages(pdf)
    for page in range(1, n):
        lines = [ln.strip() for ln in pdf_text(pdf, page, page).splitlines() if ln.strip()]
        body = lines[:-footer_lines] if footer_lines else lines
        if body and " ".join(body[-1].split()) in norm:
            out.append(f"page {page}: {body[-1]}")
    return out


def stranded_headers(pdf: Path, footer_lines: int = 1) -> list[str]:
    """Table header rows printed as the last lines of a page with their rows on the next.

    The print stylesheet repeats a table's ``<thead>`` on every page the table spans
    (``display: table-header-group``), so a header left at a page's foot comes back as the next
    page's first lines: the page's last lines (before the footer) equal the next one's first."""
    out = []

    def lines(page: int) -> list[str]:
        text = pdf_text(pdf, page, page).replace(SHY, "")
        return [" ".join(ln.split()) for ln in text.splitlines() if ln.strip()]

    for page in range(1, pdf_pages(pdf)):
        body, nxt = lines(page)[: -footer_lines or None], lines(page + 1)
        if body and any(body[-k:] == nxt[:k] for k in (1, 2, 3) if len(body) >= k):
            out.append(f"page {page}: {body[-1]}")
    return out
