"""Edit effort: how much a reviewer must change a draft to reach the approved reference.

Character- and word-level normalized Levenshtein similarity (RapidFuzz), word edit operations,
and estimated reviewer minutes against the minutes to write the reference from scratch:

    review_minutes  = draft words / read_wpm + (inserted + replaced words) / compose_wpm
                      + deleted words * deleted_word_seconds / 60 + lookup_minutes
    scratch_minutes = reference words / compose_wpm + lookup_minutes
    saved_minutes   = scratch_minutes - review_minutes

New words cost the same whether typed into a draft or into a blank page, and a reviewer checks
the facts either way, so a draft that must be rewritten saves nothing (slightly negative: it
had to be read). The rates live in ``rubrics/effort.yaml``.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml
from rapidfuzz.distance import Levenshtein

from harness.datasets import Dataset
from harness.scorers import Metric, ScoreFn, scorer

_WORD = re.compile(r"\S+")
DEFAULT_RATES = {
    "read_wpm": 230.0,  # reading a draft closely
    "compose_wpm": 12.0,  # writing approved text, thinking included (new or replaced words too)
    "deleted_word_seconds": 0.5,  # selecting and deleting one word
    "lookup_minutes": 2.0,  # checking the facts in the approved sources (scratch or review)
}
RATES_FILE = Path(__file__).resolve().parents[2] / "rubrics" / "effort.yaml"


def words(text: str) -> list[str]:
    """Whitespace tokens: a changed punctuation mark changes its word, as in an editor."""
    return _WORD.findall(text)


def load_rates(path: str | Path | None = None) -> dict[str, float]:
    """Editing rates from a YAML file (defaults where a rate is not given)."""
    rates = dict(DEFAULT_RATES)
    p = Path(path) if path else RATES_FILE
    if p.is_file():
        data = yaml.safe_load(p.read_text(encoding="utf-8")) or {}
        rates.update(
            {k: float(v) for k, v in (data.get("rates") or {}).items() if k in DEFAULT_RATES}
        )
    return rates


def edit_effort(
    draft: str | None, reference: str, rates: dict[str, float] | None = None
) -> dict[str, float]:
    """Every edit metric for one draft; all NaN when there is no draft."""
    names = (
        "char_similarity",
        "word_similarity",
        "words_inserted_count",
        "words_deleted_count",
        "words_substituted_count",
        "review_minutes",
        "scratch_minutes",
        "saved_minutes",
    )
    if draft is None or (isinstance(draft, float) and math.isnan(draft)):
        return dict.fromkeys(names, math.nan)
    r = rates or DEFAULT_RATES
    dw, rw = words(draft), words(reference)
    ins = dele = sub = 0
    for op in Levenshtein.editops(dw, rw):
        if op.tag == "insert":
            ins += 1
        elif op.tag == "delete":
            dele += 1
        else:
            sub += 1
    review = (
        len(dw) / r["read_wpm"]
        + (ins + sub) / r["compose_wpm"]
        + dele * r["deleted_word_seconds"] / 60.0
        + r["lookup_minutes"]
    )
    scratch = len(rw) / r["compose_wpm"] + r["lookup_minutes"]
    return {
        "char_similarity": Levenshtein.normalized_similarity(draft, reference),
        "word_similarity": Levenshtein.normalized_similarity(dw, rw),
        "words_inserted_count": float(ins),
        "words_deleted_count": float(dele),
        "words_substituted_count": float(sub),
        "review_minutes": review,
        "scratch_minutes": scratch,
        "saved_minutes": scratch - review,
    }


@scorer(
    "edit",
    family="edit",
    metrics=[
        Metric("char_similarity", "1 - normalized character Levenshtein distance to the reference"),
        Metric("word_similarity", "1 - normalized word Levenshtein distance to the reference"),
        Metric("words_inserted_count", "words the reviewer must add", False, "words"),
        Metric("words_deleted_count", "words the reviewer must delete", False, "words"),
        Metric("words_substituted_count", "words the reviewer must replace", False, "words"),
        Metric(
            "review_minutes",
            "estimated minutes to read the draft and edit it into the reference",
            False,
            "minutes",
        ),
        Metric(
            "scratch_minutes",
            "estimated minutes to write the reference from scratch",
            False,
            "minutes",
        ),
        Metric(
            "saved_minutes",
            "scratch_minutes - review_minutes (negative: the draft costs time)",
            True,
            "minutes",
        ),
    ],
)
def edit_scorer(rates: str | None = None, **_: Any) -> ScoreFn:
    """Edit effort against the approved reference (RapidFuzz Levenshtein)."""
    r = load_rates(rates)

    def score(frame: pd.DataFrame, dataset: Dataset) -> pd.DataFrame:
        refs = frame["reference"].tolist()
        rows = [
            edit_effort(o if isinstance(o, str) else None, ref, r)
            for o, ref in zip(frame["output"].tolist(), refs, strict=True)
        ]
        out = pd.DataFrame(rows, index=frame.index)
        return out.astype(np.float64)

    return score
