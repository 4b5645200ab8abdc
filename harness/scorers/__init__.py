"""Scorers: the registry is the whole public API.

A scorer is a factory (options -> closure) registered by :func:`scorer`. The closure takes the
generations of a run joined with their items and returns one column per metric, aligned with
the input rows; a missing output is NaN (unscored), never 0. Every metric is greater-is-better
unless its name ends in ``_minutes`` or ``_count``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from harness.data.dataset import Dataset
from harness.metrics import register_metric

ScoreFn = Callable[[pd.DataFrame, Dataset], pd.DataFrame]


@dataclass(frozen=True)
class Metric:
    """One number a scorer writes: its meaning, range and direction."""

    name: str
    description: str
    higher_is_better: bool = True
    unit: str = "0-1"


@dataclass(frozen=True)
class ScorerInfo:
    name: str
    family: str
    metrics: tuple[Metric, ...]
    factory: Callable[..., ScoreFn]
    description: str
    context: bool = False  # the factory takes ``context=`` (a ScoreContext)
    # makes ahead what scoring needs from the dataset alone: (dataset, **options) -> None
    prepare: Callable[..., None] | None = None


@dataclass
class ScoreContext:
    """What a scorer registered with ``context=True`` gets besides its options: the run's plan
    and folder, where the response cache lives, and a place to report what it did (the model
    calls' endpoints, say), which scoring writes into the run's manifest."""

    plan: Any = None  # harness.plan.spec.Plan
    store: Any = None  # harness.store.runs.RunStore
    cache_path: Path | None = None
    records: dict[str, Any] = field(default_factory=dict)

    def record(self, key: str, value: Any) -> None:
        self.records[key] = value


def task_rows(
    frame: pd.DataFrame, metrics: list[Metric], task: str
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A workflow scorer's start: the output (every metric NaN, one row per generation) and the
    generations of its own task (none when the frame has no ``task`` column)."""
    import numpy as np

    out = pd.DataFrame(
        np.nan, index=frame.index, columns=[m.name for m in metrics], dtype=np.float64
    )
    mine = frame[frame["task"].eq(task)] if "task" in frame else frame.iloc[:0]
    return out, mine


_REGISTRY: dict[str, ScorerInfo] = {}


def scorer(
    name: str,
    *,
    family: str,
    metrics: list[Metric],
    context: bool = False,
    prepare: Callable[..., None] | None = None,
) -> Callable[[Callable[..., ScoreFn]], Callable[..., ScoreFn]]:
    """Register a scorer factory under ``name`` (``context``: it takes a ScoreContext;
    ``prepare(dataset, **options)``: what it needs from the dataset alone, made while a run's
    calls are in flight so that scoring after the last one does not wait for it)."""

    def register(factory: Callable[..., ScoreFn]) -> Callable[..., ScoreFn]:
        if name in _REGISTRY:
            raise ValueError(f"scorer '{name}' is registered twice")
        doc = (factory.__doc__ or "").strip().splitlines()
        _REGISTRY[name] = ScorerInfo(
            name, family, tuple(metrics), factory, doc[0] if doc else "", context, prepare
        )
        for m in metrics:  # harness.metrics (below every stage) reads them from there
            register_metric(m.name, m.description, m.higher_is_better)
        return factory

    return register


FAMILIES = (
    "edit",
    "accuracy",
    "consistency",
    "governance",
    "judge",
    "summary",
    "newsletter",
    "citations",
)


def _load_builtin(until: str | None = None) -> None:
    """Import the scorer family modules (each registers its scorers), in FAMILIES order.

    With ``until``, stop as soon as that scorer is registered: a plan that scores with
    ``edit`` alone never pays for importing scikit-learn.
    """
    import importlib
    import importlib.util

    for fam in FAMILIES:
        if until is not None and until in _REGISTRY:
            return
        name = f"harness.scorers.{fam}"
        if importlib.util.find_spec(name) is not None:
            importlib.import_module(name)


def scorer_names() -> list[str]:
    """Names of every registered scorer."""
    _load_builtin()
    return sorted(_REGISTRY)


def get_scorer(name: str, context: ScoreContext | None = None, **options: Any) -> ScoreFn:
    """A scorer by name; an unknown name is answered with the valid ones."""
    _load_builtin(until=name)
    try:
        info = _REGISTRY[name]
    except KeyError:
        raise ValueError(
            f"unknown scorer '{name}'; valid scorers: {', '.join(sorted(_REGISTRY))}"
        ) from None
    if info.context:
        return info.factory(context=context or ScoreContext(), **options)
    return info.factory(**options)


_DECORATOR = re.compile(r"""^@scorer\(\s*["']([^"']+)["']""", re.M)


def declared_scorer_names() -> set[str]:
    """Names the built-in scorer families register, read from their source without importing
    them (importing every family costs seconds that the runner spends during the first calls)."""
    names: set[str] = set()
    folder = Path(__file__).resolve().parent
    for fam in FAMILIES:
        path = folder / f"{fam}.py"
        if path.is_file():
            names.update(_DECORATOR.findall(path.read_text(encoding="utf-8")))
    return names


def is_scorer(name: str) -> bool:
    """Whether ``name`` is a scorer: a built-in one (read, not imported) or a registered one."""
    if name in _REGISTRY or name in declared_scorer_names():
        return True
    _load_builtin(until=name)
    return name in _REGISTRY


def scorer_info(name: str) -> ScorerInfo:
    _load_builtin(until=name)
    return _REGISTRY[name]


def metrics() -> dict[str, Metric]:
    """Every metric any registered scorer writes, by name."""
    _load_builtin()
    return {m.name: m for info in _REGISTRY.values() for m in info.metrics}


__all__ = [
    "Metric",
    "ScoreContext",
    "ScoreFn",
    "ScorerInfo",
    "declared_scorer_names",
    "get_scorer",
    "is_scorer",
    "metrics",
    "scorer",
    "scorer_info",
    "scorer_names",
    "task_rows",
]
