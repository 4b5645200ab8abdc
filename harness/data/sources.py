"""The sources/ folder of a dataset: approved source documents, front matter and titles."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from typing import Any

import pandas as pd

from harness.data import safeyaml
from harness.data.files import Collector, read_text
from harness.data.guard import LINK_HINT, escape_reason

SOURCE_SUFFIXES = (".md", ".txt")
SOURCE_STATUSES = ("current", "superseded")


_FRONT = re.compile(r"\A---\s*\n(.*?)\n---\s*\n", re.S)


def read_sources(folder: Path, col: Collector) -> pd.DataFrame:
    """Read and check every source document; the frame is indexed by source id."""
    records: list[dict[str, Any]] = []
    cols = [
        "id",
        "title",
        "category",
        "status",
        "superseded_by",
        "effective",
        "text",
        "file",
        "titled",  # the title came from front matter (else: the first heading or line)
    ]
    if not folder.is_dir():
        col.add(
            folder,
            None,
            None,
            "is missing",
            "create sources/ with one approved source document per file (id = file stem)",
        )
        return pd.DataFrame(columns=cols).set_index("id")
    why = escape_reason(col.root, folder)
    if why is not None:
        col.add(folder, None, None, why, LINK_HINT)
        return pd.DataFrame(columns=cols).set_index("id")
    files = []
    for p in sorted(folder.iterdir()):
        if p.name.startswith("."):
            continue
        why = escape_reason(col.root, p)
        if why is not None:
            col.add(p, None, None, why, LINK_HINT)
        elif p.is_file():
            files.append(p)
    for p in files:
        if p.suffix not in SOURCE_SUFFIXES:
            col.add(
                p,
                None,
                None,
                f"has suffix '{p.suffix}'",
                "source documents are plain text: use .md or .txt",
            )
            continue
        text = read_text(p, col)
        if text is None:
            continue
        meta: dict[str, Any] = {}
        body = text
        m = _FRONT.match(text)
        if m:
            try:
                loaded, _ = safeyaml.parse(m.group(1), line_offset=1, max_bytes=64_000)
            except safeyaml.YamlProblem as exc:
                col.add(
                    p,
                    exc.line or 2,
                    None,
                    f"front matter {exc.message}",
                    exc.hint or "write 'key: value' lines between the two '---' lines",
                )
                loaded = {}
            if not isinstance(loaded, dict):
                col.add(p, 2, None, "front matter is not a mapping", "write 'key: value' lines")
                loaded = {}
            meta = loaded
            body = text[m.end() :]
        if not body.strip():
            col.add(p, None, None, "is empty", "a source document needs its approved text")
        status = str(meta.get("status", "current"))
        if status not in SOURCE_STATUSES:
            col.add(p, 2, "status", f"'{status}' is not a status", "use current or superseded")
        records.append(
            {
                "id": p.stem,
                "title": str(meta.get("title") or _first_line_title(body)),
                "category": meta.get("category"),
                "status": status,
                "superseded_by": meta.get("superseded_by"),
                "effective": str(meta["effective"]) if meta.get("effective") else None,
                "text": body.strip(),
                "file": p.name,
                "titled": bool(str(meta.get("title") or "").strip()),
            }
        )
    ids = Counter(r["id"] for r in records)
    for sid, n in ids.items():
        if n > 1:
            col.add(
                folder,
                None,
                None,
                f"has {n} files with the id '{sid}'",
                "keep one file per source id (the id is the file name without suffix)",
            )
    known = set(ids)
    for r in records:
        if r["status"] == "superseded":
            nxt = r["superseded_by"]
            if not nxt:
                col.add(
                    folder / r["file"],
                    2,
                    "superseded_by",
                    "is missing",
                    "name the source that replaced this one",
                )
            elif nxt not in known:
                col.add(
                    folder / r["file"],
                    2,
                    "superseded_by",
                    f"names '{nxt}', which does not exist",
                    "fix the id",
                )
    # an empty sources/ is a warning (harness.gates.feeds), not an error: a fresh import
    # of a question,answer export is a valid dataset before its policy files are added
    frame = pd.DataFrame(records, columns=cols)
    return frame.drop_duplicates("id").set_index("id")


def _first_line_title(body: str) -> str:
    """A source without a front-matter title: its first heading, else its first line (cut at
    a sentence end or 80 characters), never the file name (a model copies ids into drafts)."""
    lines = [ln.strip() for ln in body.strip().splitlines() if ln.strip()]
    for ln in lines:
        if ln.startswith("#"):
            return ln.lstrip("#").strip()
    first = lines[0] if lines else ""
    cut = re.split(r"(?<=[.!?])\s", first, maxsplit=1)[0]
    return cut[:80].rstrip() if len(cut) > 80 else cut
