"""Source documents and approved answers split into passages, each with a stable id.

**Passage ids** (what issue 23's staff-question citations store): ``<doc>#<hash>``, where
``<doc>`` is the source id (the file stem under ``sources/``) or the item id of an approved
answer, and ``<hash>`` is the first 10 hex digits of the SHA-1 of the passage's normalised
text (:func:`normalise`: Unicode NFKC, Markdown emphasis and heading marks removed, runs of
white space made one space, case folded). The id depends only on the document and the text of
the passage, never on its position: re-splitting a document (a paragraph added above, a
heading renamed) keeps the id of every passage whose text is unchanged, and a passage whose
text changed gets a new id. A whole source document given as linked context is cited by its
source id alone (no ``#``).

**Splitting** (:func:`split_document`): a new passage starts at every Markdown heading and at
every blank line; a paragraph shorter than ``MIN_WORDS`` is joined to the next one of its
section (a lone heading's words go to the title instead); a paragraph longer than
``MAX_WORDS`` (a long table, a run-on list) is cut at line ends, then at sentence ends, so
no passage given to a model is longer than ``MAX_WORDS`` words (a single sentence longer than
that is cut at ``MAX_WORDS`` words). Each passage's title is the document's title and its
section heading. An approved answer is one passage.
"""

from __future__ import annotations

import functools
import hashlib
import re
import unicodedata
from dataclasses import dataclass

MIN_WORDS = 12
MAX_WORDS = 120

_HEADING = re.compile(r"^\s{0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
_MARKUP = re.compile(r"[*_`]+|^\s{0,3}#{1,6}\s+", re.M)
_SENTENCE = re.compile(r"(?<=[.!?;:])\s+")


@dataclass(frozen=True)
class Passage:
    """One passage of a document (before it gets the document's metadata)."""

    id: str
    heading: str
    text: str


def normalise(text: str) -> str:
    """The text a passage id hashes: NFKC, no Markdown marks, one space, case folded."""
    t = _MARKUP.sub("", unicodedata.normalize("NFKC", text))
    return " ".join(t.split()).casefold()


def passage_id(doc_id: str, text: str) -> str:
    """``<doc>#<first 10 hex digits of SHA-1 of the normalised text>`` (see the module doc)."""
    digest = hashlib.sha1(normalise(text).encode("utf-8")).hexdigest()[:10]
    return f"{doc_id}#{digest}"


def _cut(block: str, limit: int) -> list[str]:
    """A block longer than ``limit`` words, cut at line ends, then sentence ends, then words."""
    if len(block.split()) <= limit:
        return [block]
    units: list[str] = []
    for line in block.splitlines():
        if len(line.split()) <= limit:
            units.append(line)
            continue
        for sent in _SENTENCE.split(line):
            ws = sent.split()
            units += [" ".join(ws[i : i + limit]) for i in range(0, len(ws), limit)]
    out: list[str] = []
    cur: list[str] = []
    n = 0
    for u in units:
        k = len(u.split())
        if cur and n + k > limit:
            out.append("\n".join(cur))
            cur, n = [], 0
        cur.append(u)
        n += k
    if cur:
        out.append("\n".join(cur))
    return [o for o in out if o.strip()]


def _sections(text: str) -> list[tuple[str, list[str]]]:
    """(heading, paragraphs) in document order; text before any heading has heading ''."""
    sections: list[tuple[str, list[str]]] = [("", [])]
    para: list[str] = []

    def end_para() -> None:
        if para:
            sections[-1][1].append("\n".join(para).strip())
            para.clear()

    for line in text.splitlines():
        m = _HEADING.match(line)
        if m:
            end_para()
            sections.append((m.group(2).strip(), []))
        elif not line.strip():
            end_para()
        else:
            para.append(line.rstrip())
    end_para()
    return [(h, [p for p in ps if p]) for h, ps in sections if ps]


def split_document(
    doc_id: str, text: str, min_words: int = MIN_WORDS, max_words: int = MAX_WORDS
) -> list[Passage]:
    """A document's passages, split at headings and paragraphs (see the module doc)."""
    out: list[Passage] = []
    seen: set[str] = set()
    for heading, paras in _sections(text):
        merged: list[str] = []
        carry = ""
        for p in paras:
            p = f"{carry}\n{p}" if carry else p
            if len(p.split()) < min_words:
                carry = p
                continue
            merged.append(p)
            carry = ""
        if carry:
            if merged and len(merged[-1].split()) + len(carry.split()) <= max_words:
                merged[-1] = f"{merged[-1]}\n{carry}"
            else:
                merged.append(carry)
        for block in merged:
            for piece in _cut(block, max_words):
                pid = passage_id(doc_id, piece)
                if pid in seen:  # the same paragraph twice in one document: one passage
                    continue
                seen.add(pid)
                out.append(Passage(pid, heading, piece.strip()))
    return out


_GREETING = re.compile(
    r"^\s*(dear|hi|hello|hola|estimad[oa]s?|good (morning|afternoon|evening)|buen(os|as) "
    r"(dias|días|tardes))\b[^\n]{0,60}[,:!]\s*$",
    re.I | re.M,
)
# "Hi Megan, welcome to ..." on one line: the salutation up to its comma or exclamation mark
_LEAD = re.compile(
    r"\A\s*(dear|hi|hello|hola|estimad[oa]s?)\b(?:(?:mr|mrs|ms|dr|sra?)\.|[^,!.\n]){0,40}"
    r"[,!]\s*(and\s+)?",
    re.I,
)
_SIGNOFF = re.compile(
    r"^\s*(thanks|thank you|best|regards|sincerely|warmly|saludos|atentamente|gracias)\b"
    r"[^\n]{0,40}[,!.]?\s*(\n.*)?\Z",
    re.I | re.M | re.S,
)


def depersonalize(text: str, people: list[str]) -> str:
    """An earlier family's approved answer without its greeting and sign-off lines (or a
    leading "Hi Megan," clause) and with the dataset's listed names removed: a retrieved
    answer must not carry another family's details."""
    out = _SIGNOFF.sub("", _GREETING.sub("", text))
    out = _LEAD.sub("", out, count=1)
    if out[:1].islower():
        out = out[0].upper() + out[1:]
    anyone, each = _name_patterns(tuple(str(n) for n in people))
    if anyone is not None and anyone.search(out):  # most answers name no one: one search
        for pattern in each:
            out = pattern.sub("", out)
    return re.sub(r"[ \t]{2,}", " ", out).strip()


@functools.lru_cache(maxsize=8)
def _name_patterns(people: tuple[str, ...]) -> tuple[re.Pattern[str] | None, list[re.Pattern[str]]]:
    """The patterns :func:`depersonalize` removes, compiled once per list of people: each full
    name (any case), then each capitalised part of one (a first name on its own), longest
    first; and one pattern that finds any of them (any case), to skip texts naming no one."""
    names = {n.strip() for n in people if len(n.strip()) > 2}
    parts = {p for n in names for p in n.split() if len(p) > 2 and p[0].isupper()}
    each = [
        re.compile(rf"\b{re.escape(n)}\b('s)?", re.I) for n in sorted(names, key=len, reverse=True)
    ]
    each += [re.compile(rf"\b{re.escape(p)}\b('s)?") for p in sorted(parts, key=len, reverse=True)]
    words = sorted(names | parts, key=len, reverse=True)
    anyone = (
        re.compile(r"\b(?:" + "|".join(map(re.escape, words)) + r")\b", re.I) if words else None
    )
    return anyone, each
