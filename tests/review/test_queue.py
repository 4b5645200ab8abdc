"""Queue building: blind balance per stratum, the double-review share, seeded order, modes."""

from __future__ import annotations

from collections import Counter

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.review.queue import CONTROL, build_queue, draft_id, drafts_from_run


def _drafts(n_items: int, candidates: list[str], categories: list[str]) -> pd.DataFrame:
    rows = []
    for i in range(n_items):
        item = f"i{i:03d}"
        for c in candidates:
            rows.append(
                {
                    "draft_id": draft_id(item, c),
                    "item_id": item,
                    "candidate": c,
                    "category": categories[i % len(categories)],
                    "text": f"draft {c} {i}",
                    "control": c == CONTROL,
                }
            )
    return pd.DataFrame(rows)


def _items(n_items: int, categories: list[str]) -> pd.DataFrame:
    ids = [f"i{i:03d}" for i in range(n_items)]
    return pd.DataFrame(
        {
            "category": [categories[i % len(categories)] for i in range(n_items)],
            "reference": ["ref"] * n_items,
            "input": ["q"] * n_items,
        },
        index=pd.Index(ids, name="item_id"),
    )


@settings(max_examples=30, deadline=None)
@given(
    n_items=st.integers(1, 40),
    n_cands=st.integers(1, 5),
    n_cats=st.integers(1, 4),
    n_reviewers=st.integers(1, 6),
    share=st.floats(0, 1),
    seed=st.integers(0, 10_000),
)
def test_balance_laws(n_items, n_cands, n_cats, n_reviewers, share, seed):
    cands = [f"c{k}" for k in range(n_cands)]
    drafts = _drafts(n_items, cands, [f"cat{k}" for k in range(n_cats)])
    names = [f"r{k}" for k in range(n_reviewers)]
    q = build_queue(drafts, names, seed=seed, double_share=share)
    first = q[q["review"] == 1]
    # every draft is reviewed, once by its first reviewer
    assert sorted(first["draft_id"]) == sorted(drafts["draft_id"])
    # within every (category, candidate) stratum the first reviews are dealt evenly
    merged = first.merge(drafts[["draft_id", "candidate", "category"]], on="draft_id")
    counts = merged.groupby(["category", "candidate", "reviewer"]).size()
    for (cat, cand), grp in counts.groupby(level=[0, 1]):
        full = grp.reindex(pd.MultiIndex.from_product([[cat], [cand], names]), fill_value=0)
        assert full.max() - full.min() <= 1
    # workloads stay level: at most one task per stratum apart, plus one for the doubles
    loads = q["reviewer"].value_counts().reindex(names, fill_value=0)
    n_strata = n_cands * min(n_cats, n_items)
    assert loads.max() - loads.min() <= n_strata + n_cands + 1
    # a double review always goes to a second, different reviewer
    twice = q[q["double"]].groupby("draft_id")["reviewer"].agg(list)
    for revs in twice:
        assert len(revs) == 2 and revs[0] != revs[1]
    # positions are 0..n-1 per reviewer
    for _, g in q.groupby("reviewer"):
        assert sorted(g["position"]) == list(range(len(g)))


@pytest.mark.parametrize(
    "n_items,share,reviewers,expected_per_candidate",
    [
        (50, 0.2, 3, 10),
        (50, 0.0, 3, 0),
        (50, 1.0, 2, 50),
        (7, 0.2, 2, 1),  # round(1.4)
        (50, 0.2, 1, 0),  # one reviewer: nobody to agree with
    ],
)
def test_double_review_share(n_items, share, reviewers, expected_per_candidate):
    drafts = _drafts(n_items, ["a", "b", CONTROL], ["x", "y"])
    q = build_queue(drafts, [f"r{k}" for k in range(reviewers)], seed=3, double_share=share)
    doubled = (
        q[q["double"]]
        .merge(drafts[["draft_id", "candidate"]], on="draft_id")
        .groupby("candidate")["draft_id"]
        .nunique()
    )
    for cand in ("a", "b", CONTROL):
        assert int(doubled.get(cand, 0)) == expected_per_candidate
    assert len(q) == len(drafts) + expected_per_candidate * 3


def test_order_is_seeded_and_shuffled():
    drafts = _drafts(30, ["a", "b", "c"], ["x", "y", "z"])
    one = build_queue(drafts, ["Ana", "Ben"], seed=7)
    again = build_queue(drafts, ["Ana", "Ben"], seed=7)
    other = build_queue(drafts, ["Ana", "Ben"], seed=8)
    pd.testing.assert_frame_equal(one, again)
    assert not one.equals(other)
    ana = one[one["reviewer"] == "Ana"].sort_values("position")
    # not grouped by candidate: the first ten drafts mix candidates
    assert (
        ana.merge(drafts[["draft_id", "candidate"]], on="draft_id").head(10)["candidate"].nunique()
        > 1
    )


def test_each_reviewer_sees_each_candidate_on_a_similar_category_mix():
    cats = ["transport", "meals", "enrolment"]
    drafts = _drafts(60, ["a", "b", CONTROL], cats)
    q = build_queue(drafts, ["Ana", "Ben", "Cy"], seed=1, double_share=0.0)
    m = q.merge(drafts[["draft_id", "candidate", "category"]], on="draft_id")
    mix = m.groupby(["reviewer", "candidate", "category"]).size().unstack("category")
    assert (mix.max() - mix.min()).max() <= 1
    # and as few repeats of one question per reviewer as possible (3 drafts per item, 3 people)
    repeats = Counter(zip(m["reviewer"], m["item_id"], strict=True))
    assert max(repeats.values()) == 1


def test_scratch_comes_first_and_side_by_side_swaps_between_reviewers():
    cats = ["x", "y"]
    drafts = _drafts(20, ["a", "b", CONTROL], cats)
    q = build_queue(
        drafts,
        ["Ana", "Ben"],
        seed=2,
        double_share=0.5,
        modes=("drafts", "scratch", "side_by_side"),
        items=_items(20, cats),
        pair=("a", "b"),
    )
    for _, g in q.groupby("reviewer"):
        modes = g.sort_values("position")["mode"].tolist()
        assert modes == sorted(modes, key=["scratch", "drafts", "side_by_side"].index)
    pairs = q[q["mode"] == "side_by_side"]
    assert len(pairs.drop_duplicates("item_id")) == 20
    for _, g in pairs[pairs["double"]].groupby("item_id"):
        assert sorted(g["swapped"]) == [False, True]
    for _, g in pairs.groupby("reviewer"):  # each reviewer sees 'a' on the left about half the time
        assert abs(g["swapped"].mean() - 0.5) <= 0.5 / len(g) + 0.1
    scratch = q[q["mode"] == "scratch"]
    assert len(scratch) == 4 and scratch["item_id"].is_unique  # 20% of 10 per category


@pytest.mark.parametrize(
    "kwargs,message",
    [
        ({"reviewers": []}, "reviewers"),
        ({"reviewers": ["Ana", "Ana"]}, "distinct"),
        ({"modes": ("draft",)}, "valid modes: drafts"),
        ({"double_share": 1.5}, "0-1"),
        ({"modes": ("side_by_side",)}, "pair="),
        ({"modes": ("side_by_side",), "pair": ("a", "zz")}, "zz"),
    ],
)
def test_bad_queue_options_say_what_to_fix(kwargs, message):
    drafts = _drafts(4, ["a", "b"], ["x"])
    reviewers = kwargs.pop("reviewers", ["Ana", "Ben"])
    with pytest.raises(ValueError, match=message):
        build_queue(drafts, reviewers, **kwargs)


def test_drafts_from_run_keeps_sample_zero_ok_outputs_and_adds_the_control():
    gens = pd.DataFrame(
        {
            "item_id": ["i1", "i1", "i1", "i2", "i2"],
            "candidate": ["m", "m", "b", "m", "b"],
            "sample": [0, 1, 0, 0, 0],
            "status": ["ok", "ok", "ok", "error", "ok"],
            "output": ["m1", "m1 again", "b1", None, "  "],
        }
    )
    items = _items(3, ["x"]).rename(index={"i000": "i1", "i001": "i2", "i002": "i3"})
    d = drafts_from_run(gens, items)
    assert sorted(zip(d["item_id"], d["candidate"], strict=True)) == [
        ("i1", CONTROL),
        ("i1", "b"),
        ("i1", "m"),
    ]
    assert d.loc[d["candidate"] == CONTROL, "text"].item() == "ref"
    assert d["draft_id"].is_unique and not d.loc[d["candidate"] == "m", "control"].item()


@pytest.mark.parametrize("include_control", [True, False])
def test_the_runs_reference_row_is_never_a_second_copy_of_the_control(include_control):
    """Every real plan scores the approved answer (kind ``reference``): one draft per item."""
    gens = pd.DataFrame(
        {
            "item_id": ["i1", "i1"],
            "candidate": ["m", CONTROL],
            "sample": [0, 0],
            "status": ["ok", "ok"],
            "kind": ["model", "reference"],
            "output": ["m1", "ref"],
        }
    )
    items = _items(1, ["x"]).rename(index={"i000": "i1"})
    d = drafts_from_run(gens, items, include_control=include_control)
    assert d["draft_id"].is_unique
    assert sorted(d["candidate"]) == (["approved_answer", "m"] if include_control else ["m"])
    assert d.loc[d["candidate"] == CONTROL, "control"].all()


@pytest.mark.parametrize(
    "reviewers,n_items,same_for_item,canned,cap,per_reviewer_canned,removed",
    [
        # one reviewer, two candidates wrote the same text for each question: shown once
        (["Ana"], 4, True, False, 3, None, {"same_draft": 4, "same_text": 0}),
        # the same canned reply to every question (20 + 4 second reviews): `cap` per reviewer
        (["Ana", "Ben"], 20, False, True, 3, 3, {"same_draft": 0, "same_text": 18}),
        (["Ana", "Ben", "Cy"], 20, False, True, 2, 2, {"same_draft": 0, "same_text": 18}),
        (["Ana", "Ben"], 20, False, True, 50, 12, {"same_draft": 0, "same_text": 0}),
    ],
)
def test_no_reviewer_sees_a_draft_twice_nor_the_same_canned_reply_over_and_over(
    reviewers, n_items, same_for_item, canned, cap, per_reviewer_canned, removed
):
    drafts = _drafts(n_items, ["a", "b", "canned"], ["x", "y"])
    if same_for_item:  # a and b wrote the same text (spacing and case aside)
        b = drafts["candidate"] == "b"
        drafts.loc[b, "text"] = drafts.loc[b, "item_id"].map(lambda i: f"DRAFT  a {int(i[1:])}")
    if canned:
        drafts.loc[drafts["candidate"] == "canned", "text"] = "Thank you, we will reply."
    q = build_queue(drafts, reviewers, seed=1, double_share=0.2, max_same_text=cap)
    assert q.attrs["removed"] == removed
    m = q.merge(drafts[["draft_id", "candidate", "text"]], on="draft_id")
    m["key"] = m["text"].str.split().str.join(" ").str.casefold()
    assert not m.duplicated(["reviewer", "item_id", "key"]).any()
    if per_reviewer_canned is not None:
        counts = m[m["candidate"] == "canned"].groupby("reviewer").size()
        assert counts.max() == per_reviewer_canned
    for _, g in q[q["double"]].groupby("draft_id"):  # doubles still go to two people
        assert len(g) == 2 and g["reviewer"].nunique() == 2
    assert (q.groupby("draft_id")["review"].max() <= 2).all()


def test_drafts_are_plain_text_and_placeholders_are_listed():
    gens = pd.DataFrame(
        {
            "item_id": ["i1", "i1"],
            "candidate": ["retrieval", "m"],
            "sample": [0, 0],
            "status": ["ok", "ok"],
            "output": ["| Item | Fee |\n|---|---|\n| Pass | $10 |", "Dear [Parent's Name], **hi**"],
        }
    )
    items = _items(1, ["x"]).rename(index={"i000": "i1"})
    items.loc["i1", "reference"] = "## Fees\nA pass is **$10**."
    d = drafts_from_run(gens, items).set_index("candidate")
    assert d.at["retrieval", "text"] == "Item: Pass; Fee: $10"
    assert d.at["m", "text"] == "Dear [Parent's Name], hi"
    assert d.at[CONTROL, "text"] == "Fees\nA pass is $10."
    assert d.at["m", "placeholders"] == '["[Parent\'s Name]"]'
    assert d.at["retrieval", "placeholders"] == "[]"
