"""What the readiness decision knows about a run: the evidence, its call sites and their
approval, the governance checklist, and whether the AI judge is calibrated."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field, replace
from typing import Any

import pandas as pd
from pydantic import BaseModel

from harness.gates.specs import (
    GOVERNANCE_ENTRIES,
    JUDGE_PREFIX,
    DataFlow,
    Governance,
    IncidentPath,
    SignOff,
)


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
    whether the governance file approves that destination (one rule: harness.engine.protect)."""
    from harness.engine.protect import Destination, approval_list, approved_by

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
        from harness.engine.calls import Request, plan_sites
        from harness.engine.protect import destination
        from harness.plan.spec import Plan

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
    # candidate -> selected items it has no draft for (none given, or failed after retries)
    undrafted: dict[str, set[str]] = field(default_factory=dict)
    _views: dict[Any, Any] = field(default_factory=dict, repr=False, compare=False)

    def tasks(self) -> set[str] | None:
        """The workflows (item tasks) of the scored items; None when the items are unknown."""
        if self.items is None or "task" not in self.items.columns:
            return None
        if "tasks" not in self._views:
            from harness.data.dataset import scored_tasks

            ids: Any = self.scores["item_id"].unique() if "item_id" in self.scores else []
            self._views["tasks"] = scored_tasks(self.items, ids) or set()
        return set(self._views["tasks"])

    def for_tasks(self, tasks: Collection[str] | None) -> Evidence:
        """The evidence of these workflows' items only (all of it for None or unknown items)."""
        have = self.tasks()
        if tasks is None or have is None or have <= set(tasks):
            return self
        key = tuple(sorted(tasks))
        if key not in self._views:
            assert self.items is not None
            keep = set(self.items.index[self.items["task"].isin(list(key))].astype(str))
            from harness.store.pilotlog import for_workflows

            log = self.pilot_log
            self._views[key] = replace(
                self,
                scores=self.scores[self.scores["item_id"].isin(keep)],
                pilot_log=None if log is None else for_workflows(log, key),
                undrafted={c: ids & keep for c, ids in self.undrafted.items()},
                _views={},
            )
        view: Evidence = self._views[key]
        return view

    def __post_init__(self) -> None:
        if self.sites is None:  # no recorded destinations: the model candidates', resolved now
            from harness.engine.protect import destination

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
        from harness.store.pilotlog import run_pilot_log

        calibration = run.calibration
        if calibration is None and ds.ratings is None:  # nobody could check a judge
            calibration = {"unchecked": NO_RATINGS}
        return cls(
            scores=run.scores,
            categories=ds.items["category"],
            candidates=cands,
            calibration=calibration or _calibration_from_scores(run.scores),
            pilot_log=run_pilot_log(run),  # the run's workflows' entries only
            sites=call_sites(m),
            items=ds.items,
            undrafted=_undrafted(run),
        )


def _undrafted(run: Any) -> dict[str, set[str]]:
    """Each candidate's selected items without a draft (a missing or failed generation)."""
    gens = getattr(run, "generations", None)
    if gens is None or not {"candidate", "item_id", "status"} <= set(gens.columns):
        return {}
    selected = set((run.manifest.get("selection") or {}).get("item_ids") or gens["item_id"])
    ok = (
        gens["status"].eq("ok") & gens["output"].notna()
        if "output" in gens
        else gens["status"].eq("ok")
    )
    drafted = gens[ok].groupby("candidate")["item_id"].agg(set).to_dict()
    names = [c["name"] for c in run.manifest.get("candidates", [])]
    return {c: selected - drafted.get(c, set()) for c in names}


def _calibration_from_scores(scores: pd.DataFrame) -> dict[str, Any] | None:
    """The judge scorer's own ``judge_calibrated`` score, when no calibration file exists."""
    flags = scores.loc[scores["metric"] == "judge_calibrated", "value"].dropna()
    if flags.empty:
        return None
    return {"calibrated": bool((flags >= 1).all()), "source": "judge_calibrated score"}


NO_RATINGS = (
    "the dataset has no ratings.csv (human ratings) to check the AI judge against; add "
    "ratings.csv (see datasets/README.md)"
)


def judge_unchecked(calibration: dict[str, Any] | None, metric: str) -> str | None:
    """Why nobody could check the judge behind ``judge_<criterion>`` (missing evidence, not a
    failure): no human ratings, calibration never run, or fewer rated drafts than the judge's
    ``min_rated``. None: it was checked (then :func:`judge_calibrated` says how it did)."""
    if calibration is None:
        return (
            "the AI judge has not been checked against human ratings (its calibration was not run)"
        )
    if calibration.get("unchecked"):
        return str(calibration["unchecked"])
    crit = calibration.get("by_criterion")
    entry = crit.get(metric.removeprefix(JUDGE_PREFIX)) if isinstance(crit, dict) else None
    need = (calibration.get("judge") or {}).get("min_rated")
    if isinstance(entry, dict) and entry.get("calibrated") is not True and need:
        n = entry.get("n")
        if isinstance(n, int | float) and n < need:
            return (
                f"the AI judge was checked on only {int(n)} rated drafts; calibration needs at "
                f"least {int(need)} (judge.min_rated): add rated drafts to ratings.csv"
            )
    return None


def judge_calibrated(calibration: dict[str, Any] | None, metric: str) -> tuple[bool, str]:
    """Whether the judge behind ``judge_<criterion>`` may pass a gate, and why not."""
    if calibration is None:
        return False, (
            "the AI judge has not been checked against human ratings (its calibration was not run)"
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
