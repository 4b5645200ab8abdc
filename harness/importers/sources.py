"""A folder of a district's policy files becomes ``sources/*.md`` with front matter.

Each PDF, DOCX, HTML, Markdown or text file under the folder becomes one source whose id is
the slug of its path (``Board/Bus Pass Policy.pdf`` -> ``board-bus-pass-policy``). Its front
matter records the title and effective date taken from the document, the original file's
path, format and SHA-256, so the dataset says exactly which file each source came from.
Symbolic links and anything resolving outside the folder are refused (the import stops and
names them); files of other kinds, files without text and files that cannot be read or are
past a limit (:data:`harness.importers.limits.LIMITS`: a decompression bomb, a YAML bomb in
front matter) are skipped one by one with their reason while the others import.

Importing the folder again mirrors it: each source says whether it was added, changed or is
unchanged, and a source an earlier import wrote whose file is no longer in the folder is
removed and listed (sources written by hand, without ``original`` in their front matter, are
never touched; one whose file is still there but was skipped this time is kept, and said so).
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path
from typing import NamedTuple

import pandas as pd
import yaml

from harness.data import safeyaml
from harness.errors import Problem
from harness.importers.documents import DOCUMENT_SUFFIXES, DocumentError, read_document
from harness.importers.ids import slug
from harness.importers.limits import LIMITS
from harness.importers.tables import DatasetImportError

SOURCE_COLUMNS = ["id", "file", "title", "effective", "format", "sha256", "chars", "change"]
_FRONT = re.compile(r"\A---\s*\n(.*?)\n---\s*\n", re.S)


class SourceImport(NamedTuple):
    """What :func:`import_sources` did: sources written, files skipped, sources removed."""

    imported: pd.DataFrame  # SOURCE_COLUMNS; change: added, changed or unchanged
    skipped: pd.DataFrame  # file, reason
    removed: pd.DataFrame  # id, file, reason: an earlier import's source whose file is gone


def _imported_before(dest: Path) -> dict[str, tuple[str, str]]:
    """Source id -> (original file, SHA-256) of every source an earlier import wrote."""
    out: dict[str, tuple[str, str]] = {}
    for p in sorted(dest.glob("*.md")) if dest.is_dir() else []:
        if p.is_symlink() or not p.is_file():
            continue
        try:
            with p.open(encoding="utf-8") as fh:
                head = fh.read(70_000)
            m = _FRONT.match(head)
            meta, _ = (
                safeyaml.parse(m.group(1), max_bytes=LIMITS["front_matter_bytes"])
                if m
                else (None, None)
            )
        except (OSError, UnicodeDecodeError, safeyaml.YamlProblem):
            continue
        if isinstance(meta, dict) and meta.get("original") and meta.get("original_sha256"):
            out[p.stem] = (str(meta["original"]), str(meta["original_sha256"]))
    return out


def _walk(root: Path) -> tuple[list[Path], list[Problem]]:
    """Regular files under ``root`` in sorted order; symlinks and escapes as problems."""
    files: list[Path] = []
    problems: list[Problem] = []
    real_root = root.resolve()
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        here = Path(dirpath)
        for name in sorted(dirnames + filenames):
            p = here / name
            if p.is_symlink():
                problems.append(
                    Problem(
                        str(p),
                        None,
                        None,
                        "is a symbolic link, which the importer does not follow",
                        "copy the file itself into the folder",
                    )
                )
                continue
            try:
                p.resolve().relative_to(real_root)
            except ValueError:
                problems.append(
                    Problem(str(p), None, None, "resolves outside the source folder", "")
                )
                continue
            if p.is_file() and not name.startswith((".", "~$")):
                files.append(p)
        dirnames[:] = sorted(
            d for d in dirnames if not d.startswith(".") and not (here / d).is_symlink()
        )
    return sorted(files), problems


def _front_matter(fields: dict[str, object]) -> str:
    dumped = yaml.safe_dump(
        {k: v for k, v in fields.items() if v not in (None, "")},
        sort_keys=False,
        allow_unicode=True,
        width=1000,
    )
    return f"---\n{dumped}---\n\n"


def import_sources(src: str | Path, out: str | Path) -> SourceImport:
    """Turn the documents under ``src`` into ``out/sources/<id>.md``.

    Args:
        src: the folder holding the district's policy files (searched recursively).
        out: the dataset folder; its ``sources/`` is created if needed.

    Returns:
        ``(imported, skipped, removed)``: one row per source written (id, file, title,
        effective, format, sha256, chars, change: added / changed / unchanged), one per file
        skipped (file, reason) and one per source of an earlier import whose file is no longer
        in the folder, now deleted from ``sources/`` (id, file, reason).

    Raises:
        DatasetImportError: ``src`` is not a folder, holds no file, or holds symbolic links
            or paths that resolve outside it (all listed).
    """
    root = Path(src)
    if not root.is_dir():
        raise DatasetImportError(
            f"sources {root}",
            [Problem(str(root), None, None, "is not a folder", "give the folder of policy files")],
        )
    files, problems = _walk(root)
    if problems:
        raise DatasetImportError(f"sources {root}", problems)
    if not files:
        raise DatasetImportError(
            f"sources {root}",
            [
                Problem(
                    str(root),
                    None,
                    None,
                    "holds no policy file",
                    "put the district's policy files (PDF, DOCX, HTML, Markdown, text) in it, "
                    "or leave out --sources",
                )
            ],
        )
    dest = Path(out) / "sources"
    dest.mkdir(parents=True, exist_ok=True)
    before = _imported_before(dest)
    rows, skipped = [], []
    taken: set[str] = set()
    for p in files:
        rel = p.relative_to(root).as_posix()
        if p.suffix.lower() not in DOCUMENT_SUFFIXES:
            skipped.append({"file": rel, "reason": f"'{p.suffix}' is not a document kind read"})
            continue
        try:
            doc = read_document(p)
            sha = hashlib.sha256()
            with p.open("rb") as fh:
                for block in iter(lambda: fh.read(1 << 20), b""):
                    sha.update(block)
            digest = sha.hexdigest()
        except DocumentError as exc:
            skipped.append({"file": rel, "reason": str(exc)})
            continue
        except Exception as exc:  # MemoryError and RecursionError included: one bad file is
            # skipped with its reason, whatever the reader library raised, and never stops the
            # files after it
            skipped.append(
                {"file": rel, "reason": f"cannot be read ({type(exc).__name__}: {exc})"[:300]}
            )
            continue
        if not doc.text.strip():
            skipped.append({"file": rel, "reason": "has no text (a scanned image? OCR it first)"})
            continue
        sid = slug(rel.rsplit(".", 1)[0].replace("/", "-"))
        if sid in taken:
            sid = slug(f"{sid}-{p.suffix.lstrip('.')}")
        n = 2
        base = sid
        while sid in taken:
            sid, n = f"{base}-{n}", n + 1
        taken.add(sid)
        kept = {k: v for k, v in doc.meta.items() if k in ("category", "status", "superseded_by")}
        header = _front_matter(
            {
                "title": doc.title,
                "effective": doc.effective,
                "effective_from": doc.effective_source,
                **kept,
                "original": rel,
                "original_format": p.suffix.lower().lstrip("."),
                "original_sha256": digest,
            }
        )
        (dest / f"{sid}.md").write_text(header + doc.text + "\n", encoding="utf-8")
        rows.append(
            {
                "id": sid,
                "file": rel,
                "title": doc.title,
                "effective": doc.effective,
                "format": p.suffix.lower().lstrip("."),
                "sha256": digest,
                "chars": len(doc.text),
                "change": "added"
                if sid not in before or before[sid][0] != rel
                else "unchanged"
                if before[sid][1] == digest
                else "changed",
            }
        )
    present = {p.relative_to(root).as_posix() for p in files}
    now = {r["file"]: r["id"] for r in rows}
    removed = []
    for sid, (original, _) in before.items():
        if sid in taken:
            continue
        if original in now:
            (dest / f"{sid}.md").unlink(missing_ok=True)
            removed.append(
                {"id": sid, "file": original, "reason": f"its file is now {now[original]}"}
            )
            continue
        if original in present:  # skipped this time: the earlier source stays
            for row in skipped:
                if row["file"] == original:
                    row["reason"] += f" (sources/{sid}.md from an earlier import is kept)"
            continue
        (dest / f"{sid}.md").unlink(missing_ok=True)
        removed.append(
            {"id": sid, "file": original, "reason": "its file is no longer in the folder"}
        )
    return SourceImport(
        pd.DataFrame(rows, columns=SOURCE_COLUMNS),
        pd.DataFrame(skipped, columns=["file", "reason"]),
        pd.DataFrame(removed, columns=["id", "file", "reason"]),
    )
