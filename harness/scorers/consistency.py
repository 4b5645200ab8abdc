"""Consistency: does a candidate give the same answer when asked again, or asked differently?

Both scorers are *group-level*: the value of a group is written on every row of the group, so
per-item averages weight each group by its rows. A group with fewer than two drafts is NaN.

- ``sample_consistency``: groups = (candidate, item); the repeated samples of one item.
- ``paraphrase_consistency``: groups = (candidate, paraphrase_group); only pairs of drafts for
  *different* items of the group count, and a claim that echoes the item's own input (the
  parent's name, the grade they wrote) is dropped before comparing claims.

Similarity is the mean pairwise TF-IDF cosine (IDF fitted on the dataset, as for
``reference_similarity``); claim agreement is the mean pairwise Jaccard index of the drafts'
claim keys (see :mod:`harness.scorers.accuracy`), NaN for a pair where neither draft has a
checkable claim.
"""

from __future__ import annotations

import math
from itertools import combinations
from typing import Any

import numpy as np
import pandas as pd

from harness.data.dataset import Dataset
from harness.scorers import Metric, ScoreFn, scorer
from harness.scorers.accuracy import extract_claims, input_support, tfidf_vectorizer


def jaccard(a: frozenset[Any], b: frozenset[Any]) -> float:
    """|a & b| / |a | b|; NaN when both are empty (nothing to agree on)."""
    union = a | b
    return len(a & b) / len(union) if union else math.nan


def claim_keys(draft: str, input_text: str | None = None) -> frozenset[tuple[str, Any]]:
    """The draft's claim keys, without those its input supports when ``input_text`` is given."""
    claims = extract_claims(draft)
    if input_text:
        sup = input_support(input_text)
        claims = [c for c in claims if not sup.supports(c)]
    return frozenset((c.kind, c.key) for c in claims)


def _mean(values: list[float]) -> float:
    vals = [v for v in values if not math.isnan(v)]
    return float(np.mean(vals)) if vals else math.nan


def group_agreement(
    drafts: list[str],
    keys: list[frozenset[tuple[str, Any]]],
    sims: np.ndarray,
    members: list[Any] | None = None,
) -> tuple[float, float]:
    """Mean pairwise similarity and claim agreement; pairs within one member are skipped."""
    pairs = [
        (i, j)
        for i, j in combinations(range(len(drafts)), 2)
        if members is None or members[i] != members[j]
    ]
    if not pairs:
        return math.nan, math.nan
    sim = float(np.mean([sims[i, j] for i, j in pairs]))
    agree = _mean([jaccard(keys[i], keys[j]) for i, j in pairs])
    return min(max(sim, 0.0), 1.0), agree


def _consistency(
    frame: pd.DataFrame, dataset: Dataset | None, by: str, prefix: str
) -> pd.DataFrame:
    cols = [f"{prefix}_similarity", f"{prefix}_claim_agreement"]
    out = pd.DataFrame(np.nan, index=frame.index, columns=cols, dtype=np.float64)
    has = frame["output"].map(lambda o: isinstance(o, str))
    if by == "paraphrase_group":
        has &= frame["paraphrase_group"].notna()
    sub = frame[has]
    if sub.empty:
        return out
    cand = sub["candidate"] if "candidate" in sub else pd.Series("", index=sub.index)
    keys_by_group = sub.groupby([cand, sub[by]], sort=False).groups
    drafts_all = sub["output"].tolist()
    vec = tfidf_vectorizer(dataset, [] if dataset is not None else drafts_all)
    pos = {idx: n for n, idx in enumerate(sub.index)}
    from sklearn.preprocessing import normalize  # here: listing the scorers never imports it

    matrix = normalize(vec.transform(drafts_all))
    echo = by == "paraphrase_group"
    for idx in keys_by_group.values():
        if len(idx) < 2:
            continue
        rows = [pos[i] for i in idx]
        x = matrix[rows]
        sims = (x @ x.T).toarray()
        g = sub.loc[idx]
        drafts = g["output"].tolist()
        keys = [
            claim_keys(d, i if echo else None)
            for d, i in zip(drafts, g["input"].tolist(), strict=True)
        ]
        members = g["item_id"].tolist() if echo else None
        out.loc[idx, cols] = group_agreement(drafts, keys, sims, members)
    return out


@scorer(
    "sample_consistency",
    family="consistency",
    metrics=[
        Metric(
            "sample_similarity",
            "mean pairwise TF-IDF cosine of one candidate's repeated samples of an item "
            "(group value on every sample)",
        ),
        Metric(
            "sample_claim_agreement",
            "mean pairwise Jaccard of the samples' checkable claims (group value)",
        ),
    ],
)
def sample_consistency_scorer(**_: Any) -> ScoreFn:
    """Agreement across repeated samples of one item for the same candidate."""

    def score(frame: pd.DataFrame, dataset: Dataset) -> pd.DataFrame:
        return _consistency(frame, dataset, "item_id", "sample")

    return score


@scorer(
    "paraphrase_consistency",
    family="consistency",
    metrics=[
        Metric(
            "paraphrase_similarity",
            "mean TF-IDF cosine between one candidate's drafts for different phrasings of one "
            "question (group value on every row of the paraphrase group)",
        ),
        Metric(
            "paraphrase_claim_agreement",
            "mean Jaccard of the claims those drafts make, claims echoing each input dropped "
            "(group value)",
        ),
    ],
)
def paraphrase_consistency_scorer(**_: Any) -> ScoreFn:
    """Does one candidate give one answer to one question, however it is asked?"""

    def score(frame: pd.DataFrame, dataset: Dataset) -> pd.DataFrame:
        return _consistency(frame, dataset, "paraphrase_group", "paraphrase")

    return score
