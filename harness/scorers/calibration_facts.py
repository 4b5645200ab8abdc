"""Facts about a stored judge calibration that every place states the same way: how many rated
drafts it checked (:func:`checked_on`), the calls behind them (:func:`call_counts`), what
``harness calibrate`` re-ran (:func:`calibration_message`) and the earlier length-bias probe
it keeps (:func:`earlier_bias`). Plain functions of dicts and frames: no model, no files."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd


def checked_on(cal: dict[str, Any] | None, detail: bool = False) -> str:
    """How many rated drafts a stored calibration checked the judge on, the one wording every
    report, the evidence index and ``harness calibrate`` use: '16 of the 61 human-rated drafts
    (a fixed sample across the human scores)'; ``detail`` adds how the sample was drawn."""
    sample = (cal or {}).get("sample")
    sample = sample if isinstance(sample, dict) else {}
    used, total = sample.get("used"), sample.get("rated_drafts")
    if used is None or total is None:
        return "human ratings"
    if not sample.get("subset"):
        return f"all {total} human-rated drafts"
    by = {"score": "human score", "item": "question"}.get(str(sample.get("stratify")), "stratum")
    how = (
        f"a seeded sample stratified by {by}, seed {sample.get('seed')}"
        if detail
        else f"a fixed sample spread across the {by}s"
    )
    return f"{used} of the {total} human-rated drafts ({how})"


def earlier_bias(earlier: dict[str, Any] | None) -> pd.DataFrame | None:
    """The length-bias probe of a run's earlier calibration (the probe needs the run's own
    drafts, which a re-calibration does not judge again), to keep its verdict."""
    probe = ((earlier or {}).get("judge") or {}).get("bias_probe")
    rows = [r for r in (earlier or {}).get("summary") or [] if "length_bias" in r]
    if not probe or not rows:
        return None
    return pd.DataFrame(
        {
            "criterion": [r["criterion"] for r in rows],
            "n": int(probe.get("probes") or 0),
            "shift": [r["length_bias"] for r in rows],
            "biased": [bool(r.get("length_biased")) for r in rows],
        }
    )


def call_counts(judged: pd.DataFrame) -> dict[str, int]:
    """Judge calls behind these rated drafts: new calls (attempts) and replies from the cache."""
    if "calls" not in judged or "cached" not in judged:
        return {"calls": 0, "cached": 0}
    cached = judged["cached"].astype(bool)
    return {"calls": int(judged.loc[~cached, "calls"].sum()), "cached": int(cached.sum())}


def calibration_message(result: Any) -> str:
    """What ``harness calibrate`` did, in one line: what it re-ran, and where the earlier
    calibration was kept."""
    cal = result.to_dict()
    c = result.counts
    verb = "re-ran" if result.previous is not None else "ran"
    out = (
        f"calibrate: {verb} the AI judge on {checked_on(cal)} ({c.get('calls', 0)} new calls, "
        f"{c.get('cached', 0)} replies from the cache)"
    )
    if result.previous is not None:
        out += f"; the earlier calibration is kept in {result.previous}"
        if result.bias_kept:
            out += "; its length-bias probe was not re-run and still counts"
    return out


def length_bias(
    original: pd.DataFrame, padded: pd.DataFrame, criteria: Sequence[str], spec: Any
) -> pd.DataFrame:
    """Per criterion: how many points the judge moved a draft for padding alone (padded minus
    original, 1-5 scale, mean over the probes both scored), and whether that is a bias."""
    probe = spec.bias_probe
    rows = []
    for c in criteria:
        a = original[c].to_numpy(dtype=np.float64)
        b = padded[c].to_numpy(dtype=np.float64)
        ok = np.isfinite(a) & np.isfinite(b)
        n = int(ok.sum())
        shift = float(np.mean(b[ok] - a[ok])) if n else float("nan")
        biased = bool(probe is not None and n >= probe.min_probes and abs(shift) >= probe.max_shift)
        rows.append({"criterion": c, "n": n, "shift": shift, "biased": biased})
    return pd.DataFrame(rows, columns=["criterion", "n", "shift", "biased"])
