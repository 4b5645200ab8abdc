"""Drafts as a family would receive them: plain text, placeholders found, duplicates keyed.

Every candidate's draft (and the approved-answer control) goes through :func:`plain_text`
before a reviewer sees it, so no source of drafts gives itself away by its formatting: Markdown
emphasis, headings, bullets, links, code and tables become the plain text an email or a text
message would carry. :func:`placeholders` finds fill-in slots such as ``[Parent's Name]`` that
a family must never receive; the station flags them and counts them as a defect of the draft.
"""

from __future__ import annotations

import re

_FENCE = re.compile(r"^[ \t]*(```|~~~).*$", re.M)
_HEADING = re.compile(r"^[ \t]{0,3}#{1,6}[ \t]+(.*?)[ \t]*#*[ \t]*$", re.M)
_QUOTE = re.compile(r"^[ \t]{0,3}>[ \t]?", re.M)
_BULLET = re.compile(r"^([ \t]*)[-*+][ \t]+(?=\S)", re.M)
_RULE = re.compile(r"^[ \t]{0,3}([-*_])([ \t]*\1){2,}[ \t]*$", re.M)
_IMAGE = re.compile(r"!\[([^\]\n]*)\]\(([^)\s]+)[^)]*\)")
_LINK = re.compile(r"\[([^\]\n]+)\]\(([^)\s]+)[^)]*\)")
_AUTOLINK = re.compile(r"<((?:https?://|mailto:)[^>\s]+)>")
_CODE = re.compile(r"`([^`\n]+)`")
_STRONG = re.compile(r"(\*\*|__)(?=\S)(.+?)(?<=\S)\1")
_EMPH = re.compile(
    r"(?<![\w*])\*(?=\S)([^*\n]+?)(?<=\S)\*(?![\w*])|(?<!\w)_(?=\S)([^_\n]+?)(?<=\S)_(?!\w)"
)
_TABLE_RULE = re.compile(r"^\s*\|?\s*:?-{2,}:?\s*(\|\s*:?-{2,}:?\s*)*\|?\s*$")
_BLANKS = re.compile(r"\n{3,}")

# fill-in slots: [Parent's Name], [insert date], {first_name}, {{ school }}, <Student Name>
_PLACEHOLDER = re.compile(
    r"\[(?:[A-Z][^\[\]\n]{0,40}|(?:insert|your|enter|add|name|date|time|phone|email|school|"
    r"student|parent|child|teacher|principal|address)\b[^\[\]\n]{0,40})\]"
    r"|\{\{?\s*[A-Za-z_][\w .'-]{0,40}\s*\}\}?"
    r"|<(?:[A-Z][a-z]+(?:['’]s)?)(?:\s+[A-Z][a-z]+){0,3}>"
    r"|\b(?:XX+|X{2,}/X{2,}(?:/X{2,4})?)\b",
)


def _table(lines: list[str]) -> list[str]:
    """A Markdown table as lines of ``header: value`` pairs (one block per row)."""
    rows = [[c.strip() for c in ln.strip().strip("|").split("|")] for ln in lines]
    rows = [r for r, ln in zip(rows, lines, strict=True) if not _TABLE_RULE.match(ln)]
    if len(rows) < 2:
        return [" ".join(c for c in r if c) for r in rows]
    head, body = rows[0], rows[1:]
    out: list[str] = []
    for r in body:
        pairs = [
            f"{h}: {v}" if h else v
            for h, v in zip(head + [""] * (len(r) - len(head)), r, strict=False)
            if v
        ]
        out.append("; ".join(pairs))
    return out


def _tables(text: str) -> str:
    lines = text.split("\n")
    out: list[str] = []
    i = 0
    while i < len(lines):
        if lines[i].count("|") >= 2 and i + 1 < len(lines) and _TABLE_RULE.match(lines[i + 1]):
            j = i
            while j < len(lines) and lines[j].count("|") >= 1 and lines[j].strip():
                j += 1
            out.extend(_table(lines[i:j]))
            i = j
        else:
            out.append(lines[i])
            i += 1
    return "\n".join(out)


def plain_text(text: str) -> str:
    """A draft as plain text, the way a family would receive it (Markdown stripped).

    Headings, emphasis, inline code and block quotes lose their marks; bullets become ``•``;
    links read ``text (address)``; a table becomes one ``header: value; ...`` line per row;
    horizontal rules and code fences go; line endings become ``\\n``; runs of blank lines
    become one. Plain text passes through unchanged (apart from trailing spaces).
    """
    t = str(text).replace("\r\n", "\n").replace("\r", "\n")
    t = _FENCE.sub("", t)
    t = _tables(t)
    t = _RULE.sub("", t)
    t = _HEADING.sub(r"\1", t)
    t = _QUOTE.sub("", t)
    t = _BULLET.sub(r"\1• ", t)
    t = _IMAGE.sub(r"\1", t)
    t = _LINK.sub(lambda m: m.group(1) if m.group(1) == m.group(2) else f"{m[1]} ({m[2]})", t)
    t = _AUTOLINK.sub(r"\1", t)
    t = _CODE.sub(r"\1", t)
    t = _STRONG.sub(r"\2", t)
    t = _EMPH.sub(lambda m: m.group(1) or m.group(2), t)
    t = "\n".join(line.rstrip() for line in t.split("\n"))
    return _BLANKS.sub("\n\n", t).strip()


def placeholders(text: str) -> list[str]:
    """The fill-in slots left in a draft (``[Parent's Name]``, ``{name}``...), in order, once."""
    seen: list[str] = []
    for m in _PLACEHOLDER.finditer(str(text)):
        if m.group(0) not in seen:
            seen.append(m.group(0))
    return seen


def same_text_key(text: str) -> str:
    """Two drafts with this key read the same to a reviewer (case and spacing aside)."""
    return " ".join(str(text).split()).casefold()
