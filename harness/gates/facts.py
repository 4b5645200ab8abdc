"""The checks behind the evidence index: what a run's own data shows (see harness.gates.index).

Each check takes the run's facts (:class:`Facts`, read once) and returns (evidenced, reason).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import cached_property
from typing import Any

import pandas as pd

from harness.data.languages import language_name


class Facts:
    """What the checks need to know about a run, read once."""

    def __init__(self, run: Any, governance: Any, gates: Any, min_n: int):
        self.run = run
        self._governance = governance
        self._gates = gates
        self.min_n = min_n

    @cached_property
    def metrics(self) -> set[str]:
        s = self.run.scores
        return set(s.loc[s["value"].notna(), "metric"].unique())

    @cached_property
    def items(self) -> pd.DataFrame:
        ids = set(self.run.scores["item_id"])
        items: pd.DataFrame = self.run.dataset.items
        return items[items.index.isin(ids)]

    @cached_property
    def checklist(self) -> dict[str, str]:
        from harness.gates.decision import governance_checklist, run_governance

        # the checklist the run's plan named (never a shipped file it did not name)
        table = governance_checklist(run_governance(self.run, self._governance))
        return dict(zip(table["entry"], table["status"], strict=True))

    @cached_property
    def gate_set(self) -> Any:
        from harness.gates.decision import GateSet, load_gates

        return self._gates if isinstance(self._gates, GateSet) else load_gates(self._gates)

    @cached_property
    def calibration(self) -> dict[str, Any] | None:
        cal = getattr(self.run, "calibration", None)
        if cal is None and hasattr(self.run, "store"):
            from harness.store.runs import read_calibration

            cal = read_calibration(self.run.store.path)
        return cal

    def model_candidates(self) -> list[str]:
        return [c["name"] for c in self.run.manifest.get("candidates", []) if c["kind"] == "model"]


Check = Callable[[Facts], tuple[bool, str]]


def _entries(*names: str) -> Check:
    def check(f: Facts) -> tuple[bool, str]:
        gaps = [f"{n} ({f.checklist.get(n, 'missing')})" for n in names]
        gaps = [g for g, n in zip(gaps, names, strict=True) if f.checklist.get(n) != "complete"]
        if gaps:
            return False, "the governance checklist lacks " + ", ".join(gaps)
        return True, "governance checklist: " + ", ".join(names) + " filled in"

    return check


def _why_missing(f: Facts, metric: str) -> str:
    """Why a run has no scores of ``metric``: its scorer is not in the plan (add it), or the
    plan has it and the data or the plan's settings gave it nothing to score (what it needs)."""
    from harness.metrics import NEEDS, metric_def
    from harness.scorers import scorer_info, scorer_names

    scorer = next(
        (n for n in scorer_names() if any(m.name == metric for m in scorer_info(n).metrics)), None
    )
    plan = f.run.manifest.get("plan", {})
    planned = {s.get("name") for s in plan.get("scorers") or [] if isinstance(s, dict)}
    label = metric_def(metric).label
    if scorer is not None and scorer in planned:
        need = NEEDS.get(metric)
        return f"the plan has the {scorer} scorer, but it gave no '{label}' score" + (
            f": it needs {need[0]} ({need[1]})" if need else ""
        )
    return f"no '{label}' scores: add the {scorer or metric} scorer to the plan"


def _metrics(*names: str) -> Check:
    def check(f: Facts) -> tuple[bool, str]:
        missing = [m for m in names if m not in f.metrics]
        if missing:
            return False, "; ".join(_why_missing(f, m) for m in missing)
        from harness.metrics import metric_def

        return True, "scored: " + ", ".join(metric_def(m).label for m in names)

    return check


def _privacy(f: Facts) -> tuple[bool, str]:
    ok, why = _metrics("personal_data_count")(f)
    if not ok:
        return ok, why
    ok2, why2 = _entries("data_flow")(f)
    return ok2, f"{why}; {why2}" if ok2 else why2


def _coverage(f: Facts) -> tuple[bool, str]:
    tasks = set(f.items["task"])
    all_items = f.run.dataset.items
    cats = set(all_items.loc[all_items["task"].isin(tasks), "category"])
    missing = sorted(cats - set(f.items["category"]))
    if f.items.empty:
        return False, "the run scored no questions"
    if missing:
        return False, "the run leaves out categories of the dataset: " + ", ".join(missing)
    return True, f"{len(f.items)} questions from all {len(cats)} categories"


def _documented(f: Facts) -> tuple[bool, str]:
    ds = f.run.manifest.get("dataset", {})
    if not ds.get("fingerprint"):
        return False, "the run's manifest has no dataset fingerprint"
    return (
        True,
        f"dataset {ds.get('name') or 'of this run'}, fingerprint {str(ds['fingerprint'])[:12]}",
    )


EQUITY_METRIC = "required_facts_coverage"  # the measure the report's equity section draws


def _languages(f: Facts) -> dict[str, int]:
    """Scored questions per language for the AI candidates, counted as the equity figure and
    table count them (:func:`harness.gates.slices.slice_counts`, on the equity section's measure)."""
    from harness.gates.slices import slice_counts, slice_table

    s = f.run.scores
    s = s[s["candidate"].isin(f.model_candidates())]
    if s.empty or "language" not in f.run.dataset.items:
        return {}
    metrics = [EQUITY_METRIC] if EQUITY_METRIC in f.metrics else None
    table = slice_table(s, f.run.dataset.items, "language", metrics, resamples=1)
    return slice_counts(table, f.model_candidates())


def _fair(f: Facts) -> tuple[bool, str]:
    counts = _languages(f)
    enough = sorted(k for k, v in counts.items() if v >= f.min_n)
    if len(enough) < 2:
        shown = (
            ", ".join(f"{language_name(k)} n={v}" for k, v in sorted(counts.items()))
            or "no AI scores"
        )
        return False, f"fewer than two languages have {f.min_n} or more scored questions ({shown})"
    return True, "languages with enough questions: " + ", ".join(map(language_name, enough))


def _other_language(f: Facts) -> tuple[bool, str]:
    counts = _languages(f)
    other = {k: v for k, v in counts.items() if k not in ("en", "(none)")}
    if not other:
        return False, "the run has no question written in a language other than English"
    return True, "questions in " + ", ".join(
        f"{language_name(k)} (n={v})" for k, v in sorted(other.items())
    )


def _language_gate(f: Facts) -> tuple[bool, str]:
    for phase, pg in f.gate_set.phases.items():
        for g in pg.gates:
            if "language" in (g.floor_by, g.max_gap_by):
                return True, f"gate {g.name} ({phase}) is judged per language"
    return False, "no gate has floor_by: language or max_gap_by: language"


def _calibrated(f: Facts) -> tuple[bool, str]:
    if not any(m.startswith("judge_") for m in f.metrics):
        return False, "the run has no AI judge"
    ratings = f.run.dataset.ratings
    if ratings is None or ratings.empty:
        return (
            False,
            "the dataset has no ratings.csv (human ratings) to calibrate the judge against",
        )
    if f.calibration is None:
        return False, "the judge was not checked against the human ratings yet"
    from harness.scorers.calibration_facts import checked_on

    verdict = "agrees" if f.calibration.get("calibrated") else "does not agree well enough"
    return True, f"judge checked against {checked_on(f.calibration)}: it {verdict}"


def _providers(f: Facts) -> tuple[bool, str]:
    ok, why = _entries("approved_providers")(f)
    if not ok:
        return ok, why
    from harness.gates.decision import call_sites, provider_checks, run_governance

    gov = run_governance(f.run, f._governance)
    table = provider_checks(call_sites(f.run.manifest), gov)
    bad = table.loc[table["status"] != "approved", "candidate"].astype(str).tolist()
    if bad:
        return False, "candidates send data to unapproved services: " + ", ".join(bad)
    return True, "every call site of the run (AI candidates and the judge) uses an approved service"


def _workflow(f: Facts) -> tuple[bool, str]:
    plan = f.run.manifest.get("plan", {})
    w = str(plan.get("workflow") or "").strip()
    if not w:
        return False, "the plan names no workflow (plan field 'workflow')"
    return True, f"workflow: {w}; tasks: {', '.join(plan.get('tasks', []))}"


def _pilot(phases: Sequence[str]) -> Check:
    def check(f: Facts) -> tuple[bool, str]:
        from harness.store.pilotlog import missing_entries, run_pilot_log

        log = run_pilot_log(f.run)  # the run's workflows' entries (the station's first)
        if log is None or log.empty:
            return False, missing_entries(log)
        have = set(log["phase"])
        missing = [p for p in phases if p not in have]
        if missing:
            return False, "the pilot log has no " + " or ".join(missing) + " entries"
        return True, ", ".join(f"{int((log['phase'] == p).sum())} {p} entries" for p in phases)

    return check


def _staff_pilot(f: Facts) -> tuple[bool, str]:
    """A pilot with staff reviewing drafts: the same fact the report's staff section states."""
    from harness.review.evidence import staff_review_status

    status = staff_review_status(f.run)
    return bool(status["happened"]), str(status["text"])


def _measured(f: Facts) -> tuple[bool, str]:
    ok, why = _pilot(["baseline", "pilot"])(f)
    if not ok:
        return ok, why
    ok2, why2 = _metrics("saved_minutes")(f)
    return ok2, why if ok2 else why2


CHECKS: dict[str, Check] = {
    "human_review": _entries("human_review", "approval_owner"),
    "privacy": _privacy,
    "disclosure": _entries("ai_disclosure"),
    "sign_off": _entries("approval_owner", "report_sign_off"),
    "data_flow": _entries("data_flow"),
    "training": _entries("staff_training"),
    "providers": _providers,
    "documented": _documented,
    "representative": _coverage,
    "validity": _metrics("required_facts_coverage", "unsupported_claims_count"),
    "reliability": _metrics("sample_similarity"),
    "fairness": _fair,
    "incident": _entries("incident_path", "when_draft_is_wrong"),
    "judge_calibrated": _calibrated,
    "escalation": _metrics("escalation_ok"),
    "other_language": _other_language,
    "language_gate": _language_gate,
    "workflow": _workflow,
    "governance_complete": lambda f: (
        (True, "every checklist entry is filled in")
        if all(v == "complete" for v in f.checklist.values())
        else _entries(*f.checklist)(f)
    ),
    "pilot": _staff_pilot,
    "measured": _measured,
}
