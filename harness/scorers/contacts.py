"""Official contacts: the phone numbers, emails and web addresses the district publishes.

A contact is official when the district's approved material publishes it: an approved answer
(``reference``) or a policy document (``sources/``), or the district directory
(``directory.csv``, which adds to them), and the canned replies a run's plan sends
(:func:`canned_contacts`: the district's own text). Official contacts are never personal data
(:mod:`harness.scorers.governance`). A number or address that an approved answer only repeats
from the family's own message is the family's, not the district's, and is left out.

Not a scorer family: the governance scorers and ``harness import`` use it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pandas as pd

from harness.data.dataset import Dataset
from harness.scorers.claims import extract_claims

CONTACT_KINDS = ("phone", "email", "url")
CONTACT_COLUMNS = ["kind", "contact", "key", "answers", "policies", "directory"]


def official_contacts(
    answers: Iterable[tuple[str, str]],
    policies: Iterable[str],
    directory: Iterable[str] = (),
) -> pd.DataFrame:
    """Every official phone, email and web address in approved material.

    Args:
        answers: (approved answer, the family's message) per item.
        policies: the text of each policy document.
        directory: the values of ``directory.csv``.

    Returns:
        One row per contact (columns :data:`CONTACT_COLUMNS`): its kind, how it was first
        written, its normalised key (what the scorers compare), and in how many approved
        answers and policies it occurs, and whether the directory lists it (counts as int).
    """
    seen: dict[tuple[str, Any], dict[str, Any]] = {}

    def add(text: str, where: str, family: str = "") -> None:
        mine = {(c.kind, c.key) for c in extract_claims(family)} if family else set()
        found = set()
        for c in extract_claims(text):
            if c.kind not in CONTACT_KINDS or (c.kind, c.key) in mine or c.key == "911":
                continue
            row = seen.setdefault(
                (c.kind, c.key),
                {"kind": c.kind, "contact": c.text.rstrip(".,;:)"), "key": str(c.key), "answers": 0,
                 "policies": 0, "directory": 0},
            )  # fmt: skip
            if (c.kind, c.key) not in found:
                found.add((c.kind, c.key))
                row[where] += 1

    for answer, message in answers:
        if isinstance(answer, str):
            add(answer, "answers", message if isinstance(message, str) else "")
    for text in policies:
        if isinstance(text, str):
            add(text, "policies")
    for value in directory:
        add(str(value), "directory")
    rows = sorted(seen.values(), key=lambda r: (CONTACT_KINDS.index(r["kind"]), r["key"]))
    frame = pd.DataFrame(rows, columns=CONTACT_COLUMNS)
    return frame.astype({c: "int64" for c in ("answers", "policies", "directory")})


def canned_contacts(texts: Iterable[str]) -> frozenset[tuple[str, str]]:
    """The ``(kind, key)`` of every phone and email in the district's canned replies
    (:func:`harness.plan.plan_canned_texts`): text the district sends to every family, so what
    it prints is an official contact."""
    found = official_contacts([], list(texts))
    return frozenset((k, str(v)) for k, v in zip(found["kind"], found["key"], strict=True))


_CACHE: dict[str, pd.DataFrame] = {}


def dataset_contacts(dataset: Dataset | None) -> pd.DataFrame:
    """:func:`official_contacts` of a dataset: its approved answers, sources and directory."""
    if dataset is None:
        return official_contacts([], [])
    key = dataset.fingerprint or str(id(dataset))
    hit = _CACHE.get(key)
    if hit is None:
        items = dataset.items
        d = dataset.directory
        hit = official_contacts(
            zip(items["reference"].tolist(), items["input"].tolist(), strict=True),
            dataset.sources["text"].tolist(),
            [] if d is None else d["value"].tolist(),
        )
        if len(_CACHE) > 64:
            _CACHE.clear()
        _CACHE[key] = hit
    return hit


def contact_lines(contacts: pd.DataFrame, limit: int = 30) -> list[str]:
    """What :func:`official_contacts` found, for the terminal."""
    if contacts.empty:
        return ["official contacts found in approved answers and policies: none"]
    n = contacts["kind"].value_counts()
    words = {"phone": "phone numbers", "email": "emails", "url": "web addresses"}
    counts = ", ".join(f"{int(n[k])} {words[k]}" for k in CONTACT_KINDS if k in n)
    lines = [
        f"official contacts found in approved answers and policies ({counts}); "
        "never counted as personal data:"
    ]
    for r in contacts.head(limit).itertuples():
        where = [f"{r.answers} approved answers" if r.answers else "", f"{r.policies} policies"
                 if r.policies else "", "directory.csv" if r.directory else ""]  # fmt: skip
        lines.append(f"  {r.kind} {r.contact} ({', '.join(w for w in where if w)})")
    if len(contacts) > limit:
        lines.append(f"  ... and {len(contacts) - limit} more (ImportResult.contacts)")
    return lines
