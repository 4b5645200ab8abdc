"""Which language a draft is written in, and a bilingual section's English part.

- :func:`draft_language`: ``es`` or ``en`` by which language's common words a text uses more
  (None when it is too short to tell); the reply-language and reading-level scorers read it.
- :func:`english_part`: a newsletter section the district also publishes in Spanish
  (``publish_es: true``) is the English section, then its Spanish version; its length and
  reading grade are measured on the English part (the Spanish version is the same section
  translated), and :func:`publishes_es` says which generations' items are such sections.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from harness.data.dataset import Dataset

_ES_WORDS = frozenset(
    [
        "el",
        "la",
        "los",
        "las",
        "de",
        "del",
        "que",
        "y",
        "en",
        "un",
        "una",
        "por",
        "para",
        "con",
        "su",
        "sus",
        "es",
        "se",
        "al",
        "lo",
        "le",
        "usted",
        "puede",
        "hola",
        "gracias",
        "está",
        "pase",
        "escuela",
    ]
)
_EN_WORDS = frozenset(
    [
        "the",
        "and",
        "to",
        "of",
        "you",
        "your",
        "is",
        "for",
        "in",
        "on",
        "with",
        "be",
        "will",
        "we",
        "are",
        "can",
        "please",
        "this",
        "that",
        "it",
    ]
)


def draft_language(text: str | None) -> str | None:
    """``es`` or ``en`` by which language's common words the text uses more; None if unsure."""
    if not isinstance(text, str):
        return None
    words = re.findall(r"[a-záéíóúñü]+", text.lower())
    es = sum(w in _ES_WORDS for w in words)
    en = sum(w in _EN_WORDS for w in words)
    if es + en < 3 or es == en:
        return None
    return "es" if es > en else "en"


def english_part(text: str) -> str:
    """A bilingual section's English part: the paragraphs before its Spanish version (the first
    paragraph in Spanish, with the bold or ``#`` headline just above it)."""
    blocks = [b for b in re.split(r"\n\s*\n", text) if b.strip()]
    first = next((i for i, b in enumerate(blocks) if draft_language(b) == "es"), None)
    if first is None:
        return text
    above = blocks[first - 1].strip() if first else ""
    if above.startswith(("**", "#")) and len(above.split()) <= 14:
        first -= 1
    return "\n\n".join(blocks[:first])


def publishes_es(frame: pd.DataFrame, dataset: Dataset | None) -> list[bool]:
    """Per generation: whether its item is a section the district also publishes in Spanish."""
    if dataset is None or "publish_es" not in dataset.items.columns or "item_id" not in frame:
        return [False] * len(frame)
    flags = dataset.items["publish_es"].reindex(frame["item_id"]).tolist()
    return [isinstance(v, bool | np.bool_) and bool(v) for v in flags]
