"""Real-browser tests: Debian's chromium driven by Selenium through Debian's chromedriver.

A reviewer opens their link, writes a reply from scratch (timed), edits, rates and approves a
draft; a reload resumes; the server is killed with SIGKILL mid-review and no confirmed review
is lost; two reviewers work in parallel; then the exports pass ``harness validate`` inside the
run's dataset and ``harness calibrate`` on the run reads them.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

import harness.review as review
from harness.cli.commands import main as cli
from harness.data.dataset import load_dataset
from harness.gates.pilot_log import outcomes
from harness.report.browser import HEADLESS_FLAGS, chromium_path

CHROMIUM = chromium_path()
DRIVER = shutil.which("chromedriver")
try:
    from selenium import webdriver
    from selenium.common.exceptions import (
        NoSuchElementException,
        StaleElementReferenceException,
        WebDriverException,
    )
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait
except ImportError:  # pragma: no cover - the dev extra installs it
    webdriver = None

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        webdriver is None or not CHROMIUM or not DRIVER,
        reason="needs selenium (dev extra), Debian's chromium and chromium-driver",
    ),
]
REPO = Path(__file__).resolve().parents[2]


def _browser():
    os.environ["SE_OFFLINE"] = "true"  # Selenium Manager must not look anything up
    opts = Options()
    opts.binary_location = CHROMIUM
    # the product's headless, offline command line; chromedriver adds its own DevTools port
    for arg in (*HEADLESS_FLAGS, "--disable-dev-shm-usage"):
        opts.add_argument(arg)
    return webdriver.Chrome(service=Service(DRIVER), options=opts)


@pytest.fixture
def browsers():
    opened = []

    def make():
        b = _browser()
        opened.append(b)
        return b

    yield make
    for b in opened:
        b.quit()


def _task(b) -> str:
    return b.find_element(By.ID, "review-form").get_attribute("data-task")


def _submit(b, button: str) -> str:
    """Click a decision button; wait until the next page confirms the save. Returns its task."""
    before = _task(b)
    b.find_element(By.ID, button).click()
    # the old page's elements go stale while the next one loads: keep polling through that
    WebDriverWait(
        b,
        30,
        ignored_exceptions=(
            NoSuchElementException,
            StaleElementReferenceException,
            WebDriverException,
        ),
    ).until(
        lambda d: (
            d.find_elements(By.ID, "saved")
            and (not d.find_elements(By.ID, "review-form") or _task(d) != before)
        )
    )
    return before


def _replaced(page):
    """A wait condition: the old page's root element is gone. Chromium reports a node of a
    document that has been replaced either as stale or, while the new document is being
    attached, as 'Node with given id does not belong to the document' (a plain
    WebDriverException, which selenium's ``staleness_of`` does not catch)."""

    def gone(_d) -> bool:
        try:
            page.is_enabled()
        except (StaleElementReferenceException, WebDriverException):
            return True
        return False

    return gone


def _navigate(b, locator: tuple[str, str]) -> None:
    """Click something that loads a new page; return once the new page has replaced the old one.

    Reading right after the click can find the old page's elements, which then go stale."""
    page = b.find_element(By.TAG_NAME, "html")
    b.find_element(*locator).click()
    WebDriverWait(b, 30).until(_replaced(page))
    WebDriverWait(b, 30).until(
        lambda d: d.execute_script("return document.readyState") == "complete"
    )


def _review_draft(b, note: str) -> str:
    box = b.find_element(By.ID, "final_text")
    box.send_keys(" " + note)
    for crit, level in (("accuracy", 4), ("completeness", 3), ("tone", 5)):
        b.find_element(By.ID, f"rate_{crit}_{level}").click()
    b.find_element(By.ID, "flag_tone").click()
    b.find_element(By.ID, "comment").send_keys("a little stiff")
    return _submit(b, "approve")


class Server:
    """``harness review`` in its own process, as staff would run it."""

    def __init__(self, results: Path, run_id: str, port: int = 0, *extra: str):
        env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "harness.cli",
                "--results",
                str(results),
                "review",
                run_id,
                "--port",
                str(port),
                *extra,
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            cwd=REPO,
        )
        self.links: dict[str, str] = {}
        self.url = ""
        for line in self.proc.stdout:
            if line.startswith("review station: "):
                self.url = line.split()[2]
            m = re.match(r"\s+(\S+): (http://\S+)", line)
            if m:
                self.links[m.group(1)] = m.group(2)
            if line.startswith("stop with Ctrl-C"):
                break
        else:
            raise AssertionError("server did not start: " + self.proc.stderr.read())

    @property
    def port(self) -> int:
        return int(self.url.rstrip("/").rsplit(":", 1)[1])

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> str:
        self.proc.send_signal(signal.SIGTERM)
        out, _ = self.proc.communicate(timeout=30)
        return out


def _rows(db_file: Path, reviewer: str) -> list[sqlite3.Row]:
    c = sqlite3.connect(f"file:{db_file}?mode=ro", uri=True)
    c.row_factory = sqlite3.Row
    try:
        return c.execute(
            "SELECT r.*, t.mode FROM reviews r JOIN tasks t USING (task_id) WHERE r.reviewer = ?",
            (reviewer,),
        ).fetchall()
    finally:
        c.close()


def test_a_reviewer_works_through_a_kill_and_the_exports_feed_calibration(
    fresh_run, browsers, tmp_path
):
    srv = Server(
        fresh_run.results,
        fresh_run.run_id,
        0,
        "--reviewers",
        "Ana,Ben",
        "--modes",
        "scratch,drafts",
        "--scratch-share",
        "0.2",
    )
    db_file = fresh_run.path / "review" / "review.sqlite"
    confirmed: list[str] = []
    try:
        b = browsers()
        b.get(srv.url)  # the start page lists the reviewers on 127.0.0.1
        _navigate(b, (By.LINK_TEXT, "Ana"))
        assert b.find_element(By.ID, "reviewer").text == "Ana"
        # 1. from scratch first: the question and sources only, no draft; timed
        assert b.find_element(By.ID, "review-form").get_attribute("data-mode") == "scratch"
        assert b.find_element(By.ID, "final_text").get_attribute("value") == ""
        b.find_element(By.ID, "final_text").send_keys("Hello, a new pass is $10 at the office.")
        time.sleep(1.5)
        b.find_element(By.ID, "final_text").send_keys(" Call 555-0157.")
        confirmed.append(_submit(b, "save-reply"))
        scratch = [r for r in _rows(db_file, "Ana") if r["mode"] == "scratch"]
        assert len(scratch) == 1 and scratch[0]["decision"] == "written"
        assert 1.0 <= scratch[0]["active_seconds"] <= scratch[0]["elapsed_seconds"]
        # 2. a draft: edit, rate, flag, comment, approve
        assert b.find_element(By.ID, "review-form").get_attribute("data-mode") == "drafts"
        draft = b.find_element(By.ID, "final_text").get_attribute("value")
        assert draft.strip()
        confirmed.append(_review_draft(b, "Edited by Ana."))
        row = next(r for r in _rows(db_file, "Ana") if r["mode"] == "drafts")
        assert row["final_text"].endswith("Edited by Ana.") and row["decision"] == "approved"
        assert json.loads(row["ratings"]) == {"accuracy": 4, "completeness": 3, "tone": 5}
        # (a draft with a fill-in slot such as [Parent's Name] also carries the placeholder flag)
        assert set(json.loads(row["flags"])) - {"placeholder"} == {"tone"}
        assert row["comment"] == "a little stiff"
        # 3. a reload, and a new browser on the same link, resume at the same place
        here = _task(b)
        b.refresh()
        assert _task(b) == here
        other = browsers()
        other.get(srv.links["Ana"])
        assert _task(other) == here
        other.quit()
        confirmed.append(_review_draft(b, "Edited by Ana."))
        # 4. mid-review (typing, not submitted) the server is killed
        b.find_element(By.ID, "final_text").send_keys(" half-typed")
        unsent = _task(b)
        srv.kill()
        assert sorted(str(r["task_id"]) for r in _rows(db_file, "Ana")) == sorted(confirmed)
        srv = Server(fresh_run.results, fresh_run.run_id, srv.port)
        b.get(srv.links["Ana"])
        assert _task(b) == unsent  # nothing confirmed lost, nothing unconfirmed stored
        assert len(_rows(db_file, "Ana")) == len(confirmed)
        confirmed.append(_submit(b, "reject"))
        # Ben reviews two drafts so that a pilot log has baseline and pilot rows from both
        ben = browsers()
        ben.get(srv.links["Ben"])
        if ben.find_element(By.ID, "review-form").get_attribute("data-mode") == "scratch":
            ben.find_element(By.ID, "final_text").send_keys("Lunch costs $3.25. Call 555-0199.")
            time.sleep(1.0)
            _submit(ben, "save-reply")
        _review_draft(ben, "Edited by Ben.")
        _review_draft(ben, "Edited by Ben.")
    finally:
        out = srv.stop()
    assert "exported" in out  # a clean stop writes the exports for the report
    assert len(_rows(db_file, "Ana")) == len(confirmed) == 4

    # the exports, merged into the run's dataset (its own ratings and pilot log kept), pass
    # validation and feed calibration
    ds = fresh_run.dataset
    old_raters = set(load_dataset(ds).ratings["rater"])
    old_log = load_dataset(ds).pilot_log
    export = ["--results", str(fresh_run.results), "review", fresh_run.run_id, "--export", str(ds)]
    assert cli(export) == 2  # refused: the dataset's own files are not the station's
    assert cli([*export, "--merge"]) == 0
    assert cli(["validate", str(ds)]) == 0
    data = load_dataset(ds)
    assert set(data.ratings["rater"]) == old_raters | {"Ana", "Ben"}
    log = data.pilot_log
    assert (log["phase"] == "baseline").sum() == (old_log["phase"] == "baseline").sum() + 2
    out = outcomes(log).set_index("measure")
    assert out.loc["minutes_saved_per_reply", "n_baseline"] == (
        (old_log["phase"] == "baseline").sum() + 2
    )
    before = fresh_run.judge.request_count
    assert cli(["--results", str(fresh_run.results), "calibrate", fresh_run.run_id]) == 0
    cal = json.loads((fresh_run.path / "calibration.json").read_text())
    rated = data.ratings["draft_id"].nunique()
    assert fresh_run.judge.request_count - before == rated
    assert {s["n"] for s in cal["summary"]} == {rated}


def test_two_reviewers_in_parallel_see_only_their_own_work(fresh_run, browsers):
    st = review.start(
        fresh_run.run_id, ["Ana", "Ben"], results_dir=fresh_run.results, seed=5, modes=("drafts",)
    )
    pages: dict[str, list[str]] = {"Ana": [], "Ben": []}
    errors: list[BaseException] = []

    def work(name: str, b) -> None:
        try:
            b.get(st.links[name])
            for _ in range(3):
                pages[name].append(b.page_source)
                _review_draft(b, f"Edited by {name}.")
        except BaseException as exc:  # reported below
            errors.append(exc)

    try:
        pair = [browsers(), browsers()]
        threads = [
            threading.Thread(target=work, args=(n, b)) for n, b in zip(pages, pair, strict=True)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        assert not errors, errors
        for name, other in (("Ana", "Ben"), ("Ben", "Ana")):
            rows = _rows(st.db_file, name)
            assert len(rows) == 3 and all(
                r["final_text"].endswith(f"Edited by {name}.") for r in rows
            )
            assert not any(f"Edited by {other}" in p for p in pages[name])
        prog = review.progress(fresh_run.run_id, fresh_run.results).set_index("reviewer")
        assert prog.loc["Ana", "done"] == prog.loc["Ben", "done"] == 3
    finally:
        st.stop()


def _value(b, field_id: str) -> str:
    return b.find_element(By.ID, field_id).get_attribute("value")


def _is_checked(b, field_id: str) -> bool:
    return b.find_element(By.ID, field_id).is_selected()


def _click_for_error(b, button: str, expect: str) -> None:
    """Click a decision button and wait for the same page to come back with an error."""
    before = _task(b)
    page = b.find_element(By.TAG_NAME, "html")
    b.find_element(By.ID, button).click()
    # the previous error may still be on the old page: wait for the new page first
    WebDriverWait(b, 30).until(_replaced(page))
    WebDriverWait(
        b,
        30,
        ignored_exceptions=(
            NoSuchElementException,
            StaleElementReferenceException,
            WebDriverException,
        ),
    ).until(lambda d: d.find_elements(By.ID, "error"))
    assert expect in b.find_element(By.ID, "error").text
    assert _task(b) == before


def _skip_to(b, mode: str) -> None:
    for _ in range(80):
        if b.find_elements(By.ID, "not-now"):  # the five questions, every tenth draft
            _navigate(b, (By.ID, "not-now"))
        if b.find_element(By.ID, "review-form").get_attribute("data-mode") == mode:
            return
        _submit(b, "skip")
    raise AssertionError(f"no {mode} page in the queue")


def test_typed_ratings_and_comments_survive_every_validation_error(fresh_run, browsers):
    st = review.start(
        fresh_run.run_id,
        ["Ana"],
        results_dir=fresh_run.results,
        modes=("scratch", "drafts", "side_by_side"),
        pair=("canned", "model_x"),
    )
    try:
        b = browsers()
        b.get(st.links["Ana"])
        # from scratch: a comment typed with an empty reply comes back with the error
        assert b.find_element(By.ID, "review-form").get_attribute("data-mode") == "scratch"
        b.find_element(By.ID, "comment").send_keys("I would phone the family first.")
        _click_for_error(b, "save-reply", "The reply is empty")
        assert _value(b, "comment") == "I would phone the family first."
        # a draft: edited, two of three criteria rated, a flag, a comment; Approve refused
        _skip_to(b, "drafts")
        draft = _value(b, "final_text")
        b.find_element(By.ID, "final_text").send_keys(" Edited by Ana.")
        b.find_element(By.ID, "rate_accuracy_4").click()
        b.find_element(By.ID, "rate_tone_2").click()
        b.find_element(By.ID, "flag_outdated").click()
        b.find_element(By.ID, "comment").send_keys("Out of date: the fee changed.")
        _click_for_error(b, "approve", "Rate the draft on completeness")
        assert _value(b, "final_text") == draft + " Edited by Ana."
        assert _is_checked(b, "rate_accuracy_4") and _is_checked(b, "rate_tone_2")
        assert not _is_checked(b, "rate_accuracy_5") and _is_checked(b, "flag_outdated")
        assert _value(b, "comment") == "Out of date: the fee changed."
        # emptied, with every criterion now rated: refused again, everything still there
        b.find_element(By.ID, "rate_completeness_na").click()
        b.find_element(By.ID, "final_text").clear()
        _click_for_error(b, "approve", "The reply is empty")
        assert _is_checked(b, "rate_completeness_na") and _is_checked(b, "rate_accuracy_4")
        assert _value(b, "comment") == "Out of date: the fee changed."
        b.find_element(By.ID, "final_text").send_keys("The fee is $12 now.")
        task = _submit(b, "approve")
        row = next(r for r in _rows(st.db_file, "Ana") if str(r["task_id"]) == task)
        assert json.loads(row["ratings"]) == {"accuracy": 4, "tone": 2}
        assert json.loads(row["unrated"]) == ["completeness"]
        assert row["comment"] == "Out of date: the fee changed."
        assert row["final_text"] == "The fee is $12 now." and "outdated" in row["flags"]
        assert row["active_seconds"] > 0  # the time before the errors still counts
        # side by side: the "Why?" text survives a save without a choice
        _skip_to(b, "side_by_side")
        b.find_element(By.ID, "comment").send_keys("Left is warmer; right is shorter.")
        _click_for_error(b, "choose", "Pick the draft")
        assert _value(b, "comment") == "Left is warmer; right is shorter."
        b.find_element(By.ID, "choice_right").click()
        task = _submit(b, "choose")
        row = next(r for r in _rows(st.db_file, "Ana") if str(r["task_id"]) == task)
        assert row["choice"] == "right" and row["comment"] == "Left is warmer; right is shorter."
    finally:
        st.stop()


AXE_JS = REPO / ".cache" / "npm" / "node_modules" / "axe-core" / "axe.min.js"

# The focused element's outline, and the colour behind it (the first opaque background up the
# tree), as WCAG 2.2's focus appearance asks: a solid ring at least 2px thick whose colour has a
# contrast of at least 3:1 against what surrounds it.
FOCUS_JS = """
const el = document.activeElement;
const cs = getComputedStyle(el);
let bg = 'rgb(255, 255, 255)';
for (let n = el.parentElement; n; n = n.parentElement) {
  const c = getComputedStyle(n).backgroundColor;
  if (c && c !== 'transparent' && !c.startsWith('rgba(0, 0, 0, 0)')) { bg = c; break; }
}
return {tag: el.tagName, id: el.id || el.name || el.textContent.slice(0, 30),
        style: cs.outlineStyle, width: parseFloat(cs.outlineWidth), color: cs.outlineColor, bg: bg};
"""


def _luminance(rgb: str) -> float:
    vals = [float(v) / 255 for v in re.findall(r"[\d.]+", rgb)[:3]]
    lin = [v / 12.92 if v <= 0.03928 else ((v + 0.055) / 1.055) ** 2.4 for v in vals]
    return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]


def _contrast(a: str, b: str) -> float:
    hi, lo = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def _axe(b) -> list[dict]:
    b.execute_script(AXE_JS.read_text(encoding="utf-8"))
    return b.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        # WCAG 2.2's target size too (axe-core leaves it off by default)
        "axe.run(document, {rules: {'target-size': {enabled: true}}})"
        ".then(r => done(r.violations.map(v => ({id: v.id, impact: v.impact,"
        " nodes: v.nodes.map(n => n.html.slice(0, 120))}))), e => done([{id: String(e)}]));"
    )


def _focus_rings(b, steps: int = 40) -> list[dict]:
    """Tab through the page; every focused control's ring, as computed by the browser."""
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.keys import Keys

    b.execute_script(
        "document.activeElement && document.activeElement.blur(); window.scrollTo(0, 0)"
    )
    b.find_element(By.TAG_NAME, "body").click()
    seen = []
    for _ in range(steps):
        ActionChains(b).send_keys(Keys.TAB).perform()
        ring = b.execute_script(FOCUS_JS)
        if ring["tag"] == "BODY":
            break
        seen.append(ring)
    return seen


@pytest.mark.skipif(not AXE_JS.is_file(), reason="needs axe-core (make axe)")
def test_station_pages_have_no_axe_violations_and_a_visible_focus_ring(fresh_run, browsers):
    st = review.start(
        fresh_run.run_id,
        ["Ana"],
        results_dir=fresh_run.results,
        modes=("scratch", "drafts", "side_by_side"),
        pair=("canned", "model_x"),
        double_share=0.0,
    )
    try:
        b = browsers()
        b.set_script_timeout(60)
        b.get(st.url)
        pages = {"start page": _axe(b)}
        b.get(st.links["Ana"])
        pages["from scratch"] = _axe(b)
        rings = _focus_rings(b)
        _click_for_error(b, "save-reply", "The reply is empty")
        pages["from scratch, with an error"] = _axe(b)
        _skip_to(b, "drafts")
        pages["a draft"] = _axe(b)
        rings += _focus_rings(b)
        for _ in range(40):  # a draft with a placeholder warning
            if b.find_elements(By.ID, "placeholders"):
                break
            _submit(b, "skip")
        assert b.find_elements(By.ID, "placeholders")
        pages["a draft with a placeholder"] = _axe(b)
        for _ in range(40):  # a page listing two approved sources (two <summary> targets)
            if b.find_elements(By.ID, "not-now"):  # the five questions, every tenth draft
                _navigate(b, (By.ID, "not-now"))
            if len(b.find_elements(By.CSS_SELECTOR, "section.sources summary")) >= 2:
                break
            _submit(b, "skip")
        assert len(b.find_elements(By.CSS_SELECTOR, "section.sources summary")) >= 2
        pages["a draft with two sources"] = _axe(b)
        _skip_to(b, "side_by_side")
        pages["side by side"] = _axe(b)
        rings += _focus_rings(b)
        for _ in range(40):
            if not b.find_elements(By.ID, "review-form"):
                break
            _submit(b, "skip")
        pages["all done"] = _axe(b)
        assert {name: v for name, v in pages.items() if v} == {}
        kinds = {r["tag"] for r in rings}
        assert {"TEXTAREA", "INPUT", "BUTTON"} <= kinds
        for r in rings:
            assert r["style"] == "solid" and r["width"] >= 2, r
            assert _contrast(r["color"], r["bg"]) >= 3.0, r
    finally:
        st.stop()
