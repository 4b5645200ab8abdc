"""The glossary speaks to a leader (issue 24): every measure's meaning in plain words, on one
printed line, with its unit; no analyst's term (the formula, library or setting names the
glossary printed before: Levenshtein, TF-IDF, max_tokens, ...)."""

from __future__ import annotations

import re

import pytest

from harness.metrics import METRICS
from harness.phases import PHASE_QUESTIONS
from harness.report.glossary import entry

# The analysts' words the glossary's meanings held, and their kin.
JARGON = [
    "Levenshtein",
    "TF-IDF",
    "IDF",
    "cosine",
    "Jaccard",
    "kappa",
    "Flesch",
    "Kincaid",
    "LLM",
    "rescaled",
    "normalized",
    "token",
    "NaN",
    "group value",
    "claim key",
    "reference",
    "item",
    "input",
]
LINE = 64  # characters the printed glossary gives a meaning on one line (glossary_table)


@pytest.mark.parametrize("metric", sorted(METRICS))
def test_every_measure_means_something_to_a_leader(metric: str):
    e = entry("metric", metric)
    meaning = e["meaning"]
    assert meaning and e["unit"], f"{metric}: no meaning or unit"
    assert len(meaning) <= LINE, f"{metric}: {len(meaning)} characters, one line is {LINE}"
    for word in JARGON:
        assert not re.search(rf"\b{re.escape(word)}", meaning, re.I), f"{metric}: '{word}'"
    assert not re.search(r"\b[a-z]+_[a-z_]+\b", meaning), f"{metric}: a field or metric id"
    assert not re.search(r"[a-z]+ - [a-z]+|\(score", meaning), f"{metric}: a formula"


@pytest.mark.parametrize("phase", sorted(PHASE_QUESTIONS))
def test_every_phase_means_something_to_a_leader(phase: str):
    meaning = entry("phase", phase)["meaning"]
    assert meaning and not re.search(r"\b[a-z]+_[a-z_]+\b", meaning)
