"""Keys a run read, and scrubbing them from everything the harness writes or prints.

The engine registers the value of every key it reads (whatever the variable is called); the
journal, the manifest, error messages, the CLI's output and the call workers' replies pass
through :func:`scrub`. Values of variables whose names look like credentials, and key-shaped
tokens (``sk-...``), are scrubbed as well. No module here imports anything heavy: the call
workers use it too.
"""

from __future__ import annotations

import os
import re
import threading

_KEYLIKE = re.compile(r"(sk|key|pk|rk|api)[-_][A-Za-z0-9_\-]{8,}", re.I)
_CREDENTIAL_NAME = re.compile(r"(KEY|TOKEN|SECRET|PASSWORD|CRED|AUTH)", re.I)
_MIN = 4  # shorter values would scrub ordinary words
_used: set[str] = set()
_lock = threading.Lock()


def register(value: str | None) -> None:
    """Remember a key value the harness read, so it is scrubbed wherever it would appear."""
    if value and len(value) >= _MIN:
        with _lock:
            _used.add(value)


def used() -> list[str]:
    """Every registered value, longest first (a key that contains another is scrubbed whole)."""
    with _lock:
        return sorted(_used, key=len, reverse=True)


def credential_values() -> list[str]:
    """Values of environment variables whose names look like credentials."""
    return [v for k, v in os.environ.items() if v and len(v) >= 8 and _CREDENTIAL_NAME.search(k)]


def scrub_values(extra: list[str] | None = None) -> list[str]:
    """Every value :func:`scrub` removes (registered keys, credential-like environment values
    and ``extra``), longest first; compute it once to scrub many texts (:func:`scrub_with`)."""
    return sorted({*used(), *credential_values(), *(extra or [])}, key=len, reverse=True)


def scrub(text: str, extra: list[str] | None = None) -> str:
    """``text`` with every known key value and key-shaped token replaced by ``***``."""
    if not text:
        return text
    return scrub_with(text, scrub_values(extra))


def scrub_with(text: str, values: list[str]) -> str:
    """:func:`scrub` with the values computed once (:func:`scrub_values`)."""
    if not text:
        return text
    for s in values:
        if s and len(s) >= _MIN and s in text:
            text = text.replace(s, "***")
    text = _KEYLIKE.sub(lambda m: m.group(1) + "-***", text)
    return _scrub_split(text, values)


_PIECE = re.compile(r'("(?:content|text)"\s*:\s*")((?:[^"\\]|\\.)*)(")')
_SPACE = re.compile(r"\s+")


def _scrub_split(text: str, values: list[str]) -> str:
    """Keys echoed in pieces: split by whitespace or newlines, or chunk by chunk in the
    ``"content": "..."`` fields of a streamed body quoted in an error. The pieces are checked
    joined, as a reader would join them."""
    keys = [v for v in values if v and len(v) >= 8]
    squeezed = _SPACE.sub("", text)
    for v in keys:
        if v in squeezed:
            text = re.sub(r"\s*".join(re.escape(c) for c in v), "***", text)
    pieces = _PIECE.findall(text)
    if len(pieces) > 1:
        joined = "".join(p[1] for p in pieces)
        if any(v in joined for v in keys) or _KEYLIKE.search(joined):
            text = _PIECE.sub(lambda m: m.group(1) + "***" + m.group(3), text)
    return text


def scrub_value(value: object) -> object:
    """:func:`scrub` applied to a string, or to every string inside a dict or list."""
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, dict):
        return {k: scrub_value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [scrub_value(v) for v in value]
    return value
