"""Checkable claims in a text: :func:`extract_claims` and :class:`Claim` (kind, text, key).

Not a scorer family (``harness.scorers.FAMILIES`` does not list it): the accuracy,
consistency and governance scorers use it. What is extracted, and how keys are normalised,
is written in :mod:`harness.scorers.accuracy`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from harness.scorers.lexicon import STOP_CAPS
from harness.scorers.patterns import BASE_KIND, PATTERNS, claim_key, triggered

_CAP_TOKEN = re.compile(r"[A-ZÀ-ÖØ-Þ][\w'’&-]*")


@dataclass(frozen=True)
class Claim:
    """One checkable claim: its kind, the text as written and a normalised key."""

    kind: str
    text: str
    key: Any
    start: int = 0


def _names(text: str, masked: str) -> list[Claim]:
    """Proper nouns: CamelCase words, acronyms, runs of capitalised words inside a sentence."""
    out: list[Claim] = []
    run: list[re.Match[str]] = []
    headings = _heading_lines(text)

    def heading(pos: int) -> bool:
        return bool(headings) and any(a <= pos < b for a, b in headings)

    def flush() -> None:
        if not run:
            return
        toks = [m.group(0).rstrip("'’-&").removesuffix("'s").removesuffix("’s") for m in run]
        first = run[0].start()
        before = text[:first].rstrip(" \t\"'“‘(¿¡«")
        initial = (
            not before
            or before[-1] in ".!?:\n-–—•*#>|"
            or bool(re.search(r"(?:^|\s)\(?\w\)$", before))
            or heading(first)
        )
        special = [_is_special(t) for t in toks]
        if initial and not special[0]:
            toks, special = toks[1:], special[1:]
            first = run[1].start() if len(run) > 1 else first
        while toks and _stop(toks[0]) and not special[0]:
            toks, special = toks[1:], special[1:]
        while toks and _stop(toks[-1]) and not special[-1]:
            toks, special = toks[:-1], special[:-1]
        if len(toks) == 1 and len(toks[0]) < 3:
            toks = []
        if toks and heading(first) and not any(special):
            toks = []
        if toks:
            phrase = " ".join(toks)
            out.append(Claim("name", phrase, words_key(phrase), first))
        run.clear()

    prev_end = -1
    for m in _CAP_TOKEN.finditer(masked):
        tok = m.group(0)
        if tok.isupper() and len(tok) > 5:  # shouting, not an acronym
            flush()
            prev_end = -1
            continue
        if m.start() > 0 and (masked[m.start() - 1].isalnum() or masked[m.start() - 1] in "'’"):
            continue
        if run and masked[prev_end : m.start()] != " ":
            flush()
        run.append(m)
        prev_end = m.end()
    flush()
    return out


def _stop(tok: str) -> bool:
    t = tok.lower()
    return t in STOP_CAPS or re.split(r"['’]", t)[0] in STOP_CAPS


def _heading_lines(text: str) -> list[tuple[int, int]]:
    """Spans of Title Case heading lines (newsletter headlines): short, no final stop."""
    if "\n" not in text:
        return []
    out = []
    pos = 0
    for line in text.split("\n"):
        end = pos + len(line)
        if 0 < len(line) <= 90 and not line.rstrip().endswith((".", "?", "!", ":")):
            ws = _HEAD_WORD.findall(line)
            if len(ws) >= 2 and sum(w[0].isupper() for w in ws) / len(ws) >= 0.6:
                out.append((pos, end))
        pos = end + 1
    return out


_HEAD_WORD = re.compile(r"[A-Za-z][\w'’-]*")


def _is_special(tok: str) -> bool:
    """CamelCase (HollowLink) or an acronym (CHHS): a name even at the start of a sentence."""
    core = tok.replace("-", "")
    return len(core) > 1 and (core.isupper() or any(c.isupper() for c in core[1:]))


def words_key(text: str) -> str:
    return " ".join(re.sub(r"'s\b|’s\b", "", text.lower()).translate(_PUNCT).split())


_PUNCT = str.maketrans({c: " " for c in "!\"#%&'()*+,./:;<=>?@[\\]^_`{|}~’‘“”–—-"})


def extract_claims(text: str | None) -> list[Claim]:
    """Every checkable claim in ``text``, in order of appearance."""
    if not isinstance(text, str) or not text:
        return []
    return list(_extract(text))


@lru_cache(maxsize=32768)
def _extract(text: str) -> tuple[Claim, ...]:
    masked = text
    low = text.lower()
    has_digit = any(c.isdigit() for c in text)
    out: list[Claim] = []
    for kind, pat in PATTERNS:
        if not triggered(kind, low, has_digit):
            continue
        spans = []
        for m in pat.finditer(masked):
            if not m.group(0).strip():
                continue
            key = claim_key(kind, m)
            if key is None:
                continue
            k = BASE_KIND.get(kind, kind)
            span = text[m.start() : m.end()].strip()
            for one in key if isinstance(key, list) else [key]:
                out.append(Claim(k, span, one, m.start()))
            spans.append((m.start(), m.end()))
        if spans:
            parts, pos = [], 0
            for a, b in spans:
                parts += [masked[pos:a], "\x00" * (b - a)]  # not a space: spans never join
                pos = b
            parts.append(masked[pos:])
            masked = "".join(parts)
    out.extend(_names(text, masked))
    out.sort(key=lambda c: c.start)
    return tuple(out)
