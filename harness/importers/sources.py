"""A folder of a district's policy files becomes ``sources/*.md`` with front matter.

Each PDF, DOCX, HTML, Markdown or text file under the folder becomes one source whose id is
the slug of its path (``Board/Bus Pass Policy.pdf`` -> ``board-bus-pass-policy``). Its front
matter records the title and effective date taken from the document, the original file's
path, format and SHA-256, so the dataset says exactly which file each source came from.
Symbolic links and anything resolving outside the folder are refused (the import stops and
names them); files of other kinds and files without text are skipped and listed.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pandas as pd
import yaml

from harness.errors import Problem
from harness.importers.documents import DOCUMENT_SUFFIXES, DocumentError, read_document
from harness.importers.ids import slug
from harness.importers.tables import DatasetImportError

SOURCE_COLUMNS = ["id", "file", "title", "effective", "format", "sha256", "chars"]


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


def import_sources(src: str | Path, out: str | Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Turn the documents under ``src`` into ``out/sources/<id>.md``.

    Args:
        src: the folder holding the district's policy files (searched recursively).
        out: the dataset folder; its ``sources/`` is created if needed.

    Returns:
        ``(imported, skipped)``: one row per source written (id, file, title, effective,
        format, sha256, chars) and one per file skipped (file, reason).

    Raises:
        DatasetImportError: ``src`` is not a folder, or holds symbolic links or paths that
            resolve outside it (all listed).
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
    dest = Path(out) / "sources"
    dest.mkdir(parents=True, exist_ok=True)
    rows, skipped = [], []
    taken: set[str] = set()
    for p in files:
        rel = p.relative_to(root).as_posix()
        if p.suffix.lower() not in DOCUMENT_SUFFIXES:
            skipped.append({"file": rel, "reason": f"'{p.suffix}' is not a document kind read"})
            continue
        raw = p.read_bytes()
        try:
            doc = read_document(p)
        except DocumentError as exc:
            skipped.append({"file": rel, "reason": str(exc)})
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
        digest = hashlib.sha256(raw).hexdigest()
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
            }
        )
    return (
        pd.DataFrame(rows, columns=SOURCE_COLUMNS),
        pd.DataFrame(skipped, columns=["file", "reason"]),
    )
