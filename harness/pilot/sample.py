"""How many reviewed drafts (and staff) a pilot needs before its gates can clear their bars.

Each success measure is a per-draft improvement ``d`` (positive = the pilot did better) whose
gate clears when the lower end of its interval is at least the bar. Two steps:

1. A closed-form first guess: the paired (one-sample) t-test's sample size at the effect the
   district cares about, one-sided at ``(1 - level) / 2`` (the lower end of a two-sided
   ``level`` interval), from ``statsmodels.stats.power`` (imported here, never on the scoring
   path).
2. A simulation of the gate's own rule that confirms or corrects it: ``sims`` simulated pilots
   of ``n`` drafts spread evenly over ``staff`` reviewers (each reviewer with an offset of their
   own), each judged by a paired bootstrap resampled within reviewers (reviewers grouped), the
   measures' one-sided bootstrap p-values (:func:`harness.stats.bootstrap_p`) corrected together
   with Holm's method (:func:`harness.stats.holm_reject`, the same decisions as statsmodels'
   ``multipletests``). The readiness gates judge a pilot's required measures with the same two
   functions. The stated ``n`` is the smallest at which the gate clears in at least ``power``
   of the simulated pilots.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from harness.gates.pilot_log import grouped_weights
from harness.stats import bootstrap_p, holm_reject

POWER = 0.8
SIMS = 1000
SIM_RESAMPLES = 1000  # bootstrap resamples per simulated pilot (the gates use 2000)
MAX_DRAFTS = 5000  # a pilot needing more than this is reported as out of reach
MAX_STAFF = 40


@dataclass(frozen=True)
class MeasureSpec:
    """One success measure to size: its per-draft improvement and the bar its interval must clear.

    Attributes:
        name: the measure (``minutes_saved_per_reply``, ...).
        effect: the per-draft improvement the district cares about, in ``unit``.
        bar: the gate's bar in the same unit (the interval's lower end must reach it).
        sd: the spread of the per-draft improvement within one reviewer, in ``unit``.
        sd_between: the spread of reviewers' own average improvements, in ``unit``.
        share: True for a yes/no measure (each draft 0 or 1), simulated as such.
    """

    name: str
    effect: float
    bar: float
    sd: float
    sd_between: float = 0.0
    share: bool = False


def closed_form_n(
    effect: float, bar: float, sd: float, level: float = 0.95, power: float = POWER
) -> int:
    """Drafts for a paired t-test's interval to clear ``bar`` (closed form, statsmodels).

    Returns ``MAX_DRAFTS + 1`` when the effect does not exceed the bar (never reachable).
    """
    from statsmodels.stats.power import TTestPower  # lazily: never on the scoring path

    if not (sd > 0) or not math.isfinite(effect) or effect <= bar:
        return MAX_DRAFTS + 1 if effect <= bar or not math.isfinite(effect) else 2
    d = (effect - bar) / sd
    n = TTestPower().solve_power(
        effect_size=d, alpha=(1 - level) / 2, power=power, alternative="larger"
    )
    return int(min(MAX_DRAFTS + 1, max(2, math.ceil(float(n)))))


def _strata(n: int, staff: int) -> np.ndarray:
    """Reviewer of each of ``n`` drafts, spread as evenly as possible over ``staff`` reviewers."""
    return np.arange(n) % max(1, min(staff, n))


def _draws(spec: MeasureSpec, rev: np.ndarray, staff: int, sims: int, rng: np.random.Generator):
    offsets = rng.normal(0.0, spec.sd_between, size=(sims, staff)) if spec.sd_between > 0 else 0.0
    centre = spec.effect + (offsets[:, rev] if isinstance(offsets, np.ndarray) else 0.0)
    if spec.share:
        p = np.clip(centre, 0.0, 1.0) * np.ones((sims, rev.size))
        return (rng.random((sims, rev.size)) < p).astype(float)
    return centre + rng.normal(0.0, spec.sd, size=(sims, rev.size))


def simulate_power(
    specs: list[MeasureSpec],
    n: int,
    staff: int,
    level: float = 0.95,
    sims: int = SIMS,
    resamples: int = SIM_RESAMPLES,
    seed: int = 0,
) -> np.ndarray:
    """Share of ``sims`` simulated pilots of ``n`` drafts in which each measure's gate clears.

    The rule simulated is the gate's: per measure a paired bootstrap of the per-draft improvement
    resampled within reviewers, a one-sided p-value (the share of resampled means at or below
    the bar), Holm's correction across ``specs`` at ``(1 - level) / 2``.
    """
    rng = np.random.default_rng(seed)
    rev = _strata(n, staff)
    w = grouped_weights(rev, resamples, rng)
    wsum = w.sum(axis=1)
    pvals = np.empty((sims, len(specs)))
    for j, spec in enumerate(specs):
        data = _draws(spec, rev, int(rev.max()) + 1, sims, rng)
        means = (data @ w.T) / wsum  # sims x resamples
        pvals[:, j] = bootstrap_p(means, spec.bar)
    return holm_reject(pvals, (1 - level) / 2).mean(axis=0)


def needed_n(
    specs: list[MeasureSpec],
    target: int,
    staff: int,
    level: float = 0.95,
    power: float = POWER,
    sims: int = SIMS,
    seed: int = 0,
) -> int | None:
    """Smallest number of drafts at which measure ``target``'s gate clears in ``power`` of the
    simulated pilots (every measure simulated at that size); None when out of reach."""
    spec = specs[target]
    guess = closed_form_n(spec.effect, spec.bar, spec.sd, level, power)
    if guess > MAX_DRAFTS:
        return None

    def ok(n: int) -> bool:
        return bool(simulate_power(specs, n, staff, level, sims, seed=seed)[target] >= power)

    hi = max(2, guess)
    while not ok(hi):
        hi *= 2
        if hi > MAX_DRAFTS:
            return None
    lo = max(1, hi // 2)
    while lo > 1 and ok(lo):
        hi, lo = lo, max(1, lo // 2)
    while hi - lo > 1:  # ok(hi) holds, ok(lo) does not (or lo is 1)
        mid = (lo + hi) // 2
        lo, hi = (lo, mid) if ok(mid) else (mid, hi)
    return hi
