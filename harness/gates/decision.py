"""The readiness decision: gates per phase and a governance checklist, judged on intervals.

``rubrics/gates.yaml`` holds one gate set per phase. A gate names a metric, a scope (the
overall mean, or a floor every category must clear) and a test (a threshold, superiority over
a named baseline, or non-inferiority within a margin). A gate passes only when its whole 95%
confidence interval clears the bar: a mean that clears it with an interval that does not
fails. ``rubrics/governance.yaml`` holds the governance checklist; a missing or empty entry
alone makes the decision "Not ready".

Verdicts, in this order of precedence:

1. **Not ready**: the governance checklist is incomplete (or data would go to an unapproved
   service), or a required gate failed.
2. **Not decided: evidence missing**: no required gate failed, but at least one cannot be
   checked with this data: the field it needs is absent, fewer than ``min_n`` questions were
   scored (the one minimum n, :data:`harness.stats.MIN_N`), nobody could check the AI judge
   (no ``ratings.csv``), or the gate is *not reachable with this data* (the approved answers
   themselves do not clear its bar). Not reachable folds in here because, like a missing
   field, it is a fact about the data, not the AI: the AI neither passed nor failed, and what
   would decide it is a change to the data (or the bar). Each such gate names what it needs.
3. **Ready with conditions**: every required gate passed; an advisory gate failed or could not
   be checked.
4. **Ready**: every gate passed and governance is complete.

A candidate's missing or failed drafts count as failures in its gates, never as absent data
(:mod:`harness.gates.evaluation`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from harness.errors import PlanError, Problem
from harness.gates.evaluation import (
    ESTIMATED_MINUTES,
    estimated_minutes_advisory,
    evaluate_gate,
    holm_pilot,
    mark_unreachable,
    minutes_are_fitted,
    too_few,
)
from harness.gates.evidence import (
    SITE_COLUMNS,
    Evidence,
    call_sites,
    governance_checklist,
    judge_calibrated,
    provider_checks,
)
from harness.gates.specs import (
    FAIL,
    GATES_FILE,
    GOVERNANCE_ENTRIES,
    GOVERNANCE_FILE,
    JUDGE_PREFIX,
    NOT_EVALUATED,
    PASS,
    PILOT_PREFIX,
    RUBRICS,
    DataFlow,
    Gate,
    GateSet,
    Governance,
    IncidentPath,
    PhaseGates,
    SignOff,
    load_gates,
    load_governance,
)

__all__ = [
    "AI_KINDS",
    "CANDIDATE_COLUMNS",
    "CONDITIONS",
    "ESTIMATED_MINUTES",
    "FAIL",
    "GATES_FILE",
    "GATE_COLUMNS",
    "GOVERNANCE_ENTRIES",
    "GOVERNANCE_FILE",
    "JUDGE_PREFIX",
    "NOT_DECIDED",
    "NOT_EVALUATED",
    "NOT_READY",
    "PASS",
    "PILOT_PREFIX",
    "READY",
    "RUBRICS",
    "SITE_COLUMNS",
    "VERDICTS",
    "DataFlow",
    "Decision",
    "Evidence",
    "Gate",
    "GateSet",
    "Governance",
    "IncidentPath",
    "PhaseGates",
    "SignOff",
    "call_sites",
    "decide",
    "evaluate",
    "evaluate_gate",
    "governance_checklist",
    "judge_calibrated",
    "load_gates",
    "load_governance",
    "minutes_are_fitted",
    "provider_checks",
    "run_governance",
]

AI_KINDS = ("model", "drafts")  # candidates a decision is about (drafts: an external tool's)
READY, CONDITIONS, NOT_READY = "Ready", "Ready with conditions", "Not ready"
NOT_DECIDED = "Not decided: evidence missing"  # the one "not enough evidence" verdict
VERDICTS = (READY, CONDITIONS, NOT_DECIDED, NOT_READY)  # best first
GATE_COLUMNS = [
    "gate",
    "title",
    "candidate",
    "required",
    "metric",
    "scope",
    "test",
    "status",
    "value",
    "ci_low",
    "ci_high",
    "bar",
    "baseline",
    "margin",
    "n",
    "evidence",
    "reachable",  # False: the approved answer itself does not clear the bar
    "needs",  # not evaluated: what would make the gate checkable ("" otherwise)
]
# one row per AI candidate (best first), then the approved answer's (role "reference")
CANDIDATE_COLUMNS = ["candidate", "role", "verdict", "passed", "gates", "why"]


@dataclass
class Decision:
    """The readiness verdict for one phase, with every gate's evidence and the reasons."""

    verdict: str
    reason: str
    phase: str
    question: str
    candidate: str | None
    gates: pd.DataFrame
    governance: pd.DataFrame
    providers: pd.DataFrame
    candidates: pd.DataFrame
    all_gates: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=GATE_COLUMNS))
    reasons: list[str] = field(default_factory=list)
    governance_file: str | None = None  # the checklist's file (None: the plan named none)
    # the approved answer's own gate rows (the reference row; empty without one)
    reference: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=GATE_COLUMNS))
    # id -> the name a leader reads (candidates, categories, measures), filled by the report
    names: dict[str, str] = field(default_factory=dict)
    # the workflow's words (harness.report.vocab), set by the report: its tables speak them
    words: dict[str, str] = field(default_factory=dict)


_RANK = {v: i for i, v in enumerate(VERDICTS)}


def _named(rows: pd.DataFrame) -> str:
    return "; ".join(
        f"{t} (needs {n})" if n else str(t)
        for t, n in zip(rows["title"], rows["needs"].fillna(""), strict=True)
    )


def _candidate_verdict(rows: pd.DataFrame) -> tuple[str, list[str]]:
    if rows.empty:  # no gate judges this run's workflow: nothing was shown either way
        return NOT_DECIDED, ["no gate of this phase judges this run's workflow"]
    req, adv = rows[rows["required"]], rows[~rows["required"]]
    reasons = []
    failed = req[req["status"] == FAIL]
    blocked = req[(req["status"] == NOT_EVALUATED) & ~req["reachable"].astype(bool)]
    missing = req[(req["status"] == NOT_EVALUATED) & req["reachable"].astype(bool)]
    if len(failed):
        reasons.append(
            f"failed {len(failed)} of {len(req)} required gates ({', '.join(failed['title'])})"
        )
    if len(missing):
        reasons.append(
            f"cannot be judged on {len(missing)} required gate(s) with this data: {_named(missing)}"
        )
    if len(blocked):
        reasons.append(
            f"cannot be judged on {len(blocked)} required gate(s) that are not reachable with this "
            f"data, because the district's own approved answers do not clear them: "
            f"{_named(blocked)}"
        )
    if reasons:
        return (NOT_READY if len(failed) else NOT_DECIDED), reasons
    weak = adv[adv["status"] != PASS]
    if len(weak):
        return CONDITIONS, [
            f"passed every required gate; watch {len(weak)} advisory gate(s) "
            f"({', '.join(weak['title'])})"
        ]
    return READY, [f"passed all {len(rows)} gates"]


def evaluate(
    ev: Evidence,
    phase: str,
    gates: GateSet,
    governance: Governance,
    candidate: str | None = None,
) -> Decision:
    """The decision from evidence already gathered (see :func:`decide`)."""
    pg = gates.phase(phase)
    gov = governance_checklist(governance)
    assert ev.sites is not None
    providers = provider_checks(ev.sites, governance)
    models = ev.candidates[ev.candidates["kind"].isin(AI_KINDS)]["name"].tolist()
    if candidate is not None:
        if candidate not in ev.candidates["name"].tolist():
            raise PlanError(
                "decision",
                [
                    Problem(
                        "run",
                        None,
                        "candidate",
                        f"'{candidate}' is not in this run",
                        f"candidates: {', '.join(ev.candidates['name'])}",
                    )
                ],
            )
        models = [candidate]
    tasks = ev.tasks()
    mine = pg.for_tasks(tasks)  # the gates of this run's workflows (rubrics/gates.yaml: tasks)
    rows = [evaluate_gate(g, c, ev, gates) for c in models for g in mine]
    ref_rows = mark_unreachable(rows, mine, ev, gates)
    too_few(rows, mine)
    too_few(ref_rows, mine)
    holm_pilot(rows, mine, gates.level)
    estimated_minutes_advisory(rows, ev)
    estimated_minutes_advisory(ref_rows, ev)
    all_gates = pd.DataFrame(rows, columns=GATE_COLUMNS)
    reference = pd.DataFrame(ref_rows, columns=GATE_COLUMNS)
    summary = []
    for c in models:
        verdict, why = _candidate_verdict(all_gates[all_gates["candidate"] == c])
        summary.append(
            {
                "candidate": c,
                "role": "AI candidate",
                "verdict": verdict,
                "passed": int(
                    ((all_gates["candidate"] == c) & (all_gates["status"] == PASS)).sum()
                ),
                "gates": int((all_gates["candidate"] == c).sum()),
                "why": "; ".join(why),
            }
        )
    cands = pd.DataFrame(summary, columns=CANDIDATE_COLUMNS)
    gov_gaps = gov[gov["status"] != "complete"]
    bad_prov = providers[providers["status"] != "approved"]
    gov_reasons = []
    if len(gov_gaps):
        gov_reasons.append(
            "the governance checklist is incomplete ("
            + ", ".join(
                f"{e} {s}" for e, s in zip(gov_gaps["entry"], gov_gaps["status"], strict=True)
            )
            + ")"
        )
    if len(bad_prov):
        gov_reasons.append(
            f"district data would go to an unapproved AI service ({', '.join(bad_prov['model'].astype(str))})"
        )
    if not models:
        verdict, best, reasons = NOT_READY, None, ["the run has no AI candidate to decide on"]
        gates_frame = all_gates
    elif not mine:
        where = gates.path or "the gates file"
        verdict, best, gates_frame = NOT_DECIDED, None, all_gates
        reasons = [
            f"{where} has no {phase} gate for this run's workflow "
            f"({', '.join(sorted(tasks or []))}): add gates with 'tasks: [...]' naming it"
        ]
    else:
        cands = (
            cands.assign(_r=cands["verdict"].map(_RANK))
            .sort_values(["_r", "passed"], ascending=[True, False], kind="stable")
            .drop(columns="_r")
            .reset_index(drop=True)
        )
        best = str(cands.iloc[0]["candidate"])
        verdict = str(cands.iloc[0]["verdict"])
        reasons = [f"{best} {cands.iloc[0]['why']}"]
        gates_frame = all_gates[all_gates["candidate"] == best].reset_index(drop=True)
    if gov_reasons:
        verdict = NOT_READY
        reasons = [*reasons, *gov_reasons]
    if len(reference):  # the ceiling, shown after the contenders and never decided on
        ref_verdict, ref_why = _candidate_verdict(reference)
        ref = str(reference.iloc[0]["candidate"])
        cands = pd.concat(
            [cands, pd.DataFrame([{
                "candidate": ref, "role": "reference", "verdict": ref_verdict,
                "passed": int((reference["status"] == PASS).sum()), "gates": len(reference),
                "why": "; ".join(ref_why),
            }], columns=CANDIDATE_COLUMNS)],
            ignore_index=True,
        )  # fmt: skip
    # "Not decided: evidence missing" carries its own colon: the reasons follow a dash
    reason = verdict + (" — " if ":" in verdict else ": ") + "; ".join(reasons) + "."
    return Decision(
        verdict=verdict,
        reason=reason,
        phase=phase,
        question=pg.question,
        candidate=best,
        gates=gates_frame,
        governance=gov,
        providers=providers,
        candidates=cands,
        all_gates=all_gates,
        reasons=reasons,
        governance_file=str(governance.path) if governance.path else None,
        reference=reference,
    )


def decide(
    run: Any,
    phase: str,
    gates: GateSet | str | Path | None = None,
    governance: Governance | str | Path | None = None,
    candidate: str | None = None,
) -> Decision:
    """Ready / Ready with conditions / Not ready for one phase of a stored run.

    Args:
        run: a loaded run (``harness.store.runs.load_run``) or an :class:`Evidence`.
        phase: ``pre_pilot``, ``post_pilot`` or ``pre_expansion``.
        gates: a GateSet or a gates file (default ``rubrics/gates.yaml``).
        governance: a Governance or a checklist file (default ``rubrics/governance.yaml``).
        candidate: decide on this candidate only (default: every AI candidate, best one wins).
    """
    gs = gates if isinstance(gates, GateSet) else load_gates(gates)
    gov = run_governance(run, governance)
    ev = run if isinstance(run, Evidence) else Evidence.from_run(run)
    return evaluate(ev, phase, gs, gov, candidate)


def run_governance(run: Any, governance: Governance | str | Path | None = None) -> Governance:
    """The checklist a run is judged against: the one given, else the one its plan named
    (recorded in the manifest), never a shipped file the plan did not name. A run whose plan
    names none gets an empty checklist: every entry missing, so the decision says so."""
    if isinstance(governance, Governance):
        return governance
    if governance is not None:
        return load_governance(governance)
    manifest = getattr(run, "manifest", None) or {}
    named = (manifest.get("data_protection") or {}).get("governance")
    if named:
        return load_governance(named)
    return Governance(district=str(manifest.get("district") or ""))
