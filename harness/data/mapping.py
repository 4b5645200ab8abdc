"""Which export column feeds which dataset field: inferred from common names, overridable.

An export's ``question,answer,category`` columns become ``input``, ``reference`` and
``category``; ``--map field=column`` (``mapping={"input": "Parent message"}``) overrides the
guess, and ``--map field=`` turns a guess off.
"""

from __future__ import annotations

import re
import unicodedata

import pandas as pd

from harness.errors import Problem

# field -> header names that mean it (compared after lower-casing and turning punctuation into
# spaces); the first field listed wins a header that two could claim.
ALIASES: dict[str, tuple[str, ...]] = {
    "input": (
        "input",
        "question",
        "message",
        "body",
        "parent question",
        "inquiry",
        "enquiry",
        "query",
        "request",
        "question text",
        "message body",
    ),
    "reference": (
        "reference",
        "answer",
        "response",
        "reply",
        "approved answer",
        "approved reply",
        "approved response",
        "final answer",
        "final reply",
        "resolution",
    ),
    "category": ("category", "topic", "subject area", "department", "queue"),
    "date": ("date", "created", "created at", "submitted", "received", "date received", "sent"),
    "language": ("language", "lang", "locale"),
    "channel": ("channel", "medium", "via", "contact method"),
    "school": ("school", "site", "campus", "school name"),
    "task": ("task", "workflow"),
    "source_ids": ("source ids", "source id", "sources"),
    "required_facts": ("required facts",),
    "sensitive": ("sensitive",),
    "sensitive_reason": ("sensitive reason",),
    "staff_first_draft": ("staff first draft", "first draft", "draft"),
    "paraphrase_group": ("paraphrase group",),
    "export_id": ("id", "ticket", "ticket id", "case id", "message id", "record id"),
}
# words that identify a field when a header only contains them ("Parent's Question (text)")
_WORDS = {
    "input": ("question", "message", "inquiry", "enquiry"),
    "reference": ("answer", "reply", "response"),
    "category": ("category", "topic"),
    "date": ("date",),
    "language": ("language",),
    "school": ("school",),
}
FIELDS = tuple(ALIASES)
REQUIRED = ("input", "reference")


def normalise_header(name: str) -> str:
    """A header as lower-case words: ``"Parent_Question "`` -> ``"parent question"``."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    return " ".join(re.sub(r"[^0-9a-z]+", " ", ascii_name.lower()).split())


def infer_mapping(columns: list[str]) -> dict[str, str]:
    """The column each field comes from, guessed from the headers (exact names, then words)."""
    norm = {c: normalise_header(c) for c in columns}
    out: dict[str, str] = {}
    used: set[str] = set()
    for fld, names in ALIASES.items():
        for alias in names:
            hit = next((c for c in columns if norm[c] == alias and c not in used), None)
            if hit is not None:
                out[fld] = hit
                used.add(hit)
                break
    for fld, words in _WORDS.items():
        if fld in out:
            continue
        hit = next(
            (c for c in columns if c not in used and any(w in norm[c].split() for w in words)),
            None,
        )
        if hit is not None:
            out[fld] = hit
            used.add(hit)
    return out


def parse_overrides(pairs: list[str]) -> dict[str, str]:
    """``["input=Parent message", "date="]`` as a dict; raises ValueError on a malformed pair."""
    out: dict[str, str] = {}
    for pair in pairs:
        if "=" not in pair:
            raise ValueError(f"--map {pair!r}: write field=column, e.g. input=Parent message")
        fld, col = pair.split("=", 1)
        out[fld.strip()] = col.strip()
    return out


def resolve_mapping(
    columns: list[str], overrides: dict[str, str] | None, display: str
) -> tuple[dict[str, str], list[Problem]]:
    """The inferred mapping with ``overrides`` applied, and the problems that stop an import."""
    mapping = infer_mapping(columns)
    problems: list[Problem] = []
    for fld, col in (overrides or {}).items():
        if fld not in ALIASES:
            problems.append(
                Problem(
                    display,
                    None,
                    "--map",
                    f"'{fld}' is not a dataset field",
                    f"map one of: {', '.join(FIELDS)}",
                )
            )
        elif col == "":
            mapping.pop(fld, None)
        elif col not in columns:
            problems.append(
                Problem(
                    display,
                    1,
                    "--map",
                    f"{fld}={col}: the export has no column '{col}'",
                    f"its columns: {', '.join(columns)}",
                )
            )
        else:
            for other in [f for f, c in mapping.items() if c == col and f != fld]:
                mapping.pop(other)
            mapping[fld] = col
    for fld in REQUIRED:
        if fld not in mapping and not problems:
            problems.append(
                Problem(
                    display,
                    1,
                    None,
                    f"no column looks like '{fld}' (" + ", ".join(ALIASES[fld][1:4]) + ", ...)",
                    f"name it with --map {fld}=COLUMN; the export's columns: {', '.join(columns)}",
                )
            )
    return mapping, problems


def mapping_table(mapping: dict[str, str], columns: list[str]) -> pd.DataFrame:
    """The mapping as a printable frame: field, column (unmapped columns kept as metadata)."""
    rows = [(f, mapping[f]) for f in FIELDS if f in mapping]
    mapped = set(mapping.values())
    rows += [(f"(metadata) {meta_name(c)}", c) for c in columns if c not in mapped]
    return pd.DataFrame(rows, columns=["field", "column"])


def meta_name(column: str) -> str:
    """The item field an unmapped column is kept under: its header in lower_snake_case."""
    return normalise_header(column).replace(" ", "_") or "column"
