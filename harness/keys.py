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
    return _KEYLIKE.sub(lambda m: m.group(1) + "-***", text)


def scrub_value(value: object) -> object:
    """:func:`scrub` applied to a string, or to every string inside a dict or list."""
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, dict):
        return {k: scrub_value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [scrub_value(v) for v in value]
    return value
