"""What a model candidate is given: retrieved passages by default, linked sources on request;
recorded on each generation and read back by :func:`harness.knowledge.given_passages`."""

from __future__ import annotations

import json

import pytest

from harness.data.dataset import load_dataset
from harness.knowledge import given_passages
from harness.run.runner import RunOptions, run_plan

from ..conftest import model_candidate, write_plan

TEMPLATE = "{% for s in retrieved %}[{{ s.id }}] {{ s.title }}: {{ s.text }}\n{% endfor %}Q: {{ item.input }}"


@pytest.mark.parametrize("context", ["retrieved", "linked"])
def test_a_model_candidate_is_given_and_records_its_context(
    mini, tmp_path, results, loopback, context
):
    srv = loopback()
    extra = {} if context == "retrieved" else {"context": "linked"}
    plan = write_plan(tmp_path, mini, [model_candidate(srv.base_url, **extra)])
    (tmp_path / "prompt.j2").write_text(TEMPLATE, encoding="utf-8")
    store = run_plan(plan, results_dir=results, options=RunOptions(progress=False), score=False)
    gens = store.generations()
    ds = load_dataset(mini)
    assert (gens["context"] == context).all()
    sent = {r["messages"][-1]["content"] for r in srv.recorded.requests}
    for _, g in gens.iterrows():
        ids = json.loads(g["passage_ids"])
        item = ds.item(g["item_id"])
        if context == "linked":
            assert ids == list(item["source_ids"])
        else:
            assert 1 <= len(ids) <= 3 and all("#" in i for i in ids)
            assert all(i.split("#")[0] != g["item_id"] for i in ids)  # never its own answer
            prompt = next(p for p in sent if p.endswith("Q: " + item["input"]))
            assert item["reference"] not in prompt
            assert all(f"[{i}]" in prompt for i in ids)
        given = given_passages(ds, g, cache_dir=results / ".cache" / "knowledge")
        assert [p["id"] for p in given] == ids
        assert all(p["text"] and p["status"] in ("current", "superseded") for p in given)


def test_the_shipped_prompt_uses_retrieved_passages():
    from ..conftest import REPO

    text = (REPO / "plans" / "prompts" / "faq_reply.j2").read_text(encoding="utf-8")
    assert "{% for s in retrieved %}" in text


def test_given_passages_searches_once_per_item_and_k(mini, tmp_path):
    """A record with nothing recorded (the approved answer, a canned reply, a vendor's drafts) is
    read back as the top k the index finds: the claims scorer and the report's claims table ask
    for the same item again and again, and only the first ask searches the index."""
    from harness.knowledge import knowledge_base

    ds = load_dataset(mini)
    cache = tmp_path / "kb"
    kb = knowledge_base(ds, cache)
    iid = str(ds.items.index[0])
    before = kb.searches
    first = given_passages(ds, {"item_id": iid}, cache_dir=cache)
    assert kb.searches == before + 1
    for candidate in ("reference", "canned", "vendor"):
        again = given_passages(ds, {"item_id": iid, "candidate": candidate}, cache_dir=cache)
        assert again == first
    assert kb.searches == before + 1
    given_passages(ds, {"item_id": iid}, k=1, cache_dir=cache)  # another k: searched anew
    assert kb.searches == before + 2
    given_passages(ds, {"item_id": str(ds.items.index[1])}, cache_dir=cache)
    assert kb.searches == before + 3


def test_scoring_a_run_reads_the_index_in_its_own_results_folder(mini, tmp_path, monkeypatch):
    """``harness score RUN --results X``: the claims scorer reads back what the approved-answer
    row was given from the knowledge base under X, never building a second index under the
    default results folder (the working folder's ``results/`` or ``$HARNESS_RESULTS``)."""
    from harness.scorers.scoring import score_run

    default = tmp_path / "default-results"
    monkeypatch.setenv("HARNESS_RESULTS", str(default))
    results = tmp_path / "elsewhere"
    plan = write_plan(
        tmp_path / "p",
        mini,
        [{"name": "canned", "baseline": "template"}],
        reference_row=True,
        scorers=[{"name": "claims"}],
    )
    store = run_plan(plan, results_dir=results, options=RunOptions(progress=False), score=False)
    score_run(store)
    assert (results / ".cache" / "knowledge").is_dir()
    assert not (default / ".cache" / "knowledge").exists()


def test_a_staff_question_is_given_policy_passages_never_another_staff_answer():
    """A staff answer cites policy (harness/scorers/citations.py): another staff question's
    approved answer is no citable source, and 5 of them decline ("The approved material does
    not answer this"), which would teach the writer to decline."""
    from harness.knowledge import DEFAULT_K, knowledge_base, retrieve

    from ..conftest import SAMPLE

    ds = load_dataset(SAMPLE)
    kb = knowledge_base(ds)
    staff = ds.items.index[ds.items["task"] == "staff_question"]
    assert len(staff) >= 20
    for iid in staff:
        got = retrieve(kb, ds.item(iid), DEFAULT_K)
        assert len(got) == DEFAULT_K, iid
        assert (got["kind"] == "document").all(), (
            iid,
            got[["passage_id", "text"]].to_dict("records"),
        )
        # the same passages are what the approved answer's row is checked against
        given = given_passages(ds, {"item_id": iid})
        assert [p["id"] for p in given] == got["passage_id"].tolist()
    faq = ds.items.index[ds.items["task"] == "faq_reply"]
    kinds = {k for iid in faq[:40] for k in retrieve(kb, ds.item(iid), DEFAULT_K)["kind"]}
    assert kinds == {"answer", "document"}  # a family's question still gets earlier answers
