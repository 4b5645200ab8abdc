"""The precomputed BM25 weights rank exactly as SQLite FTS5's own ``bm25()`` does.

The reference is FTS5 itself, asked as the knowledge base asked it before the weights were
precomputed: ``bm25(fts, 0, TITLE_WEIGHT, 1, 0)`` over ``"t1" OR "t2" ...`` of the query's
terms, every matching row, then the same filters (kind, status, task, leave-one-out).
"""

from __future__ import annotations

import math
import random
import sqlite3
import warnings

import numpy as np
import pytest

from harness.data.dataset import load_dataset
from harness.knowledge import build, exclude_for
from harness.knowledge.bm25 import ranked
from harness.knowledge.index import TITLE_WEIGHT

from ..conftest import MINI, SAMPLE

REL = 1e-9  # scores equal within this relative difference


def _fts5(kb, terms: list[str]) -> list[tuple[str, float]]:
    """Every passage FTS5 matches for these terms with its BM25 (greater = better, as the
    knowledge base reports it), best first; passages matched only by their tags (weight 0)
    are left out, as the knowledge base never returns them."""
    match = " OR ".join(f'"{t}"' for t in terms)
    got = kb.db.execute(
        "SELECT pid, bm25(fts, 0, ?, 1, 0) AS s FROM fts WHERE fts MATCH ? ORDER BY s",
        (TITLE_WEIGHT, match),
    ).fetchall()
    return [(pid, -s) for pid, s in got if s != 0]


def _close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=REL, abs_tol=0.0)


def _same_ranking(ours: list[tuple[str, float]], ref: list[tuple[str, float]], k: int) -> None:
    """``ours`` is ``ref``'s top ``k``: same length and scores position by position; the same
    ids, except that passages tied on a score may come in any order (and, at the cut, any of
    the tied ones may be the ones kept)."""
    assert len(ours) == min(k, len(ref))
    for (_, a), (_, b) in zip(ours, ref, strict=False):
        assert _close(a, b), (ours, ref[:k])
    for pid, score in ours:
        tied = {p for p, s in ref if _close(s, score)}
        assert pid in tied, (pid, score, ref[:k])
    assert len({p for p, _ in ours}) == len(ours)


@pytest.fixture(scope="module", params=["mini", "sample"])
def district(request, tmp_path_factory):
    ds = load_dataset(MINI if request.param == "mini" else SAMPLE)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        kb = build(ds, tmp_path_factory.mktemp("kb"))
    return ds, kb


def test_every_matching_passage_scores_as_fts5s_bm25(district):
    """For every item's message (and its approved answer, a longer query), every passage FTS5
    matches has the score FTS5 gives it, and no other passage scores."""
    ds, kb = district
    order = {pid: i for i, pid in enumerate(kb.order)}
    queries = 0
    for _, item in ds.items.iterrows():
        lang = item.get("language")
        for text in (str(item["input"]), str(item["reference"])):
            terms = kb.query_terms(text, lang if lang in ("en", "es") else None)
            if not terms:
                continue
            ref = _fts5(kb, terms)
            scores = kb.scoring.scores(terms)
            assert {order[p] for p, _ in ref} == set(np.flatnonzero(scores > 0).tolist())
            for pid, s in ref:
                assert _close(float(scores[order[pid]]), s), (text, pid)
            queries += 1
    assert queries >= 0.9 * 2 * len(ds.items)


def test_document_frequencies_are_fts5s(district):
    """The query's terms are chosen by how many passages hold each in their text (``_telling``):
    the counts are FTS5's own (its ``fts5vocab`` column table)."""
    _, kb = district
    kb.db.execute("CREATE VIRTUAL TABLE IF NOT EXISTS temp.cols USING fts5vocab(main, fts, 'col')")
    fts5 = dict(kb.db.execute("SELECT term, doc FROM temp.cols WHERE col = 'body'").fetchall())
    assert kb.doc_freq == fts5 and len(fts5) > 100


@pytest.mark.parametrize("kinds", [("answer", "document"), ("document",)])
def test_a_search_returns_fts5s_top_k_after_the_same_filters(district, kinds):
    """What :func:`harness.knowledge.retrieve_rows` and ``rank_documents`` ask: the top k of
    each item's message, leave-one-out applied, equal to FTS5's ranking filtered the same way."""
    ds, kb = district
    k = 5
    for iid, row in ds.items.iterrows():
        item = ds.item(iid)
        lang = item.get("language")
        lang = lang if lang in ("en", "es") else None
        task = row["task"] if kinds != ("document",) else None
        exclude = exclude_for(kb, item)
        found = kb.search_rows(
            str(item["input"]), k, exclude=exclude, kinds=kinds, task=task, language=lang
        )
        terms = kb.query_terms(str(item["input"]), lang)
        ref = []
        for pid, s in _fts5(kb, terms) if terms else []:
            p = kb.rows[pid]
            if p["kind"] not in kinds or p["status"] != "current":
                continue
            if task is not None and p["kind"] == "answer" and p["task"] != task:
                continue
            if not exclude.excludes(pid, p):
                ref.append((pid, s))
        _same_ranking([(r["passage_id"], r["score"]) for r in found], ref, k)
        assert [r["rank"] for r in found] == list(range(1, len(found) + 1))


def test_superseded_passages_are_ranked_when_asked_for(district):
    _, kb = district
    terms = kb.query_terms("bus pass replacement cost", "en")
    ref = [(p, s) for p, s in _fts5(kb, terms) if kb.rows[p]["kind"] == "document"]
    assert any(kb.rows[p]["status"] == "superseded" for p, _ in ref[:8])
    found = kb.search_rows(
        "bus pass replacement cost", 8, kinds=("document",), current_only=False, language="en"
    )
    _same_ranking([(r["passage_id"], r["score"]) for r in found], ref, 8)


@pytest.mark.parametrize("first", [1, 2, 3, 7, 50])
def test_ranked_gives_every_positive_score_once_best_first_ties_by_row(first):
    rng = random.Random(first)
    scores = np.array([rng.choice([0.0, 0.5, 1.0, 1.5, 2.0, rng.random()]) for _ in range(40)])
    got = []
    for i in ranked(scores, first):
        got.append(i)
    want = sorted(np.flatnonzero(scores > 0).tolist(), key=lambda i: (-scores[i], i))
    assert got == want
    partial = ranked(scores, first)  # read lazily: the first ones need no full sort
    assert [next(partial) for _ in range(min(first, len(want)))] == want[: min(first, len(want))]


def test_tampered_bm25_weights_are_rebuilt_never_trusted(mini, tmp_path):
    ds = load_dataset(mini)
    kb = build(ds, tmp_path)
    kb.db.close()
    db = sqlite3.connect(kb.path)
    w = np.frombuffer(db.execute("SELECT value FROM bm25 WHERE name = 'weights'").fetchone()[0])
    bent = w.copy()
    bent[0] *= 100  # one passage's weight for one term
    db.execute("UPDATE bm25 SET value = ? WHERE name = 'weights'", (bent.tobytes(),))
    db.commit()
    db.close()
    with pytest.warns(UserWarning, match="BM25 weights do not match their checksum.*rebuilt"):
        again = build(ds, tmp_path)
    assert again.rebuilt and np.array_equal(again.scoring.weights, w)


def test_weights_that_do_not_fit_the_passages_are_rebuilt(mini, tmp_path):
    """Arrays whose checksum was recomputed but that no longer fit (a truncated array) are
    refused too."""
    from harness.knowledge import bm25

    ds = load_dataset(mini)
    kb = build(ds, tmp_path)
    kb.db.close()
    db = sqlite3.connect(kb.path)
    blobs = dict(db.execute("SELECT name, value FROM bm25").fetchall())
    blobs["rows"] = blobs["rows"][:-4]
    db.execute("UPDATE bm25 SET value = ? WHERE name = 'rows'", (blobs["rows"],))
    db.execute("UPDATE meta SET value = ? WHERE key = 'bm25'", (bm25.digest(blobs),))
    db.commit()
    db.close()
    with pytest.warns(UserWarning, match="do not fit together.*rebuilt"):
        again = build(ds, tmp_path)
    assert again.rebuilt and len(again.scoring.rows) == len(again.scoring.weights)
