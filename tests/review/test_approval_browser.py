"""Real browser: the approval path. A reviewer writes a reply and edits an AI draft; an approver
sends the first back with a reason, the drafter revises it, the approver approves both; the
queue file holds every step with the server's time, and the exported pilot log carries the
revisions, the approver and the turnaround (live messages only) that the pilot outcomes and
the phase comparison read."""

from __future__ import annotations

import sqlite3
from datetime import datetime

import pandas as pd

import harness.review as review
from harness.gates.pilot_log import outcome_value, outcomes
from harness.review import approval, db
from harness.store.runs import load_run, station_pilot_log

from .test_browser import (  # noqa: F401
    By,
    _click_for_error,
    _review_draft,
    _skip_to,
    _submit,
    browsers,
    pytestmark,
)


def _steps(db_file) -> list[tuple[int, str, str, str]]:
    c = sqlite3.connect(f"file:{db_file}?mode=ro", uri=True)
    try:
        return c.execute(
            "SELECT task_id, actor, action, at FROM approval_events ORDER BY event_id"
        ).fetchall()
    finally:
        c.close()


def test_a_reply_is_sent_back_revised_and_approved_and_the_pilot_log_counts_it(
    fresh_run,
    browsers,  # noqa: F811
):
    st = review.start(
        fresh_run.run_id,
        ["Ana"],
        results_dir=fresh_run.results,
        modes=("scratch", "drafts"),
        candidates=["model_x"],  # every draft an AI draft: each approved one is a pilot row
        include_control=False,
        approvers=["Dana"],
        live_from="2025-01-01",  # the mini district's messages count as live pilot messages
    )
    assert set(st.links) == {"Ana", "Dana (approves)"}
    try:
        ana, dana = browsers(), browsers()
        ana.get(st.links["Ana"])
        assert ana.find_element(By.ID, "review-form").get_attribute("data-mode") == "scratch"
        ana.find_element(By.ID, "final_text").send_keys("The pass costs $10 at the office.")
        _submit(ana, "save-reply")
        dana.get(st.links["Dana (approves)"])
        assert "The pass costs $10" in dana.find_element(By.ID, "reply").text
        _click_for_error(dana, "send-back", "Say why you send it back")
        dana.find_element(By.ID, "reason").send_keys("Say when the pass is ready.")
        _submit(dana, "send-back")
        assert dana.find_element(By.ID, "nothing-waiting")
        ana.get(st.links["Ana"])  # the reply sent back comes before the next draft
        assert ana.find_element(By.ID, "reason").text == "Say when the pass is ready."
        ana.find_element(By.ID, "final_text").send_keys(" It is ready within 2 school days.")
        _submit(ana, "send-again")
        _skip_to(ana, "drafts")
        _review_draft(ana, "Edited by Ana.")
        dana.get(st.links["Dana (approves)"])
        assert "ready within 2 school days" in dana.find_element(By.ID, "reply").text
        _submit(dana, "approve-reply")
        assert "Edited by Ana." in dana.find_element(By.ID, "reply").text
        _submit(dana, "approve-reply")
        assert dana.find_element(By.ID, "nothing-waiting")
    finally:
        st.stop()
    steps = _steps(st.db_file)
    first = steps[0][0]
    assert [(a, s) for t, a, s, _ in steps if t == first] == [
        ("Ana", "submitted"),
        ("Dana", "sent_back"),
        ("Ana", "revised"),
        ("Dana", "approved"),
    ]
    times = [at for *_, at in steps]
    assert times == sorted(times)  # the server's clock, in order
    review.export(fresh_run.run_id, results_dir=fresh_run.results)
    run = load_run(fresh_run.run_id, fresh_run.results)
    log = station_pilot_log(run.store, set(run.dataset.items.index))
    assert log is not None
    sent = log[log["approver"] == "Dana"].set_index("phase")
    assert sent.loc["baseline", "revision_count"] == 1
    assert sent.loc["pilot", "revision_count"] == 0
    # turnaround: from the message arriving (the item's received_at) to its approval, the one
    # definition the pilot log and the phase comparison read
    received = run.dataset.items["received_at"]
    for _, row in sent.iterrows():
        start = datetime.fromisoformat(str(received[row["item_id"]]))
        end = datetime.fromisoformat(str(row["approved_at"]))
        assert abs(row["turnaround_hours"] - (end - start).total_seconds() / 3600) < 1e-6
    # the drafts that went through no approval (skipped) carry no revision count
    assert log[log["approver"].fillna("") == ""]["revision_count"].isna().all()
    out = outcomes(log)
    rev = outcome_value(out, "fewer_revisions")
    assert rev is not None and rev["n_baseline"] == 1 and rev["n_pilot"] == 1
    assert rev["improvement"] == 1.0  # one revision before, none during the pilot
    turn = outcome_value(out, "faster_turnaround_hours")
    assert turn is not None and turn["n_pilot"] == 1 and pd.notna(turn["improvement"])
    # the phase comparison's tables read the same records
    from harness.report import approval_section, pilot_table

    shown = approval_section(log).data
    assert "Approval revisions per reply" in shown and "1 / 1" in shown
    turn_row = shown[shown.index("Hours from message to approved reply") :].split("</tr>")[0]
    assert "1 / 1" in turn_row  # one live reply before, one during, timed from received_at
    assert "Fewer approval revisions per reply" in pilot_table(log).data
    # without a live_from day every message is replayed history: no turnaround
    reviews = db.reviews_frame(st.db_file)
    replayed = approval.paths(reviews, approval.events(st.db_file), set())
    assert replayed["turnaround_hours"].isna().all() and replayed["revisions"].notna().all()
