"""Formatting for the reports: escaping, plain metric names, numbers, the shared style."""

from __future__ import annotations

import json
import re
from typing import Any

import pandas as pd

from harness.metrics import METRICS
from harness.scorers import metrics as metric_registry
from harness.textsafe import esc  # the report modules take it from here

PLAIN = {name: m.label for name, m in METRICS.items()}


STATUS_WORDS = {"pass": "Passed", "fail": "Failed", "not evaluated": "Not checked"}


VERDICT_CLASS = {
    "Ready": "ready",
    "Ready with conditions": "conditions",
    "Not decided: evidence missing": "undecided",
    "Not ready": "notready",
}


def plain(metric: str) -> str:
    """A metric's name in plain words (its registered description when we have no phrase)."""
    if metric in PLAIN:
        return PLAIN[metric]
    info = metric_registry().get(metric)
    return info.description if info is not None and info.description else metric


def unit_of(metric: str) -> str:
    info = metric_registry().get(metric)
    if info is not None:
        return info.unit
    return (
        "minutes" if metric.endswith("_minutes") else "count" if metric.endswith("_count") else ""
    )


def fmt(v: float, unit: str = "") -> str:
    if v is None or pd.isna(v):
        return "—"
    digits = 1 if unit == "minutes" else 2
    return f"{round(float(v), digits) + 0.0:.{digits}f}"  # + 0.0: never show -0.0


def table_html(frame: pd.DataFrame, caption: str = "") -> Any:
    """A DataFrame as an escaped, readable HTML table with a caption (for a notebook)."""
    from IPython.display import HTML

    return HTML(STYLE + frame_table(frame, caption))


_TABLE_OPEN = re.compile(r"<table\b[^>]*>")


def captioned(table: str, caption: str) -> str:
    """An HTML table with ``caption`` as its <caption> and its header cells scoped to columns."""
    table = re.sub(r"<th(?=[\s>])(?![^>]*\bscope=)", '<th scope="col"', table)
    if not caption:
        return table
    return _TABLE_OPEN.sub(lambda m: f"{m.group(0)}<caption>{esc(caption)}</caption>", table, 1)


def frame_table(frame: pd.DataFrame, caption: str = "") -> str:
    """A DataFrame as an escaped HTML table string with a caption and scoped headers."""
    body = frame.to_html(index=False, escape=True, border=0, classes="harness-table", na_rep="—")
    return captioned(body, caption)


def note(text: str) -> Any:
    """A short escaped paragraph (for a section that has nothing to show in this run)."""
    from IPython.display import HTML

    return HTML(STYLE + f"<p class='caption'>{esc(text)}</p>")


STYLE = """<style>
.harness-table{border-collapse:collapse;font-family:system-ui,sans-serif;font-size:14px;margin:8px 0}
.harness-table th,.harness-table td{border-bottom:1px solid #ddd;padding:6px 10px;text-align:left!important;vertical-align:top}
.harness-table th{background:#f3f5f8}
.caption,.harness-table caption{color:#444;font-size:14px;margin:4px 0}
.harness-table caption{caption-side:top;text-align:left;font-weight:400}
.cover h1{margin:0 0 6px;font-size:28px}.cover p{margin:2px 0;font-size:15px}
.cover .meta{color:#555;font-size:13px}
.decision{border-radius:10px;padding:14px 18px;margin:14px 0;font-family:system-ui,sans-serif}
.decision .verdict{font-size:30px;font-weight:700;margin:0 0 6px;padding:0;border:0}
.decision .reason{font-size:17px;margin:0 0 8px}
.decision ul{margin:4px 0 0 0;padding-left:20px;font-size:15px}
.decision.ready{background:#e6f4ea;border:3px solid #2f855a}.decision.ready .verdict{color:#22543d}
.decision.conditions{background:#fff8e1;border:3px solid #b7791f}.decision.conditions .verdict{color:#744210}
.decision.notready{background:#fdecea;border:3px solid #c53030}.decision.notready .verdict{color:#742a2a}
.decision.undecided{background:#edf2f7;border:3px dashed #4a5568}.decision.undecided .verdict{color:#1a202c}
.st-pass{color:#22543d;font-weight:600}.st-fail{color:#9b2c2c;font-weight:600}.st-not{color:#744210;font-weight:600}
.example{display:grid;grid-template-columns:1fr 1fr;gap:12px;margin:10px 0 18px}
.example div{border:1px solid #ddd;border-radius:6px;padding:8px;white-space:pre-wrap;font-size:13px}
.example h4,.example .q{grid-column:1/3;margin:0}
del{background:#fde8e8;color:#7a1010;text-decoration:line-through 2px}
ins{background:#e3f4e8;color:#0b4d23;text-decoration:underline 2px;text-underline-offset:2px}
.legend{font-size:13px;margin:4px 0 8px}
@media print{.example,.decision,.harness-table tr,.harness-figure{break-inside:avoid}}
</style>"""


def mapping(value: Any) -> dict[str, Any]:
    """``value`` if it is a dict (a calibration file's section), else an empty one."""
    return value if isinstance(value, dict) else {}


def dumps(obj: Any) -> str:
    return json.dumps(obj, indent=2, default=str)
