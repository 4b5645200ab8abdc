"""Where a printed word may break: soft hyphens from pyphen and ``<wbr>`` in URLs.

Headless Chromium has no hyphenation dictionaries offline, so ``hyphens: auto`` does nothing
and a word that does not fit its column used to be cut at any letter ("ba seli ne") or to push
its table past the page edge. Here break points are written into the HTML instead, and only
where they are needed, so the report's text stays searchable:

- a table whose columns cannot fit the printed width (estimated from each column's longest
  word; :data:`PRINT_WIDTH_PT` is A4's, the narrower paper) gets soft hyphens (U+00AD) in its
  longer words, longest first, until it fits; hyphenation points come from pyphen's English or
  Spanish patterns, chosen by the ``lang`` of the element the text is in;
- outside tables, a token longer than :data:`LONG_TOKEN` characters (a long word, a run of
  letters from a dataset; more than half an example's column) gets break points too, and a URL gets ``<wbr>`` after its
  slashes and before its dots, never a hyphen;
- an identifier (``required_facts_coverage``) gets ``<wbr>`` before its underscores, and a
  digest or any text in ``<code>`` gets ``<wbr>`` only, never a hyphen (it is copied as typed),
  and outside tables only past :data:`LONG_CODE` characters (a SHA-256 stays whole);
- a run of letters with no hyphenation point (no dictionary for its language, or not a word)
  gets a soft hyphen every :data:`FORCED_RUN` letters, never inside a letter's combining marks.

A table that cannot fit even so (the explore notebook's 22-column frames of numbers) is
marked ``harness-squeeze`` and may break inside a word, as every wide table did before.
Numbers get no break points; emoji and ideographs already break between characters.
"""

from __future__ import annotations

import functools
import itertools
import re
import unicodedata
from typing import Any

SHY = "\u00ad"
LONG_TOKEN = 40  # characters: a token this long gets break points outside tables too
LONG_CODE = 80  # a digest or code is left whole up to this (a SHA-256 fits a printed line)
FORCED_RUN = 8  # letters between forced soft hyphens in a word without hyphenation points
PRINT_WIDTH_PT = (8.27 - 1.0) * 72  # A4 minus two 0.5 in margins
CHAR_EM = 0.62  # a conservative average advance of DejaVu Sans (the print font), in em
SKIP = {"style", "script", "title", "head", "wbr", "svg", "math"}

# URLs, email addresses and file paths: broken with <wbr>, never with a hyphen
_URL = re.compile(
    r"^(?:[a-z][a-z0-9+.-]*://|www\.)\S+$|^[\w.+-]+@[\w-]+\.[\w.-]+$|^\S*/\S*/\S*$", re.I
)
# identifiers (metric names): broken with <wbr> before an underscore, never with a hyphen
_IDENT = re.compile(r"^\W{0,2}[A-Za-z0-9]+(?:_[A-Za-z0-9]+)+\W{0,3}$")
# digests and codes (a protocol's SHA-256, a passage id's hash): letters and digits mixed, copied
# to check a file, so never given a character: broken with <wbr> only
_DIGEST = re.compile(r"^\W{0,2}(?=[A-Za-z0-9]*\d)(?=[A-Za-z0-9]*[A-Za-z])[A-Za-z0-9]{16,}\W{0,3}$")
CODE = {"code", "kbd", "samp", "pre"}  # text copied as typed: <wbr> at most, never a hyphen
_LETTERS = re.compile(
    r"(?:[^\W\d_]|[\u0300-\u036f\u0483-\u0489\u0591-\u05c7\u0610-\u061a"
    r"\u064b-\u065f\u0670\u06d6-\u06ed\u0900-\u0dff\u1ab0-\u1aff"
    r"\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f])+"
)


@functools.lru_cache(maxsize=8)
def _dictionary(lang: str) -> Any:
    """pyphen's patterns for English or Spanish (installed with textstat), else None."""
    tag = lang.lower().replace("-", "_")
    name = "es" if tag.startswith("es") else "en_US" if tag.startswith("en") or not tag else ""
    if not name:
        return None
    try:
        import pyphen
    except ImportError:  # pragma: no cover - textstat brings it
        return None
    return pyphen.Pyphen(lang=name, left=2, right=3)


def _joins(ch: str) -> bool:
    """True for a character that belongs to the one before it (a mark, a joiner, a selector)."""
    o = ord(ch)
    return (
        unicodedata.category(ch).startswith("M")
        or o in (0x200C, 0x200D)
        or 0xFE00 <= o <= 0xFE0F
        or 0x1F3FB <= o <= 0x1F3FF
        or 0xE0020 <= o <= 0xE01EF
    )


def _word_points(word: str, lang: str) -> list[int]:
    """Break points inside a run of letters: the dictionary's, else forced every few letters."""
    dic = _dictionary(lang)
    points = list(dic.positions(word)) if dic is not None and word.isalpha() else []
    points = [p for p in points if 0 < p < len(word) and not _joins(word[p])]
    edges = [0, *points, len(word)]
    forced = []
    for a, b in itertools.pairwise(edges):
        if b - a > FORCED_RUN + 3:  # no point in a long stretch: cut it every few letters
            at = a + FORCED_RUN
            while at < b - 3:
                while at < b - 3 and (_joins(word[at]) or word[at - 1] in "\u200d"):
                    at += 1
                if at < b - 3:
                    forced.append(at)
                at += FORCED_RUN
    return sorted(set(points + forced))


def hyphenate(token: str, lang: str = "en", min_len: int = 0) -> str:
    """``token`` with soft hyphens in its runs of letters at least ``min_len`` long."""

    def one(m: re.Match[str]) -> str:
        word = m.group(0)
        if len(word) < max(min_len, 5):
            return word
        points = _word_points(word, lang)
        return "".join(
            word[a:b] + (SHY if b < len(word) else "")
            for a, b in zip([0, *points], [*points, len(word)], strict=False)
        )

    return _LETTERS.sub(one, token)


def url_pieces(url: str) -> list[str]:
    """A URL cut where a ``<wbr>`` may go: after ``//`` and ``/``, before ``.``, ``?``, ``&``."""
    pieces = re.split(r"(?<=/)(?!/)|(?=[.?&#=@_](?!$))", url)
    out: list[str] = []
    for piece in pieces:  # a long stretch with none of those: every 16 characters
        out.extend(piece[i : i + 16] for i in range(0, len(piece), 16) if piece)
    return [p for p in out if p]


def min_width(text: str, size_pt: float) -> float:
    """Estimated width in points of the longest stretch of ``text`` that cannot break."""
    longest = 0
    for token in text.split():
        for piece in re.split(f"(?<=[-\u2013\u2014/{SHY}])", token):
            n = sum(not _joins(c) for c in piece)
            longest = max(longest, n)
    return longest * CHAR_EM * size_pt


def _lang_of(node: Any, default: str) -> str:
    for parent in node.parents:
        lang = parent.get("lang") if hasattr(parent, "get") else None
        if lang:
            return str(lang)
    return default


def _rewrite(node: Any, soup: Any, lang: str, min_len: int) -> None:
    """Replace one text node with its text broken where needed (soft hyphens, ``<wbr>``)."""
    text = str(node)
    for near in (node.previous_sibling, node.next_sibling):
        if getattr(near, "name", None) == "wbr":
            return  # a piece of a URL or an identifier, broken already
    parts: list[Any] = []
    changed = False
    in_code = any(getattr(p, "name", None) in CODE for p in node.parents)
    for chunk in re.split(r"(\s+)", text):
        if not chunk or chunk.isspace():
            parts.append(chunk)
            continue
        digest = in_code or _DIGEST.match(chunk)
        long = len(chunk) > (LONG_CODE if digest else LONG_TOKEN)
        code = digest or _URL.match(chunk) or _IDENT.match(chunk)
        if code and (long or (min_len and len(chunk) > min_len)):
            for i, piece in enumerate(url_pieces(chunk)):
                if i:
                    parts.append(soup.new_tag("wbr"))
                parts.append(piece)
            changed = True
        elif (long or min_len) and not code:
            new = hyphenate(chunk, lang, 0 if long else min_len)
            changed |= new != chunk
            parts.append(new)
        else:
            parts.append(chunk)
    if not changed:
        return
    merged: list[Any] = []
    for part in parts:  # adjacent strings become one text node again
        if isinstance(part, str) and merged and isinstance(merged[-1], str):
            merged[-1] += part
        else:
            merged.append(part)
    node.replace_with(*merged)


def _texts(el: Any) -> list[Any]:
    from bs4 import NavigableString
    from bs4.element import Comment

    return [
        s
        for s in el.find_all(string=True)
        if isinstance(s, NavigableString)
        and not isinstance(s, Comment)
        and not any(p.name in SKIP for p in s.parents)
    ]


def _table_fits(table: Any, size_pt: float, em: float = CHAR_EM, room: float = 0.92) -> bool:
    """Whether the table's longest unbreakable words fit the printed width, estimated."""
    widths: dict[int, float] = {}
    for row in table.find_all("tr"):
        for i, cell in enumerate(row.find_all(["td", "th"], recursive=False)):
            bold = 1.1 if cell.name == "th" else 1.0
            w = min_width(cell.get_text(" "), size_pt) * em / CHAR_EM * bold + 6  # 3 pt padding
            widths[i] = max(widths.get(i, 0.0), w)
    return sum(widths.values()) <= PRINT_WIDTH_PT * room


def _classes(el: Any) -> list[str]:
    cls = el.get("class")
    return cls.split() if isinstance(cls, str) else list(cls or [])


def break_words(soup: Any, default_lang: str = "en") -> None:
    """Write break points into ``soup`` (a BeautifulSoup document) where print needs them."""
    for table in soup.find_all("table"):
        size = 7.0 if "harness-wide" in _classes(table) else 8.0
        for min_len in (16, 12, 9, 6):
            if _table_fits(table, size):
                break
            for node in _texts(table):
                _rewrite(node, soup, _lang_of(node, default_lang), min_len)
        if not _table_fits(table, size, em=0.5, room=1.0):
            # Even broken at every hyphenation point its numbers cannot fit (the explore
            # notebook's 22-column score frames): this table alone may break inside a word.
            table["class"] = " ".join([*_classes(table), "harness-squeeze"])
    body = soup.body or soup
    for node in _texts(body):
        if (
            node.find_parent("table") is None
            and len(node) > LONG_TOKEN
            and any(len(t) > LONG_TOKEN for t in node.split())
        ):
            _rewrite(node, soup, _lang_of(node, default_lang), 0)
