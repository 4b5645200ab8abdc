"""Accuracy: required facts, claims checked against the approved sources, similarity to the reference.

**Checkable claims.** :func:`extract_claims` finds, in this order (a span taken by one kind is
masked for the next): emails, URLs, phone numbers (incl. 911), dates (ISO, ``1/27[/2026]``,
``Aug 13[, 2025]``, ``13 August``), times (``8:00 a.m.``, ``10:05``, noon), money (``$10.00``,
``10 dollars``), percentages, school years (``2025-26``), years, grade levels (``7th grade``,
``grades 6-8``, ``TK-5``), durations (``2 school days``, ``two weeks``), weekdays and proper
nouns (CamelCase words such as HollowLink, acronyms such as CHHS, runs of capitalised words
that do not start a sentence, e.g. Safety Tip Line). Each claim gets a normalised key, so that
``$10.00`` = ``$10``, ``(555) 555-0157`` = ``555-0157``, ``two school days`` = ``2 school days``,
``Apr. 17`` = ``April 17``, ``8 a.m.`` = ``8:00 AM``.

**Support.** A claim is supported when the same key occurs in the item's approved sources or its
input (dates and times match when their known parts agree, a grade when a supported range
contains it, a URL when it is a supported URL or its prefix, a proper noun when the phrase occurs
in the text). Before matching, current sources lose their *historical* remarks ("(it was $5 in
2024-25)", sentences starting "Last year"), so last year's fee is not approved by the sentence
that retires it. A claim that is not supported but occurs in a superseded source replaced by one
of the item's sources is *superseded* (counted in both ``unsupported_claims_count`` and
``superseded_claims_count``).

**Required facts.** A fact holding a digit, a date, a money amount, an email or a URL must occur
*exactly* in the draft after both are normalised (the claim keys above, lower case, number words
one-twenty as digits, punctuation as spaces). Any other fact is matched fuzzily:
``rapidfuzz.fuzz.partial_ratio`` of the normalised fact against the normalised draft
>= ``FUZZY_THRESHOLD`` (90: tolerates an inflection or a typo, not a different word).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from rapidfuzz import fuzz

from harness.datasets import Dataset
from harness.scorers import Metric, ScoreFn, scorer

if TYPE_CHECKING:  # scikit-learn is imported where it is used: claim extraction needs none
    from sklearn.feature_extraction.text import TfidfVectorizer

FUZZY_THRESHOLD = 90.0

NUMBER_WORDS = {
    w: i
    for i, w in enumerate(
        [
            "zero",
            "one",
            "two",
            "three",
            "four",
            "five",
            "six",
            "seven",
            "eight",
            "nine",
            "ten",
            "eleven",
            "twelve",
            "thirteen",
            "fourteen",
            "fifteen",
            "sixteen",
            "seventeen",
            "eighteen",
            "nineteen",
            "twenty",
        ]
    )
} | {"thirty": 30, "forty": 40, "forty-five": 45, "sixty": 60, "ninety": 90}
ORDINAL_WORDS = {
    w: i
    for i, w in enumerate(
        [
            "zeroth",
            "first",
            "second",
            "third",
            "fourth",
            "fifth",
            "sixth",
            "seventh",
            "eighth",
            "ninth",
            "tenth",
            "eleventh",
            "twelfth",
        ]
    )
}
MONTHS = {
    "jan": 1,
    "feb": 2,
    "mar": 3,
    "apr": 4,
    "may": 5,
    "jun": 6,
    "jul": 7,
    "aug": 8,
    "sep": 9,
    "oct": 10,
    "nov": 11,
    "dec": 12,
}
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_WD_ABBR = {
    "mon": "monday",
    "tue": "tuesday",
    "tues": "tuesday",
    "wed": "wednesday",
    "thu": "thursday",
    "thur": "thursday",
    "thurs": "thursday",
    "fri": "friday",
    "sat": "saturday",
    "sun": "sunday",
}
_NUMW = "|".join(sorted(NUMBER_WORDS, key=len, reverse=True))
_MONTH_RE = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
    r"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)"
)

# Spanish forms ("15 de marzo", "del 2 al 6 de marzo", "3 de la tarde", "10 dólares",
# "3 días escolares", "7.º grado", "miércoles"): keys are the same as the English forms', so a
# Spanish draft is checked against an English or a Spanish source alike.
MONTHS_ES = {
    "ene": 1,
    "feb": 2,
    "mar": 3,
    "abr": 4,
    "may": 5,
    "jun": 6,
    "jul": 7,
    "ago": 8,
    "sep": 9,
    "set": 9,
    "oct": 10,
    "nov": 11,
    "dic": 12,
}
_MONTH_ES_RE = (
    r"(?:enero|febrero|marzo|abril|mayo|junio|julio|agosto|sep?tiembre|octubre|noviembre"
    r"|diciembre)"
)
WEEKDAYS_ES = {
    "lunes": "monday",
    "martes": "tuesday",
    "miércoles": "wednesday",
    "miercoles": "wednesday",
    "jueves": "thursday",
    "viernes": "friday",
    "sábado": "saturday",
    "sabado": "saturday",
    "domingo": "sunday",
}
NUMBER_WORDS_ES = {
    "dos": 2,
    "tres": 3,
    "cuatro": 4,
    "cinco": 5,
    "seis": 6,
    "siete": 7,
    "ocho": 8,
    "nueve": 9,
    "diez": 10,
    "doce": 12,
    "quince": 15,
    "veinte": 20,
    "treinta": 30,
}
ORDINAL_WORDS_ES = {
    "primer": 1,
    "primero": 1,
    "segundo": 2,
    "tercer": 3,
    "tercero": 3,
    "cuarto": 4,
    "quinto": 5,
    "sexto": 6,
    "séptimo": 7,
    "septimo": 7,
    "octavo": 8,
    "noveno": 9,
    "décimo": 10,
    "decimo": 10,
}
_UNITS_ES = {
    "día": "day",
    "dia": "day",
    "semana": "week",
    "mes": "month",
    "hora": "hour",
    "minuto": "minute",
    "año": "year",
    "semestre": "semester",
}
_KIND_ES = {
    "escolar": "school",
    "habil": "business",
    "laborable": "business",
    "natural": "calendar",
}
_NUMW_ES = "|".join(["un", "una", "uno", *sorted(NUMBER_WORDS_ES, key=len, reverse=True)])
# the kind each Spanish (or range) pattern's claims are filed under
_BASE_KIND = {
    "date_range": "date",
    "date_range_es": "date",
    "date_es": "date",
    "time_es": "time",
    "money_es": "money",
    "grade_es": "grade",
    "duration_es": "duration",
    "weekday_es": "weekday",
}

# (kind, pattern); the order matters: an earlier kind masks its span for the later ones.
_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    ("email", re.compile(r"[\w.+-]+@[a-z0-9-]+(?:\.[a-z0-9-]+)+", re.I)),
    (
        "url",
        re.compile(
            r"(?<![\w.-])(?=[\w-]+\.[\w-])"  # a cheap guard: only where a dotted word starts
            r"(?:https?://)?(?:www\.)?(?:[a-z0-9-]+\.)+(?:[a-z]{2,}|k12)(?::\d+)?"
            r"(?:/[\w\-./?=&%#~+]*)?",
            re.I,
        ),
    ),
    (
        "phone",
        re.compile(
            r"(?<![\d$])(?:\+?1[\s.-]?)?(?:\(\d{3}\)\s?|\d{3}[\s.-])?\d{3}[\s.-]\d{4}(?![\d])"
            r"|\b911\b"
        ),
    ),
    ("date", re.compile(r"\b(20\d{2})-(\d{2})-(\d{2})\b")),
    (
        "date_range_es",
        re.compile(
            rf"\b(?:del|entre el)\s+(\d{{1,2}})(?:\.?º)?(?:\s+de\s+({_MONTH_ES_RE}))?\s+(?:al|y el)"
            rf"\s+(\d{{1,2}})\s+de\s+({_MONTH_ES_RE})\b(?:\s+(?:de|del)\s+(20\d{{2}}))?",
            re.I,
        ),
    ),
    (
        "date_es",
        re.compile(
            rf"\b(\d{{1,2}})(?:\.?º|°)?\s+de\s+({_MONTH_ES_RE})\b(?:\s+(?:de|del)\s+(20\d{{2}}))?",
            re.I,
        ),
    ),
    (
        "time_es",
        re.compile(
            r"\b(\d{1,2})(?::(\d{2}))?\s+(?:de la|en la|por la)\s+(mañana|tarde|noche)\b"
            r"|\b(mediod[ií]a|medianoche)\b",
            re.I,
        ),
    ),
    (
        "date_range",
        re.compile(
            rf"\b({_MONTH_RE})\.?\s+(\d{{1,2}})(?:st|nd|rd|th)?\s?(?:-|–|to|through)\s?"
            rf"(?:({_MONTH_RE})\.?\s+)?(\d{{1,2}})(?:st|nd|rd|th)?\b(?:,?\s+(20\d{{2}}))?",
            re.I,
        ),
    ),
    ("date", re.compile(r"(?<![\d/])(\d{1,2})/(\d{1,2})(?:/(\d{2}|\d{4}))?(?![\d/])")),
    (
        "date",
        re.compile(
            rf"\b({_MONTH_RE})\.?\s+(\d{{1,2}})(?:st|nd|rd|th)?\b(?:,?\s+(20\d{{2}}))?",
            re.I,
        ),
    ),
    (
        "date",
        re.compile(
            rf"\b(\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?({_MONTH_RE})\b\.?(?:,?\s+(20\d{{2}}))?",
            re.I,
        ),
    ),
    (
        "time",
        re.compile(
            r"\b(\d{1,2})(?::(\d{2}))?\s*([ap])\.?\s?m\b\.?|\b(\d{1,2}):(\d{2})\b|\b(noon|midnight)\b",
            re.I,
        ),
    ),
    (
        "money",
        re.compile(
            r"\$\s?(\d[\d,]*(?:\.\d+)?)|\b(\d[\d,]*(?:\.\d+)?)\s+(?:dollars|USD)\b|\b(\d+)\s?(?:cents|¢)",
            re.I,
        ),
    ),
    (
        "money_es",
        re.compile(r"\b(\d[\d,]*(?:\.\d+)?)\s+d[oó]lares\b|\b(\d+)\s+centavos\b", re.I),
    ),
    ("percent", re.compile(r"\b(\d+(?:\.\d+)?)\s?(?:%|percent\b|por\s?ciento\b)", re.I)),
    ("school_year", re.compile(r"\b(20\d{2})\s?[-–/]\s?(?:20)?(\d{2})\b")),
    ("year", re.compile(r"\b(20\d{2})\b")),
    (
        "grade",
        re.compile(
            rf"\b(\d{{1,2}}|{'|'.join(ORDINAL_WORDS)})(?:st|nd|rd|th)?[\s-]+grade(?:rs?)?\b"
            r"|\bgrades?\s+(tk|k|\d{1,2})(?:\s*(?:-|–|to|through)\s*(\d{1,2}))?\b"
            r"|\b(TK|K)\s?[-–]\s?(\d{1,2})\b",
            re.I,
        ),
    ),
    (
        "grade_es",
        re.compile(
            rf"\b(\d{{1,2}})\s?(?:\.?º|°|\.?o)\s+grado\b|\bgrado\s+(\d{{1,2}})\b"
            rf"|\b({'|'.join(ORDINAL_WORDS_ES)})\s+grado\b",
            re.I,
        ),
    ),
    (
        "duration_es",
        re.compile(
            rf"\b(\d+|{_NUMW_ES})\s+(d[ií]as?|semanas?|mes(?:es)?|horas?|minutos?|años?|semestres?)"
            r"(?:\s+(escolar(?:es)?|h[aá]bil(?:es)?|laborables?|naturales?))?\b",
            re.I,
        ),
    ),
    (
        "duration",
        re.compile(
            rf"\b(?:(\d+)\s?[-–]\s?)?(\d+|{_NUMW})[\s-]+((?:school|business|calendar|working)\s+)?"
            r"(day|week|month|hour|minute|year|semester)s?\b(?![\s-]+old)",
            re.I,
        ),
    ),
    (
        "weekday",
        re.compile(
            r"\b(monday|tuesday|wednesday|thursday|friday|saturday|sunday)s?\b"
            r"|\b(Mon|Tues?|Wed|Thu(?:rs?)?|Fri|Sat|Sun)(?:\.|(?=[-–,]))",
            re.I,
        ),
    ),
    (
        "weekday_es",
        re.compile(r"\b(lunes|martes|mi[ée]rcoles|jueves|viernes|s[áa]bados?|domingos?)\b", re.I),
    ),
]
_CAP_TOKEN = re.compile(r"[A-ZÀ-ÖØ-Þ][\w'’&-]*")
_STOP_CAPS = {
    *[
        "i",
        "i'm",
        "i've",
        "i'll",
        "i'd",
        "a",
        "an",
        "the",
        "our",
        "your",
        "we",
        "you",
        "they",
        "he",
        "she",
        "it",
        "my",
        "his",
        "her",
        "their",
        "this",
        "that",
        "these",
        "those",
        "please",
        "thank",
        "thanks",
        "dear",
        "hi",
        "hello",
        "hey",
        "yes",
        "no",
        "if",
        "when",
        "while",
        "for",
        "to",
        "in",
        "on",
        "at",
        "by",
        "of",
        "and",
        "or",
        "but",
        "so",
        "as",
        "mr",
        "ms",
        "mrs",
        "dr",
        "miss",
        "sincerely",
        "best",
        "regards",
        "warmly",
        "ok",
        "also",
        "here",
        "there",
        "what",
        "who",
        "how",
        "why",
        "where",
        "note",
        "questions",
        "question",
        "good",
        "great",
        "sorry",
        "welcome",
        # Spanish
        "hola",
        "estimada",
        "estimado",
        "estimados",
        "querida",
        "querido",
        "gracias",
        "saludos",
        "atentamente",
        "cordialmente",
        "buenos",
        "buenas",
        "bienvenida",
        "bienvenido",
        "bienvenidos",
        "usted",
        "ustedes",
        "su",
        "sus",
        "nuestro",
        "nuestra",
        "el",
        "la",
        "los",
        "las",
        "un",
        "una",
        "y",
        "o",
        "de",
        "del",
        "en",
        "por",
        "para",
        "con",
        "si",
        "sí",
        "sr",
        "sra",
        "srta",
        "favor",
        "lo",
        "le",
        "les",
        "nota",
        "preguntas",
    ],
    *WEEKDAYS,
    *MONTHS,
    *[
        "january",
        "february",
        "march",
        "april",
        "june",
        "july",
        "august",
        "september",
        "october",
        "november",
        "december",
    ],
    *[m for m in MONTHS_ES],
    *WEEKDAYS_ES,
}
_HISTORICAL = [
    re.compile(
        r"\((?:[^()]*\b(?:it was|was|were|used to|previously|last year"
        r"|era|eran|antes|el año pasado|anteriormente)\b[^()]*)\)",
        re.I,
    ),
    re.compile(
        r"(?:(?<=[.!?]\s)|(?<=\n)|^)(?:last year|previously|in the past"
        r"|el año pasado|anteriormente|antes)\b[^.!?\n]*[.!?]?",
        re.I | re.M,
    ),
]


@dataclass(frozen=True)
class Claim:
    """One checkable claim: its kind, the text as written and a normalised key."""

    kind: str
    text: str
    key: Any
    start: int = 0


def _num(word: str) -> int | None:
    w = word.lower()
    if w.isdigit():
        return int(w)
    return NUMBER_WORDS.get(w, ORDINAL_WORDS.get(w))


def _money(raw: str) -> str:
    try:
        d = Decimal(raw.replace(",", ""))
    except InvalidOperation:
        return raw
    return format(d.normalize(), "f") if d == d.to_integral() else format(d, "f").rstrip("0")


def _key(kind: str, m: re.Match[str]) -> Any:
    """The normalised key of one match, or None when the match is not a valid claim."""
    g = m.groups()
    if kind == "email":
        return m.group(0).lower().rstrip(".")
    if kind == "url":
        u = re.sub(r"^(?:https?://)?(?:www\.)?", "", m.group(0).lower()).rstrip("./?,")
        if "." not in u.split("/")[0] or re.fullmatch(r"[\d.]+", u):
            return None
        return u
    if kind == "phone":
        digits = re.sub(r"\D", "", m.group(0))
        return digits if digits == "911" else digits[-7:]
    if kind == "date":
        y: int | None
        if len(g) == 3 and g[0] and g[0].isdigit() and len(g[0]) == 4:  # ISO
            y, mo, d = int(g[0]), int(g[1]), int(g[2])
        elif g[0] and g[0].isdigit() and g[1] and g[1].isdigit():  # 1/27[/2026]
            mo, d = int(g[0]), int(g[1])
            y = int(g[2]) if g[2] else None
            if y is not None and y < 100:
                y += 2000
        elif g[0] and not g[0].isdigit():  # Aug 13
            mo, d = MONTHS[g[0][:3].lower()], int(g[1])
            y = int(g[2]) if g[2] else None
        else:  # 13 August
            mo, d = MONTHS[g[1][:3].lower()], int(g[0])
            y = int(g[2]) if g[2] else None
        if not (1 <= mo <= 12 and 1 <= d <= 31):
            return None
        return (mo, d, y)
    if kind == "time":
        if g[5]:
            return (12, 0, "p" if g[5].lower() == "noon" else "a")
        if g[0]:
            h, mi, ap = int(g[0]), int(g[1] or 0), g[2].lower()
        else:
            h, mi, ap = int(g[3]), int(g[4]), None
        if not (0 <= h <= 24 and 0 <= mi < 60):
            return None
        if ap is None and h > 12:
            h, ap = h - 12, "p"
        return (h, mi, ap)
    if kind == "money":
        if g[2]:
            return _money(str(Decimal(g[2]) / 100))
        return _money(g[0] or g[1])
    if kind == "percent":
        return _money(g[0])
    if kind == "school_year":
        y1, y2 = int(g[0]), int(g[1])
        if (y1 + 1) % 100 != y2:
            return None
        return f"{y1}-{y2:02d}"
    if kind == "year":
        return g[0]
    if kind == "grade":
        if g[0]:
            n = _num(g[0])
            return None if n is None or n > 12 else (n, n)
        if g[1]:
            lo = {"tk": -1, "k": 0}.get(g[1].lower())
            lo = int(g[1]) if lo is None else lo
            hi = int(g[2]) if g[2] else lo
            return (lo, hi) if lo <= hi <= 12 else None
        lo = -1 if g[3].upper() == "TK" else 0
        hi = int(g[4])
        return (lo, hi) if hi <= 12 else None
    if kind == "duration":
        unit = f"{(g[2] or '').strip().lower()} {g[3].lower()}".strip()
        n = _num(g[1])
        return [(int(g[0]), unit), (n, unit)] if g[0] else (n, unit)
    if kind == "date_range":
        m1 = MONTHS[g[0][:3].lower()]
        m2 = MONTHS[g[2][:3].lower()] if g[2] else m1
        yr = int(g[4]) if g[4] else None
        d1, d2 = int(g[1]), int(g[3])
        if not (1 <= d1 <= 31 and 1 <= d2 <= 31):
            return None
        return [(m1, d1, yr), (m2, d2, yr)]
    if kind == "weekday":
        if g[0]:
            return g[0].lower()
        return _WD_ABBR[g[1].lower()]
    if kind.endswith("_es"):
        return _key_es(kind, g)
    raise ValueError(f"unknown claim kind {kind!r}")


def _unit_es(word: str) -> str:
    w = word.lower()
    for stem, unit in _UNITS_ES.items():
        if w == stem or w in (stem + "s", stem + "es"):
            return unit
    return w


def _key_es(kind: str, g: tuple[Any, ...]) -> Any:
    """The key of a Spanish form: the same key its English form gets."""
    if kind == "date_es":
        mo, d = MONTHS_ES[g[1][:3].lower()], int(g[0])
        return (mo, d, int(g[2]) if g[2] else None) if 1 <= d <= 31 else None
    if kind == "date_range_es":
        m2 = MONTHS_ES[g[3][:3].lower()]
        m1 = MONTHS_ES[g[1][:3].lower()] if g[1] else m2
        yr = int(g[4]) if g[4] else None
        d1, d2 = int(g[0]), int(g[2])
        return [(m1, d1, yr), (m2, d2, yr)] if 1 <= d1 <= 31 and 1 <= d2 <= 31 else None
    if kind == "time_es":
        if g[3]:
            return (12, 0, "a" if g[3].lower() == "medianoche" else "p")
        h, mi = int(g[0]), int(g[1] or 0)
        if not (1 <= h <= 12 and 0 <= mi < 60):
            return None
        return (h, mi, "a" if g[2].lower() == "mañana" else "p")
    if kind == "money_es":
        return _money(str(Decimal(g[1]) / 100)) if g[1] else _money(g[0])
    if kind == "grade_es":
        n = int(g[0] or g[1]) if (g[0] or g[1]) else ORDINAL_WORDS_ES[g[2].lower()]
        return None if n > 12 else (n, n)
    if kind == "duration_es":
        w = g[0].lower()
        n = int(w) if w.isdigit() else (1 if w in ("un", "una", "uno") else NUMBER_WORDS_ES[w])
        unit = _unit_es(g[1])
        if g[2]:
            k = re.sub(r"(?:es|s)$", "", g[2].lower()).replace("á", "a")
            unit = f"{_KIND_ES.get(k, _KIND_ES.get(k + 'e', k))} {unit}"
        return (n, unit)
    if kind == "weekday_es":
        w = g[0].lower()
        return WEEKDAYS_ES[w[:-1] if w.endswith(("bados", "ngos")) else w]
    raise ValueError(f"unknown claim kind {kind!r}")


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
    return t in _STOP_CAPS or re.split(r"['’]", t)[0] in _STOP_CAPS


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


def _triggered(kind: str, low: str, has_digit: bool) -> bool:
    """A cheap test that a kind's pattern can match at all (skips most regex scans)."""
    if kind == "email":
        return "@" in low
    if kind == "url":
        return "." in low
    if kind == "weekday":
        return any(w in low for w in ("mon", "tue", "wed", "thu", "fri", "sat", "sun"))
    if kind == "time":
        return has_digit or "noon" in low or "midnight" in low
    if kind == "grade":
        return "grade" in low or "k-" in low or "k–" in low
    if kind == "duration":
        return has_digit or any(w in low for w in _DURATION_WORDS)
    if kind == "time_es":
        return has_digit or "medi" in low
    if kind == "weekday_es":
        return any(
            w in low for w in ("lunes", "martes", "rcoles", "jueves", "viernes", "bado", "domingo")
        )
    if kind == "grade_es":
        return "grado" in low
    if kind == "duration_es":
        return has_digit or any(u in low for u in _UNITS_ES)
    return has_digit


_DURATION_WORDS = ("day", "week", "month", "hour", "minute", "year", "semester")


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
    for kind, pat in _PATTERNS:
        if not _triggered(kind, low, has_digit):
            continue
        spans = []
        for m in pat.finditer(masked):
            if not m.group(0).strip():
                continue
            key = _key(kind, m)
            if key is None:
                continue
            k = _BASE_KIND.get(kind, kind)
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


_PAST_CUE = re.compile(
    r"\b(?:last (?:school )?year|used to|previously|no longer|it was|was \$|were \$|"
    r"old (?:fee|price|rate|policy)|went (?:up|down)|changed|in 20\d\d-\d\d|"
    r"el año pasado|antes (?:costaba|era|eran)|ya no|era de|eran de|cambi[óo]|en 20\d\d-\d\d)\b",
    re.I,
)


def historical_spans(text: str) -> list[tuple[int, int]]:
    """Sentences of a draft that speak about the past ("it was $5 last year")."""
    spans = []
    for m in re.finditer(r"[^.!?\n]+(?:[.!?]+|$)", text):
        if _PAST_CUE.search(m.group(0)):
            spans.append((m.start(), m.end()))
    return spans


def strip_historical(text: str) -> str:
    """Drop remarks about what used to apply ("(it was $5 in 2024-25)", "Last year, ...")."""
    for pat in _HISTORICAL:
        text = pat.sub(" ", text)
    return text


@dataclass
class Support:
    """The claims one body of text supports, indexed for fast lookup."""

    keys: dict[str, set[Any]] = field(default_factory=dict)
    words: str = " "

    @classmethod
    def of(cls, texts: Iterable[str]) -> Support:
        s = cls()
        parts = []
        for t in texts:
            if not isinstance(t, str) or not t:
                continue
            for c in extract_claims(t):
                s.keys.setdefault(c.kind, set()).add(c.key)
                if c.kind == "email":
                    s.keys.setdefault("url", set()).add(c.key.split("@", 1)[1])
            parts.append(words_key(t))
        s.words = " " + " ".join(parts) + " "
        return s

    def supports(self, c: Claim) -> bool:
        """Whether this text supports claim ``c`` (see the module docstring for the rules)."""
        if c.kind == "name":
            return f" {c.key} " in self.words or all(f" {w} " in self.words for w in c.key.split())
        keys = self.keys.get(c.kind)
        if not keys:
            return False
        if c.key in keys:
            return True
        if c.kind == "date":
            mo, d, y = c.key
            return any(k[0] == mo and k[1] == d and (y is None or k[2] in (None, y)) for k in keys)
        if c.kind == "time":
            h, mi, ap = c.key
            return any(
                k[0] == h and k[1] == mi and (ap is None or k[2] in (None, ap)) for k in keys
            )
        if c.kind == "grade":
            lo, hi = c.key
            return any(k[0] <= lo and hi <= k[1] for k in keys)
        if c.kind == "url":
            return any(k.startswith(c.key + "/") for k in keys)
        return False


def _dataset_key(dataset: Dataset | None) -> str:
    return "" if dataset is None else (dataset.fingerprint or str(id(dataset)))


_SOURCE_CACHE: dict[tuple[str, tuple[str, ...], bool, bool], Support] = {}


def source_support(
    dataset: Dataset | None,
    source_ids: Sequence[str],
    superseded: bool = False,
    history: bool = False,
) -> Support:
    """Support of the item's approved sources, their historical remarks kept when ``history``,
    or of the superseded sources they replaced when ``superseded``."""
    ids = tuple(source_ids)
    key = (_dataset_key(dataset), ids, superseded, history)
    hit = _SOURCE_CACHE.get(key)
    if hit is not None:
        return hit
    if dataset is None:
        s = Support()
    elif superseded:
        s = Support.of(x["text"] for x in dataset.source_texts(dataset.superseded_for(list(ids))))
    else:
        s = Support.of(
            x["text"] if history else strip_historical(x["text"])
            for x in dataset.source_texts(list(ids))
        )
    if len(_SOURCE_CACHE) > 4096:
        _SOURCE_CACHE.clear()
    _SOURCE_CACHE[key] = s
    return s


def district_names(dataset: Dataset | None) -> Support:
    """Words of every current source: proper nouns (schools, offices, systems) hold district-wide."""
    key = (_dataset_key(dataset), ("*names*",), False, False)
    hit = _SOURCE_CACHE.get(key)
    if hit is None:
        texts = (
            []
            if dataset is None
            else dataset.sources.loc[dataset.sources["status"] == "current", "text"].tolist()
        )
        hit = _SOURCE_CACHE[key] = Support(words=" " + " ".join(map(words_key, texts)) + " ")
    return hit


def directory_support(dataset: Dataset | None) -> Support:
    """What the district directory (``directory.csv``) lists: official phones, emails, web
    addresses, offices and officials' names; it supports a claim in any draft."""
    key = (_dataset_key(dataset), ("*directory*",), False, False)
    hit = _SOURCE_CACHE.get(key)
    if hit is None:
        d = None if dataset is None else getattr(dataset, "directory", None)
        values = [] if d is None else [str(v) for v in d["value"].tolist()]
        hit = _SOURCE_CACHE[key] = Support.of(values)
    return hit


def person_names(dataset: Dataset | None) -> list[set[str]]:
    """The words of each person the dataset lists (``people.csv``): a person's name is
    supported only by the item's own question and its own cited sources."""
    people = None if dataset is None else dataset.people
    if people is None or "name" not in people:
        return []
    return [set(words_key(str(n)).split()) for n in people["name"].dropna() if words_key(str(n))]


def _is_person(c: Claim, dataset: Dataset | None) -> bool:
    """A name claim that names a listed person, in full or by first or last name alone."""
    words = set(str(c.key).split())
    return any(p & words for p in person_names(dataset))


@lru_cache(maxsize=8192)
def input_support(text: str) -> Support:
    """Support of an item's input (what the parent or staff wrote)."""
    return Support.of([text])


def _ids(value: Any) -> list[str]:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return []
    return [str(v) for v in value]


def check_claims(
    draft: str | None,
    input_text: str,
    source_ids: Sequence[str],
    dataset: Dataset | None,
) -> list[dict[str, Any]]:
    """Every checkable claim in the draft with its status: supported, superseded or unsupported."""
    claims = extract_claims(draft)
    if not claims:
        return []
    approved = source_support(dataset, source_ids)
    given = input_support(input_text if isinstance(input_text, str) else "")
    old: Support | None = None
    past = historical_spans(draft) if isinstance(draft, str) else []
    rows = []
    for c in claims:
        if approved.supports(c) or given.supports(c):
            status = "supported"
        elif directory_support(dataset).supports(c):
            status = "supported"  # the district's official contacts hold in any reply
        elif (
            c.kind == "name" and not _is_person(c, dataset) and district_names(dataset).supports(c)
        ):
            status = "supported"  # schools, offices, systems: district-wide facts
        elif any(a <= c.start < b for a, b in past) and (
            source_support(dataset, source_ids, history=True).supports(c)
            or source_support(dataset, source_ids, superseded=True).supports(c)
        ):
            status = "supported"  # a sentence about the past may quote the past
        else:
            if old is None:
                old = source_support(dataset, source_ids, superseded=True)
            status = "superseded" if old.supports(c) else "unsupported"
        rows.append({"kind": c.kind, "text": c.text, "key": c.key, "status": status})
    return rows


def unsupported_claims(
    draft: str | None, item: Any, dataset: Dataset | None
) -> list[dict[str, Any]]:
    """Claims in ``draft`` that neither the item's approved sources nor its input support.

    Args:
        draft: the draft text (None: no claims).
        item: the item as a dict or Series (``input`` and ``source_ids`` are read).
        dataset: the dataset holding the sources.

    Returns:
        One dict per claim: kind, text, key and status (``unsupported`` or ``superseded``: only a
        superseded source supports it), with ``superseded_sources`` listing those sources.
    """
    sids = _ids(item["source_ids"])
    rows = [
        r for r in check_claims(draft, item["input"], sids, dataset) if r["status"] != "supported"
    ]
    if dataset is not None:
        for r in rows:
            if r["status"] == "superseded":
                claim = Claim(r["kind"], r["text"], r["key"])
                r["superseded_sources"] = [
                    s["id"]
                    for s in dataset.source_texts(dataset.superseded_for(sids))
                    if Support.of([s["text"]]).supports(claim)
                ]
    return rows


def unsupported_claims_table(frame: pd.DataFrame, dataset: Dataset | None) -> pd.DataFrame:
    """One row per unsupported or superseded claim in a scoring frame (for reports)."""
    rows = []
    for idx, row in frame.iterrows():
        if not isinstance(row.get("output"), str):
            continue
        for r in unsupported_claims(row["output"], row, dataset):
            rows.append(
                {
                    "row": idx,
                    **{k: row[k] for k in ("item_id", "candidate", "sample") if k in row},
                    "kind": r["kind"],
                    "claim": r["text"],
                    "status": r["status"],
                    "superseded_sources": ", ".join(r.get("superseded_sources", [])),
                }
            )
    cols = [
        "row",
        "item_id",
        "candidate",
        "sample",
        "kind",
        "claim",
        "status",
        "superseded_sources",
    ]
    return pd.DataFrame(rows, columns=cols)


def claim_metrics(
    draft: str | None, input_text: str, source_ids: Sequence[str], dataset: Any
) -> dict[str, float]:
    """unsupported_claims_count, superseded_claims_count and claim_support for one draft."""
    if not isinstance(draft, str):
        return dict.fromkeys(
            ("unsupported_claims_count", "superseded_claims_count", "claim_support"), math.nan
        )
    rows = check_claims(draft, input_text, source_ids, dataset)
    bad = sum(r["status"] != "supported" for r in rows)
    old = sum(r["status"] == "superseded" for r in rows)
    return {
        "unsupported_claims_count": float(bad),
        "superseded_claims_count": float(old),
        "claim_support": (len(rows) - bad) / len(rows) if rows else math.nan,
    }


# ---------------------------------------------------------------- required facts

_EXACT_KINDS = {"email", "url", "phone", "date", "time", "money", "percent", "school_year", "year"}


@lru_cache(maxsize=32768)
def normalize_text(text: str) -> str:
    """Lower case, claims replaced by their keys, number words as digits, punctuation as spaces."""
    claims = [c for c in extract_claims(text) if c.kind in _EXACT_KINDS or c.kind == "duration"]
    out = []
    pos = 0
    by_start: dict[int, list[Claim]] = {}
    for c in claims:
        by_start.setdefault(c.start, []).append(c)
    for start in sorted(by_start):
        group = by_start[start]
        i = text.find(group[0].text, max(pos, start))
        if i < 0:
            continue
        out.append(text[pos:i])
        out.append(" " + " ".join(_flat(c.kind, c.key) for c in group) + " ")
        pos = i + len(group[0].text)
    out.append(text[pos:])
    words = words_key("".join(out)).split()
    nums = {**NUMBER_WORDS_ES, **NUMBER_WORDS}
    return " ".join(str(nums[w]) if w in nums else w for w in words)


def _flat(kind: str, key: Any) -> str:
    """A claim key as words: a date's year and a time's a.m./p.m. become words of their own."""
    if kind == "date":
        return f"date{key[0]}x{key[1]}" + (f" year{key[2]}" if key[2] else "")
    if kind == "time":
        return f"time{key[0]}x{key[1]:02d}" + (f" {key[2]}m" if key[2] else "")
    if isinstance(key, tuple):
        return kind + "x".join("" if k is None else str(k) for k in key)
    return kind + re.sub(r"\W", "x", str(key))


@lru_cache(maxsize=8192)
def is_exact_fact(fact: str) -> bool:
    """Facts with digits, dates, money, emails or URLs must match exactly (after normalising)."""
    return bool(re.search(r"\d", fact)) or any(c.kind in _EXACT_KINDS for c in extract_claims(fact))


def fact_found(fact: str, draft_norm: str) -> bool:
    """Whether one required fact occurs in a draft already passed through normalize_text."""
    f = normalize_text(fact)
    if not f:
        return True
    if is_exact_fact(fact):
        # a date's year and a time's a.m./p.m. are words of their own, so a fact may omit them
        return f" {f} " in f" {draft_norm} "
    return fuzz.partial_ratio(f, draft_norm, score_cutoff=FUZZY_THRESHOLD) > 0


def fact_coverage(draft: str | None, facts: Sequence[str] | None) -> float:
    """Share of required facts found in the draft; NaN with no draft or no facts."""
    if not isinstance(draft, str) or not facts:
        return math.nan
    d = normalize_text(draft)
    return sum(fact_found(f, d) for f in facts) / len(facts)


# ---------------------------------------------------------------- reference similarity

_VECTORIZERS: dict[str, TfidfVectorizer] = {}


def tfidf_vectorizer(dataset: Dataset | None, extra: Sequence[str] = ()) -> TfidfVectorizer:
    """A TF-IDF vectorizer fitted on the dataset's references, inputs and sources (cached)."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    key = _dataset_key(dataset)
    if dataset is not None and key in _VECTORIZERS:
        return _VECTORIZERS[key]
    corpus: list[str] = list(extra)
    if dataset is not None:
        corpus += dataset.items["reference"].tolist() + dataset.items["input"].tolist()
        corpus += dataset.sources["text"].tolist()
    vec = TfidfVectorizer(sublinear_tf=True, lowercase=True, token_pattern=r"(?u)\b\w+\b")
    vec.fit([c for c in corpus if isinstance(c, str)] or ["empty"])
    if dataset is not None:
        _VECTORIZERS[key] = vec
    return vec


def tfidf_cosine(a: Sequence[str], b: Sequence[str], vec: TfidfVectorizer) -> np.ndarray:
    """Row-wise cosine of TF-IDF vectors of ``a[i]`` and ``b[i]``.

    Words the dataset never uses are ignored, so two different texts without a known word score
    0; identical texts always score 1.
    """
    from sklearn.preprocessing import normalize

    xa = normalize(vec.transform(a))
    xb = normalize(vec.transform(b))
    sims = np.asarray(xa.multiply(xb).sum(axis=1)).ravel()
    same = np.fromiter((x.strip() == y.strip() for x, y in zip(a, b, strict=True)), bool, len(a))
    sims[same] = 1.0  # identical texts agree even in words the dataset never uses
    return np.clip(sims, 0.0, 1.0)


def reference_similarity(
    drafts: Sequence[str], references: Sequence[str], dataset: Any = None
) -> np.ndarray:
    """TF-IDF cosine between each draft and its reference."""
    vec = tfidf_vectorizer(dataset, [] if dataset is not None else [*drafts, *references])
    return tfidf_cosine(drafts, references, vec)


# ---------------------------------------------------------------- registered scorers


def _outputs(frame: pd.DataFrame) -> list[str | None]:
    return [o if isinstance(o, str) else None for o in frame["output"].tolist()]


@scorer(
    "required_facts",
    family="accuracy",
    metrics=[
        Metric(
            "required_facts_coverage",
            "share of the item's required facts found in the draft (exact for numbers, dates, "
            "money, phones, emails, URLs; fuzzy otherwise)",
        )
    ],
)
def required_facts_scorer(**_: Any) -> ScoreFn:
    """Share of the item's required facts the draft states; NaN for items without facts."""

    def score(frame: pd.DataFrame, dataset: Dataset) -> pd.DataFrame:
        vals = [
            fact_coverage(o, list(f) if isinstance(f, list | tuple | np.ndarray) else None)
            for o, f in zip(_outputs(frame), frame["required_facts"].tolist(), strict=True)
        ]
        return pd.DataFrame({"required_facts_coverage": vals}, index=frame.index, dtype=np.float64)

    return score


@scorer(
    "claims",
    family="accuracy",
    metrics=[
        Metric(
            "unsupported_claims_count",
            "checkable claims (dates, times, amounts, phones, emails, URLs, grades, names) that "
            "neither the approved sources nor the input support",
            False,
            "claims",
        ),
        Metric(
            "superseded_claims_count",
            "unsupported claims that a superseded source supports (outdated answers)",
            False,
            "claims",
        ),
        Metric("claim_support", "share of the draft's checkable claims that are supported"),
    ],
)
def claims_scorer(**_: Any) -> ScoreFn:
    """Claims in the draft checked against the item's approved sources and input."""

    def score(frame: pd.DataFrame, dataset: Dataset) -> pd.DataFrame:
        rows = [
            claim_metrics(o, i, _ids(s), dataset)
            for o, i, s in zip(
                _outputs(frame),
                frame["input"].tolist(),
                frame["source_ids"].tolist(),
                strict=True,
            )
        ]
        cols = ["unsupported_claims_count", "superseded_claims_count", "claim_support"]
        return pd.DataFrame(rows, index=frame.index, columns=cols, dtype=np.float64)

    return score


@scorer(
    "reference_similarity",
    family="accuracy",
    metrics=[
        Metric(
            "reference_similarity",
            "TF-IDF cosine between draft and approved reference (IDF fitted on the dataset)",
        )
    ],
)
def reference_similarity_scorer(**_: Any) -> ScoreFn:
    """TF-IDF cosine similarity of the draft to the approved reference."""

    def score(frame: pd.DataFrame, dataset: Dataset) -> pd.DataFrame:
        out = pd.Series(np.nan, index=frame.index, dtype=np.float64)
        outs = _outputs(frame)
        ok = np.array([o is not None for o in outs], dtype=bool)
        if ok.any():
            drafts = [o for o in outs if o is not None]
            refs = [r for r, k in zip(frame["reference"].tolist(), ok, strict=True) if k]
            out[ok] = reference_similarity(drafts, refs, dataset)
        return pd.DataFrame({"reference_similarity": out})

    return score
