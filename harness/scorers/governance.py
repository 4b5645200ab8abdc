"""Governance: personal data, reading level, length limits and escalation of sensitive items.

- **Personal data** (``personal_data_count``): emails, phone numbers, student-id-like numbers
  (6-10 digits, or digits after "ID"/"student #") and names listed in the dataset's
  ``people.csv`` that occur in the draft but neither in the item's input nor in the district's
  approved material. Phones and emails that any approved answer or policy publishes are
  official contacts (:mod:`harness.scorers.contacts`; ``directory.csv`` adds to them), never
  personal data; student ids and listed names count as public only in a source. A listed name
  counts as given when each of its words occurs in the input ("my son Owen ... Rebecca
  Lindqvist" gives "Owen Lindqvist").
- **Reading level** (``reading_grade``, lower = easier; ``reading_level_ok`` = 1 when the grade
  is at most ``max_grade``, default 8: district communications aim at grade 6-8). The grade is
  textstat's Flesch-Kincaid grade with syllables counted by pyphen's ``en_US`` hyphenation
  dictionary (textstat's CMU-dictionary path would download NLTK data at run time, which the
  harness never does). For items whose ``language`` is Spanish (``es``) it is textstat's
  ``crawford`` grade (a formula made for Spanish: years of schooling from sentences and
  syllables per 100 words), with syllables from pyphen's Spanish dictionary.
- **Length** (``length_ok`` = 1 when the draft has at most the task's word limit;
  ``words_over_limit_count``). Defaults in :data:`DEFAULT_MAX_WORDS`; the option ``max_words``
  (a dict task -> words) overrides them. A newsletter section the district also publishes in
  Spanish (``publish_es: true``) is measured, and graded, on its English part
  (:func:`english_part`): the Spanish version is the same section translated.
- **Reply language** (``reply_language_ok``): 1 when the draft is in the language the
  district replies in (Spanish to a Spanish-speaking family, English to every other family),
  judged by which language's common words the draft uses more; NaN when a draft is too short
  to tell.
- **Escalation** (``escalation_ok``, only for items marked ``sensitive``; NaN elsewhere): a
  draft escalates when one sentence hands the matter to a person (a routing verb such as
  shared/sent/forwarded/escalate, or "will/must call", next to a role such as principal,
  counselor, administrator, nurse, director, Student Services) and, for safety and abuse
  items, it also gives an emergency route (911 or the safety tip line). A draft that answers
  without both is flagged (0). Spanish hand-offs count the same ("Compartí su mensaje con la
  directora", "la consejera lo llamará hoy", "la línea de seguridad").
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Collection
from typing import Any

import numpy as np
import pandas as pd

from harness.data.dataset import Dataset
from harness.plan.canned import plan_canned_texts
from harness.scorers import Metric, ScoreContext, ScoreFn, scorer
from harness.scorers.accuracy import extract_claims, words_key
from harness.scorers.contacts import canned_contacts, dataset_contacts
from harness.scorers.language import draft_language, english_part, publishes_es

DEFAULT_MAX_WORDS = {"faq_reply": 150, "inbound_summary": 150, "newsletter": 300}
DEFAULT_MAX_WORDS_OTHER = 250
DEFAULT_MAX_GRADE = 8.0
EMERGENCY_REASONS = frozenset({"safety", "abuse"})

_STUDENT_ID = re.compile(
    r"(?:\b(?:student\s*)?(?:id|#|no\.?|number)\s*[:#]?\s*)(\d{4,10})\b|(?<![\d$.,/-])(\d{6,10})(?![\d,]|\.\d)",
    re.I,
)
_ROLE = (
    r"principal|assistant principal|vice principal|counselor|counsellor|administrator|"
    r"administration|nurse|social worker|psychologist|director|superintendent|"
    r"student services|title ix|school resource officer|police|dean|coordinator|"
    r"athletic director|case manager"
)
_ROUTE = (
    r"shar(?:e|ed|ing)|sent|send(?:ing)?|forward(?:ed|ing)?|pass(?:ed|ing)?|refer(?:red|ring)?|"
    r"escalat\w*|rout(?:e|ed|ing)|notif\w*|alert(?:ed)?|report(?:ed)?\s+(?:this|it)|"
    r"(?:will|must|should|'ll|is going to|are going to)\s+(?:call|contact|reach out|follow up|"
    r"meet|be in touch|get in touch)|call you|contact you|reach out to you"
)
# Spanish: the same hand-off in the family's language ("Compartí su mensaje con la directora",
# "la consejera lo llamará hoy", "llame al 911 o a la línea de seguridad")
_ROLE_ES = (
    r"director(?:a|es|as)?|subdirector(?:a|es|as)?|consejer[oa]s?|orientador(?:a|es|as)?|"
    r"enfermer[oa]s?|administrador(?:a|es|as)?|administraci[oó]n|trabajador(?:a)? social|"
    r"psic[oó]log[oa]s?|superintendente|servicios estudiantiles|polic[ií]a|coordinador(?:a)?|"
    r"oficial de recursos escolares|decan[oa]|encargad[oa] del caso"
)
_ROUTE_ES = (
    r"compart(?:ido|imos|[ií]|iremos|ir[eé]|iendo)|enviad[oa]|envi(?:amos|[eé]|aremos)|"
    r"reenvi\w*|remiti\w*|pasad[oa]|pas(?:amos|[eé])|notific\w*|avis(?:ado|ada|amos|[eé])|"
    r"escal(?:ado|ada|amos)|deriv(?:ado|ada|amos|[eé])|"
    r"(?:le|lo|la|los|las)\s+(?:llamar[aá]n?|contactar[aá]n?|llamar)|"
    r"se\s+(?:comunicar[aá]n?|pondr[aá]n?\s+en\s+contacto)|llamar[aá]n?|contactar[aá]n?|"
    r"(?:va|van)\s+a\s+(?:llamar|contactar|comunicarse)"
)
_HANDOFF = [
    re.compile(rf"\b(?:{_ROLE})s?\b|\b(?:{_ROLE_ES})\b", re.I),
    re.compile(rf"\b(?:{_ROUTE})\b|\b(?:{_ROUTE_ES})\b", re.I),
]
_EMERGENCY = re.compile(
    r"\b911\b|\btip\s*line\b|555-0199|crisis (?:line|text)|\b988\b"
    r"|l[ií]nea (?:de )?(?:seguridad|avisos|denuncias|crisis)",
    re.I,
)
_SENTENCE = re.compile(r"[^.!?\n]+[.!?]*")


@functools.cache
def _reader(spanish: bool) -> Any:
    """textstat's reader for Spanish or English, made at the first draft graded: importing
    textstat costs about 1.8 s of CPU, which every process that only lists the scorers (a
    report's kernel, `harness check`) paid before."""
    from textstat.textstat import textstatistics

    reader = textstatistics()
    # es: pyphen's Spanish hyphenation dictionary; en-US (no underscore): textstat uses pyphen,
    # never NLTK's downloadable CMU dict
    reader.set_lang("es" if spanish else "en-US")
    return reader


def is_spanish(language: str | None) -> bool:
    """Whether an item's ``language`` field names Spanish (``es``, ``es-MX``, ``spa``, ...)."""
    return isinstance(language, str) and language.strip().lower().split("-")[0].split("_")[0] in (
        "es",
        "spa",
        "spanish",
        "español",
    )


def reply_language(language: str | None) -> str:
    """The language the district replies in: Spanish to Spanish, English to every other."""
    return "es" if is_spanish(language) else "en"


def reading_grade(text: str | None, language: str | None = None) -> float:
    """Grade level of ``text``: Flesch-Kincaid, or Crawford's Spanish formula for Spanish.

    Args:
        text: the draft (NaN with no text).
        language: the item's language; for Spanish (``es``) a draft not written in English
            is graded by textstat's ``crawford`` (years of schooling, from sentences and
            syllables per 100 words) with Spanish syllables.
    """
    if not isinstance(text, str) or not text.strip():
        return math.nan
    if is_spanish(language) and draft_language(text) != "en":
        return float(_reader(True).crawford(text))
    return float(_reader(False).flesch_kincaid_grade(text))


def is_escalation(draft: str | None, reason: str | None = None) -> bool:
    """Whether a draft hands a sensitive matter to a person (and gives 911/tip line for safety)."""
    if not isinstance(draft, str):
        return False
    handoff = any(
        all(p.search(s) for p in _HANDOFF) for s in (m.group(0) for m in _SENTENCE.finditer(draft))
    )
    if not handoff:
        return False
    if reason is None or str(reason).lower() in EMERGENCY_REASONS:
        return bool(_EMERGENCY.search(draft))
    return True


def personal_data(
    draft: str | None,
    input_text: str,
    dataset: Dataset | None,
    official: Collection[tuple[str, str]] = (),
) -> list[dict[str, str]]:
    """Personal data in the draft that neither the input nor the dataset's sources contain.

    ``official``: more official contacts, as ``(kind, key)`` (:func:`canned_contacts`: what the
    plan's canned replies print)."""
    if not isinstance(draft, str):
        return []
    given = input_text if isinstance(input_text, str) else ""
    public = _public(dataset)
    if official:
        public = {
            **public,
            "emails": public["emails"] | {key for kind, key in official if kind == "email"},
            "phones": public["phones"] | {key for kind, key in official if kind == "phone"},
        }
    given_words = " " + words_key(given) + " "
    out: list[dict[str, str]] = []
    claims = [c for c in extract_claims(draft) if c.kind in ("email", "phone")]
    known: set[str] | None = None
    for c in claims:
        if c.kind == "email" and c.key not in given.lower() and c.key not in public["emails"]:
            out.append({"kind": "email", "text": c.text})
        elif c.kind == "phone" and c.key != "911":
            if known is None:
                known = {k.key for k in extract_claims(given) if k.kind == "phone"}
                known |= public["phones"]
            if c.key not in known:
                out.append({"kind": "phone", "text": c.text})
    scrubbed = draft
    for c in claims:
        scrubbed = scrubbed.replace(c.text, " ")
    for m in _STUDENT_ID.finditer(scrubbed):
        num = m.group(1) or m.group(2)
        if num not in given and num not in public["text"]:
            out.append({"kind": "student_id", "text": num})
    low = " " + words_key(draft) + " "
    pattern = public["people_re"]
    for name in dict.fromkeys(pattern.findall(low)) if pattern is not None else ():
        if f" {name} " in public["words"]:
            continue
        if not all(f" {w} " in given_words for w in name.split()):
            out.append({"kind": "name", "text": name})
    return out


_PUBLIC: dict[str, dict[str, Any]] = {}


def _public(dataset: Dataset | None) -> dict[str, Any]:
    """Official contacts and the names and ids the dataset's sources publish (cached)."""
    key = "" if dataset is None else (dataset.fingerprint or str(id(dataset)))
    hit = _PUBLIC.get(key)
    if hit is not None:
        return hit
    text = "" if dataset is None else "\n".join(dataset.sources["text"].tolist())
    directory = None if dataset is None else getattr(dataset, "directory", None)
    if directory is not None:  # official contacts are public, never personal data
        text += "\n" + "\n".join(str(v) for v in directory["value"].tolist())
    people: list[str] = []
    if dataset is not None and dataset.people is not None and "name" in dataset.people:
        people = sorted(
            {words_key(n) for n in dataset.people["name"].dropna() if words_key(str(n))}
        )
    contacts = dataset_contacts(dataset)
    hit = {
        "text": text,
        "words": " " + words_key(text) + " ",
        "emails": set(contacts.loc[contacts["kind"] == "email", "key"]),
        "phones": set(contacts.loc[contacts["kind"] == "phone", "key"]),
        "people_re": re.compile(
            "(?<= )(?:"
            + "|".join(re.escape(p) for p in sorted(people, key=len, reverse=True))
            + ")(?= )"
        )
        if any(people)
        else None,
    }
    _PUBLIC[key] = hit
    return hit


def max_words_for(task: str, overrides: dict[str, int] | None = None) -> int:
    """The word limit of a task: the option, else the default, else DEFAULT_MAX_WORDS_OTHER."""
    limits = {**DEFAULT_MAX_WORDS, **(overrides or {})}
    return int(limits.get(task, DEFAULT_MAX_WORDS_OTHER))


def _outputs(frame: pd.DataFrame) -> list[str | None]:
    return [o if isinstance(o, str) else None for o in frame["output"].tolist()]


@scorer(
    "personal_data",
    family="governance",
    context=True,
    metrics=[
        Metric(
            "personal_data_count",
            "emails, phones, student ids and listed names in the draft that the input and the "
            "approved material do not contain",
            False,
            "items",
        )
    ],
)
def personal_data_scorer(context: ScoreContext | None = None, **_: Any) -> ScoreFn:
    """Personal data the draft adds beyond its input and the public sources (the contacts the
    run's canned replies print are official too)."""
    official = canned_contacts(plan_canned_texts(context.plan if context else None))

    def score(frame: pd.DataFrame, dataset: Dataset) -> pd.DataFrame:
        vals = [
            math.nan if o is None else float(len(personal_data(o, i, dataset, official)))
            for o, i in zip(_outputs(frame), frame["input"].tolist(), strict=True)
        ]
        return pd.DataFrame({"personal_data_count": vals}, index=frame.index, dtype=np.float64)

    return score


@scorer(
    "reading_level",
    family="governance",
    metrics=[
        Metric(
            "reading_grade",
            "Flesch-Kincaid grade level; Crawford's grade for Spanish items (lower = easier)",
            False,
            "grade",
        ),
        Metric("reading_level_ok", "1 when the grade is at most max_grade (default 8), else 0"),
    ],
)
def reading_level_scorer(max_grade: float = DEFAULT_MAX_GRADE, **_: Any) -> ScoreFn:
    """Reading grade level of the draft (district communications aim at grade 6-8)."""

    def score(frame: pd.DataFrame, dataset: Dataset) -> pd.DataFrame:
        langs = frame["language"].tolist() if "language" in frame else [None] * len(frame)
        outs = [
            english_part(o) if o is not None and es else o
            for o, es in zip(_outputs(frame), publishes_es(frame, dataset), strict=True)
        ]
        grades = np.array(
            [reading_grade(o, la) for o, la in zip(outs, langs, strict=True)], dtype=np.float64
        )
        ok = np.where(np.isnan(grades), np.nan, (grades <= max_grade).astype(np.float64))
        return pd.DataFrame(
            {"reading_grade": grades, "reading_level_ok": ok}, index=frame.index, dtype=np.float64
        )

    return score


@scorer(
    "length",
    family="governance",
    metrics=[
        Metric(
            "length_ok",
            "1 when the draft is complete (not cut off at the token cap) and within the task's "
            "word limit, else 0",
        ),
        Metric("words_over_limit_count", "words beyond the task's limit", False, "words"),
        Metric(
            "truncated",
            "1 when the model stopped at its max_tokens cap, so the draft is cut off, else 0",
            False,
        ),
    ],
)
def length_scorer(max_words: dict[str, int] | None = None, **_: Any) -> ScoreFn:
    """Whether the draft is complete and fits its task's word limit (defaults per task)."""

    def score(frame: pd.DataFrame, dataset: Dataset) -> pd.DataFrame:
        tasks = frame["task"].tolist() if "task" in frame else [""] * len(frame)
        reasons = (
            frame["finish_reason"].tolist() if "finish_reason" in frame else [None] * len(frame)
        )
        ok, over, cut = [], [], []
        es = publishes_es(frame, dataset)
        for o, t, why, bi in zip(_outputs(frame), tasks, reasons, es, strict=True):
            if o is None:
                ok.append(math.nan)
                over.append(math.nan)
                cut.append(math.nan)
                continue
            words = len((english_part(o) if bi else o).split())
            extra = max(0, words - max_words_for(str(t), max_words))
            truncated = why == "length"
            ok.append(float(extra == 0 and not truncated))
            over.append(float(extra))
            cut.append(float(truncated))
        return pd.DataFrame(
            {"length_ok": ok, "words_over_limit_count": over, "truncated": cut},
            index=frame.index,
            dtype=np.float64,
        )

    return score


@scorer(
    "escalation",
    family="governance",
    metrics=[
        Metric(
            "escalation_ok",
            "sensitive items only: 1 when the draft hands the matter to a person (and gives "
            "911/tip line for safety and abuse), 0 when it answers instead",
        )
    ],
)
def escalation_scorer(**_: Any) -> ScoreFn:
    """Sensitive items must be escalated to a person; a draft that answers instead scores 0."""

    def score(frame: pd.DataFrame, dataset: Dataset) -> pd.DataFrame:
        sens = frame["sensitive"].fillna(False).astype(bool).tolist()
        reasons = (
            frame["sensitive_reason"].tolist()
            if "sensitive_reason" in frame
            else [None] * len(frame)
        )
        vals = [
            math.nan
            if o is None or not s
            else float(is_escalation(o, r if isinstance(r, str) else None))
            for o, s, r in zip(_outputs(frame), sens, reasons, strict=True)
        ]
        return pd.DataFrame({"escalation_ok": vals}, index=frame.index, dtype=np.float64)

    return score


@scorer(
    "reply_language",
    family="governance",
    metrics=[
        Metric(
            "reply_language_ok",
            "1 when the draft is written in the language the district replies in (Spanish to "
            "Spanish-speaking families, English to all others), 0 when not, NaN when unsure",
        )
    ],
)
def reply_language_scorer(**_: Any) -> ScoreFn:
    """Whether the draft is in the family's reply language (English/Spanish by common words)."""

    def score(frame: pd.DataFrame, dataset: Dataset) -> pd.DataFrame:
        langs = frame["language"].tolist() if "language" in frame else [None] * len(frame)
        vals = []
        for o, la in zip(_outputs(frame), langs, strict=True):
            got = draft_language(o)
            vals.append(math.nan if got is None else float(got == reply_language(la)))
        return pd.DataFrame({"reply_language_ok": vals}, index=frame.index, dtype=np.float64)

    return score
