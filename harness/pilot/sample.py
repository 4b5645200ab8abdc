"""How many reviewed drafts (and staff) a pilot needs before its gates can clear their bars.

Each success measure is a per-draft improvement ``d`` (positive = the pilot did better) whose
gate clears when the lower end of its interval is at least the bar. Two steps:

1. A closed-form first guess: the paired (one-sample) t-test's sample size at the effect the
   district cares about, one-sided at ``(1 - level) / 2`` (the lower end of a two-sided
   ``level`` interval), from ``statsmodels.stats.power`` (imported here, never on the scoring
   path).
2. A simulation of the gate's own rule that confirms or corrects it: ``sims`` simulated pilots,
   each with two phases as the post-pilot gates see them (:func:`harness.gates.pilot_log.outcomes`):
   ``n`` replies written before the pilot and ``n`` reviewed drafts during it, spread evenly over
   ``staff`` reviewers (each reviewer gains from the pilot by an offset of their own). Each is
   judged as the gate judges a pilot log: each phase's entries resampled within each reviewer's
   own (:func:`harness.gates.pilot_log.grouped_means`, the gates' own resampling), the
   improvement before minus during, its one-sided bootstrap p-value
   (:func:`harness.stats.bootstrap_p`), the measures corrected together with Holm's method
   (:func:`harness.stats.holm_reject`, the same decisions as statsmodels' ``multipletests``).
   The stated ``n`` is the smallest at which the gate clears in at least ``power`` of the
   simulated pilots.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from harness.gates.pilot_log import grouped_means
from harness.stats import bootstrap_p, holm_reject

POWER = 0.8
SIMS = 1000
SIM_RESAMPLES = 1000  # bootstrap resamples per simulated pilot (the gates use 2000)
MAX_DRAFTS = 5000  # a pilot needing more than this is reported as out of reach
MAX_STAFF = 40


@dataclass(frozen=True)
class MeasureSpec:
    """One success measure to size: its improvement over before the pilot and the bar it must clear.

    Attributes:
        name: the measure (``minutes_saved_per_reply``, ...).
        effect: the improvement the district cares about (before minus during), in ``unit``.
        bar: the gate's bar in the same unit (the interval's lower end must reach it).
        sd: the spread of one reply before minus one draft during, in ``unit``
            (``sqrt(sd_before**2 + sd_during**2)``).
        sd_between: the spread of reviewers' own gains from the pilot, in ``unit``.
        share: True for a yes/no measure: every reply before the pilot counts 1 (written by
            hand), each draft during it 0 with probability ``effect`` (the draft carried it).
        sd_before: the spread of one reply before the pilot; None: half of ``sd``'s variance.
    """

    name: str
    effect: float
    bar: float
    sd: float
    sd_between: float = 0.0
    share: bool = False
    sd_before: float | None = None

    def phase_sds(self) -> tuple[float, float]:
        """The spread of one entry before and one during the pilot."""
        if self.share:
            return 0.0, 0.0
        before = self.sd / math.sqrt(2) if self.sd_before is None else min(self.sd_before, self.sd)
        return before, math.sqrt(max(self.sd**2 - before**2, 0.0))


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


def _phases(spec: MeasureSpec, rev: np.ndarray, sims: int, rng: np.random.Generator):
    """``sims`` simulated pilots' entries before and during the pilot (sims x n each), on the
    gate's scale: lower is better, improvement = mean before - mean during."""
    staff = int(rev.max()) + 1
    offsets = rng.normal(0.0, spec.sd_between, size=(sims, staff)) if spec.sd_between > 0 else None
    gain = spec.effect + (offsets[:, rev] if offsets is not None else np.zeros((sims, rev.size)))
    if spec.share:  # written by hand: always before, during unless the draft carried it
        before = np.ones((sims, rev.size))
        during = (rng.random((sims, rev.size)) >= np.clip(gain, 0.0, 1.0)).astype(float)
        return before, during
    sd_b, sd_d = spec.phase_sds()
    before = spec.effect + rng.normal(0.0, sd_b, size=(sims, rev.size))
    during = spec.effect - gain + rng.normal(0.0, sd_d, size=(sims, rev.size))
    return before, during


def simulate_power(
    specs: list[MeasureSpec],
    n: int,
    staff: int,
    level: float = 0.95,
    sims: int = SIMS,
    resamples: int = SIM_RESAMPLES,
    seed: int = 0,
) -> np.ndarray:
    """Share of ``sims`` simulated pilots in which each measure's gate clears, with ``n``
    replies before the pilot and ``n`` reviewed drafts during it.

    The rule simulated is the gate's: per measure each phase resampled within reviewers
    (:func:`harness.gates.pilot_log.grouped_means`), the improvement before minus during, a
    one-sided p-value (the share of resampled improvements at or below the bar), Holm's
    correction across ``specs`` at ``(1 - level) / 2``.
    """
    rng = np.random.default_rng(seed)
    rev = _strata(n, staff)
    pvals = np.empty((sims, len(specs)))
    for j, spec in enumerate(specs):
        before, during = _phases(spec, rev, sims, rng)
        reps = grouped_means(before, rev, resamples, rng) - grouped_means(
            during, rev, resamples, rng
        )
        pvals[:, j] = bootstrap_p(reps, spec.bar)
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
