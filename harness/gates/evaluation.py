"""One gate for one candidate, and the marks on a phase's gate rows: gates the approved
answers themselves miss (not reachable), gates judged on fewer than ``min_n`` questions (not
enough evidence), and estimated-minutes gates left advisory.

A candidate's missing drafts (none given, or failed after retries) on questions a gate judges
count as failures in that gate's evidence, never as absent data: a share counts 0 (1 when lower
is better), any other measure the worst value a draft of this run got (a count at least 1).
Every gate row that is not evaluated says in ``needs`` what would make it checkable."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from harness.gates.checks import (
    GateResult,
    by_category,
    by_slice,
    max_gap_check,
    paired_check,
    pilot_check,
    threshold_check,
)
from harness.gates.evidence import Evidence, judge_calibrated, judge_unchecked
from harness.gates.specs import (
    FAIL,
    JUDGE_PREFIX,
    NOT_EVALUATED,
    PASS,
    PILOT_PREFIX,
    Gate,
    GateSet,
)
from harness.metrics import NEEDS, metric_def, missing_data_hint
from harness.stats import higher_is_better


def _resolve_baseline(cands: pd.DataFrame, key: str) -> str | None:
    hit = cands[(cands["name"] == key) | (cands["baseline"] == key)]
    return None if hit.empty else str(hit.iloc[0]["name"])


def _failure_value(metric: str, s: pd.DataFrame) -> float:
    """What a missing draft counts as on ``metric``: a failure (see the module docstring)."""
    d = metric_def(metric)
    if d.kind in ("share", "flag"):
        return 0.0 if d.higher_is_better else 1.0
    vals = s["value"].dropna()
    worst = float(vals.min() if d.higher_is_better else vals.max())
    return max(worst, 1.0) if d.kind == "count" else worst


def _count_missing(s: pd.DataFrame, gate: Gate, candidate: str, ev: Evidence) -> tuple:
    """The scores with the candidate's missing drafts counted as failures, and the note."""
    missing = ev.undrafted.get(candidate) or set()
    judged = set(s.loc[s["value"].notna(), "item_id"])  # the metric applies to these items
    gone = sorted(missing & judged)
    if not gone or s["value"].isna().all():
        return s, ""
    value = _failure_value(gate.metric, s)
    kept = s[~((s["candidate"] == candidate) & s["item_id"].isin(gone))]
    filled = pd.DataFrame(
        {"key": [f"{i}|{candidate}|missing" for i in gone], "item_id": gone,
         "candidate": candidate, "sample": 0, "metric": gate.metric, "value": value}
    )  # fmt: skip
    shown = ", ".join(gone[:4]) + (", …" if len(gone) > 4 else "")
    note = (
        f"{candidate} has no draft for {len(gone)} of the {len(judged)} questions this gate "
        f"judges ({shown}); each counts as a failure ({value:.3g})"
    )
    return pd.concat([kept, filled[[c for c in s.columns if c in filled]]], ignore_index=True), note


def _needs(gate: Gate, ev: Evidence, row: dict[str, Any]) -> str:
    """What would make a gate that could not be checked checkable, in a few words."""
    if gate.metric.startswith(PILOT_PREFIX):
        tasks = ev.pilot_log.attrs.get("tasks") if ev.pilot_log is not None else None
        of = f" of {' or '.join(tasks)}" if tasks else ""  # the run's workflows, when filtered
        return f"pilot_log.csv with entries{of} before and during the pilot"
    by = gate.floor_by or gate.max_gap_by
    if by:
        return f"at least {gate.min_n} scored questions in each {by} slice"
    if gate.test in ("superiority", "non_inferiority"):
        from harness.metrics import BASELINE_NEEDS

        kinds = ev.candidates.set_index("name")["baseline"]
        need = BASELINE_NEEDS.get(str(kinds.get(row.get("baseline"), row.get("baseline"))))
        return need[0] if need else f"a '{gate.baseline}' baseline scored on the same questions"
    if gate.metric in NEEDS:
        return str(NEEDS[gate.metric][0])
    return f"'{gate.metric}' scores for the candidate"


def evaluate_gate(gate: Gate, candidate: str, ev: Evidence, gs: GateSet) -> dict[str, Any]:
    """One gate for one candidate: status (pass / fail / not evaluated), its evidence and,
    when it is not evaluated, what would make it checkable (``needs``). A gate naming
    ``tasks`` is judged on those workflows' items only."""
    row = _evaluate_gate(gate, candidate, ev.for_tasks(gate.tasks), gs)
    row.setdefault("needs", "")
    if row["status"] == NOT_EVALUATED and not row["needs"]:
        row["needs"] = _needs(gate, ev, row)
    return row


def _evaluate_gate(gate: Gate, candidate: str, ev: Evidence, gs: GateSet) -> dict[str, Any]:
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
        return {**row, **pilot_check(gate, ev, gs).as_dict()}
    s = ev.scores[ev.scores["metric"] == gate.metric]
    mine = s[s["candidate"] == candidate]
    judge = gate.metric.startswith(JUDGE_PREFIX)
    note = ""
    if not judge or mine["value"].notna().any():  # a judge may rate only some candidates
        s, note = _count_missing(s, gate, candidate, ev)
        mine = s[s["candidate"] == candidate]
    if mine.empty or mine["value"].isna().all():
        needs = ""
        if judge and s["value"].notna().any():
            why = (
                f"the AI judge does not rate {candidate}'s drafts in this run (judge.candidates "
                "in the plan), so its judge scores are unscored"
            )
            needs = f"judge.candidates in the plan to include {candidate}"
        elif len(s):
            hint = missing_data_hint(gate.metric) or "widen the selection"
            why = (
                f"no question in this run gives a '{metric_def(gate.metric).label}' score for "
                f"{candidate}; {hint}"
            )
            need = NEEDS.get(gate.metric)
            needs = str(need[0]) if need else "questions that give this score"
        else:
            why = (
                f"this run has no '{gate.metric}' scores for {candidate}: the plan does not "
                "measure it (an analyst adds the scorer and scores the run again)"
            )
            needs = f"the scorer of '{gate.metric}' in the plan"
        return {**row, **GateResult.unchecked(why, needs=needs).as_dict()}
    out = _judged(gate, candidate, ev, gs, s, row)
    if note and out["status"] != NOT_EVALUATED:
        out["evidence"] = f"{note}; {out.get('evidence') or ''}".rstrip("; ")
    return out


def _judged(
    gate: Gate, candidate: str, ev: Evidence, gs: GateSet, s: pd.DataFrame, row: dict[str, Any]
) -> dict[str, Any]:
    """The gate's test on the metric's scores ``s`` (missing drafts already counted)."""
    higher = higher_is_better(gate.metric)
    if gate.metric.startswith(JUDGE_PREFIX):
        unchecked = judge_unchecked(ev.calibration, gate.metric)
        if unchecked:
            needs = (
                "ratings.csv"
                if "no ratings.csv" in unchecked
                else "the judge's calibration against ratings.csv"
                if "calibration was not run" in unchecked
                else "more rated drafts in ratings.csv"
            )
            return {**row, **GateResult.unchecked(unchecked, needs=needs).as_dict()}
        ok, why = judge_calibrated(ev.calibration, gate.metric)
        if not ok:
            return {**row, **GateResult(FAIL, 0, why).as_dict()}
    if gate.test == "max_gap":
        return {
            **row,
            "scope": f"max gap by {gate.max_gap_by}",
            **max_gap_check(s, ev, gate, candidate, gs).as_dict(),
        }
    if gate.floor_by:
        row["scope"] = f"every {gate.floor_by}"
    if gate.test == "threshold":

        def fn(frame: pd.DataFrame) -> GateResult:
            f = frame[frame["candidate"] == candidate]
            vals = f.groupby("item_id")["value"].mean().to_numpy(dtype=np.float64)
            return threshold_check(vals, gate, higher, gs)

    else:
        base = _resolve_baseline(ev.candidates, str(gate.baseline))
        if base is None:
            why = f"this run has no '{gate.baseline}' baseline to compare with"
            return {**row, **GateResult.unchecked(why).as_dict()}
        row["baseline"] = base

        def fn(frame: pd.DataFrame) -> GateResult:
            return paired_check(frame, gate, candidate, str(base), higher, gs)

    if gate.floor_by:
        result = by_slice(s, ev, gate.floor_by, fn, gate.min_n, gate.slices)
    elif gate.scope == "overall":
        result = fn(s)
    else:
        result = by_category(s, ev.categories, fn)
    if result.status == NOT_EVALUATED and gate.test != "threshold":
        from harness.metrics import BASELINE_NEEDS

        kinds = ev.candidates.set_index("name")["baseline"]
        need = BASELINE_NEEDS.get(str(kinds.get(row["baseline"])))
        if need:
            more = f"; the {row['baseline']} baseline needs {need[0]}: {need[1]}"
            result = result.replace(evidence=result.evidence + more)
    return {**row, **result.as_dict()}


ESTIMATED_MINUTES = ("review_minutes", "saved_minutes", "scratch_minutes")


def minutes_are_fitted(pilot_log: pd.DataFrame | None) -> bool:
    """Whether estimated minutes rest on rates fitted to a pilot log (else planning rates)."""
    from harness.scorers.edit import enough_to_fit

    if pilot_log is None or pilot_log.empty:
        return False
    return enough_to_fit(pilot_log)  # rates_from_log fits then; found without the fit


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


def too_few(rows: list[dict[str, Any]], gates: list[Gate]) -> None:
    """The one minimum n: a gate judged on fewer than its ``min_n`` questions (default
    :data:`harness.stats.MIN_N`) is not enough evidence, whichever way its interval points, as
    a slice below ``min_n`` is. Pilot gates are judged on the pilot log's own entries."""
    by_name = {g.name: g for g in gates}
    for r in rows:
        g = by_name.get(r["gate"])
        if g is None or g.metric.startswith(PILOT_PREFIX) or r["status"] not in (PASS, FAIL):
            continue
        n = int(r.get("n") or 0)
        if n >= g.min_n or (n == 0 and r["status"] == FAIL):  # n 0: an uncalibrated judge
            continue
        r["status"] = NOT_EVALUATED
        r["evidence"] = (
            f"not enough evidence: {n} scored questions, a gate needs at least {g.min_n} "
            f"(what they show: {r.get('evidence')})"
        )
        r["needs"] = f"at least {g.min_n} scored questions (this run has {n})"


def mark_unreachable(
    rows: list[dict[str, Any]], gates: list[Gate], ev: Evidence, gs: GateSet
) -> list[dict[str, Any]]:
    """A gate whose bar the approved answer itself does not clear measures the data, not the
    AI: it is reported "not reachable with this data" (not evaluated) with the reason, and
    never silently fails the AI. Returns the approved answer's own gate rows (none without
    the reference row), judged like a candidate's, for the report to show beside them."""
    if not (ev.candidates["kind"] == "reference").any():
        return []
    ref = str(ev.candidates.loc[ev.candidates["kind"] == "reference", "name"].iloc[0])
    ref_rows = []
    for g in gates:
        if g.metric.startswith(PILOT_PREFIX):
            continue
        if g.metric.startswith(JUDGE_PREFIX) and not judge_calibrated(ev.calibration, g.metric)[0]:
            continue  # an uncalibrated judge says nothing about the approved answer either
        r = evaluate_gate(g, ref, ev, gs)
        ref_rows.append(dict(r))
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
                row["needs"] = "approved answers (and their cited sources) that clear this bar"
    return ref_rows


def holm_pilot(rows: list[dict[str, Any]], gates: list[Gate], level: float) -> None:
    """The phase's required pilot gates judged together, as the pilot protocol simulated them.

    Each required ``pilot:`` gate that could be checked has a one-sided p-value
    (:func:`harness.gates.checks.pilot_check`); per candidate, Holm's step-down correction
    (:func:`harness.stats.holm_reject`, the function the sample simulation uses) at
    ``(1 - level) / 2`` decides which of them pass. A gate that clears its bar alone but not
    within the family fails, and its evidence says so in plain words.
    """
    from harness.stats import holm_reject

    required = {g.name for g in gates if g.required and g.metric.startswith(PILOT_PREFIX)}
    alpha = (1 - level) / 2
    for cand in sorted({str(r["candidate"]) for r in rows}):
        family = [
            r
            for r in rows
            if r["candidate"] == cand
            and r["gate"] in required
            and r["status"] in (PASS, FAIL)
            and not np.isnan(float(r.get("p_value", np.nan)))
        ]
        k = len(family)
        if k < 2:
            continue  # one measure: Holm's correction is the gate's own rule
        pvals = np.array([float(r["p_value"]) for r in family])
        keep = holm_reject(pvals, alpha)[0]
        rank = np.argsort(np.argsort(pvals, kind="stable"), kind="stable")
        for r, ok, i, pv in zip(family, keep, rank, pvals, strict=True):
            needed = alpha / (k - int(i))
            together = (
                f"the pilot's {k} required measures are judged together (Holm's correction, the "
                f"rule the pilot protocol simulated): ranked {int(i) + 1} of {k} by p-value, this "
                f"one needs p at most {needed:.3g}"
            )
            if ok:
                r["evidence"] = f"{r.get('evidence')}; {together}: it passes"
            elif r["status"] == PASS:
                r["status"] = FAIL
                r["evidence"] = (
                    f"{r.get('evidence')}; it clears the bar alone, but {together}"
                    + (", and a measure ranked before it did not pass" if pv <= needed else "")
                    + ": it does not pass yet"
                )
            else:
                r["evidence"] = f"{r.get('evidence')}; {together}"
