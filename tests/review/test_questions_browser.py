"""Real browser: the station asks the five questions after the tenth draft and when a reviewer
ends a session; the answers land in the queue file and the phase comparison report shows them
(counts per level, what staff fixed, a remark quoted only when marked shareable, no names)."""

from __future__ import annotations

import re

from harness.report import render_comparison
from harness.review import db, questions

from .test_browser import By, Server, _navigate, _submit, browsers, pytestmark  # noqa: F401


def _click(b, element_id: str) -> None:
    b.find_element(By.ID, element_id).click()


def test_the_five_questions_are_asked_every_tenth_draft_and_at_session_end(
    fresh_run,
    browsers,  # noqa: F811
):
    srv = Server(fresh_run.results, fresh_run.run_id, 0, "--reviewers", "Ana", "--modes", "drafts")
    try:
        b = browsers()
        b.get(srv.links["Ana"])
        for _ in range(questions.EVERY - 1):
            _submit(b, "skip")
            assert not b.find_elements(By.ID, "five-questions")  # not before the tenth
        _submit(b, "skip")
        assert b.find_element(By.ID, "five-questions")  # asked after the tenth
        for key, level in (
            ("saved_time", 4),
            ("less_rework", 3),
            ("clearer", 4),
            ("friction", 2),
            ("fixed_by_hand", 3),
        ):
            _click(b, f"q_{key}_{level}")
        _click(b, "fix_dates_fees")
        _click(b, "fix_tone")
        b.find_element(By.ID, "fix_text").send_keys("the bus pass fee")
        b.find_element(By.ID, "remark").send_keys("Drafts got the tone right; fees needed a check.")
        _click(b, "shareable")
        _navigate(b, (By.ID, "save-answers"))
        assert b.find_element(By.ID, "review-form")  # straight back to reviewing
        _navigate(b, (By.ID, "end-session"))
        _click(b, "q_saved_time_5")
        b.find_element(By.ID, "remark").send_keys("Private remark, not to be quoted.")
        _navigate(b, (By.ID, "save-answers"))
        assert "Your answers are saved" in b.find_element(By.TAG_NAME, "main").text
    finally:
        srv.stop()

    frame = questions.answers(db.db_path(fresh_run.path))
    assert frame["trigger"].tolist() == ["every_10th", "session_end"]
    assert frame["after_reviews"].tolist() == [10, 10]
    assert frame["saved_time"].tolist() == [4.0, 5.0]
    assert frame["fix_tags"].iloc[0] == ["dates_fees", "tone"]
    assert frame["shareable"].tolist() == [True, False]

    html = render_comparison(fresh_run.run_id, fresh_run.run_id, results_dir=fresh_run.results)
    text = html.read_text().replace("\u00ad", "")  # the report's soft hyphens
    section = text[text.index("The five questions, answered by staff") :]
    assert "Drafts got the tone right; fees needed a check." in section
    assert "Private remark" not in text and "Ana" not in section[:4000]
    assert "2 sets of answers from 1 reviewer;" in section
    # the distribution: two answers to "save time" (a 4 and a 5), one to each other question
    row = re.search(r"Did the drafts save you time\?</t[hd]>(.*?)</tr>", section, re.S)
    assert row is not None
    assert re.findall(r">(\d+)<", row.group(1)) == ["2", "0", "0", "0", "1", "1"]
    friction = re.search(r"introduce friction.*?</t[hd]>(.*?)</tr>", section, re.S)
    assert friction is not None
    assert re.findall(r">(\d+)<", friction.group(1)) == ["1", "0", "1", "0", "0", "0"]
