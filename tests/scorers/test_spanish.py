"""Spanish drafts: dates, times, money, durations, grades, reading level and escalation."""

from __future__ import annotations

import pandas as pd
import pytest

from harness.data.dataset import Dataset, load_dataset
from harness.scorers import get_scorer
from harness.scorers.accuracy import check_claims, extract_claims, fact_coverage
from harness.scorers.governance import (
    draft_language,
    is_escalation,
    is_spanish,
    reading_grade,
)

from ..conftest import SAMPLE


@pytest.fixture(scope="module")
def sample() -> Dataset:
    return load_dataset(SAMPLE)


def keys(text: str, kind: str) -> list:
    return [c.key for c in extract_claims(text) if c.kind == kind]


@pytest.mark.parametrize(
    ("text", "kind", "expected"),
    [
        # dates: the same key as "March 15[, 2026]"
        ("La reunión es el 15 de marzo.", "date", [(3, 15, None)]),
        ("el 15 de marzo de 2026", "date", [(3, 15, 2026)]),
        ("el 1.º de septiembre", "date", [(9, 1, None)]),
        ("del 30 de marzo al 3 de abril de 2026", "date", [(3, 30, 2026), (4, 3, 2026)]),
        ("del 2 al 6 de marzo", "date", [(3, 2, None), (3, 6, None)]),
        ("El 22 de Diciembre", "date", [(12, 22, None)]),
        # times
        ("a las 3:30 p. m.", "time", [(3, 30, "p")]),
        ("de 8:00 a. m. a 4:30 p. m.", "time", [(8, 0, "a"), (4, 30, "p")]),
        ("a las 3 de la tarde", "time", [(3, 0, "p")]),
        ("a las 7 de la mañana", "time", [(7, 0, "a")]),
        ("al mediodía", "time", [(12, 0, "p")]),
        ("a las 15:30", "time", [(3, 30, "p")]),
        # money
        ("cuesta $10", "money", ["10"]),
        ("cuesta 10 dólares", "money", ["10"]),
        ("son 25 dolares", "money", ["25"]),
        ("una leche extra cuesta $0.75", "money", ["0.75"]),
        ("50 centavos", "money", ["0.5"]),
        # durations, grades, weekdays, percent
        ("dentro de 2 días escolares", "duration", [(2, "school day")]),
        ("dentro de dos días escolares", "duration", [(2, "school day")]),
        ("en 15 días naturales", "duration", [(15, "calendar day")]),
        ("5 días hábiles", "duration", [(5, "business day")]),
        ("dos semanas antes", "duration", [(2, "week")]),
        ("su hija de 7.º grado", "grade", [(7, 7)]),
        ("en séptimo grado", "grade", [(7, 7)]),
        ("el miércoles y los sábados", "weekday", ["wednesday", "saturday"]),
        ("un 10 por ciento", "percent", ["10"]),
    ],
)
def test_spanish_forms_get_the_english_keys(text, kind, expected):
    assert keys(text, kind) == expected


@pytest.mark.parametrize(
    ("draft", "facts", "coverage"),
    [
        ("El pase llega 2 días escolares después del pago.", ["2 días escolares"], 1.0),
        ("El pase llega dos días escolares después.", ["2 días escolares"], 1.0),
        ("El pase llega three school days later.", ["2 días escolares"], 0.0),
        ("Es el 15 de marzo a las 3:30 p.m.", ["15 de marzo", "3:30 p. m."], 1.0),
        ("Es el 16 de marzo a las 3:30 p.m.", ["15 de marzo", "3:30 p. m."], 0.5),
        ("The fee is $10.", ["10 dólares"], 1.0),  # an English draft carries a Spanish fact
        ("Cuesta 10 dólares.", ["$10"], 1.0),
        ("Cuesta 5 dólares.", ["$10"], 0.0),
        ("Hay que entregar dos comprobantes de domicilio.", ["dos comprobantes de domicilio"], 1.0),
        ("Hay que entregar 2 comprobantes de domicilio.", ["dos comprobantes de domicilio"], 1.0),
    ],
)
def test_required_facts_in_spanish(draft, facts, coverage):
    assert fact_coverage(draft, facts) == coverage


def test_spanish_claims_are_checked_against_the_sources_and_last_year_is_superseded(sample):
    sids = ["transportation-bus-pass-policy-2025-26-es"]
    rows = check_claims(
        "El pase nuevo cuesta $10 y llega 2 días escolares después. Llame al 555-0157.",
        "perdí el pase",
        sids,
        sample,
    )
    assert rows and all(r["status"] == "supported" for r in rows), rows
    old = check_claims("El pase nuevo cuesta 5 dólares.", "perdí el pase", sids, sample)
    # "(era de $5 en 2024-25)" in the Spanish source is a historical remark: it approves nothing
    assert [r["status"] for r in old if r["kind"] == "money"] == ["unsupported"]
    told = check_claims("Cuesta $10 (el año pasado eran $5).", "perdí el pase", sids, sample)
    assert all(r["status"] == "supported" for r in told), told


@pytest.mark.parametrize(
    ("language", "spanish"),
    [("es", True), ("es-MX", True), ("ES", True), ("spa", True), ("en", False), (None, False)],
)
def test_is_spanish(language, spanish):
    assert is_spanish(language) is spanish


EASY_ES = (
    "Hola. Su hijo puede subir al autobús. El pase nuevo cuesta diez dólares. "
    "Lo puede pagar en la escuela. Llame si tiene preguntas."
)
HARD_ES = (
    "La solicitud de evaluación psicopedagógica deberá presentarse obligatoriamente mediante "
    "comunicación escrita dirigida a la administración correspondiente, acompañada de la "
    "documentación justificativa pertinente, conforme a los procedimientos establecidos por la "
    "normativa vigente en materia de educación especial."
)


@pytest.mark.parametrize(
    ("text", "language", "low", "high"),
    [
        (EASY_ES, "es", -5.0, 5.0),
        (HARD_ES, "es", 8.0, 20.0),
        (None, "es", None, None),
    ],
)
def test_spanish_reading_level_uses_a_spanish_formula(text, language, low, high):
    g = reading_grade(text, language)
    if low is None:
        assert g != g  # NaN: no draft
    else:
        assert low <= g <= high


def test_spanish_formula_differs_from_the_english_one():
    # the English formula counts Spanish syllables with an English dictionary: a different grade
    assert reading_grade(HARD_ES, "es") != pytest.approx(reading_grade(HARD_ES, "en"))


ENGLISH = "The replacement pass costs $10 and you can pay for it in HollowPay. Please call us."


def test_reading_level_scorer_reads_the_item_language():
    frame = pd.DataFrame({"output": [HARD_ES, HARD_ES, ENGLISH], "language": ["es", "en", "es"]})
    out = get_scorer("reading_level")(frame, None)
    assert out["reading_grade"].iloc[0] == pytest.approx(reading_grade(HARD_ES, "es"))
    assert out["reading_grade"].iloc[1] == pytest.approx(reading_grade(HARD_ES, "en"))
    # an English draft to a Spanish item is graded by the English formula
    assert out["reading_grade"].iloc[2] == pytest.approx(reading_grade(ENGLISH, "en"))
    assert out["reading_level_ok"].tolist()[:2] == [0.0, 0.0]


@pytest.mark.parametrize(
    ("draft", "language", "ok"),
    [
        (EASY_ES, "es", 1.0),
        (ENGLISH, "es", 0.0),  # a Spanish-speaking family got an English reply
        (ENGLISH, "en", 1.0),
        (ENGLISH, "vi", 1.0),  # policy answers other languages in English
        (EASY_ES, "en", 0.0),
        ("OK", "es", None),  # too short to tell: unscored
    ],
)
def test_reply_language(draft, language, ok):
    frame = pd.DataFrame({"output": [draft], "language": [language]})
    val = get_scorer("reply_language")(frame, None)["reply_language_ok"].iloc[0]
    assert (val != val) if ok is None else val == ok
    assert draft_language(draft) in ("es", "en", None)


@pytest.mark.parametrize(
    ("draft", "reason", "ok"),
    [
        (
            "Ya compartí su mensaje con la directora de Ridgeview. Si Valeria está en peligro, "
            "llame al 911 o a la línea de avisos de seguridad, 555-0199.",
            "safety",
            True,
        ),
        ("La consejera lo llamará hoy antes de las 3:00 p. m.", "discipline", True),
        ("Envié su mensaje al director, que se comunicará con usted mañana.", "legal", True),
        ("Un subdirector se pondrá en contacto con usted hoy.", "discipline", True),
        # answers without handing over
        ("El pase de autobús cuesta $10 y se paga en HollowPay.", "safety", False),
        # a hand-off without an emergency route is not enough for safety
        ("Compartí su mensaje con la directora; la llamará hoy.", "safety", False),
        ("Compartí su mensaje con la directora; la llamará hoy.", "discipline", True),
        # a role alone, without routing, is not a hand-off
        ("La directora de la escuela es muy amable.", "discipline", False),
    ],
)
def test_spanish_escalation(draft, reason, ok):
    assert is_escalation(draft, reason) is ok
