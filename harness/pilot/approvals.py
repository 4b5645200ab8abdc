"""The approval path's measures from a pilot log, each with a BCa interval.

When the review station has approvers (:mod:`harness.review.approval`), its pilot log says for
every reply who approved it, how many times it was sent back first (``revision_count``) and,
for live pilot messages only, the hours from the message's arrival to its approval
(``turnaround_hours``, :data:`harness.metrics.TURNAROUND`). From that log:

- **revisions per reply**: before the pilot (replies written from scratch) minus during it
  (AI drafts), approved replies only;
- **turnaround**: hours from the message's arrival to its approved reply, before minus during,
  live messages only;
- **sent with little or no edit**: the share of approved AI drafts whose approved text keeps at
  least :data:`LITTLE_EDIT` of the draft's words in place, shown beside the **rubber-stamp
  alarm**: the share approved unchanged in under ``RUBBER_STAMP_SECONDS`` of active time
  (a high share of little edit means little only when staff did read the drafts).

Intervals are BCa (:func:`harness.stats.bca_interval`): revision counts pile up at 0 and a
few replies take days, so the percentile interval would be off-centre. Before and during are
different replies, so the two-group differences are unpaired.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from harness.gates.pilot_log import kept_share
from harness.metrics import TURNAROUND
from harness.review.evidence import RUBBER_STAMP_SECONDS
from harness.stats import DEFAULT_RESAMPLES, DEFAULT_SEED, bca_interval

LITTLE_EDIT = 0.9  # word-level similarity of the approved text to the AI draft
COLUMNS = [
    "measure",
    "title",
    "unit",
    "before",
    "during",
    "change",
    "ci_low",
    "ci_high",
    "n_before",
    "n_during",
    "how",
]


def _numbers(log: pd.DataFrame, column: str, phase: str) -> pd.Series:
    if column not in log:
        return pd.Series(dtype="float64")
    part = log[log["phase"] == phase]
    return pd.to_numeric(part[column], errors="coerce").dropna()


def _mean(values: pd.Series) -> float:
    return float(values.mean()) if values.size else np.nan


def _row(measure: str, title: str, unit: str, before: pd.Series, during: pd.Series, how: str,
         level: float, resamples: int, seed: int) -> dict[str, Any]:  # fmt: skip
    """One measure's row: before minus during (two groups), or a share of the pilot's drafts."""
    if unit == "share":  # one group: the pilot's approved AI drafts
        share, lo, hi = bca_interval(during.to_numpy(), level=level, resamples=resamples, seed=seed)
        means, change = (np.nan, share), np.nan
    else:
        change, lo, hi = bca_interval(
            before.to_numpy(), during.to_numpy(), level=level, resamples=resamples, seed=seed
        )
        means = (_mean(before), _mean(during))
    return {
        "measure": measure,
        "title": title,
        "unit": unit,
        "before": means[0],
        "during": means[1],
        "change": change,
        "ci_low": lo,
        "ci_high": hi,
        "n_before": int(before.size),
        "n_during": int(during.size),
        "how": how,
    }


# The measures, one row each: (measure, title, unit, the values, how it is defined). The values
# are a pilot log column compared before and during the pilot, or for a share one of
# little_edit's columns over the pilot's approved AI drafts.
MEASURES = (
    ("revisions_per_reply", "Approval revisions per reply", "revisions", "revision_count",
     "times an approver sent the reply back before approving it; before minus during"),
    ("turnaround_hours", "Hours from message to approved reply", "hours", "turnaround_hours",
     f"{TURNAROUND}; before minus during"),
    ("sent_with_little_edit", "AI drafts sent with little or no edit", "share", "little_edit",
     f"approved text keeps at least {LITTLE_EDIT:.0%} of the draft's words in place"),
    ("rubber_stamp_share",
     f"Approved unchanged in under {RUBBER_STAMP_SECONDS:g} seconds (rubber-stamp alarm)",
     "share", "rubber_stamp",
     "read beside the row above: little edit counts only if the drafts were read"),
)  # fmt: skip


def little_edit(log: pd.DataFrame) -> pd.DataFrame:
    """Per approved AI draft of the pilot: 1.0 when sent with little or no edit, and 1.0 when
    approved unchanged in under :data:`RUBBER_STAMP_SECONDS` of active time (numeric)."""
    cols = ["little_edit", "rubber_stamp"]
    if log is None or log.empty or "ai_draft" not in log:
        return pd.DataFrame(columns=cols, dtype="float64")
    ok = log["approved"].astype(str).str.lower().isin(["yes", "true", "1"])
    part = log[(log["phase"] == "pilot") & ok]
    kept = pd.Series(
        [kept_share(d, f) for d, f in zip(part["ai_draft"], part["final_text"], strict=True)],
        index=part.index,
        dtype="float64",
    ).dropna()
    same = pd.Series(
        [
            str(d).strip() == str(f).strip()
            for d, f in zip(part["ai_draft"], part["final_text"], strict=True)
        ],
        index=part.index,
    )[kept.index]
    seconds = pd.to_numeric(part.get("active_seconds"), errors="coerce")
    if not isinstance(seconds, pd.Series):
        seconds = pd.Series(np.nan, index=part.index)
    fast = seconds[kept.index].lt(RUBBER_STAMP_SECONDS)
    return pd.DataFrame(
        {
            "little_edit": kept.ge(LITTLE_EDIT).astype("float64"),
            "rubber_stamp": (same & fast).astype("float64"),
        }
    )


def approval_measures(
    log: pd.DataFrame | None,
    level: float = 0.95,
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = DEFAULT_SEED,
) -> pd.DataFrame:
    """The approval path's measures (one row each; units in ``unit``; positive ``change`` =
    the pilot did better). A measure the log cannot give has NaN values and n 0."""
    if log is None or log.empty or "phase" not in log:
        return pd.DataFrame(columns=COLUMNS)
    edits = little_edit(log)
    rows = []
    for measure, title, unit, column, how in MEASURES:
        if unit == "share":
            before, during = pd.Series(dtype="float64"), edits[column]
        else:
            before, during = (_numbers(log, column, phase) for phase in ("baseline", "pilot"))
        rows.append(_row(measure, title, unit, before, during, how, level, resamples, seed))
    frame = pd.DataFrame(rows, columns=COLUMNS)
    frame.attrs["units"] = dict(zip(frame["measure"], frame["unit"], strict=True))
    return frame
