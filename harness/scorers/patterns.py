"""The claim patterns (English and Spanish, in masking order) and each match's normalised key.

Not a scorer family: :mod:`harness.scorers.claims` extracts claims with it; the rules are in
:mod:`harness.scorers.accuracy`.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any

from harness.scorers.lexicon import (
    KIND_ES,
    MONTHS,
    MONTHS_ES,
    NUMBER_WORDS,
    NUMBER_WORDS_ES,
    ORDINAL_WORDS,
    ORDINAL_WORDS_ES,
    UNITS_ES,
    WD_ABBR,
    WEEKDAYS_ES,
)

_NUMW = "|".join(sorted(NUMBER_WORDS, key=len, reverse=True))
_MONTH_RE = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
    r"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)"
)

_MONTH_ES_RE = (
    r"(?:enero|febrero|marzo|abril|mayo|junio|julio|agosto|sep?tiembre|octubre|noviembre"
    r"|diciembre)"
)
_NUMW_ES = "|".join(["un", "una", "uno", *sorted(NUMBER_WORDS_ES, key=len, reverse=True)])
# the kind each Spanish (or range) pattern's claims are filed under
BASE_KIND = {
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
PATTERNS: list[tuple[str, re.Pattern[str]]] = [
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


def claim_key(kind: str, m: re.Match[str]) -> Any:
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
        return WD_ABBR[g[1].lower()]
    if kind.endswith("_es"):
        return _key_es(kind, g)
    raise ValueError(f"unknown claim kind {kind!r}")


def _unit_es(word: str) -> str:
    w = word.lower()
    for stem, unit in UNITS_ES.items():
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
            unit = f"{KIND_ES.get(k, KIND_ES.get(k + 'e', k))} {unit}"
        return (n, unit)
    if kind == "weekday_es":
        w = g[0].lower()
        return WEEKDAYS_ES[w[:-1] if w.endswith(("bados", "ngos")) else w]
    raise ValueError(f"unknown claim kind {kind!r}")


def triggered(kind: str, low: str, has_digit: bool) -> bool:
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
        return has_digit or any(u in low for u in UNITS_ES)
    return has_digit


_DURATION_WORDS = ("day", "week", "month", "hour", "minute", "year", "semester")
