"""A limited selection that spans the categories instead of taking the first N items.

``RunOptions(limit=N)`` used to take the first N rows, which in a dataset sorted by category
are all one topic. :func:`round_robin` takes one item per category in turn (categories and the
items inside each in a seeded random order), so five items cover five categories.
"""

from __future__ import annotations

import random

import pandas as pd


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
