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

import csv
import json
import math
import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

LINK_HINT = (
    "a dataset holds its own files: copy the file into the dataset folder instead of linking"
)
_DELIMITERS = {";": "semicolon", "\t": "tab", "|": "pipe"}
MAX_JSON_DEPTH = 64  # arrays and objects inside each other (harness.importers.limits.LIMITS)


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


def strict_json(text: str, *, allow_nan: bool = False) -> Any:
    """``json.loads`` that refuses duplicate keys and (unless ``allow_nan``) NaN/Infinity.

    Raises:
        json.JSONDecodeError: not JSON.
        JsonKeyError: a duplicate key (``field`` names it) or a non-finite constant.
        RecursionError: nested deeper than the parser can go (check the depth first:
            :func:`json_depth_line`).
    """
    if allow_nan:
        return json.loads(text, object_pairs_hook=_pairs)
    return json.loads(text, object_pairs_hook=_pairs, parse_constant=_constant)


_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"')
_BRACKET = re.compile(r"[\[\]{}]")
_TOKEN = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|[{}\[\],]')


def json_depth_line(text: str, limit: int = MAX_JSON_DEPTH) -> int | None:
    """The 1-based line where JSON ``text`` nests arrays/objects more than ``limit`` deep, or
    None. Checked before parsing: Python's parser ends in a RecursionError on deep nesting."""
    if text.count("[") + text.count("{") <= limit:
        return None
    bare = _STRING.sub('""', text)  # JSON strings hold no raw newline: lines stay where they are
    depth = 0
    for m in _BRACKET.finditer(bare):
        if m.group() in "[{":
            depth += 1
            if depth > limit:
                return bare.count("\n", 0, m.start()) + 1
        else:
            depth -= 1
    return None


def duplicate_key_line(text: str, key: str) -> int | None:
    """The 1-based line where an object of the JSON ``text`` gives ``key`` a second time.

    For the message once a parser refused a repeated key (the parser's hook does not know
    where it is): one linear pass with one set of keys per open object.
    """
    stack: list[set[str] | None] = []
    expect_key = False
    for m in _TOKEN.finditer(text):
        tok = m.group()
        if tok[0] == '"':
            if expect_key and stack and stack[-1] is not None:
                name = json.loads(tok)
                if name == key and name in stack[-1]:
                    return text.count("\n", 0, m.start()) + 1
                stack[-1].add(name)
            expect_key = False
        elif tok == "{":
            stack.append(set())
            expect_key = True
        elif tok == "[":
            stack.append(None)
        elif tok in "]}":
            if stack:
                stack.pop()
        elif stack and stack[-1] is not None:  # a comma between an object's members
            expect_key = True
    return None


def csv_error(exc: Exception) -> tuple[str, str]:
    """A ``csv.Error`` as (message, hint) for the line the reader stopped on."""
    if "field larger than field limit" in str(exc):
        return (
            f"holds a field longer than {csv.field_size_limit():,} characters",
            "shorten it, or check that every quote in the file is closed",
        )
    return f"cannot be read as CSV ({exc})", "check that every quote in the file is closed"


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
