"""The LLM judge scorer: any litellm model rates a draft 1-5 per rubric criterion, as the human
raters did, rescaled to 0-1 as ``(score - 1) / 4``.

A plan may limit the judge to some candidates (the others' judge scores are unscored) and ask
for constrained JSON (:func:`harness.scorers.rubric.response_format`). The judge's calls go
through the run's model-call engine (:mod:`harness.scorers.judging`): the same approval,
redaction, key scrubbing, cache and retries as the candidates'. ``judge_calibrated`` says
whether the judge met the plan's bar against the dataset's human ratings
(:mod:`harness.scorers.calibration`): an uncalibrated judge cannot pass a gate. The plan reaches the
scorer through the scorer interface (:class:`harness.scorers.ScoreContext`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pydantic import ValidationError

from harness.data.dataset import Dataset
from harness.errors import HarnessError
from harness.plan.spec import JudgeSpec
from harness.scorers import Metric, ScoreContext, ScoreFn, scorer
from harness.scorers.judging import JudgeCounts, judge_drafts, judge_engine
from harness.scorers.rubric import RUBRIC_FILE, judge_schema, load_rubric, parse_reply

_CRITERIA = {
    "accuracy": "every fact matches the approved sources",
    "completeness": "answers everything asked, with the next step and contact",
    "tone": "warm, plain, respectful, right length",
}


def _spec(options: dict[str, Any]) -> JudgeSpec:
    try:
        return JudgeSpec.model_validate(options)
    except ValidationError as exc:
        details = "; ".join(
            f"{'.'.join(str(x) for x in e['loc']) or 'judge'}: {e['msg']}" for e in exc.errors()
        )
        raise HarnessError(f"judge scorer options: {details}; see plans/README.md") from None


@scorer(
    "judge",
    family="judge",
    context=True,
    metrics=[
        *(
            Metric(f"judge_{c}", f"LLM judge, rescaled (score - 1) / 4: {d}")
            for c, d in _CRITERIA.items()
        ),
        Metric(
            "judge_calibrated",
            "1 when the judge met the plan's calibration bar (quadratic-weighted kappa against "
            "the dataset's human ratings), else 0: an uncalibrated judge cannot pass a gate",
        ),
    ],
)
def judge_scorer(
    *,
    context: ScoreContext,
    cache: bool | None = None,
    cache_path: str | None = None,
    calibrate: bool = True,
    retries: int | None = None,
    **options: Any,
) -> ScoreFn:
    """LLM judge against a rubric (1-5 per criterion, rescaled to 0-1), with its calibration.

    The plan's ``judge`` section (from the context) gives the defaults and the scorer's own
    options override them. Only the drafts of ``candidates`` (default: all) are rated; the judge
    is calibrated on the dataset's rated drafts, or on the ``calibration_sample`` of them, and
    the calibration is stored with the run.
    """
    plan = context.plan
    base = judge_options(plan) if plan is not None else {}
    js = _spec({**{k: v for k, v in base.items() if k in JudgeSpec.model_fields}, **options})
    rubric = load_rubric(js.rubric)
    use_cache = base.get("cache", True) if cache is None else cache
    path = cache_path or base.get("cache_path") or context.cache_path
    tries = retries or base.get("retries", 4)

    def score(frame: pd.DataFrame, dataset: Dataset) -> pd.DataFrame:
        from harness.scorers.calibration import drafts_to_check, record_calibration

        # Drafts of candidates the judge does not rate stay unscored (NaN), never 0.
        rate = (
            frame["candidate"].isin(js.candidates)
            if js.candidates is not None and "candidate" in frame
            else pd.Series(True, index=frame.index)
        )
        sub = frame[rate]
        drafts = pd.DataFrame({"item_id": sub["item_id"], "draft": sub["output"]})
        rated = None
        if calibrate and dataset.ratings is not None:
            # One judging pass (one server start) for the run's drafts and the rated drafts.
            rated = drafts_to_check(dataset.ratings, rubric.names, js.calibration_sample)
            drafts = pd.concat([drafts, rated[["item_id", "draft"]]], ignore_index=True)
        probes = _probe_rows(sub, js) if rated is not None else sub.index[:0]
        n_drafts = len(drafts)
        if len(probes):  # the same drafts again, padded with filler: does length alone pay?
            padded = pd.DataFrame(
                {"item_id": sub.loc[probes, "item_id"], "draft": sub.loc[probes, "output"] + FILLER}
            )
            drafts = pd.concat([drafts, padded], ignore_index=True)
        engine = judge_engine(
            governance=_governance(plan),
            redact=plan.redact if plan is not None else "off",
            people=dataset.people["name"].tolist() if dataset.people is not None else [],
            cache=use_cache,
            cache_path=path,
            retries=tries,
        )
        counts = JudgeCounts()
        try:
            with engine:
                parts = [("drafts", len(sub)), ("calibration", n_drafts - len(sub))]
                got = judge_drafts(
                    drafts.reset_index(drop=True),
                    dataset,
                    js,
                    rubric,
                    engine=engine,
                    counts=counts,
                    progress=[*parts, ("bias probe", len(probes))],
                )
        finally:
            if engine.cache is not None:
                engine.cache.close()
            context.record("judge", {**engine.record(), "seconds": counts.seconds})
        mine = got.iloc[: len(sub)].set_axis(sub.index).reindex(frame.index)
        out = pd.DataFrame(index=frame.index)
        for c in rubric.names:
            out[f"judge_{c}"] = (mine[c].astype(np.float64) - 1.0) / 4.0
        flag = 0.0
        if rated is not None:
            from harness.scorers.calibration_facts import length_bias

            judged = got.iloc[len(sub) : n_drafts].set_axis(rated.index)
            bias = None
            if len(probes):
                pos = [sub.index.get_loc(i) for i in probes]
                bias = length_bias(got.iloc[pos], got.iloc[n_drafts:], rubric.names, js)
            result = record_calibration(
                context.store, rated, judged, rubric, js, dataset.ratings, counts, bias
            )
            flag = 1.0 if result.calibrated else 0.0
        scored = mine[rubric.names].notna().any(axis=1)
        out["judge_calibrated"] = np.where(scored, flag, np.nan)
        return out.astype(np.float64)

    return score


# Polite padding that adds no fact: a judge that scores it higher rewards length, not content.
FILLER = (
    "\n\nThank you again for reaching out and for being such an important part of our school "
    "community. We truly value every family's questions, and we are always glad to help in "
    "any way we can. Please do not hesitate to contact us again if anything else comes up."
)


def _probe_rows(sub: pd.DataFrame, js: JudgeSpec) -> pd.Index:
    """A seeded share of the drafts the judge rates, for the length-bias probe."""
    probe = js.bias_probe
    ok = sub.index[sub["output"].notna()]
    if probe is None or probe.share <= 0 or not len(ok):
        return ok[:0]
    k = max(probe.min_probes, int(np.ceil(probe.share * len(ok))))
    rng = np.random.default_rng(probe.seed)
    return pd.Index(sorted(rng.choice(ok.to_numpy(), size=min(k, len(ok)), replace=False)))


def _governance(plan: Any) -> Path | None:
    return plan.resolve(plan.governance) if plan is not None and plan.governance else None


def judge_options(plan: Any) -> dict[str, Any]:
    """The judge scorer's options from a plan's ``judge`` section (rubric path resolved, the
    runner's cache and retry settings)."""
    if plan.judge is None:
        return {}
    opts = plan.judge.model_dump()
    if plan.judge.rubric:
        opts["rubric"] = str(plan.resolve(plan.judge.rubric))
    opts["cache"] = plan.runner.cache
    if plan.runner.cache_path:
        opts["cache_path"] = str(plan.resolve(plan.runner.cache_path))
    opts["retries"] = plan.runner.max_attempts
    return opts


__all__ = [
    "RUBRIC_FILE",
    "JudgeCounts",
    "judge_drafts",
    "judge_options",
    "judge_schema",
    "judge_scorer",
    "load_rubric",
    "parse_reply",
]
