"""A plan loaded to be run: its names resolved against the registries of the stages that own
them (the baselines in :mod:`harness.candidates`, the scorers in :mod:`harness.scorers`).

The plan stage comes before both in the flow and imports neither; this stage, after both,
hands their registries down (:class:`harness.plan.names.Names`). ``harness.load_plan`` and
``harness run`` load through :func:`load_plan`; :func:`harness.run.run_plan` resolves the names
of a plan object it is given (:func:`resolve_names`) before the first call.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator
from pathlib import Path

from harness.errors import PlanError
from harness.plan.names import Names, name_problems
from harness.plan.spec import Plan
from harness.plan.spec import load_plan as load_plan_file


class _Baselines(Collection[str]):
    """The baselines' names, read from their registry when first asked (it imports pandas):
    a plan is checked for shape, and ``harness run`` starts its call workers, before that."""

    @staticmethod
    def _names() -> Collection[str]:
        from harness.candidates.baselines import BASELINES

        return BASELINES

    def __contains__(self, name: object) -> bool:
        return name in self._names()

    def __iter__(self) -> Iterator[str]:
        return iter(self._names())

    def __len__(self) -> int:
        return len(self._names())


def _is_scorer(name: str) -> bool:
    from harness.scorers import is_scorer

    return is_scorer(name)


def _scorer_names() -> list[str]:
    from harness.scorers import scorer_names

    return scorer_names()


def plan_names() -> Names:
    """The registries a plan's names resolve against (each imported when first asked)."""
    return Names(baselines=_Baselines(), is_scorer=_is_scorer, scorers=_scorer_names)


def load_plan(
    path: str | Path,
    dataset: str | Path | None = None,
    *,
    shaped: Callable[[Plan], object] | None = None,
) -> Plan:
    """Load and validate an eval plan, every name it uses resolved.

    Args:
        path: the plan YAML file.
        dataset: run the plan on this dataset folder instead of the one it names.
        shaped: called with the plan once its shape is valid, before its files and names are
            checked (:func:`harness.plan.spec.load_plan`).

    Raises:
        PlanError: every problem with file, line and field.
    """
    return load_plan_file(path, dataset, names=plan_names(), shaped=shaped)


def resolve_names(plan: Plan) -> None:
    """Refuse a plan object naming a baseline or scorer no stage registered.

    Raises:
        PlanError: each unknown name with its field and the valid names.
    """
    if plan.names_resolved:  # at its load (harness.run.load_plan): once is enough
        return
    display = str(plan.path) if plan.path else f"plan {plan.name}"
    problems = name_problems(plan, display, None, plan_names())
    if problems:
        raise PlanError(f"plan {display}", problems)
    plan.mark_resolved()
