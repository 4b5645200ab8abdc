"""Real browser: the station's page for staff questions about policy (issue 23). A staff
question's drafts enter the queue like any other; the page shows the staff member's question,
the answer and the passages it cites (resolved in the run's knowledge base by their ids), in the
workflow's own words; the review is stored like every other."""

from __future__ import annotations

import re

import pytest

import harness.review as review
from harness.data.dataset import load_dataset
from harness.review.wording import WORDS
from harness.run.names import load_plan
from harness.run.runner import RunOptions, run_plan
from tests.conftest import REPO, SAMPLE

from .test_browser import By, _rows, _submit, browsers, pytestmark  # noqa: F401

IDS = ["sq-001", "sq-002"]  # answerable: their retrieval answers cite a passage by its id
W = WORDS["staff_question"]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    results = tmp_path_factory.mktemp("sq-review") / "results"
    plan = load_plan(REPO / "plans" / "workflows.yaml")
    plan.tasks = ["staff_question"]
    plan.select = type(plan.select)(ids=IDS)
    plan.candidates = [c for c in plan.candidates if c.name == "retrieval"]
    store = run_plan(plan, results_dir=results, options=RunOptions(progress=False))
    return store.run_id, results


def test_a_staff_answer_is_reviewed_beside_the_passages_it_cites(run, browsers):  # noqa: F811
    from harness.knowledge import knowledge_base

    items = load_dataset(SAMPLE).items
    ids_of = {items.loc[i, "input"].strip(): i for i in IDS}
    run_id, results = run
    st = review.start(run_id, ["Ana"], results_dir=results, modes=["drafts"])
    kb = knowledge_base(load_dataset(SAMPLE), results / ".cache" / "knowledge")
    shown: list[tuple[str, list[str], str]] = []
    try:
        b = browsers()
        b.get(st.links["Ana"])
        while not b.find_elements(By.ID, "all-done"):
            form = b.find_element(By.ID, "review-form")
            assert form.get_attribute("data-workflow") == "staff_question"
            assert form.get_attribute("data-mode") == "drafts"
            assert b.find_element(By.ID, "h-message").text == W["message"]
            question = b.find_element(By.ID, "message").text.strip()
            assert question in ids_of  # the staff member's question itself
            assert b.find_element(By.ID, "h-draft").text == W["draft"]
            assert b.find_element(By.ID, "approve").text == W["approve"]
            assert b.find_element(By.ID, "h-cited").text == W["cited"]
            draft = b.find_element(By.ID, "final_text").get_attribute("value")
            cited = []
            for fig in b.find_elements(By.CSS_SELECTOR, "section.cited figure.passage"):
                pid = fig.get_attribute("data-passage")
                quote = fig.find_element(By.TAG_NAME, "blockquote").text
                row = kb.rows[pid]  # a real passage of the knowledge base
                assert " ".join(quote.split()) == " ".join(str(row["text"]).split())
                cited.append(pid)
            assert cited, "every draft here cites a passage"
            shown.append((ids_of[question], cited, draft))
            b.find_element(By.ID, "final_text").send_keys(" Checked by Ana.")
            for crit in ("accuracy", "completeness", "tone"):
                b.find_element(By.ID, f"rate_{crit}_4").click()
            _submit(b, "approve")
    finally:
        st.stop()
    # each item: the retrieval answer (citing by id in its text) and the hidden control (the
    # approved answer, shown with the passages holding its recorded quotes)
    assert sorted(i for i, _, _ in shown) == sorted(IDS * 2)
    for item_id, cited, draft in shown:
        in_text = re.findall(r"[\w.\-]+#[0-9a-f]{10}", draft)
        quoted = {c["source_id"] for c in items.loc[item_id, "cited_passages"]}
        if in_text:  # a draft's own citations, in the order it gives them
            assert cited == list(dict.fromkeys(in_text))
        else:  # the control: the supporting passages, from the quoted source
            assert {kb.rows[p]["doc_id"] for p in cited} == quoted
    rows = _rows(st.db_file, "Ana")
    assert len(rows) == 4
    for r in rows:
        assert r["decision"] == "approved" and r["final_text"].endswith("Checked by Ana.")
        assert 0 < r["active_seconds"] <= r["elapsed_seconds"]
