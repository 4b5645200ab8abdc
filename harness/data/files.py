"""Reading a dataset's files: the problem collector, UTF-8 text and blank cells.

Shared by the item, source and table readers (``harness.data.items``,
``harness.data.sources``, ``harness.data.tables``) and :mod:`harness.data.dataset`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from harness.errors import Problem

YES_NO = {
    "yes": True,
    "no": False,
    "true": True,
    "false": False,
    "y": True,
    "n": False,
    "1": True,
    "0": False,
}


class Collector:
    """Collects problems relative to the dataset folder's display path."""

    def __init__(self, root: Path, display_root: str):
        self.root = root
        self.display_root = display_root.rstrip("/")
        self.problems: list[Problem] = []

    def add(
        self,
        path: Path,
        line: int | None,
        fld: str | None,
        message: str,
        hint: str = "",
        kind: str = "line",
    ) -> None:
        try:
            rel = path.relative_to(self.root).as_posix()
        except ValueError:
            rel = path.as_posix()
        self.problems.append(Problem(f"{self.display_root}/{rel}", line, fld, message, hint, kind))


def read_text(path: Path, col: Collector) -> str | None:
    """Read UTF-8 text, reporting the first line that is not UTF-8."""
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        col.add(
            path,
            line,
            None,
            f"is not UTF-8 text (byte 0x{raw[exc.start]:02x})",
            "save the file as UTF-8 (in Excel: 'CSV UTF-8'; in an editor: encoding UTF-8)",
        )
        return None
    return text.removeprefix("\ufeff")


def blank(value: Any) -> bool:
    """Whether a cell is empty: None, NaN or only whitespace."""
    if value is None:
        return True
    if isinstance(value, float) and pd.isna(value):
        return True
    return isinstance(value, str) and not value.strip()
