"""Text, title and effective date of one policy document: PDF, DOCX, HTML, Markdown or text.

- PDF (pypdf): the pages' text; title from the document information, else the first line.
- DOCX (python-docx): paragraphs (headings as Markdown headings) and tables; title from the
  core properties, else the first heading, else the first line.
- HTML (beautifulsoup4): the visible text with headings and list items kept as Markdown
  (scripts, styles, navigation dropped); title from ``<title>``, else the first ``<h1>``-``<h3>``.
- Markdown / text: as written (existing front matter kept); title from front matter, else the
  first ``#`` heading, else the first line.

The effective date is an "Effective ..." date written in the document, else an
``effective``/``date`` meta field (front matter, HTML ``<meta>``), else the document's own
modification or creation date (PDF information, DOCX core properties).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from harness.data import safeyaml
from harness.importers.encoding import EncodingError, decode
from harness.importers.limits import LIMITS, LimitError, check_size, check_zip, over

DOCUMENT_SUFFIXES = (".pdf", ".docx", ".html", ".htm", ".md", ".markdown", ".txt")
_FRONT = re.compile(r"\A---\s*\n(.*?)\n---\s*\n", re.S)
_MONTHS = "january|february|march|april|may|june|july|august|september|october|november|december"
_DATE_WORDS = (
    rf"(?:(?:{_MONTHS})\.?\s+\d{{1,2}}(?:st|nd|rd|th)?,?\s+\d{{4}}"
    r"|\d{4}-\d{2}-\d{2}|\d{1,2}/\d{1,2}/\d{4})"
)
_EFFECTIVE = re.compile(
    rf"\beffective(?:\s+date)?(?:\s+(?:on|as of|from))?\s*[:\-]?\s*({_DATE_WORDS})", re.I
)


class DocumentError(Exception):
    """A document cannot be read (corrupt, encrypted, not what its suffix says)."""


@dataclass
class Document:
    """What a source document contributes to ``sources/<id>.md``."""

    title: str | None
    effective: str | None
    text: str
    meta: dict[str, Any]
    # where the date came from: "text" (an "Effective ..." line), "front matter", or
    # "metadata" (the file's own modified/created date: when it was saved, a weaker proxy)
    effective_source: str | None = None


def parse_date(value: Any) -> str | None:
    """A date in any common form as ``YYYY-MM-DD``, or None."""
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if not isinstance(value, str) or not value.strip():
        return None
    s = value.strip()
    if s.startswith("D:") and len(s) >= 10 and s[2:10].isdigit():  # PDF date D:YYYYMMDD...
        s = f"{s[2:6]}-{s[6:8]}-{s[8:10]}"
    s = re.sub(r"(\d)(st|nd|rd|th)\b", r"\1", s)
    for fmt in (
        "%Y-%m-%d",
        "%m/%d/%Y",
        "%B %d, %Y",
        "%B %d %Y",
        "%b %d, %Y",
        "%b %d %Y",
        "%b. %d, %Y",
    ):
        try:
            return datetime.strptime(s[:30].strip(), fmt).date().isoformat()
        except ValueError:
            continue
    m = re.match(r"(\d{4}-\d{2}-\d{2})", s)
    if m:
        try:
            return date.fromisoformat(m.group(1)).isoformat()
        except ValueError:
            return None
    return None


def effective_in_text(text: str) -> str | None:
    """The date after "Effective" / "Effective date:" in the text, as ``YYYY-MM-DD``."""
    m = _EFFECTIVE.search(text[:20000])
    return parse_date(m.group(1)) if m else None


def _first_line(text: str) -> str | None:
    for line in text.splitlines():
        s = line.strip().lstrip("#").strip()
        if s:
            return s[:200]
    return None


def _clean(text: str) -> str:
    lines = [ln.rstrip() for ln in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    out = "\n".join(lines)
    return re.sub(r"\n{3,}", "\n\n", out).strip()


def _dated(title: str | None, text: str, meta: dict[str, Any], fallback: str | None) -> Document:
    """A Document dated by its "Effective ..." text, else by ``fallback`` (its metadata)."""
    in_text = effective_in_text(text)
    if in_text:
        return Document(title, in_text, text, meta, "text")
    return Document(title, fallback, text, meta, "metadata" if fallback else None)


def read_pdf(path: Path) -> Document:
    """A PDF's text, title and effective date (pypdf)."""
    from pypdf import PdfReader
    from pypdf.errors import LimitReachedError, PdfReadError

    try:
        reader = PdfReader(path)
        if reader.is_encrypted:
            raise DocumentError("is encrypted; save an unprotected copy")
        count = len(reader.pages)
        if over("document_pages", count):
            raise DocumentError(
                f"has {count:,} pages, more than the {LIMITS['document_pages']:,} accepted; "
                "split it into the policies it holds"
            )
        pages: list[str] = []
        chars = unpacked = 0
        for page in reader.pages:
            # inflate the page's content first (pypdf keeps it for the text extraction) and
            # count it: text extraction alone swallows a bomb's error, after the work
            contents = page.get_contents()
            unpacked += len(contents.get_data()) if contents is not None else 0
            if over("unpacked_bytes", unpacked):
                raise DocumentError(
                    f"has page contents that inflate to more than "
                    f"{LIMITS['unpacked_bytes']:,} bytes (a decompression bomb, or a very large "
                    "file); split it or save its text"
                )
            pages.append(page.extract_text() or "")
            chars += len(pages[-1])
            _check_chars(chars)
        info: Any = reader.metadata or {}
    except LimitReachedError as exc:
        raise DocumentError(
            f"goes past a safety limit of the PDF reader ({exc}): a crafted file (a "
            "decompression bomb) or a very large one; split it or save its text"
        ) from None
    except (PdfReadError, ValueError, KeyError, OSError) as exc:
        raise DocumentError(f"cannot be read as PDF ({exc})") from None
    text = _clean("\n\n".join(pages))
    title = str(info.get("/Title") or "").strip() or _first_line(text)
    return _dated(
        title,
        text,
        {"pages": len(pages)},
        parse_date(str(info.get("/ModDate") or info.get("/CreationDate") or "")),
    )


def read_docx(path: Path) -> Document:
    """A Word document's paragraphs and tables, title and effective date (python-docx)."""
    import zipfile

    import docx

    try:
        check_zip(path, "DOCX")
    except LimitError as exc:
        raise DocumentError(f"{exc.message}; {exc.hint}") from None
    try:
        d = docx.Document(str(path))
    except (zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise DocumentError(f"cannot be read as DOCX ({exc})") from None
    parts: list[str] = []
    heading = None
    # style names by id, read once: Paragraph.style searches the styles part on every call
    names = {st.style_id: st.name or "" for st in d.styles}
    for p in d.paragraphs:
        t = p.text.strip()
        if not t:
            continue
        style_id = p._p.style  # the paragraph's w:pStyle, None for the default style
        style = names.get(style_id, "") if style_id else ""
        m = re.match(r"Heading (\d)", style)
        if style == "Title" or m:
            level = int(m.group(1)) if m else 1
            parts.append("#" * min(level, 6) + " " + t)
            heading = heading or t
        else:
            parts.append(t)
    for table in d.tables:
        for row in table.rows:
            parts.append(" | ".join(c.text.strip() for c in row.cells))
    text = _clean("\n\n".join(parts))
    core = d.core_properties
    title = (core.title or "").strip() or heading or _first_line(text)
    return _dated(title, text, {}, parse_date(core.modified or core.created))


def read_html(path: Path, raw: str) -> Document:
    """A web page's visible text as Markdown-ish lines, its title and effective date."""
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(raw, "html.parser")
    title_tag = soup.find("title")
    title = title_tag.get_text(" ", strip=True) if title_tag else ""
    meta_date = None
    for m in soup.find_all("meta"):
        name = str(m.get("name") or m.get("property") or "").lower()
        if name in ("effective", "effective-date", "dcterms.valid", "date", "dcterms.modified"):
            meta_date = meta_date or parse_date(str(m.get("content") or ""))
    for tag in soup(["script", "style", "noscript", "nav", "header", "footer", "template"]):
        tag.decompose()
    body = soup.body or soup
    lines: list[str] = []
    first_heading = None
    for el in body.find_all(["h1", "h2", "h3", "h4", "h5", "h6", "p", "li", "td", "th", "pre"]):
        if el.find_parent(["p", "li", "td", "th", "pre"]) is not None:
            continue
        t = " ".join(el.get_text(" ", strip=True).split())
        if not t:
            continue
        if el.name and el.name[0] == "h":
            lines.append("#" * int(el.name[1]) + " " + t)
            first_heading = first_heading or t
        elif el.name == "li":
            lines.append("- " + t)
        else:
            lines.append(t)
    text = _clean("\n\n".join(lines)) or _clean(body.get_text("\n", strip=True))
    title = title or first_heading or _first_line(text) or ""
    return _dated(title or None, text, {}, meta_date)


def read_text_document(raw: str) -> Document:
    """A Markdown or text file: front matter kept, title from it or the first heading/line."""
    meta: dict[str, Any] = {}
    body = raw
    m = _FRONT.match(raw)
    if m:
        try:
            loaded, _ = safeyaml.parse(
                m.group(1), line_offset=1, max_bytes=LIMITS["front_matter_bytes"]
            )
        except safeyaml.YamlProblem as exc:
            raise DocumentError(
                f"has front matter that {exc.message}"
                + (f" (line {exc.line})" if exc.line else "")
                + (f"; {exc.hint}" if exc.hint else "")
            ) from None
        if isinstance(loaded, dict):
            meta = {str(k): v for k, v in loaded.items()}
        body = raw[m.end() :]
    text = _clean(body)
    heading = next((ln[2:].strip() for ln in text.splitlines() if ln.startswith("# ")), None)
    title = str(meta.get("title") or "") or heading or _first_line(text)
    declared = parse_date(meta.get("effective"))
    if declared:
        return Document(title, declared, text, meta, "front matter")
    return _dated(title, text, meta, parse_date(meta.get("date")))


def _check_chars(chars: int) -> None:
    if over("document_chars", chars):
        raise DocumentError(
            f"holds more than {LIMITS['document_chars']:,} characters of text; "
            "split it into the policies it holds"
        )


def read_document(path: Path) -> Document:
    """Dispatch on the suffix; raises DocumentError for an unreadable file or one past a limit
    (:data:`harness.importers.limits.LIMITS`)."""
    try:
        check_size(path, "document_bytes", "split it, or save its text as a smaller file")
    except LimitError as exc:
        raise DocumentError(f"{exc.message}; {exc.hint}") from None
    suffix = path.suffix.lower()
    if suffix == ".pdf":
        doc = read_pdf(path)
    elif suffix == ".docx":
        doc = read_docx(path)
    else:
        try:
            text, _ = decode(path.read_bytes())
        except EncodingError as exc:
            where = (
                f" (line {exc.line})" if exc.line and f"line {exc.line}" not in exc.message else ""
            )
            raise DocumentError(f"{exc.message}{where}; {exc.hint}") from None
        _check_chars(len(text))
        doc = read_html(path, text) if suffix in (".html", ".htm") else read_text_document(text)
    _check_chars(len(doc.text))
    return doc
