"""Stable ids: an item's id is a hash of its normalised question, a source's a slug of its name."""

from __future__ import annotations

import hashlib
import re
import unicodedata


def normalise_question(text: str) -> str:
    """Case, accents' composition, punctuation and spacing removed: what the id is hashed from."""
    t = unicodedata.normalize("NFKC", text).casefold()
    return " ".join(re.sub(r"[^\w]+", " ", t).split())


def item_id(question: str, answer: str | None = None) -> str:
    """``q-`` and 12 hex digits of SHA-256 of the normalised question (and answer, if given)."""
    key = normalise_question(question)
    if answer is not None:
        key += "\x00" + normalise_question(answer)
    return "q-" + hashlib.sha256(key.encode("utf-8")).hexdigest()[:12]


def slug(name: str) -> str:
    """A file name or title as a source id: ``"Bus Pass Policy 2025.pdf"`` -> ``bus-pass-policy-2025``."""
    base = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    s = re.sub(r"[^a-z0-9]+", "-", base.lower()).strip("-")
    return s or "source"


class IdAllocator:
    """Gives each row a stable id: the question's hash; on a repeat, question + answer; then -2..."""

    def __init__(self) -> None:
        self.used: set[str] = set()
        self.repeats = 0

    def __call__(self, question: str, answer: str) -> str:
        first = item_id(question)
        if first not in self.used:
            self.used.add(first)
            return first
        self.repeats += 1
        base = item_id(question, answer)
        candidate, n = base, 2
        while candidate in self.used:
            candidate, n = f"{base}-{n}", n + 1
        self.used.add(candidate)
        return candidate
