"""Which items a run covers: the plan's tasks, its documented subset, a limit and a shard."""

from __future__ import annotations

import pandas as pd

from harness.datasets import Dataset
from harness.errors import RunError
from harness.plan import Plan


def select_items(
    plan: Plan, dataset: Dataset, limit: int | None = None, shard: tuple[int, int] | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The items the plan runs, and the items its tasks do not cover (reported, not hidden)."""
    items = dataset.items
    covered = items[items["task"].isin(plan.tasks)]
    uncovered = items[~items["task"].isin(plan.tasks)]
    sel = plan.select
    if sel.ids:
        missing = sorted(set(sel.ids) - set(covered.index))
        if missing:
            raise RunError(
                f"the plan selects item ids that its tasks do not cover: {', '.join(missing[:10])}"
            )
        covered = covered.loc[sel.ids]
    if sel.per_category:
        # Deterministic, documented subset: per category, items in paraphrase groups first
        # (whole groups, so consistency can be measured), then the rest, by id.
        picked = []
        for _, grp in covered.sort_index().groupby("category", sort=True):
            order = grp.assign(
                _g=grp["paraphrase_group"].isna() if sel.prefer_paraphrase_groups else False
            )
            order = order.sort_values(["_g", "paraphrase_group", "id"], na_position="last")
            picked.extend(order.index[: sel.per_category].tolist())
        if sel.include_sensitive:
            picked.extend(covered.index[covered["sensitive"]].tolist())
        covered = covered.loc[sorted(set(picked))]
    if sel.limit:
        covered = covered.iloc[: sel.limit]
    if limit:
        covered = covered.iloc[:limit]
    if shard:
        i, n = shard
        import zlib

        mask = [zlib.crc32(str(k).encode()) % n == i - 1 for k in covered.index]
        covered = covered[mask]
    return covered, uncovered
