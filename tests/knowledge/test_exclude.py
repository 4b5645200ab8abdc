"""Leave-one-out, proved with Hypothesis: no search for an item ever returns its own answer,
an answer of its paraphrase group, a passage more than 0.8 similar to its answer (whatever its
id: duplicate export rows, a policy quoting the FAQ), or anything dated after it."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness.data.dataset import Dataset
from harness.knowledge import build, exclude_for, normalise, retrieve

WORDS = ["bus", "pass", "lunch", "fee", "ten", "office", "form", "nurse", "bell", "late"]
DATES = [None, "2025-09-01", "2025-10-01", "2025-11-01"]


def lcs_similarity(a: str, b: str) -> float:
    """Plain reference for RapidFuzz's normalised Indel similarity: 2 * LCS / (|a| + |b|)."""
    if not a and not b:
        return 1.0
    prev = [0] * (len(b) + 1)
    for ca in a:
        cur = [0]
        for j, cb in enumerate(b):
            cur.append(prev[j] + 1 if ca == cb else max(prev[j + 1], cur[j]))
        prev = cur
    return 2 * prev[-1] / (len(a) + len(b))


sentence = st.lists(st.sampled_from(WORDS), min_size=3, max_size=12).map(" ".join)


@st.composite
def datasets(draw):
    n = draw(st.integers(2, 7))
    answers = draw(st.lists(sentence, min_size=n, max_size=n))
    rows = []
    for i in range(n):
        dup = draw(st.integers(-1, i - 1)) if i else -1  # an export repeating an earlier row
        ref = answers[dup] if dup >= 0 and draw(st.booleans()) else answers[i]
        rows.append(
            {
                "id": f"q{i}",
                "task": "faq_reply",
                "input": draw(sentence),
                "reference": ref,
                "source_ids": [],
                "category": "general",
                "paraphrase_group": draw(st.sampled_from([None, "g1", "g2"])),
                "date": draw(st.sampled_from(DATES)),
                "language": "en",
            }
        )
    docs = []
    for j in range(draw(st.integers(0, 4))):
        quote = draw(st.sampled_from([*answers, ""]))  # a policy quoting an FAQ answer
        docs.append(
            {
                "id": f"d{j}",
                "title": f"Policy {j}",
                "category": None,
                "status": draw(st.sampled_from(["current", "current", "superseded"])),
                "superseded_by": None,
                "effective": draw(st.sampled_from(DATES)),
                "text": (quote + "\n\n" + draw(sentence)).strip(),
                "file": f"d{j}.md",
                "titled": True,
            }
        )
    items = pd.DataFrame(rows).set_index("id", drop=False)
    items.index.name = None
    items = items.drop(columns="id")
    sources = pd.DataFrame(
        docs,
        columns=[
            "id",
            "title",
            "category",
            "status",
            "superseded_by",
            "effective",
            "text",
            "file",
            "titled",
        ],
    ).set_index("id")
    groups = items["paraphrase_group"].dropna()
    items.loc[
        items["paraphrase_group"].isin(groups[groups.duplicated()]) == False,  # noqa: E712
        "paraphrase_group",
    ] = None  # a group has 2 or more items
    return Dataset(Path("hypothesis"), items, sources, fingerprint=f"h{id(items)}")


@pytest.mark.filterwarnings("ignore::UserWarning")
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ds=datasets(), k=st.sampled_from([1, 3, 50]))
def test_no_search_returns_what_the_item_must_not_see(ds, k):
    kb = build(ds, cache=False)
    items = ds.items
    for iid in items.index:
        item = ds.item(iid)
        group = item["paraphrase_group"]
        banned = {iid} | (set(items.index[items["paraphrase_group"] == group]) if group else set())
        answer = normalise(item["reference"])
        for query in (item["input"], item["reference"]):  # even searching its own answer
            hits = kb.search(query, k, exclude=exclude_for(kb, item))
            for _, h in hits.iterrows():
                assert not (h["kind"] == "answer" and h["doc_id"] in banned)
                assert lcs_similarity(normalise(h["text"]), answer) <= 0.8 + 1e-9
                if isinstance(item["date"], str) and isinstance(h["effective"], str):
                    assert h["effective"] <= item["date"]
        assert len(retrieve(kb, item, k)) <= k


def test_a_duplicate_row_under_another_id_is_left_out(mini):
    from harness.data.dataset import load_dataset

    ds = load_dataset(mini)
    item = ds.item("faq-004")
    twin = {**ds.item("faq-001"), "reference": item["reference"]}  # the same answer, another id
    ds.items = pd.concat([ds.items, pd.DataFrame([twin]).set_index(pd.Index(["faq-999"]))])
    ds.fingerprint = "twin"
    kb = build(ds, cache=False)
    hits = kb.search(item["reference"], 50, exclude=exclude_for(kb, item))
    assert "faq-999" not in set(hits["doc_id"]) and "faq-004" not in set(hits["doc_id"])
    assert "faq-999" in set(kb.search(item["reference"], 50)["doc_id"])  # it is indexed
