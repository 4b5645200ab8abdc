"""Escapes for text from datasets and plans on its way to a terminal, XML, Markdown, HTML or matplotlib.

Dataset text (a category, a question, a cell quoted in an error) may hold control characters
(an ANSI escape rewrites the terminal; most C0 characters make XML 1.0 malformed), Unicode
direction overrides (text that reads differently than it is), Markdown syntax, or ``$`` pairs
that matplotlib would parse as math text. Each function here returns text that shows what was
there, visibly and literally.
"""

from __future__ import annotations

import html
import re
from typing import Any

import pandas as pd

# C0 controls, DEL, C1 controls, and the bidirectional overrides/isolates
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ufffe\uffff]")
_CONTROL_XML = re.compile(
    r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ufffe\uffff]"
)
_SURROGATE = re.compile(r"[\ud800-\udfff]")
_MD_SPECIAL = re.compile(r"([\\`*_\[\]|#~])")


def _visible(m: re.Match[str]) -> str:
    c = ord(m.group(0))
    return f"\\x{c:02x}" if c < 0x100 else f"\\u{c:04x}"


def terminal(text: Any, keep_newlines: bool = False) -> str:
    """Text for a terminal: control characters shown as ``\\xNN`` (newlines kept if asked)."""
    s = _SURROGATE.sub(_visible, str(text))
    if keep_newlines:
        return "\n".join(_CONTROL.sub(_visible, part) for part in s.split("\n"))
    return _CONTROL.sub(_visible, s)


def terminal_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` whose text cells, column names and index are safe to print."""
    out = frame.copy()
    for c in out.columns:
        if pd.api.types.is_object_dtype(out[c]) or pd.api.types.is_string_dtype(out[c]):
            out[c] = [terminal(v) if isinstance(v, str) else v for v in out[c]]
    out.columns = [terminal(c) if isinstance(c, str) else c for c in out.columns]
    if pd.api.types.is_object_dtype(out.index) or pd.api.types.is_string_dtype(out.index):
        out.index = [terminal(v) if isinstance(v, str) else v for v in out.index]
    return out


def xml(text: Any) -> str:
    """Text for an XML 1.0 attribute or element: characters XML forbids shown as ``\\xNN``.

    Tab, newline and carriage return stay (XML allows them); ``<`` and ``&`` are left to the
    XML writer, which escapes them.
    """
    return _CONTROL_XML.sub(_visible, _SURROGATE.sub(_visible, str(text)))


def markdown(text: Any) -> str:
    """Text for a Markdown table cell: controls visible, HTML escaped, syntax characters inert."""
    s = terminal(str(text).replace("\r\n", " ").replace("\n", " "))
    return _MD_SPECIAL.sub(r"\\\1", html.escape(s, quote=False))


def mpl(text: Any) -> str:
    """Text for a matplotlib label, title or tick: every ``$`` escaped, so never math text."""
    return str(text).replace("$", r"\$")


# A cell a spreadsheet would run as a formula (=, +, -, @; a tab or carriage return first hides
# one). The station's CSV exports write such a cell with a leading apostrophe, the spreadsheet
# convention for "text, not a formula"; an apostrophe already first is escaped the same way, so
# reading back (harness/data/tables.py) restores every cell exactly.
SPREADSHEET_TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "'")


def spreadsheet(text: Any) -> Any:
    """A text cell that no spreadsheet runs as a formula (other values unchanged)."""
    if isinstance(text, str) and text.startswith(SPREADSHEET_TRIGGERS):
        return "'" + text
    return text


def from_spreadsheet(text: str) -> str:
    """The cell :func:`spreadsheet` neutralised, as it was (other text unchanged)."""
    if len(text) > 1 and text[0] == "'" and text[1] in SPREADSHEET_TRIGGERS:
        return text[1:]
    return text


def esc(value: Any) -> str:
    """HTML-escape anything for display (None shows as an em dash)."""
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return "&mdash;"
    return html.escape(str(value), quote=True)
