"""Which items a run covers: the plan's tasks, its documented subset, a limit and a shard.

A limit (``RunOptions(limit=N)``, ``select.limit``) draws round-robin across categories
(:func:`round_robin`), so five items cover five categories instead of the first five rows.
"""

from __future__ import annotations

import random

import pandas as pd

from harness.data.dataset import Dataset
from harness.errors import RunError
from harness.plan.spec import Plan


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
        covered = round_robin(covered, sel.limit)
    if limit:
        covered = round_robin(covered, limit)
    if shard:
        i, n = shard
        import zlib

        mask = [zlib.crc32(str(k).encode()) % n == i - 1 for k in covered.index]
        covered = covered[mask]
    return covered, uncovered


def round_robin(items: pd.DataFrame, limit: int, seed: int = 20261201) -> pd.DataFrame:
    """At most ``limit`` items drawn round-robin across ``category``, seeded, in index order.

    Args:
        items: items indexed by id, with a ``category`` column.
        limit: how many to keep (all of them when the frame is no longer).
        seed: the draw's seed: the same items, seed and limit give the same selection.

    Returns:
        The selected rows, in the frame's original order.
    """
    if limit < 0:
        raise ValueError(f"limit must be >= 0, not {limit}")
    if limit >= len(items):
        return items
    rng = random.Random(seed)
    queues: list[list[object]] = []
    for _, grp in items.groupby("category", sort=True):
        ids = sorted(grp.index.tolist(), key=str)
        rng.shuffle(ids)
        queues.append(ids)
    rng.shuffle(queues)
    picked: set[object] = set()
    while len(picked) < limit:
        for q in queues:
            if q and len(picked) < limit:
                picked.add(q.pop(0))
    return items[items.index.isin(list(picked))]
