"""Edit effort: how much a reviewer must change a draft to reach the approved reference.

Character- and word-level normalized Levenshtein similarity (RapidFuzz), word edit operations,
and estimated reviewer minutes against the minutes to write the reference from scratch:

    review_minutes  = draft words / read_wpm + (inserted + replaced words) / compose_wpm
                      + deleted words * deleted_word_seconds / 60 + lookup_minutes
    scratch_minutes = reference words / compose_wpm + lookup_minutes
    saved_minutes   = scratch_minutes - review_minutes

New words cost the same whether typed into a draft or into a blank page, and a reviewer checks
the facts either way, so a draft that must be rewritten saves nothing (slightly negative: it
had to be read). The rates live in ``rubrics/effort.yaml``.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from rapidfuzz.distance import Levenshtein

from harness.data.dataset import Dataset
from harness.scorers import Metric, ScoreFn, scorer

_WORD = re.compile(r"\S+")
DEFAULT_RATES = {
    "read_wpm": 230.0,  # reading a draft closely
    "compose_wpm": 12.0,  # writing approved text, thinking included (new or replaced words too)
    "deleted_word_seconds": 0.5,  # selecting and deleting one word
    "lookup_minutes": 2.0,  # checking the facts in the approved sources (scratch or review)
}
RATES_FILE = Path(__file__).resolve().parents[2] / "rubrics" / "effort.yaml"


def words(text: str) -> list[str]:
    """Whitespace tokens: a changed punctuation mark changes its word, as in an editor."""
    return _WORD.findall(text)


def load_rates(path: str | Path | None = None) -> dict[str, float]:
    """Editing rates from a YAML file (defaults where a rate is not given)."""
    rates = dict(DEFAULT_RATES)
    p = Path(path) if path else RATES_FILE
    if p.is_file():
        from harness.data.safeyaml import load_file

        data = load_file(p, "effort rates")[0] or {}
        rates.update(
            {k: float(v) for k, v in (data.get("rates") or {}).items() if k in DEFAULT_RATES}
        )
    return rates


def word_edit_counts(a: list[str], b: list[str]) -> tuple[int, int, int]:
    """Words inserted, deleted and substituted to turn word list ``a`` into ``b``."""
    tags = Counter(op[0] for op in Levenshtein.editops(a, b).as_list())
    return tags["insert"], tags["delete"], tags["replace"]


def edit_effort(
    draft: str | None, reference: str, rates: dict[str, float] | None = None
) -> dict[str, float]:
    """Every edit metric for one draft; all NaN when there is no draft."""
    names = (
        "char_similarity",
        "word_similarity",
        "words_inserted_count",
        "words_deleted_count",
        "words_substituted_count",
        "review_minutes",
        "scratch_minutes",
        "saved_minutes",
    )
    if draft is None or (isinstance(draft, float) and math.isnan(draft)):
        return dict.fromkeys(names, math.nan)
    r = rates or DEFAULT_RATES
    dw, rw = words(draft), words(reference)
    ins, dele, sub = word_edit_counts(dw, rw)
    longest = max(len(dw), len(rw))
    review = (
        len(dw) / r["read_wpm"]
        + (ins + sub) / r["compose_wpm"]
        + dele * r["deleted_word_seconds"] / 60.0
        + r["lookup_minutes"]
    )
    scratch = len(rw) / r["compose_wpm"] + r["lookup_minutes"]
    return {
        "char_similarity": Levenshtein.normalized_similarity(draft, reference),
        # the word edit operations give the distance: no second Levenshtein pass
        "word_similarity": 1.0 - (ins + dele + sub) / longest if longest else 1.0,
        "words_inserted_count": float(ins),
        "words_deleted_count": float(dele),
        "words_substituted_count": float(sub),
        "review_minutes": review,
        "scratch_minutes": scratch,
        "saved_minutes": scratch - review,
    }


_FITTED: dict[str, dict[str, float] | None] = {}


def fitted_rates(dataset: Dataset | None) -> dict[str, float] | None:
    """Effort rates fitted to the dataset's pilot log (its measured minutes), or None when the
    dataset has no log with enough timed entries to fit and check them (cached per dataset)."""
    log = None if dataset is None else dataset.pilot_log
    if log is None or log.empty:
        return None
    key = dataset.fingerprint or str(id(dataset))  # type: ignore[union-attr]
    if key not in _FITTED:
        _FITTED[key] = rates_from_log(log)
    return _FITTED[key]


def rates_from_log(pilot_log: pd.DataFrame, min_entries: int = 5) -> dict[str, float] | None:
    """The rates :func:`fit_effort_rates` fits on every entry, without its cross-validation and
    without scikit-learn: the non-negative least squares fit (:func:`bounded_fit`, scipy's
    ``lsq_linear``). None: too few entries."""
    feats = _timed(pilot_log)
    if len(feats) < min_entries:
        return None
    x = feats[list(FIT_FEATURES)].to_numpy(dtype=np.float64)
    y = feats["minutes"].to_numpy(dtype=np.float64)
    coef, intercept = bounded_fit(x, y)
    return _rates_from_fit(coef, intercept)


def _timed(pilot_log: pd.DataFrame) -> pd.DataFrame:
    return pilot_effort_features(pilot_log).dropna(subset=["minutes"])


def enough_to_fit(pilot_log: pd.DataFrame, min_entries: int = 5) -> bool:
    """Whether :func:`rates_from_log` fits rates to this log (enough timed entries), found
    without fitting them (so without importing scipy.optimize)."""
    return len(_timed(pilot_log)) >= min_entries


def _prepare(dataset: Dataset, rates: str | None = None, fit: bool = True, **_: Any) -> None:
    """Fit the rates ahead (scipy's import and the fit: about 0.3 s) when scoring will use them."""
    if fit and rates is None:
        fitted_rates(dataset)


@scorer(
    "edit",
    family="edit",
    prepare=_prepare,
    metrics=[
        Metric("char_similarity", "1 - normalized character Levenshtein distance to the reference"),
        Metric("word_similarity", "1 - normalized word Levenshtein distance to the reference"),
        Metric("words_inserted_count", "words the reviewer must add", False, "words"),
        Metric("words_deleted_count", "words the reviewer must delete", False, "words"),
        Metric("words_substituted_count", "words the reviewer must replace", False, "words"),
        Metric(
            "review_minutes",
            "estimated minutes to read the draft and edit it into the reference",
            False,
            "minutes",
        ),
        Metric(
            "scratch_minutes",
            "estimated minutes to write the reference from scratch",
            False,
            "minutes",
        ),
        Metric(
            "saved_minutes",
            "scratch_minutes - review_minutes (negative: the draft costs time)",
            True,
            "minutes",
        ),
    ],
)
def edit_scorer(rates: str | None = None, fit: bool = True, **_: Any) -> ScoreFn:
    """Edit effort against the approved reference (RapidFuzz Levenshtein).

    The minutes use rates fitted to the dataset's pilot log when it has one (``fit``, the
    default; measured beats planned), else the planning rates in ``rates`` / effort.yaml.
    """
    planned = load_rates(rates)

    def score(frame: pd.DataFrame, dataset: Dataset) -> pd.DataFrame:
        r = (fitted_rates(dataset) if fit and rates is None else None) or planned
        refs = frame["reference"].tolist()
        rows = [
            edit_effort(o if isinstance(o, str) else None, ref, r)
            for o, ref in zip(frame["output"].tolist(), refs, strict=True)
        ]
        out = pd.DataFrame(rows, index=frame.index)
        return out.astype(np.float64)

    return score


FIT_FEATURES = ("draft_words", "changed_words", "deleted_words")


def pilot_effort_features(pilot_log: pd.DataFrame) -> pd.DataFrame:
    """Per pilot-log entry: the edit-effort formula's inputs and the logged minutes.

    ``draft_words`` are the AI draft's words (0 in the baseline phase: staff wrote from
    scratch), ``changed_words`` the words inserted or substituted to reach ``final_text`` (every
    final word when there was no draft), ``deleted_words`` the words deleted, ``final_words``
    the final text's words, and ``minutes`` the logged drafting + review minutes.
    """
    rows = []
    for _, e in pilot_log.iterrows():
        draft = e.get("ai_draft")
        draft = draft if isinstance(draft, str) else ""
        final = str(e["final_text"])
        dw, fw = words(draft), words(final)
        ins, dele, sub = word_edit_counts(dw, fw)
        drafting = e.get("drafting_minutes")
        review = e.get("review_minutes")
        minutes = (
            float(drafting if pd.notna(drafting) else 0.0) + float(review)
            if pd.notna(review)
            else math.nan
        )
        rows.append(
            {
                "entry_id": e.get("entry_id"),
                "phase": e.get("phase"),
                "draft_words": float(len(dw)),
                "changed_words": float(ins + sub),
                "deleted_words": float(dele),
                "final_words": float(len(fw)),
                "minutes": minutes,
            }
        )
    return pd.DataFrame(
        rows,
        columns=["entry_id", "phase", *FIT_FEATURES, "final_words", "minutes"],
    )


def _rates_from_fit(coef: np.ndarray, intercept: float) -> dict[str, float]:
    """Rates from minutes = draft/read_wpm + changed/compose_wpm + deleted*s/60 + lookup."""
    return {
        "read_wpm": float(1.0 / coef[0]) if coef[0] > 0 else math.inf,
        "compose_wpm": float(1.0 / coef[1]) if coef[1] > 0 else math.inf,
        "deleted_word_seconds": 60.0 * float(coef[2]),
        "lookup_minutes": max(0.0, float(intercept)),
    }


def _formula_minutes(x: pd.DataFrame, r: dict[str, float]) -> np.ndarray:
    return np.asarray(
        x["draft_words"] / r["read_wpm"]
        + x["changed_words"] / r["compose_wpm"]
        + x["deleted_words"] * r["deleted_word_seconds"] / 60.0
        + r["lookup_minutes"],
        dtype=np.float64,
    )


def fit_effort_rates(
    pilot_log: pd.DataFrame, *, folds: int = 5, seed: int = 0
) -> tuple[dict[str, float], pd.DataFrame]:
    """Fit the edit-effort rates to a pilot log's logged drafting + review minutes.

    A non-negative linear model (``scipy.optimize.lsq_linear`` with bounds) of minutes on the AI draft's words, the words
    changed and the words deleted to reach the final text; its intercept is the lookup time,
    and each coefficient the inverse of a rate. Baseline entries (no draft) pin the writing
    rate, pilot entries the reading and editing rates.

    Returns:
        The rates fitted on every entry (usable by :func:`edit_effort`; a coefficient fitted to
        0 gives an infinite rate: that work cost no measurable time), and a report with the
        held-out error per fold (``mae_minutes``, ``r2``) of the fitted model and of the current
        rates (``rubrics/effort.yaml``), plus a ``mean`` row for each.
    """
    from sklearn.metrics import mean_absolute_error, r2_score
    from sklearn.model_selection import KFold

    feats = pilot_effort_features(pilot_log).dropna(subset=["minutes"]).reset_index(drop=True)
    if len(feats) < max(4, folds):
        raise ValueError(
            f"the pilot log has {len(feats)} entries with logged minutes; at least "
            f"{max(4, folds)} are needed to fit and check the rates"
        )
    x, y = feats[list(FIT_FEATURES)], feats["minutes"].to_numpy(dtype=np.float64)
    current = load_rates()
    rows = []
    splitter = KFold(n_splits=folds, shuffle=True, random_state=seed)
    for fold, (train, test) in enumerate(splitter.split(x), start=1):
        coef, intercept = bounded_fit(x.iloc[train].to_numpy(np.float64), y[train])
        rates = _rates_from_fit(coef, intercept)
        for name, pred in (
            ("fitted", _formula_minutes(x.iloc[test], rates)),
            ("current rates", _formula_minutes(x.iloc[test], current)),
        ):
            rows.append(
                {
                    "model": name,
                    "fold": str(fold),
                    "n_train": len(train),
                    "n_test": len(test),
                    "mae_minutes": mean_absolute_error(y[test], pred),
                    "r2": r2_score(y[test], pred) if len(test) > 1 else math.nan,
                }
            )
    report = pd.DataFrame(rows)
    means = (
        report.groupby("model", sort=False)[["n_train", "n_test", "mae_minutes", "r2"]]
        .mean()
        .reset_index()
        .assign(fold="mean")
    )
    report = pd.concat([report, means[report.columns]], ignore_index=True)
    coef, intercept = bounded_fit(x.to_numpy(np.float64), y)
    return _rates_from_fit(coef, intercept), report


def bounded_fit(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, float]:
    """Least squares of ``y`` on ``x`` with every coefficient at least 0 and a free intercept
    (``scipy.optimize.lsq_linear``): one bounded fit instead of trying subsets of features."""
    from scipy.optimize import lsq_linear

    design = np.column_stack([x, np.ones(len(x))])
    lower = np.r_[np.zeros(x.shape[1]), -np.inf]
    sol = lsq_linear(design, y, bounds=(lower, np.full(x.shape[1] + 1, np.inf)), method="bvls")
    return sol.x[:-1], float(sol.x[-1])
