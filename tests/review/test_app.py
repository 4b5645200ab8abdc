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
    st = review.start(fresh_run.run_id, ["Ana", "Ben"], results_dir=fresh_run.results, seed=1)
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
