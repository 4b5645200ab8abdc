"""The names a plan uses that other stages define: baselines and scorers.

The plan stage imports neither :mod:`harness.candidates` nor :mod:`harness.scorers` (they come
after it in the flow): whoever loads a plan to run it hands the registries down as a
:class:`Names` (``harness.run.plan_names()``, which ``harness.load_plan``, ``harness run`` and
:func:`harness.run.run_plan` use), and :func:`name_problems` resolves every name against them
before the first call. Without ``Names``, :func:`harness.plan.spec.load_plan` checks the plan's
shape and files only.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Any

import yaml

from harness.data.validation import line_of
from harness.errors import Problem


@dataclass(frozen=True)
class Names:
    """The registries a plan's names resolve against."""

    baselines: Collection[str]  # harness.candidates.baselines.BASELINES
    is_scorer: Callable[[str], bool]  # harness.scorers.is_scorer
    scorers: Callable[[], list[str]]  # every scorer name, for the message


def name_problems(plan: Any, display: str, node: yaml.Node | None, names: Names) -> list[Problem]:
    """Every baseline or scorer the plan names that no stage registered, with its line."""
    problems = []
    for i, c in enumerate(plan.candidates):
        if c.baseline is not None and c.baseline not in names.baselines:
            valid = ", ".join(sorted(names.baselines))
            problems.append(
                Problem(
                    display,
                    line_of(node, ("candidates", i, "baseline"))
                    or line_of(node, ("candidates", i)),
                    f"candidates.{i}.baseline",
                    f"unknown baseline '{c.baseline}'",
                    f"choose one of: {valid}",
                )
            )
    for i, sc in enumerate(plan.scorers):
        if not names.is_scorer(sc.name):
            problems.append(
                Problem(
                    display,
                    line_of(node, ("scorers", i)),
                    f"scorers.{i}",
                    f"names '{sc.name}', which is not a scorer",
                    f"valid scorers: {', '.join(names.scorers())}",
                )
            )
    return problems
