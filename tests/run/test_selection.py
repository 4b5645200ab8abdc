from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from harness.data.dataset import load_dataset
from harness.run.selection import round_robin
from tests.conftest import SAMPLE


def _items(cats: list[str]) -> pd.DataFrame:
    ids = [f"i{n:03d}" for n in range(len(cats))]
    return pd.DataFrame({"id": ids, "category": cats}, index=pd.Index(ids, name="item_id"))


@pytest.mark.parametrize(("limit", "categories"), [(5, 5), (10, 10), (3, 3)])
def test_limit_draws_across_categories(limit, categories):
    items = load_dataset(SAMPLE).items
    items = items[items["task"] == "faq_reply"].sort_values("category")
    assert items.iloc[:limit]["category"].nunique() == 1  # what taking the first N did
    picked = round_robin(items, limit)
    assert len(picked) == limit and picked["category"].nunique() == categories


def test_seeded_and_in_original_order():
    items = _items(["a"] * 10 + ["b"] * 10 + ["c"] * 2)
    one, two = round_robin(items, 7, seed=1), round_robin(items, 7, seed=1)
    assert one.index.tolist() == two.index.tolist()
    assert one.index.tolist() == sorted(one.index)
    assert any(
        round_robin(items, 7, seed=s).index.tolist() != one.index.tolist() for s in range(2, 6)
    )


@given(
    st.lists(st.sampled_from("abcde"), min_size=1, max_size=40),
    st.integers(0, 45),
    st.integers(0, 99),
)
def test_round_robin_laws(cats, limit, seed):
    items = _items(cats)
    picked = round_robin(items, limit, seed=seed)
    assert len(picked) == min(limit, len(items))
    assert set(picked.index) <= set(items.index)
    have = items["category"].value_counts()
    got = picked["category"].value_counts().reindex(have.index, fill_value=0)
    # balanced: a category gets fewer than another only when it ran out
    for c in have.index:
        if got[c] < got.max() - 1:
            assert got[c] == have[c]
