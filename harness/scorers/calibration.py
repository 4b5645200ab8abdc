"""Calibrate an LLM judge against a dataset's human ratings (``ratings.csv``).

The judge rates every rated draft (with its item's input, reference and approved sources), or
at most ``judge.calibration_sample.max_drafts`` of them (a seeded draw stratified by human score
or by item, :func:`calibration_drafts`; the result records how many of how many it used), and
its scores are compared with the humans' per criterion: quadratic-weighted Cohen's kappa
(scikit-learn), Spearman's rho (SciPy), exact and within-one agreement, mean bias (judge -
human), mean absolute error, n, and a confusion matrix. A draft rated by two or more raters is
compared with their mean, and the raters' agreement with each other is reported beside it as
the ceiling (over every draft two raters rated, subset or not). A judge whose kappa is below
the plan's bar (``judge.min_kappa``), or that was checked on fewer than ``judge.min_rated``
drafts (however many the subset holds), is *uncalibrated*: ``calibrated`` is False in the
result, in ``results/<run_id>/calibration.parquet`` and ``calibration.json``, and in the run's
manifest, and gates must not pass on its scores.

Human means of two raters fall on half points (4.5); kappa is computed on the 0.5 grid from 1
to 5 (equally spaced labels, so the quadratic weights stay proportional to squared
differences), and "exact" agreement means the judge's whole score equals the human mean.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from harness.data.dataset import Dataset, load_dataset
from harness.errors import HarnessError, RunError
from harness.plan.spec import CalibrationSample, JudgeSpec
from harness.scorers.calibration_facts import call_counts, earlier_bias
from harness.scorers.judging import JudgeCounts, judge_drafts
from harness.scorers.rubric import Rubric, load_rubric, response_format_name
from harness.store.runs import (
    RunStore,
    archive_calibration,
    calibration_summary,
    is_run_folder,
    open_run,
    read_calibration,
    write_calibration,
)

GRID = np.arange(1.0, 5.0001, 0.5)
AGREEMENT_COLUMNS = ["n", "kappa", "spearman", "exact", "within_one", "bias", "mae"]


def grid_index(values: np.ndarray) -> np.ndarray:
    """Positions on the 0.5 grid 1..5 (values off the grid round to the nearest half point)."""
    if np.any((values < 1) | (values > 5)):
        raise ValueError("scores must lie in 1-5")
    return np.rint((values - 1.0) * 2.0).astype(int)


def weighted_kappa(a: ArrayLike, b: ArrayLike) -> float:
    """Quadratic-weighted Cohen's kappa on the 1-5 scale (half points allowed); NaN if undefined."""
    x, y = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if len(x) == 0:
        return float("nan")
    ix, iy = grid_index(x), grid_index(y)
    if len(set(ix.tolist()) | set(iy.tolist())) < 2:
        return float("nan")  # one label only: chance agreement is total, kappa is undefined
    from sklearn.metrics import cohen_kappa_score  # here: listing the scorers never imports it

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        k = cohen_kappa_score(ix, iy, labels=list(range(len(GRID))), weights="quadratic")
    return float(k)


def agreement(human: ArrayLike, judge: ArrayLike) -> dict[str, float]:
    """Agreement of two raters' scores on the same drafts; pairs with a NaN are left out.

    Returns:
        n, kappa (quadratic-weighted), spearman, exact (share equal), within_one (share within
        1 point), bias (mean judge - human), mae (mean absolute difference).
    """
    h = np.asarray(human, dtype=float)
    j = np.asarray(judge, dtype=float)
    if h.shape != j.shape:
        raise ValueError(f"human has {len(h)} scores but judge has {len(j)}")
    keep = np.isfinite(h) & np.isfinite(j)
    h, j = h[keep], j[keep]
    n = len(h)
    if n == 0:
        return {"n": 0.0, **dict.fromkeys(AGREEMENT_COLUMNS[1:], float("nan"))}
    diff = j - h
    from scipy import stats  # here: listing the scorers (report kernels, checks) never imports it

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rho = (
            float(stats.spearmanr(h, j).statistic)
            if n >= 2 and np.ptp(h) > 0 and np.ptp(j) > 0
            else float("nan")
        )
    return {
        "n": float(n),
        "kappa": weighted_kappa(h, j),
        "spearman": rho,
        "exact": float(np.mean(np.abs(diff) < 0.25)),
        "within_one": float(np.mean(np.abs(diff) <= 1.0)),
        "bias": float(np.mean(diff)),
        "mae": float(np.mean(np.abs(diff))),
    }


def confusion(human: ArrayLike, judge: ArrayLike) -> pd.DataFrame:
    """Counts of (human, judge) score pairs, long format; human levels include half points seen."""
    h = pd.Series(np.asarray(human, dtype=float))
    j = pd.Series(np.asarray(judge, dtype=float))
    keep = h.notna() & j.notna()
    h, j = h[keep], j[keep]
    h_levels = sorted({1.0, 2.0, 3.0, 4.0, 5.0} | {float(v) for v in h})
    j_levels = sorted({1.0, 2.0, 3.0, 4.0, 5.0} | {float(v) for v in j})
    grid = pd.MultiIndex.from_product([h_levels, j_levels], names=["human", "judge"])
    counts = pd.Series(1, index=pd.MultiIndex.from_arrays([h, j])).groupby(level=[0, 1]).sum()
    counts.index.names = ["human", "judge"]
    return counts.reindex(grid, fill_value=0).rename("count").reset_index()


def rated_drafts(ratings: pd.DataFrame, criteria: Sequence[str]) -> pd.DataFrame:
    """One row per rated draft (index ``draft_id``): item, text, raters, and the raters' mean."""
    present = [c for c in criteria if c in ratings.columns]
    frame = ratings.copy()
    for c in present:
        frame[c] = pd.to_numeric(frame[c], errors="coerce").astype(float)
    agg: dict[str, Any] = {"item_id": "first", "draft": "first", "rater": "nunique"}
    if "draft_origin" in frame:
        agg["draft_origin"] = "first"
    agg.update(dict.fromkeys(present, "mean"))
    out = frame.groupby("draft_id", sort=True).agg(agg).rename(columns={"rater": "raters"})
    for c in criteria:
        if c not in out:
            out[c] = np.nan
    return out


def rater_pairs(ratings: pd.DataFrame, criteria: Sequence[str]) -> pd.DataFrame:
    """For drafts with two or more raters: the first two raters' scores (by rater name)."""
    rows = []
    for draft_id, grp in ratings.sort_values("rater").groupby("draft_id", sort=True):
        if len(grp) < 2:
            continue
        a, b = grp.iloc[0], grp.iloc[1]
        for c in criteria:
            if c in grp:
                rows.append(
                    {
                        "draft_id": draft_id,
                        "criterion": c,
                        "first": float(a[c]) if pd.notna(a[c]) else np.nan,
                        "second": float(b[c]) if pd.notna(b[c]) else np.nan,
                    }
                )
    return pd.DataFrame(rows, columns=["draft_id", "criterion", "first", "second"])


def calibration_drafts(
    rated: pd.DataFrame, criteria: Sequence[str], sample: CalibrationSample | None
) -> pd.DataFrame:
    """The rated drafts a judge is checked on: all of them, or a seeded stratified subset.

    With ``sample``, at most ``sample.max_drafts`` drafts: the rated drafts are ordered by
    stratum (``score``: the mean human score over the criteria; ``item``: the item id), ties
    broken by a seeded random key, and every k-th draft is taken from a seeded random start
    (systematic sampling, k = drafts / max_drafts). The subset therefore spans the strata in
    proportion to their size, and the same seed always picks the same drafts.

    Returns:
        The chosen rows of ``rated`` in their original order.
    """
    if sample is None or sample.max_drafts >= len(rated):
        return rated
    rng = np.random.default_rng(sample.seed)
    if sample.stratify == "score":
        present = [c for c in criteria if c in rated]
        key: pd.Series = rated[present].mean(axis=1) if present else pd.Series(0.0, rated.index)
    else:
        key = rated["item_id"].astype(str)
    order = pd.DataFrame(
        {"key": key.to_numpy(), "tie": rng.random(len(rated)), "pos": np.arange(len(rated))}
    ).sort_values(["key", "tie"], na_position="last", kind="stable")
    step = len(rated) / sample.max_drafts
    picks = np.floor(rng.uniform(0.0, step) + step * np.arange(sample.max_drafts)).astype(int)
    chosen = np.sort(order["pos"].to_numpy()[picks])
    return rated.iloc[chosen]


def drafts_to_check(
    ratings: pd.DataFrame, criteria: Sequence[str], sample: CalibrationSample | None
) -> pd.DataFrame:
    """The rated drafts (:func:`rated_drafts`) a judge is checked on (:func:`calibration_drafts`)."""
    return calibration_drafts(rated_drafts(ratings, criteria), criteria, sample)


def sample_info(total: int, used: int, sample: CalibrationSample | None) -> dict[str, Any]:
    """What a calibration records about the rated drafts it used (all, or a subset)."""
    info: dict[str, Any] = {"rated_drafts": int(total), "used": int(used), "subset": used < total}
    if sample is not None:
        info.update(max_drafts=sample.max_drafts, seed=sample.seed, stratify=sample.stratify)
    return info


@dataclass
class CalibrationResult:
    """A judge's agreement with the human raters; every table a DataFrame."""

    summary: pd.DataFrame  # one row per criterion: judge vs human, human vs human, calibrated
    drafts: pd.DataFrame  # one row per rated draft: human mean and judge score per criterion
    confusion: pd.DataFrame  # criterion, human, judge, count
    calibrated: bool
    judge: dict[str, Any] = field(default_factory=dict)
    counts: dict[str, Any] = field(default_factory=dict)
    # rated_drafts (in ratings.csv), used (judged here), subset, and the sample's settings
    sample: dict[str, Any] = field(default_factory=dict)
    previous: Path | None = None  # where an earlier calibration of the run was kept
    bias_kept: bool = False  # the earlier calibration's length-bias probe still counts

    def confusion_matrix(self, criterion: str) -> pd.DataFrame:
        """Human score (rows) by judge score (columns) for one criterion."""
        c = self.confusion[self.confusion["criterion"] == criterion]
        if c.empty:
            raise KeyError(f"no criterion '{criterion}'; have: {', '.join(self.criteria)}")
        return c.pivot(index="human", columns="judge", values="count")

    @property
    def criteria(self) -> list[str]:
        return self.summary["criterion"].tolist()

    def manifest_entry(self) -> dict[str, Any]:
        """What a run's manifest records: the verdict, the bar, and kappa per criterion."""
        by = {
            r["criterion"]: {
                "n": int(r["n"]),
                "kappa": None if pd.isna(r["kappa"]) else round(float(r["kappa"]), 4),
                "calibrated": bool(r["calibrated"]),
            }
            for _, r in self.summary.iterrows()
        }
        return {
            "calibrated": self.calibrated,
            "judge": self.judge,
            "sample": self.sample,
            "by_criterion": by,
        }

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary (NaN written as null)."""

        def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
            return json.loads(frame.to_json(orient="records"))

        return {
            **self.manifest_entry(),
            "counts": self.counts,
            "summary": records(self.summary),
            "confusion": records(self.confusion),
        }

    def save(self, folder: str | Path) -> None:
        """Write calibration.parquet (summary), calibration_drafts.parquet and calibration.json."""
        write_calibration(folder, self.summary, self.drafts.reset_index(), self.to_dict())


def compare(
    rated: pd.DataFrame,
    judged: pd.DataFrame,
    criteria: Sequence[str],
    spec: JudgeSpec,
    ratings: pd.DataFrame | None = None,
) -> CalibrationResult:
    """Agreement statistics of judge scores with the human means of the same rated drafts.

    Args:
        rated: from :func:`rated_drafts` (human mean per criterion).
        judged: judge scores 1-5 per criterion, same index as ``rated`` (NaN: unscored).
        criteria: the rubric's criteria.
        spec: the judge, with the calibration bar (``min_kappa``, ``min_rated``).
        ratings: the raw ratings, for the human-human ceiling (optional).
    """
    if not judged.index.equals(rated.index):
        raise ValueError("judged must have the same index (draft ids) as rated")
    pairs = rater_pairs(ratings, criteria) if ratings is not None else None
    rows, conf, per_draft = [], [], rated.drop(columns=list(criteria), errors="ignore").copy()
    for c in criteria:
        human = rated[c].astype(float) if c in rated else pd.Series(np.nan, index=rated.index)
        judge = judged[c].astype(float) if c in judged else pd.Series(np.nan, index=rated.index)
        per_draft[f"human_{c}"] = human
        per_draft[f"judge_{c}"] = judge
        a = agreement(human, judge)
        p = pairs[pairs["criterion"] == c] if pairs is not None else None
        hh = (
            agreement(p["first"], p["second"])
            if p is not None and len(p)
            else {"n": 0.0, **dict.fromkeys(AGREEMENT_COLUMNS[1:], float("nan"))}
        )
        ok = bool(
            a["n"] >= spec.min_rated and np.isfinite(a["kappa"]) and a["kappa"] >= spec.min_kappa
        )
        rows.append(
            {
                "criterion": c,
                **a,
                "unscored": int((human.notna() & judge.isna()).sum()),
                **{f"human_{k}": v for k, v in hh.items()},
                "min_kappa": spec.min_kappa,
                "min_rated": spec.min_rated,
                "calibrated": ok,
            }
        )
        conf.append(confusion(human, judge).assign(criterion=c))
    for col in ("rationale", "error"):
        if col in judged:
            per_draft[f"judge_{col}"] = judged[col]
    summary = pd.DataFrame(rows)
    summary["n"] = summary["n"].astype("int64")
    summary["human_n"] = summary["human_n"].astype("int64")
    confusion_frame = (
        pd.concat(conf, ignore_index=True)[["criterion", "human", "judge", "count"]]
        if conf
        else pd.DataFrame(columns=["criterion", "human", "judge", "count"])
    )
    judge_info = {
        "model": spec.model,
        "api_base": spec.api_base,
        "params": spec.params,
        "response_format": response_format_name(spec),
        "candidates": spec.candidates,
        "min_kappa": spec.min_kappa,
        "min_rated": spec.min_rated,
    }
    total = len(rated_drafts(ratings, criteria)) if ratings is not None else len(rated)
    return CalibrationResult(
        summary=summary,
        drafts=per_draft,
        confusion=confusion_frame,
        calibrated=bool(len(summary) and summary["calibrated"].all()),
        judge=judge_info,
        sample=sample_info(max(total, len(rated)), len(rated), spec.calibration_sample),
    )


def _resolve(
    run_or_dataset: Dataset | RunStore | str | Path, results_dir: str | Path | None
) -> tuple[Dataset, RunStore | None]:
    if isinstance(run_or_dataset, Dataset):
        return run_or_dataset, None
    if isinstance(run_or_dataset, RunStore):
        store: RunStore | None = run_or_dataset
    else:
        p = Path(run_or_dataset)
        if is_run_folder(p):
            store = RunStore(p)
        elif p.is_dir() and any(
            (p / f).is_file() for f in ("items.jsonl", "items.csv", "items.parquet")
        ):
            return load_dataset(p), None
        else:
            store = open_run(str(run_or_dataset), results_dir)
    assert store is not None
    return load_dataset(store.read_manifest()["dataset"]["path"]), store


def calibrate(
    run_or_dataset: Dataset | RunStore | str | Path,
    judge_spec: JudgeSpec | dict[str, Any] | None = None,
    *,
    rubric: Rubric | None = None,
    results_dir: str | Path | None = None,
    out_dir: str | Path | None = None,
    cache: bool = True,
    cache_path: str | Path | None = None,
    retries: int = 4,
    governance: str | Path | None = None,
) -> CalibrationResult:
    """Run the judge over the dataset's rated drafts and compare it with the human raters.

    Args:
        run_or_dataset: a run (id, folder or RunStore: results are saved in its folder and
            manifest) or a dataset (folder or Dataset: saved only to ``out_dir``).
        judge_spec: the judge; default the run plan's ``judge`` section.
        rubric: a loaded rubric (default: the one the judge spec names).
        results_dir: where runs live, to find a run by id.
        out_dir: also save the tables here.
        cache, cache_path: the response cache (default: the runs' shared cache).
        retries: attempts per call on transport errors.
        governance: the governance file whose ``approved_providers`` may receive the rated
            drafts (default: the run's; without one only this machine).
    """
    dataset, store = _resolve(run_or_dataset, results_dir)
    base = Path.cwd()
    redact = "off"
    if store is not None:
        manifest = store.read_manifest()
        if manifest.get("plan_path"):
            base = Path(manifest["plan_path"]).parent
        protection = manifest.get("data_protection") or {}
        if governance is None:
            governance = protection.get("governance")
        redact = protection.get("redact") or "off"
        if judge_spec is None:
            judge_spec = manifest.get("plan", {}).get("judge")
            if not judge_spec:
                raise RunError(
                    f"run {store.run_id}'s plan has no 'judge' section; add one to the plan "
                    "or pass the judge to calibrate()"
                )
        if cache_path is None:
            cache_path = store.path.parent / ".cache" / "responses.sqlite"
    if judge_spec is None:
        raise HarnessError("calibrate() needs a judge: pass judge_spec (model, rubric, ...)")
    spec = judge_spec if isinstance(judge_spec, JudgeSpec) else JudgeSpec.model_validate(judge_spec)
    if dataset.ratings is None:
        raise HarnessError(
            f"dataset {dataset.path} has no ratings.csv: a judge cannot be calibrated without "
            "human ratings (see datasets/README.md, 'ratings.csv')"
        )
    if rubric is None:
        path = None
        if spec.rubric:
            path = Path(spec.rubric) if Path(spec.rubric).is_absolute() else base / spec.rubric
        rubric = load_rubric(path)
    rated = drafts_to_check(dataset.ratings, rubric.names, spec.calibration_sample)
    earlier = read_calibration(store.path) if store is not None else None
    counts = JudgeCounts()
    judged = judge_drafts(
        rated[["item_id", "draft"]],
        dataset,
        spec,
        rubric,
        cache=cache,
        cache_path=cache_path,
        retries=retries,
        counts=counts,
        governance=governance,
        redact=redact,
    )
    bias = earlier_bias(earlier)
    if store is not None:
        result_previous = archive_calibration(store.path)
    result = record_calibration(store, rated, judged, rubric, spec, dataset.ratings, counts, bias)
    if store is not None:
        result.previous = result_previous
        result.bias_kept = bias is not None
    if out_dir is not None:
        result.save(out_dir)
    return result


def record_calibration(
    store: RunStore | None,
    rated: pd.DataFrame,
    judged: pd.DataFrame,
    rubric: Rubric,
    spec: JudgeSpec,
    ratings: pd.DataFrame | None,
    counts: JudgeCounts,
    bias: pd.DataFrame | None = None,
) -> CalibrationResult:
    """Compare the judge with the human raters and, for a run, store the result with it.

    ``bias`` (from :func:`length_bias`): a criterion whose scores the judge moves by the
    probe's ``max_shift`` or more for padding alone is marked uncalibrated, like a judge that
    disagrees with the raters.
    """
    result = compare(rated, judged, rubric.names, spec, ratings)
    if bias is not None and len(bias):
        b = bias.set_index("criterion")
        s = result.summary
        s["length_bias"] = s["criterion"].map(b["shift"]).astype("float64")
        s["length_biased"] = s["criterion"].map(b["biased"]).fillna(False).astype(bool)
        s["calibrated"] = s["calibrated"] & ~s["length_biased"]
        result.calibrated = bool(len(s) and s["calibrated"].all())
        result.judge["bias_probe"] = {
            "probes": int(b["n"].max()) if len(b) else 0,
            "max_shift": spec.bias_probe.max_shift if spec.bias_probe else None,
            "biased": sorted(b.index[b["biased"]].tolist()),
        }
    result.judge.update(rubric=rubric.name, rubric_fingerprint=rubric.fingerprint()[:16])
    # the calls behind the rated drafts only (a scoring pass also judges the run's drafts and
    # the bias probe: those are the pass's, recorded beside them)
    result.counts = {**call_counts(judged), "cost_usd": counts.cost_usd}
    if counts.calls + counts.cached != sum(call_counts(judged).values()):
        result.counts["judging_pass"] = {"calls": counts.calls, "cached": counts.cached}
    if store is not None:
        result.save(store.path)
        store.update_manifest(judge_calibration=result.manifest_entry())
    return result


def load_calibration(run: str | RunStore, results_dir: str | Path | None = None) -> pd.DataFrame:
    """A run's stored calibration summary (one row per criterion, with ``calibrated``)."""
    return calibration_summary(run if isinstance(run, RunStore) else open_run(run, results_dir))
