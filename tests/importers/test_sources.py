from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path

import pytest
import yaml

from harness.importers import DatasetImportError, import_sources

from .makedocs import (
    make_bomb_pdf,
    make_docx,
    make_html,
    make_many_pages_pdf,
    make_pdf,
    patch_zip,
)


def _front(path: Path) -> tuple[dict, str]:
    text = path.read_text(encoding="utf-8")
    _, fm, body = text.split("---\n", 2)
    return yaml.safe_load(fm), body


def _make(kind: str, folder: Path) -> Path:
    if kind == "pdf":
        return make_pdf(
            folder / "Board Policy 5010.pdf",
            ["Board Policy 5010: Attendance", "Effective: 2025-08-01", "Call 555-0120."],
            title="Attendance Policy 5010",
        )
    if kind == "pdf-no-meta":
        return make_pdf(
            folder / "fees.pdf",
            ["Fee Schedule 2025-26", "Parking is $40."],
            moddate="D:20250301093000-08'00'",
        )
    if kind == "docx":
        return make_docx(
            folder / "handbook.docx",
            "Family Handbook",
            ["Effective date: August 15, 2025", "Call 555-0100."],
        )
    if kind == "html":
        return make_html(
            folder / "closures.html",
            "Emergency Closures",
            "Closures",
            ["Effective 1/5/2026.", "We post closures by 6:00 a.m."],
        )
    if kind == "md":
        p = folder / "meals.md"
        p.write_text("# Meal Prices\n\nEffective July 1, 2025.\n\nLunch is $3.25.\n")
        return p
    p = folder / "hours.txt"
    p.write_text("Office Hours\nThe office is open 8-4.\n")
    return p


@pytest.mark.parametrize(
    ("kind", "sid", "title", "effective", "needle"),
    [
        ("pdf", "board-policy-5010", "Attendance Policy 5010", "2025-08-01", "Call 555-0120."),
        ("pdf-no-meta", "fees", "Fee Schedule 2025-26", "2025-03-01", "Parking is $40."),
        ("docx", "handbook", "Family Handbook", "2025-08-15", "Call 555-0100."),
        ("html", "closures", "Emergency Closures", "2026-01-05", "We post closures by 6:00 a.m."),
        ("md", "meals", "Meal Prices", "2025-07-01", "Lunch is $3.25."),
        ("txt", "hours", "Office Hours", None, "The office is open 8-4."),
    ],
)  # fmt: skip
def test_documents_become_sources_with_title_date_and_hash(
    tmp_path, kind, sid, title, effective, needle
):
    src = tmp_path / "policies"
    src.mkdir()
    original = _make(kind, src)
    done, skipped, _ = import_sources(src, tmp_path / "ds")
    assert skipped.empty and done["id"].tolist() == [sid]
    meta, body = _front(tmp_path / "ds" / "sources" / f"{sid}.md")
    assert meta["title"] == title
    assert meta.get("effective") == effective
    # a date written in the document wins; the file's saved date is only a labelled fallback
    assert meta.get("effective_from") == (
        None if effective is None else "metadata" if kind == "pdf-no-meta" else "text"
    )
    assert meta["original_sha256"] == hashlib.sha256(original.read_bytes()).hexdigest()
    assert meta["original"] == original.name
    assert needle in body


def test_html_drops_scripts_navigation_and_keeps_structure(tmp_path):
    src = tmp_path / "p"
    src.mkdir()
    make_html(src / "a.html", "T", "Heading", ["Para one."])
    import_sources(src, tmp_path / "ds")
    _, body = _front(tmp_path / "ds" / "sources" / "a.md")
    assert "tracking" not in body and "Home" not in body and "color" not in body
    assert "# Heading" in body and "- First item" in body


@pytest.mark.parametrize("what", ["file", "dir"])
def test_symlinks_are_refused(tmp_path, what):
    outside = tmp_path / "outside"
    outside.mkdir()
    secret = outside / "secret.md"
    secret.write_text("# Secret\n\nnot for the dataset\n")
    src = tmp_path / "policies"
    src.mkdir()
    (src / "ok.md").write_text("# Ok\n\ntext\n")
    link = src / ("link.md" if what == "file" else "linked")
    os.symlink(secret if what == "file" else outside, link)
    with pytest.raises(DatasetImportError, match="symbolic link") as err:
        import_sources(src, tmp_path / "ds")
    assert str(link) in str(err.value)
    assert not (tmp_path / "ds" / "sources").exists()


def test_other_and_unreadable_files_are_skipped_and_named(tmp_path):
    src = tmp_path / "p"
    (src / "sub").mkdir(parents=True)
    (src / "logo.png").write_bytes(b"\x89PNG")
    (src / "broken.pdf").write_bytes(b"%PDF-1.4 not really")
    (src / "sub" / "a.md").write_text("# A\n\ntext\n")
    done, skipped, _ = import_sources(src, tmp_path / "ds")
    assert done["id"].tolist() == ["sub-a"]
    assert sorted(skipped["file"]) == ["broken.pdf", "logo.png"]


LAUGHS = "\n".join(
    ["a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    + [f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 9)}]" for i in range(5)]
)


def _bombs(folder: Path) -> dict[str, str]:
    """A folder of good policies and one bad file of each kind: file -> what its reason says."""
    folder.mkdir()
    make_pdf(folder / "good.pdf", ["Bus Pass Policy", "A pass costs $150."], title="Bus Passes")
    (folder / "good.md").write_text("# Meals\n\nLunch is $3.25.\n")
    make_bomb_pdf(folder / "bomb.pdf")
    make_many_pages_pdf(folder / "page-tree.pdf", 150_000)
    make_many_pages_pdf(folder / "pages.pdf", 2_001)
    make_docx(folder / "bomb.docx", "Handbook", ["Call 555-0100."])
    patch_zip(
        folder / "bomb.docx",
        "word/document.xml",
        lambda xml: xml.replace(b"<w:body>", b"<w:body><!--" + b" " * 3_000_000 + b"-->", 1),
    )
    (folder / "laughs.md").write_text(f"---\n{LAUGHS}\ntitle: *f\n---\n# Laughs\n\ntext\n")
    (folder / "mixed.md").write_bytes(
        "# Fees\n\nLe tarif est 3 €.\n".encode() + "Café à midi.\n".encode("cp1252")
    )
    return {
        "bomb.pdf": "goes past a safety limit of the PDF reader",
        "page-tree.pdf": "goes past a safety limit of the PDF reader",
        "pages.pdf": "has 2,001 pages, more than the 2,000 accepted",
        "bomb.docx": "more than the 2,000,000 accepted (a decompression bomb",
        "laughs.md": "has front matter that expands to more than 100,000 values",
        "mixed.md": "mixes text encodings: line 3 is UTF-8 but line 4 is not",
    }


def test_each_bad_policy_file_is_skipped_with_its_reason_and_the_rest_import(
    tmp_path, capsys, monkeypatch
):
    from harness.cli.commands import main
    from harness.importers.limits import LIMITS

    # lowered to 2 MB so the DOCX (a 3 MB comment) and big.pdf (3 MB of page content) stay
    # fast; bomb.pdf is a real one (80 MB inflated from 80 KB), past pypdf's own 75 MB limit
    monkeypatch.setitem(LIMITS, "unpacked_bytes", 2_000_000)
    src = tmp_path / "policies"
    reasons = _bombs(src)
    make_bomb_pdf(src / "big.pdf", 3_000_000)
    reasons["big.pdf"] = "inflate to more than 2,000,000 bytes"
    start = time.perf_counter()
    assert main(["import-sources", str(src), str(tmp_path / "ds")]) == 0
    elapsed = time.perf_counter() - start
    out = capsys.readouterr().out
    written = sorted(p.name for p in (tmp_path / "ds" / "sources").glob("*.md"))
    assert written == ["good-pdf.md", "good.md"], out
    for name, words in reasons.items():
        line = next((ln for ln in out.splitlines() if ln.startswith(f"  skipped {name}:")), "")
        assert words in line, (name, out)
    assert elapsed < 30, f"took {elapsed:.1f} s"


BILLION_LAUGHS = "\n".join(
    ["a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    + [f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 9)}]" for i in range(8)]
)


@pytest.mark.parametrize(
    ("name", "content", "limit", "words"),
    [
        ("laughs.md", f"---\n{BILLION_LAUGHS}\ntitle: *i\n---\n# T\n\ntext\n", None,
         "has front matter that expands to more than 100,000 values"),
        ("long.md", "# Long\n\n" + "word " * 2_000 + "\n", ("document_chars", 5_000),
         "holds more than 5,000 characters of text"),
        ("big.txt", "Office hours\n" + "x" * 20_000 + "\n", ("document_bytes", 10_000),
         "is 20,014 bytes, more than the 10,000 accepted"),
        ("matter.md", "---\ntitle: " + "x" * 70_000 + "\n---\n# T\n\ntext\n", None,
         "more than the 64,000 a YAML file may hold"),
    ],
)  # fmt: skip
def test_a_policy_past_a_limit_is_skipped_fast_with_the_limit_named(
    tmp_path, monkeypatch, name, content, limit, words
):
    from harness.importers.limits import LIMITS

    if limit:
        monkeypatch.setitem(LIMITS, *limit)
    src = tmp_path / "p"
    src.mkdir()
    (src / name).write_text(content, encoding="utf-8")
    (src / "ok.md").write_text("# Ok\n\ntext\n")
    start = time.perf_counter()
    done, skipped, _ = import_sources(src, tmp_path / "ds")
    assert time.perf_counter() - start < 2
    assert done["file"].tolist() == ["ok.md"]
    assert skipped["file"].tolist() == [name] and words in skipped["reason"][0], skipped
