"""Bytes of a district's file as text, in the one encoding they are written in.

Exports come from many tools: UTF-8 (with or without a byte-order mark), UTF-16, Windows-1252
from older Excel versions, else charset-normalizer's guess. A file pasted together from two
programs (some lines UTF-8, others Windows-1252) is refused with the lines: read as either
encoding, part of it would import as garbled characters ("cafÃ©").
"""

from __future__ import annotations


class EncodingError(ValueError):
    """Bytes that are not text in one encoding: the message, its line and how to fix it."""

    def __init__(self, message: str, line: int | None, hint: str):
        self.message = message
        self.line = line
        self.hint = hint
        super().__init__(f"line {line}: {message}; {hint}" if line else f"{message}; {hint}")


def _line_of(raw: bytes, offset: int) -> int:
    return raw.count(b"\n", 0, offset) + 1


def _mixed_utf8_line(raw: bytes) -> int | None:
    """The first line that is UTF-8 with non-ASCII characters, in bytes that as a whole are not
    UTF-8: a file pasted together from two programs (read as one encoding, half is mojibake)."""
    for n, line in enumerate(raw.split(b"\n"), start=1):
        if line.isascii():
            continue
        try:
            line.decode("utf-8")
        except UnicodeDecodeError:
            continue
        return n
    return None


def decode(raw: bytes, encoding: str | None = None) -> tuple[str, str]:
    """Bytes as text and the encoding used.

    UTF-8 (with or without a byte-order mark) or UTF-16 first; else Windows-1252 (what Excel
    writes in the US and western Europe) when every byte is defined there; else
    charset-normalizer's guess. ``encoding`` forces one.

    Raises:
        EncodingError: the bytes are not text in ``encoding``; or they mix encodings (some
            lines UTF-8, others not), which would import as mojibake; or no encoding reads them.
    """
    if encoding:
        try:
            return raw.decode(encoding), encoding
        except LookupError:
            raise EncodingError(
                f"'{encoding}' is not an encoding name", None, "e.g. utf-8, cp1252, cp1250, latin-1"
            ) from None
        except UnicodeDecodeError as exc:
            raise EncodingError(
                f"is not {encoding} text (byte 0x{raw[exc.start]:02x})",
                _line_of(raw, exc.start),
                "give the file's own encoding with --encoding, or save it as UTF-8",
            ) from None
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return raw.decode("utf-16"), "utf-16"
        except UnicodeDecodeError:
            raise EncodingError(
                "starts like UTF-16 but is not UTF-16 text", None, "save it again as UTF-8"
            ) from None
    bom = raw.startswith(b"\xef\xbb\xbf")
    body = raw[3:] if bom else raw
    try:
        return body.decode("utf-8"), "utf-8-sig" if bom else "utf-8"
    except UnicodeDecodeError as exc:
        bad_at = exc.start
    bad_line, byte = _line_of(body, bad_at), body[bad_at]
    good_line = _mixed_utf8_line(body)
    if good_line is not None or bom:
        where = f"line {good_line} is UTF-8" if good_line is not None else "it starts as UTF-8"
        raise EncodingError(
            f"mixes text encodings: {where} but line {bad_line} is not (byte 0x{byte:02x}); "
            "read as one encoding, part of it would import as garbled characters",
            bad_line,
            f"the file was put together from two programs: retype the accented characters of "
            f"line {bad_line} (and of any other line named next) and save it as UTF-8, or "
            "export it again in one go",
        )
    try:
        return raw.decode("cp1252"), "cp1252"
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    best = from_bytes(raw[:200_000]).best()
    if best is not None:
        try:
            return raw.decode(best.encoding), best.encoding
        except (UnicodeDecodeError, LookupError):
            pass
    raise EncodingError(
        f"is not text in an encoding the importer recognises (byte 0x{byte:02x})",
        bad_line,
        "save it as UTF-8 (in Excel: 'CSV UTF-8'), or name its encoding with --encoding",
    )
