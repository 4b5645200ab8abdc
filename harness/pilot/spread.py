"""The spread of each pilot measure before the pilot: per-draft improvement, its spread, its source.

Measured minutes come first (the review station's log of the pre-pilot run, then the dataset's
``pilot_log.csv``); before any pilot, the effort model's estimates for the chosen candidate on
each question of the pre-pilot run (``saved_minutes``, ``word_similarity``).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from harness.gates.pilot_log import HAND_WRITTEN_BELOW, hand_written, minutes_per_reply

ASSUMED_ICC = 0.05  # share of the spread between reviewers when nothing measures it


def _between(values: pd.Series, staff: pd.Series | None) -> tuple[float, str]:
    """Spread of reviewers' own averages (method of moments), with where it came from."""
    sd = float(values.std(ddof=1)) if values.size > 1 else 0.0
    assumed = math.sqrt(ASSUMED_ICC / (1 - ASSUMED_ICC)) * sd
    if staff is None or staff.nunique() < 2:
        return assumed, f"assumed ({ASSUMED_ICC:.0%} of the spread lies between reviewers)"
    groups = values.groupby(staff)
    within = float(groups.var(ddof=1).fillna(0).mean())
    sizes = float(groups.size().mean())
    var_b = float(groups.mean().var(ddof=1)) - within / max(sizes, 1.0)
    return math.sqrt(max(var_b, 0.0)), f"measured between {staff.nunique()} staff members"


def _two_groups(
    log: pd.DataFrame, base: pd.Series, pilot: pd.Series, source: str, unit: str
) -> dict[str, Any] | None:
    b, p = base.dropna(), pilot.dropna()
    if b.size < 2 or p.size < 2:
        return None
    staff = log.loc[p.index, "staff_member"] if "staff_member" in log else None
    between, how = _between(p, staff)
    return {
        "effect": float(b.mean() - p.mean()),
        "sd": float(math.sqrt(b.var(ddof=1) + p.var(ddof=1))),
        "sd_before": float(b.std(ddof=1)),
        "sd_between": between,
        "n_before": int(b.size + p.size),
        "source": f"{source} ({b.size} replies before the pilot, {p.size} during; spread of "
        f"one before minus one during); reviewers' spread {how}",
        "unit": unit,
        "share": False,
    }


def from_log(log: pd.DataFrame | None, measure: str, source: str) -> dict[str, Any] | None:
    """A measure's per-draft improvement and spread from a pilot log (None if it lacks them)."""
    if log is None or log.empty or "phase" not in log:
        return None
    base, pil = log[log["phase"] == "baseline"], log[log["phase"] == "pilot"]
    if measure == "minutes_saved_per_reply":
        minutes = minutes_per_reply(log)
        return _two_groups(log, minutes[base.index], minutes[pil.index], source, "minutes")
    if measure == "hand_written_reduction":
        used = 1.0 - hand_written(pil)
        if used.size < 2:
            return None
        staff = pil.get("staff_member")
        between, how = _between(used, staff)
        p = float(used.mean())
        return {
            "effect": p,
            "sd": math.sqrt(max(p * (1 - p), 1e-6)),
            "sd_between": between,
            "n_before": int(used.size),
            "source": f"{source} ({used.size} AI drafts; every reply before the pilot was "
            f"written by hand); reviewers' spread {how}",
            "unit": "share",
            "share": True,
        }
    column = {"fewer_revisions": "revision_count", "faster_turnaround_hours": "turnaround_hours"}
    col = column.get(measure)
    if col is None or col not in log:
        return None
    values = pd.to_numeric(log[col], errors="coerce")
    unit = "revisions" if col == "revision_count" else "hours"
    return _two_groups(log, values[base.index], values[pil.index], source, unit)


def from_estimates(run: Any, measure: str, candidate: str) -> dict[str, Any] | None:
    """A measure's per-question estimate from the pre-pilot run's scores (effort model)."""
    metric = {
        "minutes_saved_per_reply": "saved_minutes",
        "hand_written_reduction": "word_similarity",
    }
    name = metric.get(measure)
    if name is None:
        return None
    s = run.scores
    values = s[(s["candidate"] == candidate) & (s["metric"] == name)]["value"].dropna()
    if values.size < 2:
        return None
    assumed = f"assumed ({ASSUMED_ICC:.0%} of the spread lies between reviewers)"
    if measure == "hand_written_reduction":
        used = (values >= HAND_WRITTEN_BELOW).astype(float)
        p = float(used.mean())
        sd = math.sqrt(max(p * (1 - p), 1e-6))
        return {
            "effect": p,
            "sd": sd,
            "sd_between": math.sqrt(ASSUMED_ICC / (1 - ASSUMED_ICC)) * sd,
            "n_before": int(values.size),
            "source": f"effort-model estimates before any pilot: {candidate}'s drafts keeping "
            f"at least {HAND_WRITTEN_BELOW:.0%} of the approved answer's words on "
            f"{values.size} questions; reviewers' spread {assumed}",
            "unit": "share",
            "share": True,
        }
    sd = float(np.std(values, ddof=1))
    return {
        "effect": float(values.mean()),
        "sd": sd,
        "sd_between": math.sqrt(ASSUMED_ICC / (1 - ASSUMED_ICC)) * sd,
        "n_before": int(values.size),
        "source": f"effort-model estimates before any pilot (rubrics/effort.yaml): "
        f"{candidate}'s minutes saved on {values.size} questions; reviewers' spread {assumed}",
        "unit": "minutes",
        "share": False,
    }


def volume_per_week(log: pd.DataFrame | None, items: pd.DataFrame) -> tuple[float, str]:
    """Replies a week the workflow handles, from the dates of the pilot log or the questions."""
    for frame, what in ((log, "the pilot log"), (items, "the dataset's questions")):
        if frame is None or "date" not in frame:
            continue
        dates = pd.to_datetime(frame["date"], errors="coerce").dropna()
        if dates.size >= 2:
            weeks = max((dates.max() - dates.min()).days / 7.0, 1.0)
            return float(
                dates.size / weeks
            ), f"{dates.size} dated replies in {what} over {weeks:.0f} weeks"
    return 10.0, "assumed 10 a week (no dates in the pilot log or the questions)"
