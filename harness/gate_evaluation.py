"""One gate for one candidate, and the marks on a phase's gate rows: gates the approved
answers themselves miss (not reachable), and estimated-minutes gates left advisory."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from harness.gate_checks import (
    by_category,
    by_slice,
    max_gap_check,
    paired_check,
    pilot_check,
    threshold_check,
)
from harness.gate_evidence import Evidence, judge_calibrated
from harness.gate_specs import FAIL, JUDGE_PREFIX, NOT_EVALUATED, PILOT_PREFIX, Gate, GateSet
from harness.metrics import missing_data_hint
from harness.stats import higher_is_better


def _resolve_baseline(cands: pd.DataFrame, key: str) -> str | None:
    hit = cands[(cands["name"] == key) | (cands["baseline"] == key)]
    return None if hit.empty else str(hit.iloc[0]["name"])


def evaluate_gate(gate: Gate, candidate: str, ev: Evidence, gs: GateSet) -> dict[str, Any]:
    """One gate for one candidate: status (pass / fail / not evaluated) and its evidence."""
    row: dict[str, Any] = {
        "gate": gate.name,
        "title": gate.title,
        "candidate": candidate,
        "required": gate.required,
        "metric": gate.metric,
        "scope": gate.scope,
        "test": gate.test,
        "baseline": gate.baseline,
        "margin": gate.margin,
        "bar": gate.threshold,
        "reachable": True,
    }
    if gate.metric.startswith(PILOT_PREFIX):
        return {**row, **pilot_check(gate, ev, gs)}
    s = ev.scores[ev.scores["metric"] == gate.metric]
    mine = s[s["candidate"] == candidate]
    if mine.empty or mine["value"].isna().all():
        if gate.metric.startswith(JUDGE_PREFIX) and s["value"].notna().any():
            why = (
                f"the AI judge does not rate {candidate}'s drafts in this run (judge.candidates "
                "in the plan), so its judge scores are unscored"
            )
        elif len(s):
            from harness.metrics import metric_def

            hint = missing_data_hint(gate.metric) or "widen the selection"
            why = (
                f"no question in this run gives a '{metric_def(gate.metric).label}' score for "
                f"{candidate}; {hint}"
            )
        else:
            why = (
                f"this run has no '{gate.metric}' scores for {candidate}; add the scorer "
                "to the plan and run: harness score RUN_ID"
            )
        return {**row, "status": NOT_EVALUATED, "n": 0, "evidence": why}
    higher = higher_is_better(gate.metric)
    if gate.metric.startswith(JUDGE_PREFIX):
        ok, why = judge_calibrated(ev.calibration, gate.metric)
        if not ok:
            return {**row, "status": FAIL, "n": 0, "evidence": why}
    if gate.test == "max_gap":
        return {
            **row,
            "scope": f"max gap by {gate.max_gap_by}",
            **max_gap_check(s, ev, gate, candidate, gs),
        }
    if gate.floor_by:
        row["scope"] = f"every {gate.floor_by}"
    if gate.test == "threshold":

        def fn(frame: pd.DataFrame) -> dict[str, Any]:
            f = frame[frame["candidate"] == candidate]
            vals = f.groupby("item_id")["value"].mean().to_numpy(dtype=np.float64)
            return threshold_check(vals, gate, higher, gs)

    else:
        base = _resolve_baseline(ev.candidates, str(gate.baseline))
        if base is None:
            return {
                **row,
                "status": NOT_EVALUATED,
                "n": 0,
                "evidence": f"this run has no '{gate.baseline}' baseline to compare with",
            }
        row["baseline"] = base

        def fn(frame: pd.DataFrame) -> dict[str, Any]:
            return paired_check(frame, gate, candidate, str(base), higher, gs)

    if gate.floor_by:
        result = by_slice(s, ev, gate.floor_by, fn, gate.min_n, gate.slices)
    elif gate.scope == "overall":
        result = fn(s)
    else:
        result = by_category(s, ev.categories, fn)
    if result["status"] == NOT_EVALUATED and gate.test != "threshold":
        from harness.metrics import BASELINE_NEEDS

        kinds = ev.candidates.set_index("name")["baseline"]
        need = BASELINE_NEEDS.get(str(kinds.get(row["baseline"])))
        if need:
            result["evidence"] += f"; the {row['baseline']} baseline needs {need[0]}: {need[1]}"
    result.pop("category", None)
    result.pop("slack", None)
    return {**row, **result}


ESTIMATED_MINUTES = ("review_minutes", "saved_minutes", "scratch_minutes")


def minutes_are_fitted(pilot_log: pd.DataFrame | None) -> bool:
    """Whether estimated minutes rest on rates fitted to a pilot log (else planning rates)."""
    from harness.scorers.edit import rates_from_log

    if pilot_log is None or pilot_log.empty:
        return False
    return rates_from_log(pilot_log) is not None


def estimated_minutes_advisory(rows: list[dict[str, Any]], ev: Evidence) -> None:
    """A gate on estimated minutes is advisory until the rates are fitted to a pilot log: the
    planning rates explain little of what staff really spend, so they cannot block or pass."""
    if not any(r["metric"] in ESTIMATED_MINUTES for r in rows) or minutes_are_fitted(ev.pilot_log):
        return
    for r in rows:
        if r["metric"] in ESTIMATED_MINUTES and r["required"]:
            r["required"] = False
            r["evidence"] = (
                f"{r.get('evidence')} (advisory until a pilot log measures real minutes: these "
                "are estimated with planning rates that no pilot has checked)"
            )


def mark_unreachable(
    rows: list[dict[str, Any]], gates: list[Gate], ev: Evidence, gs: GateSet
) -> None:
    """A gate whose bar the approved answer itself does not clear measures the data, not the
    AI: it is reported "not reachable with this data" (not evaluated) with the reason, and
    never silently fails the AI."""
    if not (ev.candidates["kind"] == "reference").any():
        return
    ref = str(ev.candidates.loc[ev.candidates["kind"] == "reference", "name"].iloc[0])
    for g in gates:
        if g.metric.startswith(PILOT_PREFIX):
            continue
        if g.metric.startswith(JUDGE_PREFIX) and not judge_calibrated(ev.calibration, g.metric)[0]:
            continue  # an uncalibrated judge says nothing about the approved answer either
        r = evaluate_gate(g, ref, ev, gs)
        if r["status"] != FAIL:
            continue
        why = (
            "not reachable with this data: the approved answers themselves do not clear this "
            f"bar ({r['evidence']}), so it measures the data, not the AI"
        )
        for row in rows:
            if row["gate"] == g.name:
                row["evidence"] = f"{why}; this candidate: {row.get('evidence')}"
                row["status"] = NOT_EVALUATED
                row["reachable"] = False
