"""The approval path over real HTTP: only a drafter's own reply comes back to them, nobody
approves their own reply, two approvers cannot both decide one reply, a reason is needed to
send back; a queue from before the approval path opens, keeps every review and gains it."""

from __future__ import annotations

import re

import harness.review as review
from harness.review import approval, db

from .test_app import _form, _get, _post


def _draft_form(page: str) -> dict[str, str]:
    return {**_form(page), "events": "", "decision": "written", "final_text": "My reply."}


def test_approvers_decide_once_never_on_their_own_reply_and_need_a_reason(fresh_run, capsys):
    st = review.start(
        fresh_run.run_id,
        ["Ana", "Ben"],
        results_dir=fresh_run.results,
        modes=("scratch",),
        approvers=["Ben", "Cy"],  # Ben drafts and approves: never his own reply
    )
    try:
        _, page, _ = _get(st.links["Ana"])
        assert _post(st.links["Ana"] + "/submit", _draft_form(page))[0] == 200
        _, ben_page, _ = _get(st.links["Ben"])
        assert _post(st.links["Ben"] + "/submit", _draft_form(ben_page))[0] == 200
        _, mine, _ = _get(st.links["Ben (approves)"])
        _, cys, _ = _get(st.links["Cy (approves)"])
        ana_task = _form(page)["task_id"]
        assert f'name="task_id" value="{ana_task}"' in mine  # Ana's reply, not his own
        base = {"events": "", "reason": ""}
        status, body = _post(
            st.links["Cy (approves)"] + "/decide",
            {**_form(cys), **base, "decision": "sent_back"},
        )
        assert status == 400 and "Say why you send it back" in body
        ok = _post(
            st.links["Cy (approves)"] + "/decide", {**_form(cys), **base, "decision": "approved"}
        )
        assert ok[0] == 200 and "Saved: approved" in ok[1]
        late = _post(
            st.links["Ben (approves)"] + "/decide", {**_form(mine), **base, "decision": "approved"}
        )
        assert "another approver decided it first" in late[1]
        ben_task = _form(ben_page)["task_id"]
        forged = {"task_id": ben_task, "csrf": _csrf(st, "Ben (approves)", int(ben_task))}
        own = _post(
            st.links["Ben (approves)"] + "/decide", {**forged, **base, "decision": "approved"}
        )
        assert own[0] == 403  # Ben cannot approve his own reply
        with db.connect(st.db_file) as c:
            assert approval.counts(c) == {"waiting": 1, "sent_back": 0, "approved": 1}
    finally:
        st.stop()
    # harness review RUN --progress shows each person's approval states beside their progress
    prog = review.progress(fresh_run.run_id, fresh_run.results).set_index(["reviewer", "role"])
    states = ["waiting_approval", "sent_back", "approved"]
    assert prog.loc[("Ana", "reviewer"), states].tolist() == [0, 0, 1]
    assert prog.loc[("Ben", "reviewer"), states].tolist() == [1, 0, 0]
    assert prog.loc[("Cy", "approver"), states].tolist() == [1, 0, 1]  # Ben's waits for Cy
    assert prog.loc[("Ben", "approver"), "waiting_approval"] == 0  # only his own is waiting
    assert prog.loc[("Ana", "reviewer"), "done"] == 1 and prog["tasks"].dtype == "int64"
    from harness.cli.commands import main

    assert (
        main(["--results", str(fresh_run.results), "review", fresh_run.run_id, "--progress"]) == 0
    )
    out = capsys.readouterr().out
    assert "waiting_approval" in out and "approver" in out


def _csrf(st, who: str, task_id: int) -> str:
    from harness.review.app import csrf_token

    with db.connect(st.db_file) as c:
        secret = bytes.fromhex(db.meta(c, "secret"))
    return csrf_token(secret, st.links[who].rsplit("/", 1)[1], task_id)


def test_a_queue_from_before_the_approval_path_stays_readable(fresh_run):
    path = review.prepare(
        fresh_run.run_id, ["Ana"], results_dir=fresh_run.results, modes=("drafts",)
    )
    with db.connect(path) as c:  # as an earlier release left it: no approval tables
        task = db.next_task(c, "Ana")
        db.submit(
            c,
            int(task["task_id"]),
            "Ana",
            {
                "decision": "approved", "final_text": "Kept.", "ratings": {}, "flags": [],
                "comment": "", "choice": "", "active_seconds": 30.0, "events": 0,
                "opened_at": db.now(), "submitted_at": db.now(), "elapsed_seconds": 31.0,
            },
        )  # fmt: skip
        c.execute("DROP TABLE IF EXISTS approval_events")
        c.execute("DROP TABLE IF EXISTS approvers")
    assert approval.events(path).empty  # read-only readers cope without the tables
    review.prepare(fresh_run.run_id, results_dir=fresh_run.results, approvers=["Dana"])
    with db.connect(path) as c:
        tables = {r[0] for r in c.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        assert {"approval_events", "approvers"} <= tables
        assert list(approval.approvers(c)) == ["Dana"]
    frame = db.reviews_frame(path)
    assert frame["final_text"].tolist() == ["Kept."]
    written = review.export(fresh_run.run_id, results_dir=fresh_run.results)
    log = __import__("pandas").read_csv(written["pilot_log.csv"])
    assert log["revision_count"].isna().all()  # approved before the path existed: no count
    assert re.fullmatch(r"rv-\d+", str(log["entry_id"].iloc[0]))


def test_a_live_message_without_its_arrival_time_names_file_line_and_field(mini):
    """Turnaround runs from ``received_at``: a live pilot message without one is refused before
    the station starts, naming the items file, the item's line and the field."""
    import pytest

    from harness.data.dataset import load_dataset
    from harness.errors import ReviewError

    ds = load_dataset(mini)  # the mini district's messages carry no received_at
    live = approval.live_items({"faq-001": "2025-09-03", "faq-004": "2025-08-20"}, "2025-09-01")
    assert live == {"faq-001"}
    with pytest.raises(ReviewError) as err:
        approval.received_times(ds, live)
    msg = str(err.value)
    assert "items.jsonl line 1: field 'received_at' is missing (item faq-001)" in msg
    assert "ISO 8601" in msg and "--live-from" in msg
    assert approval.received_times(ds, live, strict=False) == {}
    ds.items.loc["faq-001", "received_at"] = "2025-09-03T07:45:00-07:00"
    assert approval.received_times(ds, live) == {"faq-001": "2025-09-03T07:45:00-07:00"}
