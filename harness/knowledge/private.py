"""Another family's details never leave their approved answer.

An approved answer was written to one family. Retrieved for a different family's question, it
reaches a model's prompt (and the retrieval baseline's draft), so before it is indexed it loses
what is personal, whatever the plan's ``redact`` setting (which governs only the family's own
message): the greeting, sign-off and listed names (:func:`harness.knowledge.passages.depersonalize`)
and, here,

- **phone numbers and emails that are not the district's**: a contact is official, and kept,
  when a source document or ``directory.csv`` publishes it, or when the approved answers of at
  least :data:`OFFICIAL_ANSWERS` different items state it without their families having written
  it (a switchboard number); any other one (the family's own number, a number only one answer
  gives) becomes ``[PHONE]`` / ``[EMAIL]``;
- **student-id-like numbers** (6-9 digits, as :mod:`harness.engine.protect` redacts them) that no
  source publishes become ``[STUDENT_ID]``;
- **names the family gave**: a capitalised word of the answer (``Mateo``, not ``JV``) that
  the family's own message also holds, that no source document contains and that the
  messages and answers of fewer than :data:`COMMON_ITEMS` items use (a child's first name, a
  street, a town, but not ``Easter``) becomes ``[NAME]``; function words, greetings and month
  or day abbreviations are left alone. A name the
  family never wrote and ``people.csv`` does not list cannot be told from any other word and is
  kept: list the district's students and staff in ``people.csv``.

Source documents are the district's public material and are indexed as written.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from harness.knowledge.text import STOP, fold

# The patterns of harness.engine.protect's redaction (importing that module would make a cycle
# through the plan's candidates; tests/knowledge/test_private.py keeps them equal).
EMAIL = re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}")
PHONE = re.compile(
    r"(?<![\w$])(?:\+?1[\s.\-]?)?(?:\(\d{3}\)\s?|\d{3}[\s.\-])?\d{3}[\s.\-]\d{4}(?!\w)"
)
STUDENT_ID = re.compile(r"(?<![\d\-$.,])\d{6,9}(?![\d\-])")
OFFICIAL_ANSWERS = 2  # different items' answers that make a contact official on their own
COMMON_ITEMS = 3  # items whose message or answer uses a word that is then no one's name
PLACEHOLDERS = {"phone": "[PHONE]", "email": "[EMAIL]", "student_id": "[STUDENT_ID]"}
RULE = (
    "approved answers given to a model or the retrieval baseline for another family's question "
    "are stripped of greetings, sign-offs and people.csv names, of phone numbers and emails "
    "that no source, directory.csv or two other answers publish, of student-id-like numbers, "
    "and of names the family wrote, whatever 'redact' says (harness/knowledge/private.py)"
)
_CAPITAL = re.compile(r"\b[^\W\d_][^\W\d_'’]+\b")
_CALENDAR_WORDS = """jan feb mar apr jun jul aug sep sept oct nov dec mon tue tues wed thu
thur thurs fri sat sun mr mrs ms dr"""
_OTHER_WORDS = "he she her his him they them their i we you it hi hello yes no ok buenas buenos"
_CALENDAR = frozenset(_CALENDAR_WORDS.split())
_OTHER = frozenset(_OTHER_WORDS.split())


def _phone_key(text: str) -> str:
    return re.sub(r"\D", "", text)[-7:]


def contact_keys(text: str) -> set[tuple[str, str]]:
    """The phone numbers (last 7 digits) and emails (lower case) a text states."""
    keys = {("phone", _phone_key(m)) for m in PHONE.findall(text)}
    return keys | {("email", m.lower()) for m in EMAIL.findall(text)}


@dataclass
class Public:
    """What the district publishes: the contacts and words a withheld detail is checked
    against (built once per knowledge base by :func:`public_material`)."""

    contacts: set[tuple[str, str]]
    text: str  # every source document and directory value, joined
    words: frozenset[str]  # their folded words, and those of COMMON_ITEMS items' texts
    withheld: Counter[str] = field(default_factory=Counter)  # kind -> replacements made


def public_material(
    sources: Iterable[str], directory: Iterable[str], answers: Iterable[tuple[str, str]]
) -> Public:
    """The public side: sources and directory as written, and the contacts that at least
    :data:`OFFICIAL_ANSWERS` items' answers (``(answer, family's message)``) state."""
    text = "\n".join([*(str(s) for s in sources), *(str(d) for d in directory)])
    seen: Counter[tuple[str, str]] = Counter()
    used: Counter[str] = Counter()
    for answer, message in answers:
        seen.update(contact_keys(answer) - contact_keys(message))
        used.update({fold(w) for w in re.findall(r"\w+", f"{answer}\n{message}")})
    contacts = contact_keys(text) | {c for c, n in seen.items() if n >= OFFICIAL_ANSWERS}
    words = {fold(w) for w in re.findall(r"\w+", text)}
    words |= {w for w, n in used.items() if n >= COMMON_ITEMS}
    return Public(contacts, text, frozenset(words))


def withhold(answer: str, message: str, public: Public) -> str:
    """``answer`` without the personal details the module doc lists (counted in ``public``)."""

    def contact(kind: str) -> Callable[[re.Match[str]], str]:
        def sub(m: re.Match[str]) -> str:
            key = _phone_key(m.group(0)) if kind == "phone" else m.group(0).lower()
            if (kind, key) in public.contacts:
                return m.group(0)
            public.withheld[kind] += 1
            return PLACEHOLDERS[kind]

        return sub

    out = PHONE.sub(contact("phone"), EMAIL.sub(contact("email"), answer))

    def number(m: re.Match[str]) -> str:
        if m.group(0) in public.text:
            return m.group(0)
        public.withheld["student_id"] += 1
        return PLACEHOLDERS["student_id"]

    out = STUDENT_ID.sub(number, out)
    given = {fold(w) for w in re.findall(r"\w+", message)}
    common = STOP["en"] | STOP["es"] | _CALENDAR | _OTHER

    def name(m: re.Match[str]) -> str:
        w = m.group(0)
        low = fold(w)
        if not w.istitle() or low in common or low not in given or low in public.words:
            return w
        public.withheld["name"] += 1
        return "[NAME]"

    out = _CAPITAL.sub(name, out)
    return re.sub(r"\[NAME\](?:\s+\[NAME\])+", "[NAME]", out)
