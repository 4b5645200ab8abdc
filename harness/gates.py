"""The readiness decision: gates per phase and a governance checklist, judged on intervals.

``rubrics/gates.yaml`` holds one gate set per phase. A gate names a metric, a scope (the
overall mean, or a floor every category must clear) and a test (a threshold, superiority over
a named baseline, or non-inferiority within a margin). A gate passes only when its whole 95%
confidence interval clears the bar: a mean that clears it with an interval that does not is
not enough evidence. ``rubrics/governance.yaml`` holds the governance checklist; a missing or
empty entry alone makes the decision "Not ready".

Verdicts: **Ready** (every gate passed, governance complete), **Ready with conditions** (every
required gate passed; an advisory gate failed or could not be checked), **Not ready** (a
required gate failed or could not be checked, or governance is incomplete).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from harness.errors import PlanError, Problem
from harness.plan import _validation_problems, load_yaml
from harness.stats import (
    DEFAULT_RESAMPLES,
    DEFAULT_SEED,
    bootstrap_ci,
    higher_is_better,
    paired_bootstrap,
    paired_values,
)

RUBRICS = Path(__file__).resolve().parents[1] / "rubrics"
GATES_FILE = RUBRICS / "gates.yaml"
GOVERNANCE_FILE = RUBRICS / "governance.yaml"
PHASES = ("pre_pilot", "post_pilot", "pre_expansion")
READY, CONDITIONS, NOT_READY = "Ready", "Ready with conditions", "Not ready"
PASS, FAIL, NOT_EVALUATED = "pass", "fail", "not evaluated"
PILOT_PREFIX = "pilot:"
JUDGE_PREFIX = "judge_"
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
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Gate(_Strict):
    """One gate: a metric, a scope, a test judged on the interval, required or advisory."""

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_\-]*$")
    title: str = Field(min_length=3)
    why: str = ""
    metric: str = Field(min_length=1)
    scope: Literal["overall", "every_category"] = "overall"
    test: Literal["threshold", "superiority", "non_inferiority"]
    threshold: float | None = None
    baseline: str | None = None
    margin: float | None = Field(None, ge=0)
    required: bool = True

    @model_validator(mode="after")
    def _test_fields(self) -> Gate:
        if self.test == "threshold" and self.threshold is None:
            raise ValueError("a threshold gate needs 'threshold': the bar the interval must clear")
        if self.test != "threshold" and not self.baseline:
            raise ValueError(
                f"a {self.test} gate needs 'baseline': a baseline kind (template, retrieval, "
                "staff_first_draft) or a candidate name of the run"
            )
        if self.test == "non_inferiority" and self.margin is None:
            raise ValueError("a non_inferiority gate needs 'margin' (in the metric's units)")
        if self.test == "threshold" and (self.baseline or self.margin is not None):
            raise ValueError("a threshold gate takes no 'baseline' or 'margin'")
        if self.metric.startswith(PILOT_PREFIX) and (
            self.test != "threshold" or self.scope != "overall"
        ):
            raise ValueError("a pilot: gate is a threshold on the overall pilot outcome")
        return self


class PhaseGates(_Strict):
    """The gate set of one phase."""

    question: str = Field(min_length=3)
    gates: list[Gate] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique(self) -> PhaseGates:
        names = [g.name for g in self.gates]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"gate names must be unique in a phase; repeated: {', '.join(dupes)}")
        return self


class GateSet(_Strict):
    """Every phase's gates and the confidence level they are judged at."""

    level: float = Field(0.95, gt=0.5, lt=1)
    resamples: int = Field(DEFAULT_RESAMPLES, ge=100, le=100_000)
    seed: int = DEFAULT_SEED
    phases: dict[Literal["pre_pilot", "post_pilot", "pre_expansion"], PhaseGates]
    path: Path | None = Field(None, exclude=True)

    def phase(self, phase: str) -> PhaseGates:
        """The gates of one phase; an unknown or absent phase names the ones there are."""
        if phase not in self.phases:
            where = self.path or "the gates file"
            raise PlanError(
                f"gates {where}",
                [
                    Problem(
                        str(where),
                        None,
                        "phases",
                        f"has no phase '{phase}'",
                        f"phases here: {', '.join(self.phases)}",
                    )
                ],
            )
        return self.phases[phase]


GOVERNANCE_ENTRIES = {
    "approval_owner": "Who owns approval of every reply that goes out?",
    "approved_sources": "Which sources may drafts draw on?",
    "human_review": "Which outputs need a person to review them before they go out?",
    "when_draft_is_wrong": "What do staff do when a draft is wrong?",
    "internal_explanation": "How is the pilot explained to staff?",
    "pilot_is_not": "What is the pilot not?",
    "approved_providers": "Which AI services may receive district data?",
}


class Governance(_Strict):
    """The governance checklist; entries may be missing here: the decision reports them."""

    district: str = ""
    workflow: str = ""
    approval_owner: str | None = None
    approved_sources: str | list[str] | None = None
    human_review: str | list[str] | None = None
    when_draft_is_wrong: str | list[str] | None = None
    internal_explanation: str | None = None
    pilot_is_not: str | list[str] | None = None
    approved_providers: list[str] | None = None
    path: Path | None = Field(None, exclude=True)


def _problems(display: str, exc: ValidationError, node: Any, path: str | Path) -> list[Problem]:
    """Validation problems with union branches folded into one plain message per field."""
    out: list[Problem] = []
    seen: set[tuple[int | None, str | None]] = set()
    hint = f"the comments at the top of rubrics/{Path(path).name}"
    for p in _validation_problems(display, exc, node):
        fld, msg = p.field, p.message
        if fld and re.search(r"\.(str|list\[str\])(\.|$)", fld):
            fld = re.split(r"\.(?:str|list\[str\])(?:\.|$)", fld)[0]
            msg = "must be text or a list of lines of text"
        if (p.line, fld) in seen:
            continue
        seen.add((p.line, fld))
        out.append(Problem(p.file, p.line, fld, msg, p.hint.replace("plans/README.md", hint)))
    return out


def _load(path: str | Path, what: str, model: type[BaseModel]) -> Any:
    display = str(path)
    data, node = load_yaml(path, what)
    if not isinstance(data, dict):
        raise PlanError(
            f"{what} {display}",
            [Problem(display, 1, None, "is not a mapping", f"see rubrics/{Path(path).name}")],
        )
    try:
        obj = model.model_validate(data)
    except ValidationError as exc:
        raise PlanError(f"{what} {display}", _problems(display, exc, node, path)) from None
    obj.path = Path(path).resolve()  # type: ignore[attr-defined]
    return obj


def load_gates(path: str | Path | None = None) -> GateSet:
    """Load and validate a gates file (default ``rubrics/gates.yaml``)."""
    gs: GateSet = _load(path or GATES_FILE, "gates", GateSet)
    return gs


def load_governance(path: str | Path | None = None) -> Governance:
    """Load and validate a governance checklist (default ``rubrics/governance.yaml``)."""
    gov: Governance = _load(path or GOVERNANCE_FILE, "governance", Governance)
    return gov


def _blank(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    if isinstance(value, list):
        return not [v for v in value if str(v).strip()]
    return False


def governance_checklist(gov: Governance) -> pd.DataFrame:
    """One row per checklist entry: the question, the answer, and complete / missing / empty."""
    given = gov.model_fields_set
    rows = []
    for key, question in GOVERNANCE_ENTRIES.items():
        value = getattr(gov, key)
        status = "missing" if key not in given else "empty" if _blank(value) else "complete"
        text = "; ".join(str(v) for v in value) if isinstance(value, list) else value
        rows.append({"entry": key, "question": question, "answer": text or "", "status": status})
    return pd.DataFrame(rows, columns=["entry", "question", "answer", "status"])


def provider_allowed(model: str | None, api_base: str | None, approved: list[str]) -> bool:
    """Is a candidate's endpoint on the approved list? (one rule: harness.protect)"""
    from harness.protect import provider_approved

    return provider_approved(model, api_base, approved)


def provider_checks(candidates: pd.DataFrame, gov: Governance) -> pd.DataFrame:
    """Each AI candidate of a run: where it sends district data, and whether that is approved."""
    rows = []
    approved = gov.approved_providers or []
    for _, c in candidates[candidates["kind"] == "model"].iterrows():
        base = c.get("api_base") if isinstance(c.get("api_base"), str) else None
        ok = provider_allowed(c["model"], base, approved)
        rows.append(
            {
                "candidate": c["name"],
                "model": c["model"],
                "endpoint": base
                or (
                    "127.0.0.1 (embedded)"
                    if str(c["model"]).startswith("local/")
                    else "provider default"
                ),
                "status": "approved" if ok else "not approved",
            }
        )
    return pd.DataFrame(rows, columns=["candidate", "model", "endpoint", "status"])


# ---------------------------------------------------------------------------------------------
# Evidence about a run
# ---------------------------------------------------------------------------------------------


@dataclass
class Evidence:
    """What the decision needs to know about a run, independent of how it was stored."""

    scores: pd.DataFrame
    categories: pd.Series
    candidates: pd.DataFrame  # name, kind, baseline, model, api_base
    calibration: dict[str, Any] | None = None
    pilot_log: pd.DataFrame | None = None

    @classmethod
    def from_run(cls, run: Any) -> Evidence:
        """From a loaded run (``harness.report.RunData``) or anything with the same attributes."""
        m = run.manifest
        plan_cands = {c["name"]: c for c in m.get("plan", {}).get("candidates", [])}
        cands = pd.DataFrame(
            [
                {
                    "name": c["name"],
                    "kind": c["kind"],
                    "baseline": c.get("baseline"),
                    "model": c.get("model"),
                    "api_base": plan_cands.get(c["name"], {}).get("api_base"),
                }
                for c in m["candidates"]
            ],
            columns=["name", "kind", "baseline", "model", "api_base"],
        )
        ds = run.dataset
        station = _station_pilot_log(run.store.path, set(ds.items.index))
        return cls(
            scores=run.scores,
            categories=ds.items["category"],
            candidates=cands,
            calibration=read_calibration(run.store.path) or _calibration_from_scores(run.scores),
            pilot_log=station if station is not None else ds.pilot_log,
        )


STATION_SOURCE = "measured in the review station"


def _station_pilot_log(run_dir: Path, item_ids: set[str]) -> pd.DataFrame | None:
    """The run's own review-station pilot log (``review/pilot_log.csv``), when it has entries.

    Minutes measured by ``harness review`` on this run's drafts are better evidence than a
    dataset's logged estimate, so the pilot gates use them and their evidence says so.
    """
    from harness.datasets import _Collector, _read_pilot_log

    p = Path(run_dir) / "review" / "pilot_log.csv"
    if not p.is_file():
        return None
    col = _Collector(p.parent, str(p.parent))
    frame = _read_pilot_log(p, item_ids, col)
    if col.problems or frame is None or frame.empty:
        return None
    frame.attrs["source"] = STATION_SOURCE
    return frame


def _calibration_from_scores(scores: pd.DataFrame) -> dict[str, Any] | None:
    """The judge scorer's own ``judge_calibrated`` score, when no calibration file exists."""
    flags = scores.loc[scores["metric"] == "judge_calibrated", "value"].dropna()
    if flags.empty:
        return None
    return {"calibrated": bool((flags >= 1).all()), "source": "judge_calibrated score"}


def read_calibration(run_dir: str | Path) -> dict[str, Any] | None:
    """The judge calibration of a run (``calibration.json``), or None when never calibrated.

    Understands a top-level ``calibrated`` flag and per-criterion flags, either as
    ``by_criterion: {accuracy: {calibrated: true}}`` (harness.calibration writes this) or a
    list of ``{criterion, calibrated}``.
    """
    import json

    p = Path(run_dir) / "calibration.json"
    if not p.is_file():
        return None
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return {"calibrated": False, "error": f"{p} is not readable JSON"}
    return data if isinstance(data, dict) else {"calibrated": False}


def judge_calibrated(calibration: dict[str, Any] | None, metric: str) -> tuple[bool, str]:
    """Whether the judge behind ``judge_<criterion>`` may pass a gate, and why not."""
    if calibration is None:
        return False, (
            "the AI judge has not been checked against human ratings; run: harness calibrate RUN_ID"
        )
    criterion = metric.removeprefix(JUDGE_PREFIX)
    crit = calibration.get("by_criterion", calibration.get("criteria"))
    flag: Any = None
    if isinstance(crit, dict) and isinstance(crit.get(criterion), dict):
        flag = crit[criterion].get("calibrated")
    elif isinstance(crit, list):
        for c in crit:
            if isinstance(c, dict) and c.get("criterion") == criterion:
                flag = c.get("calibrated")
    if flag is None:
        flag = calibration.get("calibrated")
    if flag is True:
        return True, ""
    return False, (
        f"the AI judge's '{criterion}' scores did not agree well enough with human ratings "
        "(uncalibrated), so they cannot pass a gate"
    )


# ---------------------------------------------------------------------------------------------
# Gate evaluation
# ---------------------------------------------------------------------------------------------


def _fmt(v: float) -> str:
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return "—"
    return f"{v:.2f}" if abs(v) < 10 else f"{v:.1f}"


def _resolve_baseline(cands: pd.DataFrame, key: str) -> str | None:
    hit = cands[(cands["name"] == key) | (cands["baseline"] == key)]
    return None if hit.empty else str(hit.iloc[0]["name"])


def _threshold(values: np.ndarray, gate: Gate, higher: bool, gs: GateSet) -> dict[str, Any]:
    mean, lo, hi = bootstrap_ci(values, gs.level, gs.resamples, gs.seed)
    n = int((~np.isnan(values)).sum())
    bar = float(gate.threshold)  # type: ignore[arg-type]
    if n == 0:
        return {"status": NOT_EVALUATED, "value": mean, "ci_low": lo, "ci_high": hi, "n": 0}
    side, edge = ("at least", lo) if higher else ("at most", hi)
    ok = edge >= bar if higher else edge <= bar
    mean_ok = mean >= bar if higher else mean <= bar
    if ok:
        ev = (
            f"average {_fmt(mean)}, interval {_fmt(lo)} to {_fmt(hi)}: all of it {side} {_fmt(bar)}"
        )
    elif mean_ok:
        ev = (
            f"average {_fmt(mean)} meets the bar ({side} {_fmt(bar)}) but the interval reaches "
            f"{_fmt(edge)}: not enough evidence yet"
        )
    else:
        ev = f"average {_fmt(mean)} (interval {_fmt(lo)} to {_fmt(hi)}); the bar is {side} {_fmt(bar)}"
    return {
        "status": PASS if ok else FAIL,
        "value": mean,
        "ci_low": lo,
        "ci_high": hi,
        "n": n,
        "evidence": ev,
        "slack": (lo - bar) if higher else (bar - hi),
    }


def _paired(
    scores: pd.DataFrame, gate: Gate, cand: str, base: str, higher: bool, gs: GateSet
) -> dict[str, Any]:
    pairs = paired_values(scores, gate.metric, cand, base)
    diff, lo, hi = paired_bootstrap(
        pairs["candidate"], pairs["baseline"], gs.level, gs.resamples, gs.seed
    )
    n = len(pairs)
    if n == 0:
        return {
            "status": NOT_EVALUATED,
            "n": 0,
            "evidence": f"no items scored for both it and {base}",
        }
    gain, g_lo = (diff, lo) if higher else (-diff, -hi)
    margin = float(gate.margin or 0.0)
    bar = 0.0 if gate.test == "superiority" else -margin
    ok = g_lo > bar
    word = "better" if higher else "lower (better)"
    if gate.test == "superiority":
        claim = f"must be {word} than {base} on the same {n} items"
    else:
        claim = f"may be at most {_fmt(margin)} worse than {base} on the same {n} items"
    ev = f"difference {_fmt(diff)} (interval {_fmt(lo)} to {_fmt(hi)}); it {claim}" + (
        "" if ok or not (gain > bar) else ": the average clears it, the interval does not"
    )
    return {
        "status": PASS if ok else FAIL,
        "value": diff,
        "ci_low": lo,
        "ci_high": hi,
        "n": n,
        "evidence": ev,
        "slack": g_lo - bar,
    }


def _by_category(
    scores: pd.DataFrame,
    categories: pd.Series,
    fn: Any,
) -> dict[str, Any]:
    s = scores.assign(category=scores["item_id"].map(categories).fillna("(none)"))
    results = {}
    for cat, grp in s.groupby("category", sort=True):
        r = fn(grp)
        if r["status"] != NOT_EVALUATED:
            results[cat] = r
    if not results:
        return {"status": NOT_EVALUATED, "n": 0, "evidence": "no category has scored items"}
    failed = [c for c, r in results.items() if r["status"] == FAIL]
    worst_cat = min(results, key=lambda c: results[c]["slack"])
    worst = results[worst_cat]
    n = sum(r["n"] for r in results.values())
    if failed:
        ev = (
            f"{len(failed)} of {len(results)} categories fall short: {', '.join(failed[:6])}"
            + ("…" if len(failed) > 6 else "")
            + f"; weakest {worst_cat}: {worst['evidence']}"
        )
    else:
        ev = f"all {len(results)} categories clear it; weakest {worst_cat}: {worst['evidence']}"
    return {
        **worst,
        "status": FAIL if failed else PASS,
        "n": n,
        "evidence": ev,
        "category": worst_cat,
    }


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
    }
    if gate.metric.startswith(PILOT_PREFIX):
        return {**row, **_pilot_gate(gate, ev, gs)}
    s = ev.scores[ev.scores["metric"] == gate.metric]
    mine = s[s["candidate"] == candidate]
    if mine.empty or mine["value"].isna().all():
        if gate.metric.startswith(JUDGE_PREFIX) and s["value"].notna().any():
            why = (
                f"the AI judge does not rate {candidate}'s drafts in this run (judge.candidates "
                "in the plan), so its judge scores are unscored"
            )
        elif len(s):
            why = (
                f"no question in this run gives a '{gate.metric}' score for {candidate} "
                "(e.g. none of the selected questions is of that kind); widen the selection"
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
    if gate.test == "threshold":

        def fn(frame: pd.DataFrame) -> dict[str, Any]:
            f = frame[frame["candidate"] == candidate]
            vals = f.groupby("item_id")["value"].mean().to_numpy(dtype=np.float64)
            return _threshold(vals, gate, higher, gs)

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
            return _paired(frame, gate, candidate, str(base), higher, gs)

    result = fn(s) if gate.scope == "overall" else _by_category(s, ev.categories, fn)
    result.pop("category", None)
    result.pop("slack", None)
    return {**row, **result}


def _pilot_gate(gate: Gate, ev: Evidence, gs: GateSet) -> dict[str, Any]:
    from harness.pilot import outcome_value, outcomes

    measure = gate.metric.removeprefix(PILOT_PREFIX)
    if ev.pilot_log is None or ev.pilot_log.empty:
        return {"status": NOT_EVALUATED, "n": 0, "evidence": "the dataset has no pilot_log.csv"}
    r = outcome_value(outcomes(ev.pilot_log, gs.level, gs.resamples, gs.seed), measure)
    if r is None or pd.isna(r["improvement"]):
        return {
            "status": NOT_EVALUATED,
            "n": 0,
            "evidence": f"the pilot log cannot measure '{measure}'",
        }
    vals = {"value": r["improvement"], "ci_low": r["ci_low"], "ci_high": r["ci_high"]}
    bar = float(gate.threshold)  # type: ignore[arg-type]
    ok = r["ci_low"] >= bar
    ev_text = (
        f"pilot improved by {_fmt(r['improvement'])} {r['unit']} (interval {_fmt(r['ci_low'])} to "
        f"{_fmt(r['ci_high'])}; {r['n_baseline']} replies before, {r['n_pilot']} during); "
        f"the bar is at least {_fmt(bar)}"
    )
    if ev.pilot_log.attrs.get("source"):
        ev_text += f"; {ev.pilot_log.attrs['source']}"
    return {
        **vals,
        "status": PASS if ok else FAIL,
        "n": r["n_baseline"] + r["n_pilot"],
        "evidence": ev_text,
    }


# ---------------------------------------------------------------------------------------------
# The decision
# ---------------------------------------------------------------------------------------------


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


_RANK = {READY: 0, CONDITIONS: 1, NOT_READY: 2}


def _candidate_verdict(rows: pd.DataFrame) -> tuple[str, list[str]]:
    req, adv = rows[rows["required"]], rows[~rows["required"]]
    reasons = []
    failed = req[req["status"] == FAIL]
    missing = req[req["status"] == NOT_EVALUATED]
    if len(failed):
        reasons.append(
            f"failed {len(failed)} of {len(req)} required gates ({', '.join(failed['title'])})"
        )
    if len(missing):
        reasons.append(
            f"{len(missing)} required gate(s) could not be checked ({', '.join(missing['title'])})"
        )
    if reasons:
        return NOT_READY, reasons
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
    providers = provider_checks(ev.candidates, governance)
    models = ev.candidates[ev.candidates["kind"] == "model"]["name"].tolist()
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
    rows = [evaluate_gate(g, c, ev, gates) for c in models for g in pg.gates]
    all_gates = pd.DataFrame(rows, columns=GATE_COLUMNS)
    summary = []
    for c in models:
        verdict, why = _candidate_verdict(all_gates[all_gates["candidate"] == c])
        summary.append(
            {
                "candidate": c,
                "verdict": verdict,
                "passed": int(
                    ((all_gates["candidate"] == c) & (all_gates["status"] == PASS)).sum()
                ),
                "gates": int((all_gates["candidate"] == c).sum()),
                "why": "; ".join(why),
            }
        )
    cands = pd.DataFrame(summary, columns=["candidate", "verdict", "passed", "gates", "why"])
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
    lead = {
        READY: "Ready",
        CONDITIONS: "Ready with conditions",
        NOT_READY: "Not ready",
    }[verdict]
    reason = f"{lead}: " + "; ".join(reasons) + "."
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
        run: a loaded run (``harness.report.load_run``) or an :class:`Evidence`.
        phase: ``pre_pilot``, ``post_pilot`` or ``pre_expansion``.
        gates: a GateSet or a gates file (default ``rubrics/gates.yaml``).
        governance: a Governance or a checklist file (default ``rubrics/governance.yaml``).
        candidate: decide on this candidate only (default: every AI candidate, best one wins).
    """
    gs = gates if isinstance(gates, GateSet) else load_gates(gates)
    gov = governance if isinstance(governance, Governance) else load_governance(governance)
    ev = run if isinstance(run, Evidence) else Evidence.from_run(run)
    return evaluate(ev, phase, gs, gov, candidate)
