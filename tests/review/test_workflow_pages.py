"""Real browser: the station's pages for inbound summaries and newsletter sections (issue 23
item 5). A reviewer sees the family's message and a summary, or the staff request, the
approved sources and a section, in the words of that workflow; writing from scratch and editing
a draft are timed and stored exactly as for replies."""

from __future__ import annotations

import pytest

import harness.review as review
from harness.plan.spec import CandidateSpec, load_plan
from harness.review.wording import WORDS
from harness.run.runner import RunOptions, run_plan
from tests.conftest import REPO, SAMPLE

from .test_browser import By, _navigate, _rows, _submit, browsers, pytestmark  # noqa: F401

IDS = ["sum-001", "sum-003", "nl-001", "nl-003"]  # two categories, each with a staff draft


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    results = tmp_path_factory.mktemp("wf-review") / "results"
    plan = load_plan(REPO / "plans" / "workflows.yaml")
    plan.tasks = ["inbound_summary", "newsletter"]
    plan.select = type(plan.select)(ids=IDS)
    plan.candidates = [CandidateSpec(name="staff-first-draft", baseline="staff_first_draft")]
    store = run_plan(plan, results_dir=results, options=RunOptions(progress=False))
    return store.run_id, results


def test_summary_and_newsletter_pages_speak_their_workflow_and_are_timed(
    run,
    browsers,  # noqa: F811
):
    from harness.data.dataset import load_dataset

    items = load_dataset(SAMPLE).items
    task_of = {items.loc[i, "input"].strip(): items.loc[i, "task"] for i in IDS}
    run_id, results = run
    st = review.start(run_id, ["Ana"], results_dir=results, modes=["scratch", "drafts"])
    seen: set[tuple[str, str]] = set()
    try:
        b = browsers()
        b.get(st.links["Ana"])
        while not b.find_elements(By.ID, "all-done"):
            if b.find_elements(By.ID, "five-questions"):  # asked every tenth draft
                _navigate(b, (By.ID, "not-now"))
                continue
            form = b.find_element(By.ID, "review-form")
            mode = form.get_attribute("data-mode")
            task = task_of[b.find_element(By.ID, "message").text.strip()]
            w = WORDS[task]
            assert form.get_attribute("data-workflow") == task
            assert b.find_element(By.ID, "h-message").text == w["message"]
            heading = b.find_element(By.ID, "h-draft").text
            box = b.find_element(By.ID, "final_text")
            if mode == "scratch":
                assert heading == w["write"]
                assert b.find_element(By.ID, "save-reply").text == w["save"]
                box.send_keys(f"Written by Ana for the {task}.")
                _submit(b, "save-reply")
            else:
                assert heading == w["draft"]
                assert b.find_element(By.ID, "approve").text == w["approve"]
                assert box.get_attribute("value").strip()  # the draft is there to edit
                box.send_keys(" Edited by Ana.")
                for crit in ("accuracy", "completeness", "tone"):
                    b.find_element(By.ID, f"rate_{crit}_4").click()
                _submit(b, "approve")
            seen.add((task, mode))
            assert "reply" not in heading.lower() or task == "faq_reply"
    finally:
        st.stop()
    assert {("inbound_summary", "drafts"), ("newsletter", "drafts")} <= seen
    assert {t for t, m in seen if m == "scratch"}  # at least one written from scratch
    rows = _rows(st.db_file, "Ana")
    assert len(rows) >= 4
    for r in rows:  # timed and stored as every reply is
        assert r["active_seconds"] > 0
        assert r["active_seconds"] <= r["elapsed_seconds"]
        assert r["final_text"].endswith("Edited by Ana.") or "Written by Ana" in r["final_text"]
