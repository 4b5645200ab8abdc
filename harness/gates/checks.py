"""The statistical check behind one gate: a threshold, a paired comparison with a baseline,
a floor in every category or slice, a maximum gap between slices, a pilot outcome. Each
passes only when its whole confidence interval clears the bar, and each gives its finding in one
shape, :class:`GateResult`, whose ``as_dict`` fills the gate's row of the decision table.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from harness.errors import PlanError
from harness.gates.evidence import Evidence
from harness.gates.specs import FAIL, NOT_EVALUATED, PASS, PILOT_PREFIX, Gate, GateSet
from harness.metrics import metric_def
from harness.stats import bootstrap_p, mean_interval, paired_bootstrap, paired_values

NAN = float("nan")


@dataclass(frozen=True)
class GateResult:
    """What one check found for one gate and candidate.

    Attributes:
        status: pass, fail or not evaluated (:mod:`harness.gates.specs`).
        n: the scored questions (or pilot replies) the finding rests on.
        evidence: the finding in words, with its numbers and the bar.
        value: the estimate (a mean, a paired difference, a gap, a pilot improvement) in the
            metric's unit; NaN when nothing could be measured.
        ci_low: the lower end of its interval (the run's level, e.g. 95%).
        ci_high: the upper end.
        needs: when not evaluated, what would make the gate checkable ("": the gate's row
            works it out).
        p_value: a pilot gate's one-sided bootstrap p-value (NaN for other checks).
        bar: the bar a check sets itself (the max gap); None keeps the gate's threshold.
        slack: how far the deciding end of the interval clears the bar (negative: short);
            what a floor ranks its categories or slices by.
        weakest: the floor's weakest category or slice, whose numbers the result carries.
    """

    status: str
    n: int = 0
    evidence: str = ""
    value: float = NAN
    ci_low: float = NAN
    ci_high: float = NAN
    needs: str = ""
    p_value: float = NAN
    bar: float | None = None
    slack: float = NAN
    weakest: str | None = None

    @classmethod
    def unchecked(cls, evidence: str, n: int = 0, needs: str = "") -> GateResult:
        """Not evaluated, and why."""
        return cls(status=NOT_EVALUATED, n=n, evidence=evidence, needs=needs)

    def replace(self, **changes: Any) -> GateResult:
        """A copy with some fields changed."""
        return dataclasses.replace(self, **changes)

    def as_dict(self) -> dict[str, Any]:
        """The gate row's fields (``bar`` only when the check set its own)."""
        row = {
            "status": self.status,
            "n": int(self.n),
            "evidence": self.evidence,
            "value": self.value,
            "ci_low": self.ci_low,
            "ci_high": self.ci_high,
            "needs": self.needs,
            "p_value": self.p_value,
        }
        if self.bar is not None:
            row["bar"] = self.bar
        return row


def _fmt(v: float) -> str:
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return "—"
    return f"{v:.2f}" if abs(v) < 10 else f"{v:.1f}"


def threshold_check(values: np.ndarray, gate: Gate, higher: bool, gs: GateSet) -> GateResult:
    """A threshold gate: the interval of the mean against the bar."""
    mean, lo, hi = mean_interval(values, gate.metric, gs.level, gs.resamples, gs.seed)
    n = int((~np.isnan(values)).sum())
    bar = float(gate.threshold)  # type: ignore[arg-type]
    if n == 0:
        return GateResult(NOT_EVALUATED, 0, "no scored questions", mean, lo, hi)
    side, edge = ("at least", lo) if higher else ("at most", hi)
    ok = edge >= bar if higher else edge <= bar
    mean_ok = mean >= bar if higher else mean <= bar
    u = metric_def(gate.metric).unit_words
    if ok:
        ev = (
            f"average {_fmt(mean)} {u}, interval {_fmt(lo)} to {_fmt(hi)}: all of it {side} "
            f"{_fmt(bar)}"
        )
    elif mean_ok:
        ev = (
            f"average {_fmt(mean)} {u} meets the bar ({side} {_fmt(bar)}) but the interval "
            f"reaches {_fmt(edge)}: it does not clear the bar yet"
        )
    else:
        ev = (
            f"average {_fmt(mean)} {u} (interval {_fmt(lo)} to {_fmt(hi)}; bar: {side} {_fmt(bar)})"
        )
    slack = (lo - bar) if higher else (bar - hi)
    return GateResult(PASS if ok else FAIL, n, ev, mean, lo, hi, slack=slack)


def paired_check(
    scores: pd.DataFrame, gate: Gate, cand: str, base: str, higher: bool, gs: GateSet
) -> GateResult:
    """A superiority or non-inferiority gate: the paired difference with a baseline."""
    pairs = paired_values(scores, gate.metric, cand, base)
    diff, lo, hi = paired_bootstrap(
        pairs["candidate"], pairs["baseline"], gs.level, gs.resamples, gs.seed
    )
    n = len(pairs)
    if n == 0:
        return GateResult.unchecked(f"no items scored for both it and {base}")
    gain, g_lo = (diff, lo) if higher else (-diff, -hi)
    margin = float(gate.margin or 0.0)
    bar = 0.0 if gate.test == "superiority" else -margin
    ok = g_lo > bar
    word = "better" if higher else "lower (better)"
    if gate.test == "superiority":
        claim = f"must be {word} than {base} on the same {n} items"
    else:
        claim = f"may be at most {_fmt(margin)} worse than {base} on the same {n} items"
    u = metric_def(gate.metric).unit_words
    ev = f"difference {_fmt(diff)} {u} (interval {_fmt(lo)} to {_fmt(hi)}); it {claim}" + (
        "" if ok or not (gain > bar) else ": the average clears it, the interval does not"
    )
    return GateResult(PASS if ok else FAIL, n, ev, diff, lo, hi, slack=g_lo - bar)


PartCheck = Callable[[pd.DataFrame], GateResult]  # a gate checked on a part of the scores


def by_category(scores: pd.DataFrame, categories: pd.Series, fn: PartCheck) -> GateResult:
    """A floor every category must clear: ``fn`` judged in each category."""
    s = scores.assign(category=scores["item_id"].map(categories).fillna("(none)"))
    results = {}
    for cat, grp in s.groupby("category", sort=True):
        r = fn(grp)
        if r.status != NOT_EVALUATED:
            results[str(cat)] = r
    if not results:
        return GateResult.unchecked("no category has scored items")
    failed = [c for c, r in results.items() if r.status == FAIL]
    worst_cat = min(results, key=lambda c: results[c].slack)
    worst = results[worst_cat]
    n = sum(r.n for r in results.values())
    if failed:
        ev = (
            f"{len(failed)} of {len(results)} categories fall short: {', '.join(failed[:6])}"
            + ("…" if len(failed) > 6 else "")
            + f"; weakest {worst_cat}: {worst.evidence}"
        )
    else:
        ev = f"all {len(results)} categories clear it; weakest {worst_cat}: {worst.evidence}"
    return worst.replace(status=FAIL if failed else PASS, n=n, evidence=ev, weakest=worst_cat)


def _labels(ev: Evidence, by: str, only: list[str] | None = None) -> pd.Series | str:
    """Item id -> slice label (None outside ``only``), or why the items cannot be sliced."""
    from harness.gates.slices import slice_labels

    if ev.items is None:
        return "the evidence has no item fields to slice by"
    try:
        labels = slice_labels(ev.items, by)
    except PlanError as exc:
        p = exc.problems[0]
        return f"'{by}' {p.message}; {p.hint}"
    return labels if not only else labels.where(labels.isin(only))


def _small(counts: dict[str, int], min_n: int, by: str = "") -> str:
    from harness.gates.slices import slice_name

    return ", ".join(f"{slice_name(by, k)} (n={v})" for k, v in counts.items()) + (
        f": not enough data (fewer than {min_n} questions each)"
    )


def by_slice(
    scores: pd.DataFrame, ev: Evidence, by: str, fn: PartCheck, min_n: int, only: list[str] | None
) -> GateResult:
    """A floor every slice of ``by`` must clear; slices below ``min_n`` are not enough data."""
    labels = _labels(ev, by, only)
    if isinstance(labels, str):
        return GateResult.unchecked(labels)
    s = scores.assign(_slice=scores["item_id"].map(labels))
    if only:
        s = s[s["_slice"].notna()]
    s = s.assign(_slice=s["_slice"].fillna("(none)"))
    results, small = {}, {}
    for slc, grp in s.groupby("_slice", sort=True):
        r = fn(grp)
        if r.status == NOT_EVALUATED:
            continue
        if r.n < min_n:
            small[str(slc)] = int(r.n)
        else:
            results[str(slc)] = r
    if not results:
        why = f"no {by} has {min_n} or more scored questions"
        return GateResult.unchecked(why + ("; " + _small(small, min_n, by) if small else ""))
    failed = [c for c, r in results.items() if r.status == FAIL]
    worst_cat = min(results, key=lambda c: results[c].slack)
    worst = results[worst_cat]
    n = sum(r.n for r in results.values())
    from harness.gates.slices import slice_name

    if failed:
        shown = ", ".join(slice_name(by, c) for c in failed)
        ev_text = f"{len(failed)} of {len(results)} {by} slices fall short: {shown}"
        status = FAIL
    elif small:
        ev_text = f"the {len(results)} {by} slices with enough data clear it"
        status = NOT_EVALUATED
    else:
        ev_text = f"all {len(results)} {by} slices clear it"
        status = PASS
    ev_text += f"; weakest {slice_name(by, worst_cat)}: {worst.evidence}"
    if small:
        ev_text += f"; {_small(small, min_n, by)}, so the gate cannot say they clear it"
    return worst.replace(status=status, n=n, evidence=ev_text, weakest=worst_cat)


def max_gap_check(
    scores: pd.DataFrame, ev: Evidence, gate: Gate, candidate: str, gs: GateSet
) -> GateResult:
    """The gap between the best and worst slice's average: its whole interval <= max_gap."""
    from harness.gates.slices import gap_interval

    by = str(gate.max_gap_by)
    labels = _labels(ev, by, gate.slices)
    if isinstance(labels, str):
        return GateResult.unchecked(labels)
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
        return GateResult.unchecked(
            why + ("; " + _small(small, gate.min_n) if small else ""),
            n=int(sum(v.size for v in enough.values())),
        )
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
    n = int(sum(v.size for v in enough.values()))
    return GateResult(status, n, ev_text, gap, lo, hi, bar=bar, slack=bar - hi)


def pilot_check(gate: Gate, ev: Evidence, gs: GateSet) -> GateResult:
    """A ``pilot:`` gate: the pilot log's measured improvement against the bar.

    It clears the bar alone when its one-sided bootstrap p-value (:func:`harness.stats.bootstrap_p`,
    the share of resampled improvements at or below the bar) is at most ``(1 - level) / 2``;
    the phase's required pilot gates are then judged together with Holm's correction
    (:func:`harness.gates.evaluation.holm_pilot`), the rule the pilot protocol simulated.
    """
    from harness.gates.pilot_log import outcome_value, outcomes

    measure = gate.metric.removeprefix(PILOT_PREFIX)
    if ev.pilot_log is None or ev.pilot_log.empty:
        from harness.store.pilotlog import missing_entries

        return GateResult.unchecked(missing_entries(ev.pilot_log))
    frame = outcomes(ev.pilot_log, gs.level, gs.resamples, gs.seed)
    r = outcome_value(frame, measure)
    if r is None or pd.isna(r["improvement"]):
        return GateResult.unchecked(f"the pilot log cannot measure '{measure}'")
    bar = float(gate.threshold)  # type: ignore[arg-type]
    reps = np.asarray(frame.attrs.get("replicates", {}).get(measure, ()), dtype=np.float64)
    p = float(bootstrap_p(reps, bar)) if reps.size else float("nan")
    alpha = (1 - gs.level) / 2
    ok = bool(p <= alpha)
    ev_text = (
        f"pilot improved by {_fmt(r['improvement'])} {r['unit']} (interval {_fmt(r['ci_low'])} to "
        f"{_fmt(r['ci_high'])}; {r['n_baseline']} replies before, {r['n_pilot']} during); "
        f"the bar is at least {_fmt(bar)}; one-sided p = {p:.3g} (it clears the bar alone when "
        f"p is at most {alpha:g})"
        + (
            ""
            if ok or not (r["improvement"] >= bar)
            else ": the average clears it, the interval does not"
        )
    )
    if ev.pilot_log.attrs.get("source"):
        ev_text += f"; {ev.pilot_log.attrs['source']}"
    n = int(r["n_baseline"] + r["n_pilot"])
    value, lo, hi = (float(r[k]) for k in ("improvement", "ci_low", "ci_high"))
    return GateResult(PASS if ok else FAIL, n, ev_text, value, lo, hi, p_value=p)
