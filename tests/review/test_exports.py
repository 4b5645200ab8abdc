"""Exports against the data contract, and the report's evidence tables, from stored reviews."""

from __future__ import annotations

import re
import shutil

import numpy as np
import pandas as pd
import pytest

import harness.review as review
from harness.cli.commands import main as cli
from harness.data.dataset import RATINGS_NON_CRITERIA, load_dataset
from harness.gates.pilot_log import outcomes
from harness.report import load_run
from harness.review import db, evidence
from harness.review.evidence import RUBBER_STAMP_SECONDS as RUBBER
from harness.review.queue import CONTROL
from harness.scorers.edit import fit_effort_rates


def _fill(path, rng: np.random.Generator) -> None:
    """Answer every task as a reviewer would: scratch replies, edits, approvals, rejections."""
    with db.connect(path) as c:
        tasks = c.execute("SELECT * FROM tasks ORDER BY reviewer, position").fetchall()
        for t in tasks:
            d = db.draft(c, t["draft_id"]) if t["draft_id"] else None
            opened = db.mark_opened(c, t["task_id"])
            secs = float(rng.uniform(30, 400))
            if t["mode"] == "scratch":
                rec = {
                    "decision": "written",
                    "final_text": "Hello, the pass is $10. Call 555-0157.",
                }
            else:
                decision = rng.choice(["approved", "approved", "rejected", "skipped"])
                text = d["text"] if rng.random() < 0.3 else d["text"] + " Call 555-0157."
                rec = {"decision": str(decision), "final_text": text}
            rec |= {
                "ratings": {
                    "accuracy": int(rng.integers(1, 6)),
                    "completeness": int(rng.integers(1, 6)),
                    "tone": int(rng.integers(1, 6)),
                },
                "flags": ["tone"] if rng.random() < 0.3 else [],
                "comment": 'ok, "quoted", with a comma',
                "choice": "",
                "active_seconds": 3.0
                if rec["decision"] == "approved" and rng.random() < 0.1
                else secs,
                "events": 4,
                "opened_at": opened,
                "submitted_at": db.now(),
                "elapsed_seconds": secs + 1,
            }
            assert db.submit(c, t["task_id"], t["reviewer"], rec)


@pytest.fixture
def filled(fresh_run):
    path = review.prepare(
        fresh_run.run_id,
        ["Ana", "Ben", "Cy"],
        results_dir=fresh_run.results,
        modes=("scratch", "drafts"),
        scratch_share=0.5,
        seed=4,
    )
    _fill(path, np.random.default_rng(0))
    return fresh_run


def test_exports_pass_validate_inside_a_dataset_and_feed_pilot_outcomes(filled, tmp_path):
    ds = tmp_path / "ds"
    shutil.copytree(filled.dataset, ds)
    for own in ("ratings.csv", "pilot_log.csv"):  # a dataset without its own (see below)
        (ds / own).unlink()
    written = review.export(filled.run_id, ds, results_dir=filled.results)
    assert set(written) == {"ratings.csv", "pilot_log.csv", "corrected_replies.csv"}
    assert cli(["validate", str(ds)]) == 0
    data = load_dataset(ds)
    r, log = data.ratings, data.pilot_log
    assert r.attrs["criteria"] == ["accuracy", "completeness", "tone"]
    assert set(r.columns) - set(RATINGS_NON_CRITERIA) == {"accuracy", "completeness", "tone"}
    assert (r.groupby("draft_id").size() <= 2).all() and (r.groupby("draft_id").size() == 2).any()
    stored = db.reviews_frame(db.db_path(filled.path))
    judged = stored[
        (stored["mode"] == "drafts") & stored["decision"].isin(["approved", "rejected"])
    ]
    assert len(r) == len(judged)
    assert set(log["phase"]) == {"baseline", "pilot"}
    pilot = log[log["phase"] == "pilot"]
    assert CONTROL not in set(pilot["candidate"])  # the control is no AI draft
    assert pilot["ai_draft"].notna().all() and set(pilot["approved"]) <= {True, False}
    base = log[log["phase"] == "baseline"]
    assert (base["review_minutes"] == 0).all() and (base["drafting_minutes"] > 0).all()
    out = outcomes(log).set_index("measure")
    assert out.loc["minutes_saved_per_reply", "n_baseline"] == len(base)
    assert out.loc["minutes_saved_per_reply", "verdict"] != "not measured"
    assert out.loc["fewer_revisions", "verdict"] == "not measured"  # the station has no rounds
    rates, report = fit_effort_rates(log)
    assert set(rates) == {"read_wpm", "compose_wpm", "deleted_word_seconds", "lookup_minutes"}
    assert len(report)
    corrected = pd.read_csv(written["corrected_replies.csv"])
    assert len(corrected) == len(judged) and set(corrected["changed"]) <= {0, 1}


def test_evidence_tables_are_numeric_and_add_up(filled):
    run = load_run(filled.run_id, filled.results)
    stored = evidence.reviews(run)
    mm = evidence.measured_minutes(run, resamples=200)
    assert "written from scratch" in mm.index and "model_x" in mm.index
    assert all(pd.api.types.is_numeric_dtype(t) for t in mm.dtypes)
    judged = stored[
        (stored["mode"] == "drafts") & stored["decision"].isin(["approved", "rejected"])
    ]
    m = judged[judged["candidate"] == "model_x"]["minutes"].mean()
    assert mm.at["model_x", "measured_minutes"] == pytest.approx(m)
    assert mm.at["model_x", "ci_low"] <= m <= mm.at["model_x", "ci_high"]
    sc = run.scores
    est = sc[(sc["metric"] == "review_minutes") & (sc["candidate"] == "model_x")]
    assert mm.at["model_x", "estimated_minutes"] == pytest.approx(
        est.set_index("item_id")
        .loc[judged[judged["candidate"] == "model_x"]["item_id"], "value"]
        .mean()
    )
    saved = evidence.minutes_saved(run, resamples=200)
    scratch_m = stored[(stored["mode"] == "scratch")]["minutes"].mean()
    assert saved.at["model_x", "measured_saved"] == pytest.approx(scratch_m - m)
    assert saved.at["model_x", "ci_low"] <= scratch_m - m <= saved.at["model_x", "ci_high"]
    assert CONTROL not in saved.index
    assert "Measured minutes exist for this run" in evidence.section_html(run)
    dec = evidence.decisions(run)
    shares = dec[["approved_share", "rejected_share", "skipped_share"]].sum(axis=1)
    assert np.allclose(shares, 1.0)
    assert np.allclose(
        dec["approved_edited_share"] + dec["approved_unchanged_share"], dec["approved_share"]
    )
    flags = evidence.flag_counts(run)
    assert flags["tone"].sum() == sum("tone" in f for f in judged["flags"])
    agr = evidence.agreement(run, resamples=200)
    assert set(agr.index) == {"accuracy", "completeness", "tone", "decision"}
    assert (agr["pairs"] > 0).all()
    ok = agr.dropna(subset=["kappa"])
    assert ((ok["ci_low"] <= ok["kappa"]) & (ok["kappa"] <= ok["ci_high"])).all()
    stamps = evidence.rubber_stamps(run, seconds=10)
    fast = stored[
        (stored["decision"] == "approved")
        & ~stored["changed"]
        & (stored["active_seconds"] < 10)
        & (stored["mode"] == "drafts")
    ]
    assert stamps["fast_unchanged"].sum() == len(fast)
    spread = evidence.reviewer_spread(run)
    assert spread.at["minutes", "reviewers"] == 3 and spread.at["minutes", "sd"] >= 0
    html = evidence.section_html(run)
    assert "What staff did with the drafts" in html and "Rubber-stamp check" in html
    assert "<script" not in html
    assert evidence.section(run).data == html


@pytest.mark.parametrize(
    "x,y,weighted,expect",
    [
        ([1, 2, 3, 4, 5], [1, 2, 3, 4, 5], True, 1.0),
        ([1, 1, 0, 0], [1, 1, 0, 0], False, 1.0),
        ([1, 0, 1, 0], [0, 1, 0, 1], False, -1.0),
        ([3, 3, 3], [3, 3, 3], True, float("nan")),
    ],
)
def test_kappa_with_interval_known_answers(x, y, weighted, expect):
    k, lo, hi = evidence.kappa_ci(
        np.array(x, float), np.array(y, float), weighted=weighted, resamples=200
    )
    if np.isnan(expect):
        assert np.isnan(k)
    else:
        assert k == pytest.approx(expect) and lo <= k <= hi


@pytest.mark.parametrize("weighted", [True, False])
def test_the_kappa_interval_is_sklearns_kappa_of_each_resample(weighted):
    """The interval computes every resample's kappa at once: each equals scikit-learn's
    ``cohen_kappa_score`` of that resample (quadratic weights on the 1-5 half-point grid for
    criteria, plain for the decision), and one-label resamples are left out."""
    from sklearn.metrics import cohen_kappa_score

    from harness.scorers.calibration import GRID

    rng = np.random.default_rng(3)
    if weighted:
        x = rng.choice([1.0, 1.5, 2.0, 4.0, 5.0], size=23)
        y = np.clip(x + rng.choice([-1.0, 0.0, 0.5], size=23), 1, 5)
    else:
        x = (rng.random(23) < 0.85).astype(float)
        y = np.where(rng.random(23) < 0.8, x, 1 - x)
    draws = np.random.default_rng(7)
    reps = []
    for _ in range(300):
        i = draws.integers(0, len(x), size=len(x))
        a, b = x[i], y[i]
        if len(set(a) | set(b)) < 2:
            continue
        if weighted:
            a, b = np.rint((a - 1) * 2), np.rint((b - 1) * 2)
            reps.append(cohen_kappa_score(a, b, labels=list(range(len(GRID))), weights="quadratic"))
        else:
            reps.append(cohen_kappa_score(a, b))
    k, lo, hi = evidence.kappa_ci(x, y, weighted=weighted, resamples=300, seed=7)
    assert len(reps) > 0 and len(set(np.round(reps, 9))) > 5
    want_lo, want_hi = np.quantile(reps, [0.025, 0.975])
    assert lo == pytest.approx(min(want_lo, k), abs=1e-12)
    assert hi == pytest.approx(max(want_hi, k), abs=1e-12)


def test_a_run_without_reviews_says_so(fresh_run):
    run = load_run(fresh_run.run_id, fresh_run.results)
    assert evidence.measured_minutes(run).empty and evidence.agreement(run).empty
    assert "No staff review yet" in evidence.section_html(run)


def test_the_exported_pilot_log_names_each_replys_workflow(filled):
    written = review.export(filled.run_id, results_dir=filled.results)
    raw = pd.read_csv(written["pilot_log.csv"], dtype=str, keep_default_na=False)
    items = load_run(filled.run_id, filled.results).dataset.items
    assert len(raw) and raw["task"].tolist() == raw["item_id"].map(items["task"]).tolist()


def test_pilot_gates_use_the_minutes_measured_in_the_station_and_say_so(filled):
    from harness.gates.decision import Evidence
    from harness.store.runs import STATION_SOURCE

    run = load_run(filled.run_id, filled.results)
    before = Evidence.from_run(run).pilot_log
    assert before is None or STATION_SOURCE not in before.attrs.get("source", "")
    review.export(filled.run_id, results_dir=filled.results)  # into results/<run>/review/
    ev = Evidence.from_run(load_run(filled.run_id, filled.results))
    assert ev.pilot_log.attrs["source"] == STATION_SOURCE
    assert set(ev.pilot_log["entry_id"]) == set(
        pd.read_csv(filled.path / "review" / "pilot_log.csv")["entry_id"]
    )
    from harness.gates.decision import GateSet, Governance, evaluate
    from tests.gates.test_decision import GOV

    gs = GateSet.model_validate(
        {
            "resamples": 200,
            "phases": {
                "post_pilot": {
                    "question": "Did it help?",
                    "gates": [
                        {
                            "name": "saves",
                            "title": "Saves time",
                            "test": "threshold",
                            "metric": "pilot:minutes_saved_per_reply",
                            "threshold": -1000.0,
                        }
                    ],
                }
            },
        }
    )
    d = evaluate(ev, "post_pilot", gs, Governance.model_validate(GOV)).gates.set_index("gate")
    assert d.loc["saves", "status"] == "pass"
    assert d.loc["saves", "evidence"].endswith(STATION_SOURCE)


def test_the_readiness_and_phase_reports_show_what_staff_did(filled):
    """After the pilot review: both reports carry the station's measured minutes and decisions."""
    from harness.report import render_comparison, render_report

    review.export(filled.run_id, results_dir=filled.results)
    ready = render_report(filled.run_id, phase="post_pilot", results_dir=filled.results)
    html = ready.read_text()
    assert "What staff did with the drafts" in html
    assert "Measured minutes per draft beside the estimate" in html
    assert "No staff review yet" not in html
    phase = render_comparison(filled.run_id, filled.run_id, results_dir=filled.results)
    assert "Measured minutes per draft beside the estimate" in phase.read_text()


def _snapshot(folder) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


@pytest.mark.parametrize("merge", [False, True])
def test_an_export_never_replaces_a_datasets_own_ratings_or_pilot_log(filled, tmp_path, merge):
    ds = tmp_path / "ds"
    shutil.copytree(filled.dataset, ds)
    before = _snapshot(ds)
    old_ratings = pd.read_csv(ds / "ratings.csv", dtype=str, keep_default_na=False)
    old_log = pd.read_csv(ds / "pilot_log.csv", dtype=str, keep_default_na=False)
    if not merge:
        with pytest.raises(review.ReviewError, match=r"ratings\.csv, pilot_log\.csv.*--merge"):
            review.export(filled.run_id, ds, results_dir=filled.results)
        assert _snapshot(ds) == before  # nothing written, not even corrected_replies.csv
        assert (
            cli(["--results", str(filled.results), "review", filled.run_id, "--export", str(ds)])
            != 0
        )
        assert _snapshot(ds) == before
        return
    written = review.export(filled.run_id, ds, results_dir=filled.results, merge=True)
    for name in ("ratings.csv", "pilot_log.csv"):  # a backup beside each, said in the result
        assert written[f"{name} (backup)"].read_bytes() == before[name]
    ratings = pd.read_csv(ds / "ratings.csv", dtype=str, keep_default_na=False)
    log = pd.read_csv(ds / "pilot_log.csv", dtype=str, keep_default_na=False)
    # every old row kept as it was, first; the station's rows after them
    pd.testing.assert_frame_equal(
        ratings[list(old_ratings.columns)].head(len(old_ratings)), old_ratings
    )
    pd.testing.assert_frame_equal(log[list(old_log.columns)].head(len(old_log)), old_log)
    stored = db.reviews_frame(db.db_path(filled.path))
    judged = stored[
        (stored["mode"] == "drafts") & stored["decision"].isin(["approved", "rejected"])
    ]
    assert len(ratings) == len(old_ratings) + len(judged)
    assert cli(["validate", str(ds)]) == 0
    # merging again adds nothing: the station's rows are there already
    after = {n: (ds / n).read_bytes() for n in ("ratings.csv", "pilot_log.csv")}
    review.export(filled.run_id, ds, results_dir=filled.results, merge=True)
    assert {n: (ds / n).read_bytes() for n in after} == after


def test_the_station_replaces_its_own_exports_but_not_once_someone_edited_them(filled, tmp_path):
    out = tmp_path / "out"
    review.export(filled.run_id, out, results_dir=filled.results)
    review.export(filled.run_id, out, results_dir=filled.results)  # its own files: replaced
    with (out / "corrected_replies.csv").open("a") as f:
        f.write("someone's,own,row\n")
    with pytest.raises(review.ReviewError, match=r"corrected_replies\.csv is there"):
        review.export(filled.run_id, out, results_dir=filled.results)
    assert (out / "corrected_replies.csv").read_text().endswith("someone's,own,row\n")


HOSTILE_CELLS = [
    '=HYPERLINK("http://evil.example","click")',
    "+1 555 0100",
    "-5 degrees, so no outdoor recess",
    "@SUM(A1:A9)",
    "\t=1+1",
    "'=already quoted",
    "plain, safe text",
]


def test_exported_cells_never_run_as_formulas_and_read_back_as_typed(fresh_run, tmp_path):
    path = review.prepare(
        fresh_run.run_id, ["Ana"], results_dir=fresh_run.results, modes=("scratch", "drafts")
    )
    with db.connect(path) as c:
        tasks = c.execute("SELECT * FROM tasks ORDER BY position").fetchall()
        for n, t in enumerate(tasks):
            cell = HOSTILE_CELLS[n % len(HOSTILE_CELLS)]
            opened = db.mark_opened(c, t["task_id"])
            db.submit(
                c,
                t["task_id"],
                "Ana",
                {
                    "decision": "written" if t["mode"] == "scratch" else "approved",
                    "final_text": cell,
                    "ratings": {"accuracy": 3, "completeness": 3, "tone": 3},
                    "flags": [],
                    "comment": cell,
                    "choice": "",
                    "active_seconds": 30.0,
                    "events": 2,
                    "opened_at": opened,
                    "submitted_at": db.now(),
                    "elapsed_seconds": 31.0,
                },
            )
    ds = tmp_path / "ds"
    shutil.copytree(fresh_run.dataset, ds)
    for own in ("ratings.csv", "pilot_log.csv"):
        (ds / own).unlink()
    written = review.export(fresh_run.run_id, ds, results_dir=fresh_run.results)
    import csv

    for name in ("ratings.csv", "pilot_log.csv", "corrected_replies.csv"):
        with written[name].open(newline="") as f:
            for row in csv.DictReader(f):
                for col, v in row.items():
                    assert not v.startswith(("=", "+", "-", "@", "\t")), (name, col, v)
    data = load_dataset(ds)  # the harness reads each cell back as it was typed
    typed = set(HOSTILE_CELLS)
    assert set(data.ratings["comment"]) <= typed and len(set(data.ratings["comment"])) > 3
    assert set(data.pilot_log["final_text"]) <= typed
    assert '=HYPERLINK("http://evil.example","click")' in set(data.pilot_log["final_text"])


def test_a_queue_from_an_earlier_release_still_exports_and_resumes(fresh_run):
    """Queues built before placeholders and "can't rate" were stored gain the columns."""
    path = review.prepare(fresh_run.run_id, ["Ana"], results_dir=fresh_run.results)
    with db.connect(path) as c:
        c.execute("ALTER TABLE reviews DROP COLUMN unrated")
        c.execute("ALTER TABLE drafts DROP COLUMN placeholders")
    written = review.export(fresh_run.run_id, results_dir=fresh_run.results)
    assert set(written) == {"ratings.csv", "pilot_log.csv", "corrected_replies.csv"}
    assert review.prepare(fresh_run.run_id, results_dir=fresh_run.results) == path
    with db.connect(path) as c:
        found = {r[0] for r in c.execute("SELECT placeholders FROM drafts")}
    assert '["[Parent\'s Name]"]' in found  # found again in the stored drafts


def test_the_leaders_section_names_no_reviewer_and_shows_the_spread(filled):
    """No per-reviewer rows in a leader report ("Ana 8 7 0.88" grades a person): the rubber-stamp
    check and the edits say how many and how spread out, never who."""
    run = load_run(filled.run_id, filled.results)
    html = evidence.section_html(run)
    for name in ("Ana", "Ben", "Cy"):
        assert not re.search(rf"\b{name}\b", html), name
    assert "per reviewer" not in html
    spread = evidence.reviewer_spread(run)
    assert "fast_unchanged_share" in spread.index  # the rubber-stamp shares, spread only
    stamps = evidence.rubber_stamps(run, seconds=RUBBER)
    shares = stamps["share"].dropna()
    assert spread.at["fast_unchanged_share", "min"] == pytest.approx(shares.min())
    assert spread.at["fast_unchanged_share", "max"] == pytest.approx(shares.max())
    assert "Spread between reviewers" in html
