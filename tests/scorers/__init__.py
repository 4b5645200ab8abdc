"""Shared helpers for the scorer tests."""

from __future__ import annotations

import pandas as pd

from harness.data.dataset import Dataset
from harness.scorers.scoring import scoring_frame


def frame_of(dataset: Dataset, rows: list[tuple]) -> pd.DataFrame:
    """A scoring frame from (item_id, candidate, sample, output) rows, as a stored run gives."""
    gens = pd.DataFrame(
        [
            {
                "key": f"k{i}",
                "item_id": iid,
                "candidate": c,
                "sample": s,
                "task": dataset.items.loc[iid, "task"],
                "output": o,
                "status": "ok",
            }
            for i, (iid, c, s, o) in enumerate(rows)
        ]
    )
    return scoring_frame(gens, dataset)
