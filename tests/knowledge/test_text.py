"""Folding, Spanish stemming and language detection (checked on the whole sample district)."""

from __future__ import annotations

import json

import pytest

from harness.knowledge import analyze, detect_language
from harness.scorers.language import english_part

from ..conftest import SAMPLE


def test_spanish_is_folded_and_stemmed_as_spanish():
    assert analyze("¿Cuándo es la Inscripción?", "es") == analyze("cuando inscripciones", "es")
    assert "inscripcion" in analyze("inscripción", "es")
    assert analyze("registrations", "en") == analyze("registration", "en")
    assert analyze("Ciao ragazzi", "it") == ["ciao", "ragazzi"]  # other languages: folded only


def test_language_detection_on_every_message_and_answer_of_the_sample_district():
    rows = [json.loads(x) for x in (SAMPLE / "items.jsonl").read_text().splitlines()]
    wrong = [r["id"] for r in rows if detect_language(r["input"]) != r.get("language", "en")]
    assert wrong == []
    # the district answers in English unless the family wrote Spanish; a newsletter section it
    # also publishes in Spanish is the English section, then its Spanish version
    answers = [r for r in rows if r.get("language", "en") in ("en", "es")]
    bilingual = [r for r in answers if r.get("publish_es")]
    assert len(bilingual) == 3
    for r in bilingual:
        english = english_part(r["reference"])
        assert detect_language(english) == "en"
        assert detect_language(r["reference"][len(english) :]) == "es"
    others = [r for r in answers if not r.get("publish_es")]
    assert all(detect_language(r["reference"]) == r.get("language", "en") for r in others)
    assert sum(r.get("language") == "es" for r in rows) >= 20


@pytest.mark.parametrize(
    ("text", "lang"),
    [("", "und"), ("12345 $40", "und"), ("Hola, ¿cómo están?", "es"), ("Where is the bus?", "en")],
)
def test_detect_language_edges(text, lang):
    assert detect_language(text) == lang
