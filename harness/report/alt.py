"""A figure with its alt text: a matplotlib figure that displays as an ``<img alt="...">``.

nbconvert gives every PNG output the alt text "No description has been provided for this
image". A report figure instead returns :class:`Figure`, whose ``_repr_html_`` inlines the PNG
as a data URI with an alt text that says what the figure shows and its main finding, so a
screen reader hears the finding and the report stays one self-contained file. It is the one way
the reports draw a figure: a section that shows the figure's numbers beside it hands its data
table in (``table``), printed right after the figure.
"""

from __future__ import annotations

import base64
import io
from typing import Any

from harness.report.format import esc

DPI = 150  # sharp on paper; shown at the figure's size in CSS pixels (96 per inch)


class Figure:
    """A matplotlib figure plus its alt text (and optionally its data table, as escaped HTML
    with a caption); attributes pass through to the figure."""

    def __init__(self, figure: Any, alt: str, table: str = "") -> None:
        self.figure = figure
        self.alt = " ".join(alt.split())
        self.table = table

    def __getattr__(self, name: str) -> Any:
        return getattr(self.figure, name)

    def png(self) -> bytes:
        """The figure as PNG bytes."""
        buf = io.BytesIO()
        self.figure.savefig(buf, format="png", dpi=DPI, bbox_inches="tight", facecolor="white")
        return buf.getvalue()

    def html(self) -> str:
        """The figure as ``<figure><img alt=...></figure>`` (a PNG data URI), then its table."""
        data = base64.b64encode(self.png()).decode("ascii")
        width = round(float(self.figure.get_figwidth()) * 96)
        return (
            f'<figure class="harness-figure"><img src="data:image/png;base64,{data}" '
            f'alt="{esc(self.alt)}" width="{width}" style="max-width:100%;height:auto"></figure>'
            + self.table
        )

    def _repr_html_(self) -> str:
        return self.html()

    def __repr__(self) -> str:
        return f"Figure({self.alt!r})"


def listing(parts: list[str], limit: int = 6) -> str:
    """'a; b; c' for alt text, with 'and N more' past ``limit``."""
    shown = parts[:limit]
    more = len(parts) - len(shown)
    return "; ".join(shown) + (f"; and {more} more" if more > 0 else "")
