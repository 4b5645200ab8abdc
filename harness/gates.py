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

import datetime as dt
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from harness.errors import PlanError, Problem
from harness.metrics import missing_data_hint
from harness.phases import PhaseName
from harness.plan import load_yaml
from harness.stats import (
    DEFAULT_RESAMPLES,
    DEFAULT_SEED,
    bootstrap_ci,
    higher_is_better,
    paired_bootstrap,
    paired_values,
)
from harness.validation import validation_problems

RUBRICS = Path(__file__).resolve().parents[1] / "rubrics"
GATES_FILE = RUBRICS / "gates.yaml"
GOVERNANCE_FILE = RUBRICS / "governance.yaml"
AI_KINDS = ("model", "drafts")  # candidates a decision is about (drafts: an external tool's)
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
    "reachable",  # False: the approved answer itself does not clear the bar
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
    test: Literal["threshold", "superiority", "non_inferiority", "max_gap"]
    threshold: float | None = None
    baseline: str | None = None
    margin: float | None = Field(None, ge=0)
    required: bool = True
    # slices (harness/slices.py): a floor in every slice of an item field, or a maximum gap
    floor_by: str | None = Field(None, pattern=r"^[A-Za-z_][\w]*$")
    max_gap_by: str | None = Field(None, pattern=r"^[A-Za-z_][\w]*$")
    max_gap: float | None = Field(None, gt=0)
    min_n: int = Field(10, ge=2)
    slices: list[str] | None = Field(
        None, min_length=1
    )  # judge only these slices (named in advance)

    @model_validator(mode="after")
    def _slice_fields(self) -> Gate:
        if self.test == "max_gap" and (self.max_gap_by is None or self.max_gap is None):
            raise ValueError(
                "a max_gap gate needs 'max_gap_by' (an item field, e.g. language) and "
                "'max_gap' (the largest allowed gap between slice averages)"
            )
        if self.test != "max_gap" and (self.max_gap_by or self.max_gap is not None):
            raise ValueError("'max_gap_by' and 'max_gap' belong to a gate with test: max_gap")
        if self.test == "max_gap" and (self.threshold is not None or self.baseline):
            raise ValueError("a max_gap gate takes no 'threshold' or 'baseline'")
        if self.floor_by and (self.test != "threshold" or self.scope != "overall"):
            raise ValueError(
                "'floor_by' is a threshold every slice must clear: use it with test: threshold "
                "and no scope (floor_by replaces scope: every_category)"
            )
        if self.slices and not (self.floor_by or self.max_gap_by):
            raise ValueError("'slices' names the slices a floor_by or max_gap_by gate judges")
        if (self.floor_by or self.max_gap_by) and self.metric.startswith(PILOT_PREFIX):
            raise ValueError("a pilot: gate cannot be sliced by an item field")
        return self

    @model_validator(mode="after")
    def _test_fields(self) -> Gate:
        if self.test == "max_gap":
            return self
        if self.test == "threshold" and self.threshold is None:
            raise ValueError("a threshold gate needs 'threshold': the bar the interval must clear")
        if self.test != "threshold" and not self.baseline:
            from harness.candidates.baselines import BASELINES

            raise ValueError(
                f"a {self.test} gate needs 'baseline': a baseline kind "
                f"({', '.join(sorted(BASELINES))}) or a candidate name of the run"
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
    phases: dict[PhaseName, PhaseGates]
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
    "ai_disclosure": "How are families told that AI helped draft a reply?",
    "report_sign_off": "Who signs this report (name, role, date)?",
    "data_flow": "Which data goes to which provider, and how long is it kept?",
    "incident_path": "How is a wrong reply reported, corrected and logged?",
    "staff_training": "How are staff trained before they review AI drafts?",
}


class SignOff(_Strict):
    """Who signs the readiness report."""

    name: str = Field(min_length=1)
    role: str = Field(min_length=1)
    date: dt.date


class DataFlow(_Strict):
    """One line of the data-flow inventory: what data goes where, and for how long."""

    data: str = Field(min_length=1)
    provider: str = Field(min_length=1)
    retention: str = Field(min_length=1)
    purpose: str = ""


class IncidentPath(_Strict):
    """How a wrong reply that reached a family is reported, corrected and logged."""

    report: str | list[str]
    correct: str | list[str]
    log: str | list[str]


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
    ai_disclosure: str | list[str] | None = None
    report_sign_off: SignOff | None = None
    data_flow: list[DataFlow] | None = None
    incident_path: IncidentPath | None = None
    staff_training: str | list[str] | None = None
    path: Path | None = Field(None, exclude=True)


def _problems(display: str, exc: ValidationError, node: Any, path: str | Path) -> list[Problem]:
    """Validation problems with union branches folded into one plain message per field."""
    out: list[Problem] = []
    seen: set[tuple[int | None, str | None]] = set()
    hint = f"the comments at the top of rubrics/{Path(path).name}"
    for p in validation_problems(display, exc, node):
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
    if isinstance(value, BaseModel):  # a structured entry is empty when a required part is
        required = [k for k, f in type(value).model_fields.items() if f.is_required()]
        return any(_blank(getattr(value, k)) for k in required)
    if isinstance(value, list):
        return not [v for v in value if not _blank(v)]
    return False


def _answer(value: Any) -> str:
    """A checklist answer as one line of text."""
    if value is None:
        return ""
    if isinstance(value, SignOff):
        return f"{value.name}, {value.role}, {value.date.isoformat()}"
    if isinstance(value, DataFlow):
        return f"{value.data} -> {value.provider} (kept: {value.retention})"
    if isinstance(value, IncidentPath):
        return "; ".join(f"{k}: {_answer(v)}" for k, v in value)
    if isinstance(value, list):
        return "; ".join(_answer(v) for v in value)
    return str(value)


def governance_checklist(gov: Governance) -> pd.DataFrame:
    """One row per checklist entry: the question, the answer, and complete / missing / empty."""
    given = gov.model_fields_set
    rows = []
    for key, question in GOVERNANCE_ENTRIES.items():
        value = getattr(gov, key)
        status = "missing" if key not in given else "empty" if _blank(value) else "complete"
        rows.append(
            {"entry": key, "question": question, "answer": _answer(value), "status": status}
        )
    return pd.DataFrame(rows, columns=["entry", "question", "answer", "status"])


SITE_COLUMNS = ["site", "model", "url", "origin", "endpoint"]


def provider_checks(sites: pd.DataFrame, gov: Governance) -> pd.DataFrame:
    """Each call site of a run (AI candidates and the judge): where it sent district data, and
    whether the governance file approves that destination (one rule: harness.protect)."""
    from harness.protect import Destination, approval_list, approved_by

    # no governance file at all: only this machine, as the runner applied it
    given = gov.approved_providers is not None or gov.path is not None
    approved = (gov.approved_providers or []) if given else approval_list(None)[0]
    rows = []
    for _, c in sites.iterrows():
        url = c["url"] if isinstance(c["url"], str) else None
        dest = Destination(str(c["model"]), url, str(c["origin"]))
        rows.append(
            {
                "candidate": c["site"],
                "model": c["model"],
                "endpoint": c["endpoint"],
                "status": "approved" if approved_by(dest, approved) else "not approved",
            }
        )
    return pd.DataFrame(rows, columns=["candidate", "model", "endpoint", "status"])


def call_sites(manifest: dict[str, Any]) -> pd.DataFrame:
    """Every call site a run recorded (generation and scoring), else its plan's, resolved now."""
    recorded = list(manifest.get("destinations") or [])
    for calls in (manifest.get("scoring_calls") or {}).values():
        recorded.extend(calls.get("destinations") or [])
    if not recorded:
        from harness.engine import Request, plan_sites
        from harness.plan import Plan
        from harness.protect import destination

        try:
            sites = plan_sites(Plan.model_validate(manifest.get("plan") or {}))
        except Exception:  # an old or partial manifest: its model candidates, as recorded
            sites = {
                c["name"]: Request(str(c["model"]))
                for c in manifest.get("candidates", [])
                if c.get("kind") == "model" and c.get("model")
            }
        for name, req in sites.items():
            d = destination(req.model, req.api_base)
            recorded.append(
                {
                    "site": name,
                    "model": req.model,
                    "url": d.url,
                    "origin": d.origin,
                    "endpoint": d.endpoint,
                }
            )
    rows = {r["site"]: {k: r.get(k) for k in SITE_COLUMNS} for r in recorded}
    return pd.DataFrame(list(rows.values()), columns=SITE_COLUMNS)


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
    sites: pd.DataFrame | None = None  # every call site's destination (call_sites)
    items: pd.DataFrame | None = None  # item fields, for floor_by / max_gap_by gates

    def __post_init__(self) -> None:
        if self.sites is None:  # no recorded destinations: the model candidates', resolved now
            from harness.protect import destination

            rows = []
            for _, c in self.candidates[self.candidates["kind"] == "model"].iterrows():
                base = c.get("api_base") if isinstance(c.get("api_base"), str) else None
                d = destination(str(c["model"]), base)
                rows.append([c["name"], c["model"], d.url, d.origin, d.endpoint])
            self.sites = pd.DataFrame(rows, columns=SITE_COLUMNS)

    @classmethod
    def from_run(cls, run: Any) -> Evidence:
        """From a loaded run (``harness.report.RunData``) or anything with the same attributes."""
        m = run.manifest
        plan_cands = {c["name"]: c for c in m.get("plan", {}).get("candidates", [])}
        cands = pd.DataFrame(
            [
                {
                    "name": c["name"],
                    # an external system's drafts are an AI candidate the run did not call
                    "kind": "drafts" if c.get("baseline") == "drafts" else c["kind"],
                    "baseline": c.get("baseline"),
                    "model": c.get("model"),
                    "api_base": plan_cands.get(c["name"], {}).get("api_base"),
                }
                for c in m["candidates"]
            ],
            columns=["name", "kind", "baseline", "model", "api_base"],
        )
        ds = run.dataset
        from harness.store import station_pilot_log

        station = station_pilot_log(run.store, set(ds.items.index))
        return cls(
            scores=run.scores,
            categories=ds.items["category"],
            candidates=cands,
            calibration=run.calibration or _calibration_from_scores(run.scores),
            pilot_log=station if station is not None else ds.pilot_log,
            sites=call_sites(m),
            items=ds.items,
        )


def _calibration_from_scores(scores: pd.DataFrame) -> dict[str, Any] | None:
    """The judge scorer's own ``judge_calibrated`` score, when no calibration file exists."""
    flags = scores.loc[scores["metric"] == "judge_calibrated", "value"].dropna()
    if flags.empty:
        return None
    return {"calibrated": bool((flags >= 1).all()), "source": "judge_calibrated score"}


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


def _labels(ev: Evidence, by: str, only: list[str] | None = None) -> pd.Series | str:
    """Item id -> slice label (None outside ``only``), or why the items cannot be sliced."""
    from harness.slices import slice_labels

    if ev.items is None:
        return "the evidence has no item fields to slice by"
    try:
        labels = slice_labels(ev.items, by)
    except PlanError as exc:
        p = exc.problems[0]
        return f"'{by}' {p.message}; {p.hint}"
    return labels if not only else labels.where(labels.isin(only))


def _small(counts: dict[str, int], min_n: int) -> str:
    return ", ".join(f"{k} (n={v})" for k, v in counts.items()) + (
        f": not enough data (fewer than {min_n} questions each)"
    )


def _by_slice(
    scores: pd.DataFrame, ev: Evidence, by: str, fn: Any, min_n: int, only: list[str] | None
) -> dict[str, Any]:
    """A floor every slice of ``by`` must clear; slices below ``min_n`` are not enough data."""
    labels = _labels(ev, by, only)
    if isinstance(labels, str):
        return {"status": NOT_EVALUATED, "n": 0, "evidence": labels}
    s = scores.assign(_slice=scores["item_id"].map(labels))
    if only:
        s = s[s["_slice"].notna()]
    s = s.assign(_slice=s["_slice"].fillna("(none)"))
    results, small = {}, {}
    for slc, grp in s.groupby("_slice", sort=True):
        r = fn(grp)
        if r["status"] == NOT_EVALUATED:
            continue
        if r["n"] < min_n:
            small[str(slc)] = int(r["n"])
        else:
            results[str(slc)] = r
    if not results:
        why = f"no {by} has {min_n} or more scored questions"
        return {
            "status": NOT_EVALUATED,
            "n": 0,
            "evidence": why + ("; " + _small(small, min_n) if small else ""),
        }
    failed = [c for c, r in results.items() if r["status"] == FAIL]
    worst_cat = min(results, key=lambda c: results[c]["slack"])
    worst = results[worst_cat]
    n = sum(r["n"] for r in results.values())
    if failed:
        ev_text = f"{len(failed)} of {len(results)} {by} slices fall short: {', '.join(failed)}"
        status = FAIL
    elif small:
        ev_text = f"the {len(results)} {by} slices with enough data clear it"
        status = NOT_EVALUATED
    else:
        ev_text = f"all {len(results)} {by} slices clear it"
        status = PASS
    ev_text += f"; weakest {worst_cat}: {worst['evidence']}"
    if small:
        ev_text += f"; {_small(small, min_n)}, so the gate cannot say they clear it"
    return {**worst, "status": status, "n": n, "evidence": ev_text, "category": worst_cat}


def _max_gap(
    scores: pd.DataFrame, ev: Evidence, gate: Gate, candidate: str, gs: GateSet
) -> dict[str, Any]:
    """The gap between the best and worst slice's average: its whole interval <= max_gap."""
    from harness.slices import gap_interval

    by = str(gate.max_gap_by)
    labels = _labels(ev, by, gate.slices)
    if isinstance(labels, str):
        return {"status": NOT_EVALUATED, "n": 0, "evidence": labels}
    mine = scores[scores["candidate"] == candidate]
    per_item = mine.groupby("item_id")["value"].mean().dropna()
    slc = per_item.index.to_series().map(labels)
    if gate.slices:
        per_item, slc = per_item[slc.notna()], slc[slc.notna()]
    slc = slc.fillna("(none)")
    groups = {str(k): g.to_numpy(dtype=np.float64) for k, g in per_item.groupby(slc, sort=True)}
    enough = {k: v for k, v in groups.items() if v.size >= gate.min_n}
    small = {k: int(v.size) for k, v in groups.items() if v.size < gate.min_n}
    if len(enough) < 2:
        why = f"fewer than two {by} slices have {gate.min_n} or more scored questions"
        return {
            "status": NOT_EVALUATED,
            "n": int(sum(v.size for v in enough.values())),
            "evidence": why + ("; " + _small(small, gate.min_n) if small else ""),
        }
    gap, lo, hi = gap_interval(enough, gs.level, gs.resamples, gs.seed)
    means = {k: float(v.mean()) for k, v in enough.items()}
    hi_k, lo_k = max(means, key=means.__getitem__), min(means, key=means.__getitem__)
    bar = float(gate.max_gap)  # type: ignore[arg-type]
    ok = hi <= bar
    ev_text = (
        f"gap {_fmt(gap)} between {hi_k} ({_fmt(means[hi_k])}) and {lo_k} ({_fmt(means[lo_k])}), "
        f"interval {_fmt(lo)} to {_fmt(hi)}; the gap may be at most {_fmt(bar)}"
        + ("" if ok or gap > bar else ": the average clears it, the interval does not")
    )
    status = PASS if ok else FAIL
    if small:
        ev_text += f"; {_small(small, gate.min_n)}, left out of the gap"
        if ok:
            status = NOT_EVALUATED
    return {
        "status": status,
        "value": gap,
        "ci_low": lo,
        "ci_high": hi,
        "bar": bar,
        "n": int(sum(v.size for v in enough.values())),
        "evidence": ev_text,
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
        "reachable": True,
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
            **_max_gap(s, ev, gate, candidate, gs),
        }
    if gate.floor_by:
        row["scope"] = f"every {gate.floor_by}"
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

    if gate.floor_by:
        result = _by_slice(s, ev, gate.floor_by, fn, gate.min_n, gate.slices)
    elif gate.scope == "overall":
        result = fn(s)
    else:
        result = _by_category(s, ev.categories, fn)
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
    from harness.scorers.edit import fit_effort_rates

    if pilot_log is None or pilot_log.empty:
        return False
    try:
        fit_effort_rates(pilot_log)
    except ValueError:
        return False
    return True


def _estimated_minutes_advisory(rows: list[dict[str, Any]], ev: Evidence) -> None:
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


def _mark_unreachable(
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
        + (
            ""
            if ok or not (r["improvement"] >= bar)
            else ": the average clears it, the interval does not"
        )
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
    governance_file: str | None = None  # the checklist's file (None: the plan named none)


_RANK = {READY: 0, CONDITIONS: 1, NOT_READY: 2}


def _candidate_verdict(rows: pd.DataFrame) -> tuple[str, list[str]]:
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
            f"{len(missing)} required gate(s) could not be checked ({', '.join(missing['title'])})"
        )
    if len(blocked):
        reasons.append(
            f"{len(blocked)} required gate(s) are not reachable with this data, because the "
            f"district's own approved answers do not clear them ({', '.join(blocked['title'])})"
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
    rows = [evaluate_gate(g, c, ev, gates) for c in models for g in pg.gates]
    _mark_unreachable(rows, pg.gates, ev, gates)
    _estimated_minutes_advisory(rows, ev)
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
        governance_file=str(governance.path) if governance.path else None,
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
