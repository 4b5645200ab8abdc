"""Language codes in plain words: 'es' -> 'Spanish', for every place a leader reads one.

Items carry ISO 639-1 codes (``language: es``, what ``harness import`` detects); gates and
analysts' tables keep the codes, and reports, gate evidence and figures show the names
(:func:`language_name`). The table holds the languages most spoken by families in U.S. school
districts; a code it does not hold is shown as itself with a note, never dropped.
"""

from __future__ import annotations

from typing import Any

LANGUAGE_NAMES: dict[str, str] = {
    "am": "Amharic",
    "ar": "Arabic",
    "bn": "Bengali",
    "de": "German",
    "en": "English",
    "es": "Spanish",
    "fa": "Persian",
    "fr": "French",
    "hi": "Hindi",
    "hmn": "Hmong",
    "ht": "Haitian Creole",
    "it": "Italian",
    "ja": "Japanese",
    "km": "Khmer",
    "ko": "Korean",
    "mh": "Marshallese",
    "my": "Burmese",
    "ne": "Nepali",
    "pa": "Punjabi",
    "pl": "Polish",
    "ps": "Pashto",
    "pt": "Portuguese",
    "ru": "Russian",
    "so": "Somali",
    "sw": "Swahili",
    "ti": "Tigrinya",
    "tl": "Tagalog",
    "uk": "Ukrainian",
    "ur": "Urdu",
    "vi": "Vietnamese",
    "zh": "Chinese",
}


def language_name(code: Any) -> str:
    """'es' -> 'Spanish' ('es-MX' -> 'Spanish (es-MX)'); an unknown code says it is a code."""
    text = str(code).strip()
    base, _, region = text.replace("_", "-").partition("-")
    name = LANGUAGE_NAMES.get(base.lower())
    if name is None:
        return text if text.startswith("(") else f"language code '{text}'"
    return f"{name} ({text})" if region else name
