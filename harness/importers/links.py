"""What the import fills in from the text and the knowledge base: each item's language, and
source links proposed for a person to accept.

- ``language``: detected from the family's message (:func:`harness.knowledge.detect_language`,
  English and Spanish by stop words and Spanish-only letters; a few others by script) when the
  export has no language column; a message it cannot tell is left without one.
- ``suggested_source_ids``: for an item citing no source, the policies whose passages best match
  its question and approved answer (:func:`harness.knowledge.propose_links`). A person accepts
  or rejects each one in the suggestions CSV (``kind`` ``source_link``), which moves accepted
  ones into ``source_ids`` and records the verdicts (``accepted_source_ids``,
  ``rejected_source_ids``).
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

LINK_VERDICTS = ("accepted_source_ids", "rejected_source_ids")


def detect_languages(records: list[dict[str, Any]]) -> dict[str, int]:
    """Set ``language`` on records that lack one, from the message; counts per language set."""
    from harness.knowledge import detect_language

    counts: dict[str, int] = {}
    for rec in records:
        if rec.get("language") or not isinstance(rec.get("input"), str):
            continue
        lang = detect_language(rec["input"])
        if lang == "und":
            continue
        rec["language"] = lang
        rec["language_detected"] = True
        counts[lang] = counts.get(lang, 0) + 1
    return counts


def propose_source_links(dataset: str | Path, records: list[dict[str, Any]]) -> int:
    """Add ``suggested_source_ids`` to records citing no source (none reviewed yet), from the
    knowledge base of the dataset folder just written; returns how many items got proposals."""
    from harness.data.dataset import load_dataset
    from harness.errors import DatasetError
    from harness.knowledge import build, propose_links

    try:
        ds = load_dataset(dataset)
    except DatasetError:  # validate reports it; links are only a proposal
        return 0
    if ds.sources.empty:
        return 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the build's notes are for a run, not an import
        kb = build(ds, cache=False)
    n = 0
    for rec in records:
        if rec.get("source_ids") or any(rec.get(k) for k in LINK_VERDICTS):
            continue
        links = propose_links(kb, rec)
        if links:
            rec["suggested_source_ids"] = links
            n += 1
        else:
            rec.pop("suggested_source_ids", None)
    return n
