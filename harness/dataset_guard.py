"""Guards on dataset files, which arrive by pull request: where a file may be, and what its
JSON and CSV headers may hold.

- A dataset file is a regular file inside the dataset folder: a symbolic link (say
  ``sources/environ.txt -> /proc/self/environ``) or any path that resolves outside the folder is
  refused, so no file a pull request links to is read, stored or sent in a prompt.
- JSON is strict: a key given twice, or ``NaN`` / ``Infinity`` (not JSON, but Python's parser
  takes them), is refused instead of silently kept.
- A CSV header names each column once, and a file written with another delimiter (``;`` from a
  European Excel, tabs) gets one error saying so.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

LINK_HINT = (
    "a dataset holds its own files: copy the file into the dataset folder instead of linking"
)
_DELIMITERS = {";": "semicolon", "\t": "tab", "|": "pipe"}


def escape_reason(root: Path, path: Path) -> str | None:
    """Why ``path`` may not be read as part of the dataset at ``root`` (None: it may).

    A symbolic link anywhere below ``root`` on the way to ``path``, or a path that resolves
    outside ``root``, is refused. A path that does not exist is not this function's concern.
    """
    root_real = Path(os.path.realpath(root))
    try:
        rel = Path(os.path.abspath(path)).relative_to(Path(os.path.abspath(root)))
    except ValueError:
        return "lies outside the dataset folder"
    walk = Path(os.path.abspath(root))
    for part in rel.parts:
        walk = walk / part
        if walk.is_symlink():
            return f"is a symbolic link (to {os.readlink(walk)})"
    if not os.path.lexists(path):
        return None
    real = Path(os.path.realpath(path))
    if real != root_real and root_real not in real.parents:
        return f"resolves outside the dataset folder (to {real})"
    return None


class JsonKeyError(ValueError):
    """A JSON object gives a key twice, or a number JSON does not have."""

    def __init__(self, field: str, message: str, hint: str):
        self.field = field
        self.message = message
        self.hint = hint
        super().__init__(message)


def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in pairs:
        if k in out:
            raise JsonKeyError(
                k, "appears twice in this object", "keep one; the later one would win"
            )
        out[k] = v
    return out


def _constant(name: str) -> float:
    raise JsonKeyError(
        "", f"holds {name}, which is not a JSON number", "write a finite number, or null"
    )


def strict_json(text: str) -> Any:
    """``json.loads`` that refuses duplicate keys and NaN/Infinity.

    Raises:
        json.JSONDecodeError: not JSON.
        JsonKeyError: a duplicate key (``field`` names it) or a non-finite constant.
    """
    return json.loads(text, object_pairs_hook=_pairs, parse_constant=_constant)


def header_problems(
    first_line: str, fieldnames: Sequence[str], required: tuple[str, ...]
) -> list[tuple[str | None, str, str]]:
    """Problems of a CSV header as (field, message, hint): another delimiter, repeated names.

    A file whose header splits into the required columns on ``;``, tab or ``|`` (and not on
    commas) gets one problem naming that delimiter, and nothing else is reported for it.
    """
    names = [h.strip() for h in fieldnames]
    missing = [c for c in required if c not in names]
    if missing:
        for delim, label in _DELIMITERS.items():
            cells = [c.strip().strip('"') for c in first_line.split(delim)]
            if len(cells) > 1 and any(c in cells for c in required):
                return [
                    (
                        None,
                        f"is {label}-delimited ({delim!r} between columns), not comma-separated",
                        "save it as comma-separated CSV (in Excel: 'CSV UTF-8 (Comma delimited)')",
                    )
                ]
    problems: list[tuple[str | None, str, str]] = []
    seen: set[str] = set()
    for n in names:
        if n in seen:
            problems.append(
                (n, "is a column name used twice", "name each column once; the later one would win")
            )
        seen.add(n)
    return problems


def finite_number(text: str, low: float, high: float) -> float | None:
    """``text`` as a float within [low, high], or None (nan, inf, 1e308 and text are None)."""
    try:
        num = float(text)
    except ValueError:
        return None
    return num if math.isfinite(num) and low <= num <= high else None
