"""What a run is made of: its units (item x candidate x sample), options and counts."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from harness.plan.spec import REFERENCE, CandidateSpec
from harness.store.runs import unit_key


@dataclass
class Unit:
    item: dict[str, Any]
    spec: CandidateSpec
    sample: int

    @property
    def key(self) -> str:
        return unit_key(self.item["id"], self.spec.name, self.sample)


@dataclass
class Counts:
    ok: int = 0
    failed: int = 0
    cached: int = 0
    skipped_budget: int = 0
    calls: int = 0
    tokens_in: int = 0
    tokens_out: int = 0
    cost_usd: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class RunOptions:
    """Overrides a caller (CLI or notebook) may set on top of the plan."""

    concurrency: int | None = None
    cache: str = "use"  # use | off | refresh
    budget_usd: float | None = None
    retry_errors: bool = False
    progress: bool = True
    limit: int | None = None
    shard: tuple[int, int] | None = None
    workers: int | str | None = None  # call worker processes: a number, "auto", None = the plan's
    extra: dict[str, Any] = field(default_factory=dict)


# The approved answer itself, scored like every draft: the ceiling each metric is read against.
REFERENCE_DESCRIPTION = (
    "The answer the district actually approved, scored like every draft: the best any draft "
    "can do on each measure. It is never a contender for the decision."
)


def reference_spec() -> CandidateSpec:
    """The built-in reference row's candidate (no baseline, no model: the item's reference)."""
    return CandidateSpec.model_construct(
        name=REFERENCE, description=REFERENCE_DESCRIPTION, baseline=None, model=None, samples=1
    )


def run_candidates(plan: Any) -> list[CandidateSpec]:
    """The plan's candidates, then the reference row (unless the plan turns it off)."""
    return [*plan.candidates, *([reference_spec()] if plan.reference_row else [])]


def candidate_kind(spec: CandidateSpec) -> str:
    """``model``, ``drafts`` (an external tool's), ``baseline`` or ``reference`` (the approved
    answer)."""
    if spec.is_model:
        return "model"
    if spec.baseline == "drafts":
        return "drafts"  # an external tool's drafts: judged like a model's
    return "reference" if spec.baseline is None and spec.name == REFERENCE else "baseline"
