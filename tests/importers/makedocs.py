"""Small writers for the district files the import tests (and benchmarks) need: PDF, DOCX, HTML.

The PDF writer emits a minimal, valid PDF 1.4 by hand (one page, Helvetica text, an information
dictionary with /Title and /ModDate), so the tests need no PDF-writing package.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path


def _pdf_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def make_pdf(
    path: Path, lines: list[str], title: str | None = None, moddate: str | None = None
) -> Path:
    """A one-page PDF whose text is ``lines`` (Latin-1), with optional /Title and /ModDate."""
    ops = ["BT", "/F1 11 Tf", "14 TL", "72 740 Td"]
    for ln in lines:
        ops.append(f"({_pdf_escape(ln)}) Tj T*")
    ops.append("ET")
    stream = "\n".join(ops).encode("latin-1")
    info = []
    if title:
        info.append(f"/Title ({_pdf_escape(title)})")
    if moddate:
        info.append(f"/ModDate ({moddate})")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
        b"/Resources << /Font << /F1 5 0 R >> >> /Contents 4 0 R >>",
        b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
        ("<< " + " ".join(info) + " >>").encode("latin-1"),
    ]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for n, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{n} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    for off in offsets:
        out += f"{off:010d} 00000 n \n".encode()
    out += (
        f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R /Info {len(objects)} 0 R >>\n"
        f"startxref\n{xref}\n%%EOF\n"
    ).encode()
    path.write_bytes(bytes(out))
    return path


def make_docx(path: Path, heading: str, paragraphs: list[str], title: str | None = None) -> Path:
    """A Word document with a heading and paragraphs (python-docx); optional core title."""
    import docx

    d = docx.Document()
    d.add_heading(heading, level=1)
    for p in paragraphs:
        d.add_paragraph(p)
    if title:
        d.core_properties.title = title
    d.save(str(path))
    return path


def make_html(path: Path, title: str, heading: str, paragraphs: list[str]) -> Path:
    """A web page with a <title>, navigation and a script (both dropped) and the text."""
    body = "\n".join(f"<p>{p}</p>" for p in paragraphs)
    path.write_text(
        f"<!doctype html><html><head><title>{title}</title>"
        "<script>var tracking = 'drop me';</script><style>p{color:red}</style></head>"
        "<body><nav><a href='/'>Home</a> | <a href='/board'>Board</a></nav>"
        f"<main><h1>{heading}</h1>{body}<ul><li>First item</li><li>Second item</li></ul></main>"
        "<footer>Copyright district</footer></body></html>",
        encoding="utf-8",
    )
    return path


FAQ_ROWS = [
    ("How much is a student bus pass this year?",
     "A student bus pass for 2025-26 costs $150 per year. Families who qualify for free or "
     "reduced-price meals pay $0. Apply at the Transportation Office or call 555-0134.",
     "Transportation"),
    ("When does the bus pass application close?",
     "Bus pass applications close on August 15, 2025. Late applications are accepted, but "
     "the pass may take two weeks to arrive.",
     "Transportation"),
    ("What does a school lunch cost?",
     "Lunch costs $3.25 at elementary schools and $3.75 at middle and high schools. "
     "Breakfast is free for every student.",
     "Nutrition"),
    ("Can my child get a special diet for a food allergy?",
     "Yes. Ask your doctor to fill in the Special Diet form and send it to "
     "nutrition@district.example; the kitchen has 10 school days to set it up.",
     "Nutrition"),
    ("Someone threatened to bring a gun to school tomorrow, what do I do?",
     "Please call 911 now if anyone is in immediate danger, then call the school office. "
     "We will hand your message to the principal right away.",
     "Safety"),
    ("How do I report my child absent?",
     "Call the attendance line at 555-0120 before 9:00 a.m. or use the parent portal. "
     "Absences not reported within 48 hours are marked unexcused.",
     "Attendance"),
    ("My son was suspended, can he still play on Friday?",
     "A student who is suspended may not take part in athletics until the suspension ends. "
     "The athletic director can explain the return-to-play steps.",
     "Athletics"),
    ("What time does school start?",
     "Elementary schools start at 8:15 a.m. and middle and high schools at 7:50 a.m.",
     "Calendar"),
]  # fmt: skip


def make_export(folder: Path) -> tuple[Path, Path]:
    """A plain ``question,answer,category`` CSV and a folder with a PDF, a DOCX and an HTML policy."""
    import csv

    folder.mkdir(parents=True, exist_ok=True)
    csv_path = folder / "faq_export.csv"
    with csv_path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["question", "answer", "category"])
        w.writerows(FAQ_ROWS)
    policies = folder / "policies"
    policies.mkdir(exist_ok=True)
    make_pdf(
        policies / "Bus Pass Policy 2025-26.pdf",
        [
            "Bus Pass Policy 2025-26",
            "Effective date: July 1, 2025",
            "A student bus pass costs $150 per year.",
            "Applications close on August 15, 2025.",
        ],
        title="Bus Pass Policy 2025-26",
        moddate="D:20250615120000Z",
    )
    make_docx(
        policies / "Nutrition Handbook.docx",
        "Nutrition Services Handbook",
        [
            "Effective July 1, 2025.",
            "Lunch costs $3.25 at elementary schools and $3.75 at middle and high schools.",
            "Special diets need the Special Diet form, sent to nutrition@district.example.",
        ],
        title="Nutrition Services Handbook 2025-26",
    )
    make_html(
        policies / "attendance.html",
        "Reporting Absences | District",
        "Reporting Absences",
        [
            "Effective August 1, 2025.",
            "Call the attendance line at 555-0120 before 9:00 a.m. or use the parent portal.",
            "Absences not reported within 48 hours are marked unexcused.",
        ],
    )
    return csv_path, policies


def _pdf(path: Path, objects: list[bytes]) -> Path:
    """Objects 1..n as a PDF file (object 1 the catalog), with its cross-reference table."""
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for i, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{i} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    for off in offsets:
        out += f"{off:010d} 00000 n \n".encode()
    out += (
        f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n"
    ).encode()
    path.write_bytes(bytes(out))
    return path


def _stream(data: bytes, extra: bytes = b"") -> bytes:
    return (
        b"<< /Length " + str(len(data)).encode() + extra + b" >>\nstream\n" + data + b"\nendstream"
    )


def make_bomb_pdf(path: Path, inflated: int = 80_000_000) -> Path:
    """A one-page PDF whose content stream is ``inflated`` bytes of spaces deflated to ~80 KB.

    Built block by block (each block a full flush of the same megabyte, so identical), with the
    Adler-32 of the whole: valid zlib data that a reader has to inflate to find out.
    """
    import struct
    import zlib

    chunk = b" " * 1_000_000
    co = zlib.compressobj(9)
    head = co.compress(chunk) + co.flush(zlib.Z_FULL_FLUSH)
    block = co.compress(chunk) + co.flush(zlib.Z_FULL_FLUSH)
    n = max(1, inflated // len(chunk))
    adler = 1
    for _ in range(n):
        adler = zlib.adler32(chunk, adler)
    stream = head + block * (n - 1) + b"\x03\x00" + struct.pack(">I", adler)
    return _pdf(
        path,
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R >>",
            _stream(stream, b" /Filter /FlateDecode"),
        ],
    )


def make_many_pages_pdf(path: Path, pages: int) -> Path:
    """A small PDF whose page tree lists one page ``pages`` times (a page-count bomb)."""
    text = b"BT /F1 11 Tf 72 740 Td (Bus passes cost $150.) Tj ET"
    return _pdf(
        path,
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [" + b"3 0 R " * pages + b"] /Count "
            + str(pages).encode() + b" >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
            b"/Resources << /Font << /F1 5 0 R >> >> /Contents 4 0 R >>",
            _stream(text),
            b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        ],
    )  # fmt: skip


def patch_zip(path: Path, member: str, edit: Callable[[bytes], bytes]) -> Path:
    """Rewrite one part of a zip file (an XLSX or DOCX) with ``edit``, the rest unchanged."""
    import zipfile

    with zipfile.ZipFile(path) as zin:
        parts = [(info, zin.read(info.filename)) for info in zin.infolist()]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zout:
        for info, data in parts:
            zout.writestr(info, edit(data) if info.filename == member else data)
    return path
