"""A plain export, as a district has one: 40 FAQ rows (question, answer, category) and a folder
of policies without front matter, imported and run with the shipped baselines plan."""

from __future__ import annotations

import csv
import json
import re

import pandas as pd
import pytest
from rapidfuzz.distance import Indel

from harness.data.dataset import load_dataset
from harness.importers import import_export
from harness.knowledge import given_passages, normalise
from harness.run.runner import RunOptions, run_plan

from ..conftest import REPO, SAMPLE

FRONT = re.compile(r"\A---\s*\n.*?\n---\s*\n", re.S)


@pytest.fixture(scope="module")
def plain(tmp_path_factory):
    root = tmp_path_factory.mktemp("plain")
    rows = [json.loads(x) for x in (SAMPLE / "items.jsonl").read_text().splitlines()]
    faq = [r for r in rows if r["task"] == "faq_reply"][:40]
    with (root / "faq.csv").open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["question", "answer", "category"])
        w.writerows([r["input"], r["reference"], r["category"]] for r in faq)
    policies = root / "policies"
    policies.mkdir()
    for p in (SAMPLE / "sources").glob("*.md"):
        (policies / p.name).write_text(FRONT.sub("", p.read_text(encoding="utf-8")), "utf-8")
    import_export(root / "faq.csv", root / "ds", sources=policies)
    store = run_plan(
        REPO / "plans" / "baselines.yaml",
        dataset=root / "ds",
        results_dir=root / "results",
        options=RunOptions(progress=False),
    )
    return root / "ds", store


def test_the_retrieval_baseline_drafts_nearly_every_item_and_never_its_own_answer(plain):
    ds_path, store = plain
    ds = load_dataset(ds_path)
    gens = store.generations()
    ret = gens[gens["candidate"] == "retrieval"]
    assert len(ret) == 40
    assert (ret["status"] == "ok").mean() >= 0.95
    for _, g in ret[ret["status"] == "ok"].iterrows():
        ref = normalise(ds.items.loc[g["item_id"], "reference"])
        assert Indel.normalized_similarity(normalise(g["output"]), ref) <= 0.8
        assert g["context"] == "retrieved"
        assert json.loads(g["passage_ids"])
    failed = ret[ret["status"] == "failed"]
    assert failed["error"].str.contains("knowledge base").all()  # the reason is recorded
    assert store.read_manifest()["counts"]["failed"] == int((gens["status"] == "failed").sum())


def test_what_the_retrieval_baseline_was_given_reads_back(plain):
    ds_path, store = plain
    ds = load_dataset(ds_path)
    gens = store.generations()
    g = gens[(gens["candidate"] == "retrieval") & (gens["status"] == "ok")].iloc[0]
    given = given_passages(ds, g, cache_dir=store.path.parent / ".cache" / "knowledge")
    assert len(given) == 1 and given[0]["text"] == g["output"]
    assert given[0]["status"] == "current" and given[0]["title"]
    # the approved answer's row was given nothing: support reads the top-k the index finds
    ref = gens[gens["candidate"] == "approved_answer"].iloc[0]
    assert pd.isna(ref["context"]) or ref["context"] is None
    top = given_passages(ds, ref, cache_dir=store.path.parent / ".cache" / "knowledge")
    assert 1 <= len(top) <= 3
    assert ref["item_id"] not in {p["doc_id"] for p in top}
