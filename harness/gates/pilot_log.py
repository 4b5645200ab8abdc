"""Pilot outcomes measured from a dataset's ``pilot_log.csv``, each with a bootstrap interval.

The log holds replies staff wrote before the pilot (``phase = baseline``: written from scratch)
and during it (``phase = pilot``: an AI draft edited and approved). The two phases answer
different questions, so every comparison is between two independent groups (a two-sample
bootstrap of the difference of means), never paired. When the log names the staff member, each
phase's entries are resampled within each staff member's own (reviewers grouped, the resampling
the pilot protocol's sample simulation uses, :func:`grouped_weights`).
Every measure is turned so that a positive ``improvement`` means the pilot did better.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

import numpy as np
import pandas as pd
from rapidfuzz.distance import Levenshtein

from harness.stats import DEFAULT_RESAMPLES, DEFAULT_SEED, unpaired_replicates

# A pilot reply counts as written by hand when the approved text keeps less than this share of
# the AI draft's words in place (word-level similarity), or the draft was not approved.
HAND_WRITTEN_BELOW = 0.5

OUTCOME_COLUMNS = [
    "measure",
    "title",
    "unit",
    "baseline",
    "pilot",
    "improvement",
    "ci_low",
    "ci_high",
    "n_baseline",
    "n_pilot",
    "verdict",
    "how",
]


def _phase(log: pd.DataFrame, phase: str) -> pd.DataFrame:
    return log[log["phase"] == phase]


def minutes_per_reply(log: pd.DataFrame) -> pd.Series:
    """Staff minutes per reply: drafting + review where drafting is logged, review alone otherwise."""
    review = pd.to_numeric(log["review_minutes"], errors="coerce")
    if "drafting_minutes" not in log:
        return review
    drafting = pd.to_numeric(log["drafting_minutes"], errors="coerce")
    return review + drafting.fillna(0.0)


def kept_share(ai_draft: Any, final_text: Any) -> float:
    """Word-level similarity of the AI draft to the approved text (NaN without a draft)."""
    if not isinstance(ai_draft, str) or not ai_draft.strip() or not isinstance(final_text, str):
        return float("nan")
    return float(Levenshtein.normalized_similarity(ai_draft.split(), final_text.split()))


def hand_written(log: pd.DataFrame) -> pd.Series:
    """1.0 where staff wrote the reply by hand, 0.0 where an AI draft carried it (per entry)."""
    out = pd.Series(1.0, index=log.index)
    if "ai_draft" not in log:
        return out
    kept = pd.Series(
        [kept_share(d, f) for d, f in zip(log["ai_draft"], log["final_text"], strict=True)],
        index=log.index,
    )
    approved = log["approved"].astype("boolean").fillna(False)
    used = kept.ge(HAND_WRITTEN_BELOW) & approved.astype(bool)
    out[used] = 0.0
    return out


def _staff_spread(values: pd.Series, staff: pd.Series) -> float:
    means = values.groupby(staff).mean().dropna()
    return float(means.std(ddof=0)) if len(means) >= 2 else float("nan")


def _spread_ci(
    frame: pd.DataFrame, level: float, resamples: int, seed: int
) -> tuple[float, np.ndarray]:
    """Between-staff spread of minutes per reply and its bootstrap replicates (entries resampled)."""
    est = _staff_spread(frame["minutes"], frame["staff_member"])
    rng = np.random.default_rng(seed)
    vals = frame["minutes"].to_numpy()
    codes, uniq = pd.factorize(frame["staff_member"])
    reps = np.empty(resamples)
    n = len(vals)
    for r in range(resamples):
        idx = rng.integers(0, n, size=n)
        sums = np.bincount(codes[idx], weights=vals[idx], minlength=len(uniq))
        counts = np.bincount(codes[idx], minlength=len(uniq))
        m = sums[counts > 0] / counts[counts > 0]
        reps[r] = m.std() if m.size >= 2 else np.nan
    return est, reps


def _row(
    measure: str,
    title: str,
    unit: str,
    base: pd.Series,
    pilot: pd.Series,
    lower_is_better: bool,
    how: str,
    level: float,
    resamples: int,
    seed: int,
    staff: pd.Series | None = None,
) -> dict[str, Any]:
    base, pilot = base.dropna(), pilot.dropna()
    b, p = base.to_numpy(float), pilot.to_numpy(float)
    if staff is not None and b.size and p.size and b.size + p.size <= GROUPED_MAX:
        rb, rp = (_grouped(s, staff, resamples, seed + i) for i, s in enumerate((base, pilot)))
        imp = float(b.mean() - p.mean()) if lower_is_better else float(p.mean() - b.mean())
        reps = rb - rp if lower_is_better else rp - rb
    else:
        a, c = (b, p) if lower_is_better else (p, b)
        imp, reps = unpaired_replicates(a, c, resamples, seed)
    lo, hi = _interval(imp, reps, level)
    return {
        "replicates": reps,
        "measure": measure,
        "title": title,
        "unit": unit,
        "baseline": float(b.mean()) if b.size else np.nan,
        "pilot": float(p.mean()) if p.size else np.nan,
        "improvement": imp,
        "ci_low": lo,
        "ci_high": hi,
        "n_baseline": int(b.size),
        "n_pilot": int(p.size),
        "how": how,
    }


GROUPED_MAX = 2000  # entries: resamples x entries counts (32 MB here); above it, entries alone


def _grouped(values: pd.Series, staff: pd.Series, resamples: int, seed: int) -> np.ndarray:
    """Resampled means of one phase's entries, each staff member's entries resampled among
    their own (reviewers grouped, with the sample simulation's own resampling)."""
    who = staff.reindex(values.index).fillna("(unnamed)").astype(str)
    codes = pd.factorize(who)[0]
    return grouped_means(values.to_numpy(float), codes, resamples, np.random.default_rng(seed))


def _interval(est: float, reps: np.ndarray, level: float) -> tuple[float, float]:
    """Percentile interval of bootstrap replicates, widened to hold the estimate."""
    if reps.size == 0 or np.isnan(est):
        return (np.nan, np.nan)
    alpha = (1 - level) / 2
    lo, hi = np.quantile(reps, [alpha, 1 - alpha])
    return (float(min(lo, est)), float(max(hi, est)))


def _verdict(row: dict[str, Any]) -> str:
    if pd.isna(row["improvement"]):
        return "not measured"
    if row["ci_low"] > 0:
        return "improved"
    if row["ci_high"] < 0:
        return "worse"
    return "no clear change"


def outcomes(
    log: pd.DataFrame | None,
    level: float = 0.95,
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = DEFAULT_SEED,
) -> pd.DataFrame:
    """The pilot's measured outcomes: one row per measure, positive ``improvement`` = better.

    Measures: minutes saved per reply, reduction in replies written by hand, fewer approval
    revisions, faster turnaround, and a smaller difference between staff members. A measure the
    log cannot support (a column missing, a phase without entries) is ``not measured``.
    """
    if log is None or log.empty:
        return pd.DataFrame(columns=OUTCOME_COLUMNS)
    log = log.assign(minutes=minutes_per_reply(log), by_hand=hand_written(log))
    base, pil = _phase(log, "baseline"), _phase(log, "pilot")
    staff = log.get("staff_member")  # reviewers grouped in the bootstrap when named
    has_drafting = "drafting_minutes" in log and log["drafting_minutes"].notna().any()
    minutes_how = (
        "drafting + review minutes per reply as logged; baseline minus pilot"
        if has_drafting
        else "review minutes per reply as logged (no drafting minutes in the log)"
    )
    row = partial(_row, level=level, resamples=resamples, seed=seed, staff=staff)
    rows = [
        row(
            "minutes_saved_per_reply",
            "Staff minutes saved per reply",
            "minutes",
            base["minutes"],
            pil["minutes"],
            True,
            minutes_how,
        ),
        row(
            "hand_written_reduction",
            "Fewer replies written by hand (share of replies)",
            "share",
            base["by_hand"],
            pil["by_hand"],
            True,
            f"a pilot reply counts as hand-written when its draft was not approved or the "
            f"approved text keeps under {HAND_WRITTEN_BELOW:.0%} of the draft's words; "
            "every baseline reply was written by hand",
        ),
        row(
            "fewer_revisions",
            "Fewer approval revisions per reply",
            "revisions",
            pd.to_numeric(base["revision_count"], errors="coerce"),
            pd.to_numeric(pil["revision_count"], errors="coerce"),
            True,
            "rounds of changes before approval, as logged; baseline minus pilot",
        ),
    ]
    if "turnaround_hours" in log:
        rows.append(
            row(
                "faster_turnaround_hours",
                "Hours faster from message to approved reply",
                "hours",
                pd.to_numeric(base["turnaround_hours"], errors="coerce"),
                pd.to_numeric(pil["turnaround_hours"], errors="coerce"),
                True,
                _turnaround_how(log),
            )
        )
    if "staff_member" in log:
        rows.append(_consistency_row(base, pil, level, resamples, seed))
    for r in rows:
        r["verdict"] = _verdict(r)
    frame = pd.DataFrame(rows, columns=OUTCOME_COLUMNS)
    # each measure's bootstrap replicates of the improvement, for the gates' one-sided p-values
    # (tuples: pandas compares attrs when frames are joined, and arrays have no truth value)
    frame.attrs["replicates"] = {r["measure"]: tuple(r.get("replicates", ())) for r in rows}
    return frame


def _turnaround_how(log: pd.DataFrame) -> str:
    """What the turnaround hours count (one definition, :data:`harness.metrics.TURNAROUND`),
    and whose records measured them: the review station's approval path, or the log's own."""
    from harness.metrics import TURNAROUND

    if "approved_at" in log and log["approved_at"].notna().any():
        return f"{TURNAROUND}, from the review station's approval records; baseline minus pilot"
    return f"{TURNAROUND}, as logged; baseline minus pilot"


def _staff_with_two(frame: pd.DataFrame) -> int:
    counts = frame["staff_member"].value_counts()
    return int((counts >= 2).sum())


def _consistency_row(
    base: pd.DataFrame, pil: pd.DataFrame, level: float, resamples: int, seed: int
) -> dict[str, Any]:
    row: dict[str, Any] = {
        "measure": "staff_consistency_minutes",
        "title": "Smaller difference between staff (minutes per reply)",
        "unit": "minutes",
        "n_baseline": int(base["minutes"].notna().sum()),
        "n_pilot": int(pil["minutes"].notna().sum()),
        "how": "spread (standard deviation) of each staff member's average minutes per reply; "
        "baseline spread minus pilot spread (needs 2 or more staff with 2 or more replies)",
    }
    b = base.dropna(subset=["minutes", "staff_member"])
    p = pil.dropna(subset=["minutes", "staff_member"])
    if _staff_with_two(b) < 2 or _staff_with_two(p) < 2:  # too few to show a spread
        row.update(baseline=np.nan, pilot=np.nan, improvement=np.nan, ci_low=np.nan, ci_high=np.nan)
        row["replicates"] = np.empty(0)
        return row
    eb, rb = _spread_ci(b, level, resamples, seed)
    ep, rp = _spread_ci(p, level, resamples, seed + 1)
    diff = rb - rp
    diff = diff[~np.isnan(diff)]
    alpha = (1 - level) / 2
    lo, hi = np.quantile(diff, [alpha, 1 - alpha]) if diff.size else (np.nan, np.nan)
    imp = eb - ep
    row["replicates"] = diff
    row.update(
        baseline=eb,
        pilot=ep,
        improvement=imp,
        ci_low=float(min(lo, imp)),
        ci_high=float(max(hi, imp)),
    )
    return row


def by_staff(log: pd.DataFrame | None) -> pd.DataFrame:
    """Per staff member and phase: replies, average minutes, revisions, turnaround, approvals."""
    cols = ["staff_member", "phase", "replies", "minutes", "revisions", "turnaround_hours"]
    if log is None or log.empty or "staff_member" not in log:
        return pd.DataFrame(columns=[*cols, "approved_share"])
    log = log.assign(minutes=minutes_per_reply(log))
    agg: dict[str, tuple[str, str | Callable[..., Any]]] = {
        "replies": ("entry_id", "count"),
        "minutes": ("minutes", "mean"),
        "revisions": ("revision_count", "mean"),
        "approved_share": ("approved", "mean"),
    }
    if "turnaround_hours" in log:
        agg["turnaround_hours"] = ("turnaround_hours", "mean")
    out = log.groupby(["staff_member", "phase"], sort=True).agg(**agg).reset_index()
    return out.round(2)


STAFF_MEASURES = {
    "minutes": "minutes per reply",
    "revisions": "revisions per reply",
    "turnaround_hours": "hours to reply",
    "approved_share": "share of replies approved (0-1)",
}


def staff_spread(log: pd.DataFrame | None) -> pd.DataFrame:
    """Per phase and measure, how far apart staff members' own averages are, naming nobody:
    staff (count), mean of their averages, lowest, highest, sd. Leader reports show this; the
    per-person table (:func:`by_staff`) is for analysts where governance allows it."""
    cols = ["phase", "measure", "staff", "mean", "lowest", "highest", "sd"]
    per = by_staff(log)
    if per.empty:
        return pd.DataFrame(columns=cols)
    rows = []
    for phase, g in per.groupby("phase", sort=True):
        for m in STAFF_MEASURES:
            v = pd.to_numeric(g[m], errors="coerce").dropna() if m in g else pd.Series(dtype=float)
            if v.empty:
                continue
            rows.append([phase, m, len(v), v.mean(), v.min(), v.max(), float(v.std(ddof=0))])
    out = pd.DataFrame(rows, columns=cols)
    return out.astype(
        {
            "staff": "int64",
            "mean": "float64",
            "lowest": "float64",
            "highest": "float64",
            "sd": "float64",
        }
    )


def outcome_value(outcomes_frame: pd.DataFrame, measure: str) -> dict[str, Any] | None:
    """One measure's row as a dict (None when the log does not have it)."""
    hit = outcomes_frame[outcomes_frame["measure"] == measure]
    return None if hit.empty else dict(hit.iloc[0])


MEASURES = (
    "minutes_saved_per_reply",
    "hand_written_reduction",
    "fewer_revisions",
    "faster_turnaround_hours",
    "staff_consistency_minutes",
)


def grouped_weights(rev: np.ndarray, resamples: int, rng: np.random.Generator) -> np.ndarray:
    """Bootstrap counts (resamples x drafts), each reviewer's drafts resampled among themselves
    (the pilot gates' intervals, :mod:`harness.gates.pilot_log`, and the pilot protocol's
    simulated pilots, :mod:`harness.pilot.sample`)."""
    n = rev.size
    w = np.zeros((resamples, n))
    rows = np.arange(resamples)[:, None]
    for r in np.unique(rev):
        idx = np.flatnonzero(rev == r)
        pick = idx[rng.integers(0, idx.size, size=(resamples, idx.size))]
        np.add.at(w, (np.broadcast_to(rows, pick.shape), pick), 1.0)
    return w


def grouped_means(
    values: np.ndarray, rev: np.ndarray, resamples: int, rng: np.random.Generator
) -> np.ndarray:
    """Bootstrap means of one phase's entries, each reviewer's entries resampled among their
    own: ``values`` is (entries,) or (pilots, entries), the result (resamples,) or (pilots,
    resamples). The pilot gates resample each phase with it (one pilot) and the pilot
    protocol's simulation (:mod:`harness.pilot.sample`) with it (a thousand pilots at once)."""
    w = grouped_weights(np.asarray(rev), resamples, rng)
    return np.asarray((np.asarray(values, dtype=np.float64) @ w.T) / w.sum(axis=1))
