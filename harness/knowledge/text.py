"""Text as the index sees it: folding, words, stop words, stemming and language detection.

Every text (a passage when the index is built, a question when it is searched) goes through
:func:`analyze`: Unicode NFKD with accents dropped and case folded, split into words, stop words
of its language removed, and each word stemmed with Snowball (``snowballstemmer``, locked) in
its language: English and Spanish. SQLite's FTS5 has no Spanish stemmer, so stemming happens
here, before indexing, and FTS5 only splits the analysed words on spaces. A passage in any
other language is folded but not stemmed (:data:`STEMMED` says which are).

:func:`detect_language` tells English from Spanish by stop words and the letters only Spanish
uses (``ñ``, ``¿``, ``¡``, accented vowels), and recognises a few more by script or stop words
(Arabic, Chinese, Vietnamese, Somali); it returns ``und`` when it cannot tell.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

import snowballstemmer

STEMMED = {"en": "english", "es": "spanish"}

# Short lists of the commonest function words (folded: no accents), for stop-word removal and
# language detection. Words both languages use ("a", "no", "me") count for neither.
_EN = """the and to of in is it you that for on with are be this at have your we will as
can or from by our an not if was they all my do has he she their what when how there would
about which who been were please here them than then also any into more may should could
so its just i am dear hello thanks thank hi"""
_ES = """el la los las de del que y en un una es por con para su sus al lo se le les
como mas pero si ya muy esta este estos estas ese esa hay son fue ser ha han hemos
tiene tienen puede pueden nuestro nuestra usted ustedes nos hola gracias mi hijo hija
donde cuando porque tambien cual quien sobre desde hasta entre sin cada todo todos"""
_SO = """waa iyo ku ka aan ayaa oo in ah u uu ay la wax si haddii iyada isaga waxaan
ma miyaa sidee maxay"""
_VI = """cua va la cho toi con cac duoc khong nhung mot co trong nay khi thi se de"""

STOP = {
    "en": frozenset(_EN.split()),
    "es": frozenset(_ES.split()),
}
_DETECT = {
    "en": frozenset(_EN.split()) - frozenset(_ES.split()),
    "es": frozenset(_ES.split()) - frozenset(_EN.split()),
    "so": frozenset(_SO.split()),
}
_WORD = re.compile(r"\w+", re.UNICODE)
_SPANISH_MARKS = re.compile(r"[ñ¿¡áéíóú]", re.I)
_VIETNAMESE_MARKS = re.compile(r"[ăâđêôơưạảấầẩẫậắằẳẵặẹẻẽếềểễệỉịọỏốồổỗộớờởỡợụủứừửữựỳỵỷỹ]", re.I)


_COMBINING = re.compile(r"[\u0300-\u036f]")


@lru_cache(maxsize=1 << 16)
def fold(word: str) -> str:
    """A word without accents, case folded (``Inscripción`` -> ``inscripcion``)."""
    return _fold_text(word)


def _fold_text(text: str) -> str:
    nfkd = unicodedata.normalize("NFKD", text)
    if nfkd.isascii():
        return nfkd.casefold()
    return _COMBINING.sub("", nfkd).casefold()


def words(text: str) -> list[str]:
    """The folded words of a text."""
    return _WORD.findall(_fold_text(text))


_STEMS: dict[str, dict[str, str]] = {lang: {} for lang in STEMMED}


def _stem_all(lang: str, ws: list[str]) -> list[str]:
    cache = _STEMS[lang]
    missing = [w for w in set(ws) if w not in cache]
    if missing:
        stemmer = snowballstemmer.stemmer(STEMMED[lang])
        cache.update(zip(missing, stemmer.stemWords(missing), strict=True))
    return [cache[w] for w in ws]


def analyze(text: str, lang: str | None) -> list[str]:
    """The index terms of a text in ``lang``: folded words, stop words dropped, stemmed when
    the language is English or Spanish (others: folded only)."""
    code = lang if lang in STEMMED else None
    stop = STOP.get(code or "", frozenset())
    kept = [w for w in words(text) if w not in stop and (len(w) > 1 or w.isdigit())]
    return _stem_all(code, kept) if code else kept


_LETTER = re.compile(r"[^\W\d_]")
_ARABIC = re.compile(r"[\u0600-\u06ff]")
_CJK = re.compile(r"[\u4e00-\u9fff\u3040-\u30ff]")


def detect_language(text: str) -> str:
    """``en``, ``es`` (and ``ar``, ``zh``, ``vi``, ``so`` by script or stop words), else ``und``.

    English against Spanish is decided by counting each language's own stop words; a text with
    Spanish-only letters (``ñ``, ``¿``, ``¡``, an accented vowel) and at least as many Spanish
    stop words as English ones is Spanish.
    """
    if not text or not text.strip():
        return "und"
    letters = len(_LETTER.findall(text))
    if not letters:
        return "und"
    if not text.isascii():
        if len(_ARABIC.findall(text)) / letters > 0.3:
            return "ar"
        if len(_CJK.findall(text)) / letters > 0.3:
            return "zh"
    if len(_VIETNAMESE_MARKS.findall(text)) >= 3:
        return "vi"
    ws = words(text)
    counts = {lang: sum(w in stop for w in ws) for lang, stop in _DETECT.items()}
    if counts["so"] > max(counts["en"], counts["es"]) and counts["so"] >= 2:
        return "so"
    if counts["es"] > counts["en"] or (
        _SPANISH_MARKS.search(text) and counts["es"] >= counts["en"] and counts["es"] > 0
    ):
        return "es"
    if counts["en"] > 0:
        return "en"
    return "und"
