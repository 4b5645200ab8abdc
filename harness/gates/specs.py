"""The gates and governance files: gate, gate-set and governance models and their loaders.

``rubrics/gates.yaml`` holds one gate set per phase; ``rubrics/governance.yaml`` the
governance checklist. Both go through the safe YAML loader and are validated here; the
decision itself is :mod:`harness.gates.decision`.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Collection
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from harness.data.validation import validation_problems
from harness.errors import PlanError, Problem
from harness.phases import PhaseName
from harness.plan.spec import load_yaml
from harness.stats import DEFAULT_RESAMPLES, DEFAULT_SEED, MIN_N

RUBRICS = Path(__file__).resolve().parents[2] / "rubrics"
GATES_FILE = RUBRICS / "gates.yaml"
GOVERNANCE_FILE = RUBRICS / "governance.yaml"
PASS, FAIL, NOT_EVALUATED = "pass", "fail", "not evaluated"
PILOT_PREFIX = "pilot:"
JUDGE_PREFIX = "judge_"


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
    # slices (harness/gates/slices.py): a floor in every slice of an item field, or a maximum gap
    floor_by: str | None = Field(None, pattern=r"^[A-Za-z_][\w]*$")
    max_gap_by: str | None = Field(None, pattern=r"^[A-Za-z_][\w]*$")
    max_gap: float | None = Field(None, gt=0)
    min_n: int = Field(MIN_N, ge=2)  # fewer scored questions: not enough evidence
    slices: list[str] | None = Field(
        None, min_length=1
    )  # judge only these slices (named in advance)
    # the workflows (item tasks) the gate judges: only their items' scores; None: every workflow
    tasks: list[Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")]] | None = Field(
        None, min_length=1
    )

    def applies_to(self, tasks: Collection[str] | None) -> bool:
        """Whether the gate judges a run holding items of these tasks (None: unknown, yes)."""
        return self.tasks is None or tasks is None or bool(set(self.tasks) & set(tasks))

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

    def for_tasks(self, tasks: Collection[str] | None) -> list[Gate]:
        """The gates that judge a run holding items of these tasks (workflows)."""
        return [g for g in self.gates if g.applies_to(tasks)]


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
