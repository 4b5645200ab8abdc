"""The station over real HTTP on 127.0.0.1: blind pages, durable submits, CSRF, CSP, escaping."""

from __future__ import annotations

import re
import sqlite3
import urllib.error
import urllib.parse
import urllib.request

import pytest

import harness.review as review
from harness.review.app import CSP
from harness.review.db import db_path

from .conftest import HOSTILE


def _get(url: str, headers: dict[str, str] | None = None) -> tuple[int, str, dict[str, str]]:
    req = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.read().decode(), dict(r.headers)
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode(), dict(e.headers)


def _post(url: str, fields: dict[str, str], origin: str | None = None) -> tuple[int, str]:
    data = urllib.parse.urlencode(fields).encode()
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    if origin:
        headers["Origin"] = origin
    req = urllib.request.Request(url, data=data, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def _form(page: str) -> dict[str, str]:
    return {
        "task_id": re.search(r'name="task_id" value="(\d+)"', page).group(1),
        "csrf": re.search(r'name="csrf" value="([0-9a-f]+)"', page).group(1),
    }


@pytest.fixture
def station(fresh_run):
    st = review.start(
        fresh_run.run_id, ["Ana", "Ben"], results_dir=fresh_run.results, seed=1, modes=("drafts",)
    )
    yield st
    st.stop()


def _reviews(st) -> list[sqlite3.Row]:
    c = sqlite3.connect(st.db_file)
    c.row_factory = sqlite3.Row
    try:
        return c.execute("SELECT * FROM reviews").fetchall()
    finally:
        c.close()


def test_pages_are_blind_local_and_escaped(station, fresh_run):
    status, page, headers = _get(station.links["Ana"])
    assert status == 200
    assert headers["content-security-policy"] == CSP
    assert headers["referrer-policy"] == "same-origin"  # the token never leaves
    for name in ("canned", "retrieval", "staff", "model_x", "approved_answer"):
        assert name not in page  # no candidate name anywhere
    assert not re.search(r'(src|href)="(https?:)?//', page)  # nothing from anywhere else
    st, css, _ = _get(station.url + "static/review.css")
    assert st == 200 and "font-family" in css
    # the hostile message, wherever it comes up, is escaped
    for _ in range(40):
        if "PWNED" in page:
            break
        form = _form(page)
        _, page = _post(station.links["Ana"] + "/submit", form | {"decision": "skipped"})
    assert "PWNED" in page and HOSTILE not in page and "&lt;script&gt;" in page


def test_a_submit_is_committed_before_the_next_page_confirms_it(station):
    _, page, _ = _get(station.links["Ana"])
    form = _form(page)
    draft = re.search(
        r'<textarea name="final_text" id="final_text" rows="12">(.*?)</textarea>', page, re.S
    )
    assert draft is not None
    status, nxt = _post(
        station.links["Ana"] + "/submit",
        form
        | {
            "decision": "approved",
            "final_text": "Edited reply.",
            "rate_accuracy": "4",
            "rate_completeness": "na",
            "rate_tone": "5",
            "flag_tone": "on",
            "comment": "fine",
            "events": '[[0, "on"], [4000, "act"]]',
        },
    )
    assert status == 200 and 'id="saved"' in nxt
    rows = _reviews(station)  # another connection sees it: committed
    assert len(rows) == 1 and rows[0]["final_text"] == "Edited reply."
    assert rows[0]["decision"] == "approved" and '"tone"' in rows[0]["flags"]
    assert rows[0]["ratings"] == '{"accuracy": 4, "tone": 5}'
    assert rows[0]["unrated"] == '["completeness"]'  # "can't rate", said explicitly
    assert 0 <= rows[0]["active_seconds"] <= rows[0]["elapsed_seconds"] + 1e-6
    assert rows[0]["submitted_at"] >= rows[0]["opened_at"]
    # the same form again (a double click) stores nothing more
    _post(station.links["Ana"] + "/submit", form | {"decision": "approved", "final_text": "x"})
    assert len(_reviews(station)) == 1
    # the next page is the next task
    assert _form(nxt)["task_id"] != form["task_id"]


@pytest.mark.parametrize(
    "tamper,origin,status",
    [
        ({"csrf": "0" * 64}, None, 403),
        ({"csrf": ""}, None, 403),
        ({}, "http://evil.example", 403),
        ({"decision": "delete_everything"}, None, 400),
        ({"task_id": "abc"}, None, 400),
    ],
)
def test_forged_or_bad_posts_are_refused(station, tamper, origin, status):
    _, page, _ = _get(station.links["Ana"])
    form = _form(page) | {"decision": "approved", "final_text": "x"} | tamper
    got, _ = _post(station.links["Ana"] + "/submit", form, origin=origin)
    assert got == status
    assert _reviews(station) == []


def test_one_reviewer_cannot_submit_anothers_task(station):
    _, page, _ = _get(station.links["Ana"])
    form = _form(page) | {"decision": "approved", "final_text": "x"}
    got, _ = _post(station.links["Ben"] + "/submit", form)
    assert got == 403 and _reviews(station) == []


def test_unknown_token_and_foreign_host_header(station):
    assert _get(station.url + "r/not-a-token")[0] == 404
    assert _get(station.links["Ana"], {"Host": "evil.example"})[0] == 400


def test_the_queue_binds_loopback_unless_told_and_resumes_with_the_same_reviewers(fresh_run):
    with pytest.raises(review.ReviewError, match="--allow-remote"):
        review.start(fresh_run.run_id, ["Ana"], host="0.0.0.0", results_dir=fresh_run.results)
    st = review.start(
        fresh_run.run_id,
        ["Ana", "Ben"],
        host="0.0.0.0",
        allow_remote=True,
        results_dir=fresh_run.results,
    )
    try:
        status, index, _ = _get(st.url)
        assert status == 200 and "/r/" not in index  # off loopback: no links on the start page
        # the links name this machine's address, and they work
        assert "127.0.0.1" not in st.url and all("127.0.0.1" not in u for u in st.links.values())
        assert _get(st.links["Ana"])[0] == 200
    finally:
        st.stop()
    with pytest.raises(review.ReviewError, match="already has a review queue for Ana, Ben"):
        review.prepare(fresh_run.run_id, ["Cy"], results_dir=fresh_run.results)
    assert review.prepare(fresh_run.run_id, results_dir=fresh_run.results) == db_path(
        fresh_run.path
    )
    prog = review.progress(fresh_run.run_id, fresh_run.results)
    assert list(prog["reviewer"]) == ["Ana", "Ben"] and prog["done"].sum() == 0


def test_side_by_side_swaps_sides_and_stores_the_choice(fresh_run):
    from harness.report import load_run
    from harness.review import evidence

    st = review.start(
        fresh_run.run_id,
        ["Ana", "Ben"],
        results_dir=fresh_run.results,
        modes=("side_by_side",),
        pair=("canned", "model_x"),
        double_share=1.0,
    )
    try:
        shown = {}
        for name in ("Ana", "Ben"):
            for _ in range(6):
                _, page, _ = _get(st.links[name])
                if 'id="left"' not in page:
                    break
                left = re.search(r'id="left">(.*?)</div>', page, re.S).group(1)
                shown[(name, _form(page)["task_id"])] = left
                got, _ = _post(
                    st.links[name] + "/submit",
                    _form(page) | {"decision": "chosen", "choice": "left", "comment": "clearer"},
                )
                assert got == 200
        rows = _reviews(st)
        assert rows and all(r["choice"] == "left" for r in rows)
        bad, _ = _post(st.links["Ana"] + "/submit", {"task_id": "1", "csrf": "x"})
        assert bad == 403
    finally:
        st.stop()
    prefs = evidence.preferences(load_run(fresh_run.run_id, fresh_run.results))
    assert set(prefs.index) == {"canned", "model_x"}
    assert (prefs["shown"] == len(rows)).all() and prefs["chosen"].sum() == len(rows)
    # every question went to both reviewers, on opposite sides
    assert 0 < prefs.at["canned", "chosen"] < len(rows)


def test_start_works_inside_a_running_event_loop_as_in_jupyter(fresh_run):
    import asyncio

    async def cell():
        st = review.start(fresh_run.run_id, ["Ana"], results_dir=fresh_run.results)
        try:
            status, _, _ = _get(st.links["Ana"])  # blocking call, as a cell would make
            return status, st._repr_html_()
        finally:
            st.stop()

    status, shown = asyncio.run(cell())
    assert status == 200 and "Ana" in shown and "/r/" in shown


def _checked(page: str, field_id: str) -> bool:
    return re.search(rf'id="{re.escape(field_id)}"[^>]*\schecked', page) is not None


def _approve_fields(**over: str) -> dict[str, str]:
    fields = {
        "decision": "approved",
        "final_text": "Typed by Ana: the pass is $10 <b>now</b>.",
        "rate_accuracy": "4",
        "rate_completeness": "na",
        "rate_tone": "2",
        "flag_outdated": "on",
        "comment": "Ana's comment & <why>",
        "events": '[[0, "on"], [4000, "act"]]',
    }
    return {k: v for k, v in (fields | over).items() if v is not None}


@pytest.mark.parametrize(
    "over,error",
    [
        # malformed timing events: 400, never a 500, and the review is kept on the page
        ({"events": "[" * 50_000}, "timing record"),
        ({"events": "[[" + "[" * 3000 + "]" * 3000 + "]]"}, "timing record"),
        ({"events": '{"on": 1}'}, "timing record"),
        ({"events": '[[NaN, "on"]]'}, "timing record"),
        ({"events": '[[1e999, "on"]]'}, "timing record"),
        ({"events": '[[1, ["on"]]]'}, "timing record"),
        ({"events": '[[1, "on", 2]]'}, "timing record"),
        ({"events": "not json"}, "timing record"),
        # Approve needs a rating (or "can't rate") for each criterion
        ({"rate_tone": None}, "Rate the draft on tone"),
        ({"rate_accuracy": None, "rate_tone": "7"}, "on accuracy, tone"),
        # an empty reply, an unknown button
        ({"final_text": "   "}, "The reply is empty"),
        ({"decision": "maybe"}, "Choose one of the buttons"),
    ],
)
def test_a_refused_submit_answers_400_and_keeps_everything_typed(station, over, error):
    _, page, _ = _get(station.links["Ana"])
    form = _form(page)
    fields = _approve_fields(**over)
    status, again = _post(station.links["Ana"] + "/submit", form | fields)
    assert status == 400 and error in again
    assert _reviews(station) == []
    assert _form(again)["task_id"] == form["task_id"]  # the same task, shown again
    typed = fields["final_text"].replace("<", "&lt;").replace(">", "&gt;")
    assert f'rows="12">{typed}</textarea>' in again
    assert 'rows="3">Ana&#39;s comment &amp; &lt;why&gt;</textarea>' in again
    for field_id, on in (
        ("rate_accuracy_4", fields.get("rate_accuracy") == "4"),
        ("rate_completeness_na", True),
        ("rate_tone_2", fields.get("rate_tone") == "2"),
        ("rate_tone_5", False),
        ("flag_outdated", True),
        ("flag_tone", False),
    ):
        assert _checked(again, field_id) == on, field_id
    # sent again with everything in order, it is stored as typed
    status, _ = _post(station.links["Ana"] + "/submit", _form(again) | _approve_fields())
    assert status == 200
    (row,) = _reviews(station)
    assert row["final_text"] == _approve_fields()["final_text"] and row["decision"] == "approved"
    assert row["comment"] == "Ana's comment & <why>" and '"outdated"' in row["flags"]


def test_reject_and_skip_need_no_rating_but_approve_does(station):
    _, page, _ = _get(station.links["Ana"])
    bare = {"final_text": "x", "events": ""}
    status, page = _post(
        station.links["Ana"] + "/submit", _form(page) | bare | {"decision": "approved"}
    )
    assert status == 400 and _reviews(station) == []
    status, page = _post(
        station.links["Ana"] + "/submit", _form(page) | bare | {"decision": "rejected"}
    )
    assert status == 200 and len(_reviews(station)) == 1
    status, _ = _post(
        station.links["Ana"] + "/submit", _form(page) | bare | {"decision": "skipped"}
    )
    assert status == 200 and len(_reviews(station)) == 2


def test_drafts_are_plain_text_and_placeholders_are_flagged_stored_and_exported(station, fresh_run):
    for _ in range(40):
        _, page, _ = _get(station.links["Ana"])
        if 'id="placeholders"' in page:
            break
        _post(station.links["Ana"] + "/submit", _form(page) | {"decision": "skipped"})
    else:
        raise AssertionError("no draft with a placeholder in Ana's queue")
    assert "[Parent&#39;s Name]" in page and "**" not in page  # plain text, slot flagged
    assert _checked(page, "flag_placeholder")
    fields = _approve_fields(flag_outdated=None)
    status, _ = _post(station.links["Ana"] + "/submit", _form(page) | fields)
    assert status == 200
    row = next(r for r in _reviews(station) if r["decision"] == "approved")
    assert '"placeholder"' in row["flags"]  # counted as a defect of the draft, even unticked
    out = review.export(fresh_run.run_id, results_dir=fresh_run.results)
    import pandas as pd

    corrected = pd.read_csv(out["corrected_replies.csv"])
    hit = corrected[corrected["decision"] == "approved"].iloc[0]
    assert hit["flags"] == "placeholder" and hit["placeholders"] == "[Parent's Name]"
    from harness.report import load_run
    from harness.review import evidence

    assert (
        evidence.flag_counts(load_run(fresh_run.run_id, fresh_run.results))["placeholder"].sum()
        == 1
    )


@pytest.mark.parametrize(
    "host,expect",
    [
        ("127.0.0.1", "127.0.0.1"),
        ("::1", "[::1]"),
        ("192.0.2.77", "192.0.2.77"),
        ("0.0.0.0", None),  # this machine's own address, never 127.0.0.1
        ("::", None),
    ],
)
def test_links_work_for_the_host_given(host, expect):
    from harness.review.station import exposure_warning, link_host

    got = link_host(host)
    if expect is None:
        assert got not in ("127.0.0.1", "0.0.0.0", "[::]", "localhost") and got
        assert "exposed beyond this computer" in exposure_warning(host, 8765)
    else:
        assert got == expect
    assert (exposure_warning(host, 8765) is None) == (host in ("127.0.0.1", "::1"))
