"""Judge calibration statistics (known answers), the sample dataset with a scripted judge, and
fitting the edit-effort rates to a pilot log."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import cohen_kappa_score

from harness.data.dataset import load_dataset
from harness.plan.spec import CalibrationSample, JudgeSpec
from harness.scorers.calibration import (
    agreement,
    calibrate,
    calibration_drafts,
    compare,
    confusion,
    load_calibration,
    rated_drafts,
    rater_pairs,
    weighted_kappa,
)
from harness.scorers.edit import edit_effort, fit_effort_rates, pilot_effort_features
from harness.store.runs import RunStore

CRITERIA = ["accuracy", "completeness", "tone"]
H = [1, 2, 3, 4, 5, 5, 4, 3, 2, 1, 3, 3]  # symmetric about 3: reversing gives kappa -1

# -- agreement on constructed ratings ----------------------------------------------------------

CASES = [
    # judge, expected (kappa, exact, within_one, bias); None: not checked
    ("perfect", H, (1.0, 1.0, 1.0, 0.0)),
    ("one up", [min(5, h + 1) for h in H], (None, 2 / 12, 1.0, 10 / 12)),
    ("one down", [max(1, h - 1) for h in H], (None, 2 / 12, 1.0, -10 / 12)),
    ("reversed", [6 - h for h in H], (-1.0, 4 / 12, 4 / 12, 0.0)),
    ("constant", [3] * len(H), (0.0, 4 / 12, 8 / 12, 0.0)),
]


@pytest.mark.parametrize("name,judge,expected", CASES)
def test_agreement_on_known_answers(name, judge, expected):
    a = agreement(H, judge)
    kappa, exact, within, bias = expected
    assert a["n"] == len(H)
    if kappa is not None:
        assert a["kappa"] == pytest.approx(kappa)
    assert a["exact"] == pytest.approx(exact)
    assert a["within_one"] == pytest.approx(within)
    assert a["bias"] == pytest.approx(bias)
    assert a["mae"] == pytest.approx(np.mean(np.abs(np.subtract(judge, H))))


def test_constant_offset_keeps_rank_but_shows_bias():
    h = [1, 2, 3, 4, 1, 2, 3, 4]
    a = agreement(h, [x + 1 for x in h])
    assert a["spearman"] == pytest.approx(1.0)
    assert a["bias"] == pytest.approx(1.0) and a["exact"] == 0.0 and a["within_one"] == 1.0
    assert 0 < a["kappa"] < 1


def test_unscored_rows_are_left_out_not_counted_as_disagreement():
    a = agreement([1, 2, 3, 4, 5], [1, 2, np.nan, 4, 5])
    assert a["n"] == 4 and a["exact"] == 1.0 and a["kappa"] == pytest.approx(1.0)
    assert agreement([np.nan], [3])["n"] == 0 and math.isnan(agreement([np.nan], [3])["kappa"])


def test_half_point_human_means_are_not_exact():
    a = agreement([4.5, 2.0, 3.0], [4, 2, 3])
    assert a["exact"] == pytest.approx(2 / 3) and a["within_one"] == 1.0
    assert a["bias"] == pytest.approx(-0.5 / 3)


@settings(max_examples=80, deadline=None)
@given(
    pairs=st.lists(st.tuples(st.integers(1, 5), st.integers(1, 5)), min_size=2, max_size=30).filter(
        lambda p: len({x for pair in p for x in pair}) > 1
    )
)
def test_kappa_laws(pairs):
    a, b = [p[0] for p in pairs], [p[1] for p in pairs]
    k = weighted_kappa(a, b)
    assert k == pytest.approx(weighted_kappa(b, a))  # symmetric
    assert k <= 1.0 + 1e-9
    assert k == pytest.approx(cohen_kappa_score(a, b, weights="quadratic", labels=[1, 2, 3, 4, 5]))
    # closed form: 1 - sum (a-b)^2 / mean over all pairs of (a_i - b_j)^2 * n
    x, y = np.array(a, float), np.array(b, float)
    expected = ((x[:, None] - y[None, :]) ** 2).mean() * len(x)
    assert k == pytest.approx(1 - ((x - y) ** 2).sum() / expected)
    s = agreement(a, b)
    assert s["exact"] <= s["within_one"]
    assert agreement(b, a)["bias"] == pytest.approx(-s["bias"])


@settings(max_examples=40, deadline=None)
@given(h=st.lists(st.integers(2, 10).map(lambda v: v / 2), min_size=2, max_size=20))
def test_kappa_on_half_points_matches_the_closed_form(h):
    j = [min(5.0, max(1.0, round(v))) for v in h]
    x, y = np.array(h), np.array(j, float)
    expected = ((x[:, None] - y[None, :]) ** 2).mean() * len(x)
    k = weighted_kappa(h, j)
    if expected == 0:
        assert math.isnan(k)
    else:
        assert k == pytest.approx(1 - ((x - y) ** 2).sum() / expected)


def test_confusion_counts_every_pair():
    c = confusion([1, 1, 4.5, 5], [1, 2, 4, np.nan])
    assert c["count"].sum() == 3
    assert set(c["human"]) == {1.0, 2.0, 3.0, 4.0, 4.5, 5.0} and set(c["judge"]) == {1, 2, 3, 4, 5}
    got = c.set_index(["human", "judge"])["count"]
    assert got[(1.0, 1.0)] == 1 and got[(1.0, 2.0)] == 1 and got[(4.5, 4.0)] == 1


# -- rated drafts, pairs and the calibrated flag -----------------------------------------------

RATINGS = pd.DataFrame(
    {
        "draft_id": ["d1", "d1", "d2", "d3", "d3"],
        "item_id": ["i1", "i1", "i2", "i3", "i3"],
        "draft": ["a", "a", "b", "c", "c"],
        "rater": ["rater_b", "rater_a", "rater_a", "rater_a", "rater_b"],
        "accuracy": [5, 4, 2, 1, 1],
        "completeness": [3, 3, 4, 2, 4],
        "tone": [4, 4, 5, 1, 3],
    }
)


def test_two_raters_are_averaged_and_paired():
    rated = rated_drafts(RATINGS, CRITERIA)
    assert rated.loc["d1", "accuracy"] == 4.5 and rated.loc["d3", "completeness"] == 3.0
    assert rated["raters"].tolist() == [2, 1, 2]
    pairs = rater_pairs(RATINGS, CRITERIA)
    acc = pairs[pairs["criterion"] == "accuracy"].set_index("draft_id")
    assert acc.loc["d1"].tolist() == ["accuracy", 4.0, 5.0]  # rater_a first
    assert len(pairs) == 2 * len(CRITERIA)


@pytest.mark.parametrize(
    "offset,min_kappa,min_rated,calibrated",
    [(0, 0.6, 3, True), (0, 0.6, 4, False), (2, 0.6, 3, False), (0, -1.0, 1, True)],
)
def test_calibrated_flag_needs_kappa_and_enough_drafts(offset, min_kappa, min_rated, calibrated):
    rated = rated_drafts(RATINGS, CRITERIA)
    judged = (rated[CRITERIA] + offset).clip(1, 5).round()
    spec = JudgeSpec(model="openai/x", min_kappa=min_kappa, min_rated=min_rated)
    res = compare(rated, judged, CRITERIA, spec, RATINGS)
    assert res.calibrated is calibrated
    assert res.summary["calibrated"].all() == calibrated
    assert res.summary["human_n"].tolist() == [2, 2, 2]
    tone = res.summary.set_index("criterion").loc["tone"]
    assert tone["human_exact"] == 0.5  # d1 agree on tone, d3 do not
    assert res.confusion_matrix("accuracy").to_numpy().sum() == 3


# -- the sample dataset with a scripted loopback judge ------------------------------------------


def _draft_of(msgs):
    return msgs[-1]["content"].split("DRAFT to rate:\n", 1)[1].split("\n\nRubric:", 1)[0]


def test_sample_dataset_with_a_judge_that_copies_rater_a(loopback, tmp_path):
    ds = load_dataset("datasets/sample-district")
    first = ds.ratings.sort_values("rater").groupby("draft_id").first()
    by_text = first.set_index("draft")
    srv = loopback(
        reply=lambda msgs: json.dumps(
            {c: int(by_text.loc[_draft_of(msgs), c]) for c in CRITERIA} | {"rationale": "x"}
        )
    )
    spec = JudgeSpec(model="openai/loopback", api_base=srv.base_url, concurrency=8)
    res = calibrate(ds, spec, cache_path=tmp_path / "c.sqlite", out_dir=tmp_path / "out")
    n_drafts = ds.ratings["draft_id"].nunique()
    assert srv.request_count == n_drafts == 61
    s = res.summary.set_index("criterion")
    assert (s["n"] == 61).all() and (s["unscored"] == 0).all()
    two = ds.ratings.groupby("draft_id").filter(lambda g: len(g) == 2)
    for c in CRITERIA:
        # rater_a's score equals the mean exactly when the draft had one rater or both agree
        agree = two.groupby("draft_id")[c].nunique().eq(1).sum()
        assert s.loc[c, "exact"] == pytest.approx((61 - 20 + agree) / 61)
        assert s.loc[c, "within_one"] == 1.0
    assert res.calibrated and (s["kappa"] > 0.9).all()
    assert (s["human_n"] == 20).all()
    saved = json.loads((tmp_path / "out" / "calibration.json").read_text())
    assert saved["calibrated"] is True and len(saved["summary"]) == 3
    # a cached re-calibration makes no calls
    again = calibrate(ds, spec, cache_path=tmp_path / "c.sqlite")
    assert srv.request_count == 61 and again.counts["calls"] == 0
    pd.testing.assert_frame_equal(again.summary, res.summary)


def test_a_constant_judge_on_a_run_is_stored_as_uncalibrated(loopback, tmp_path):
    srv = loopback(reply='{"accuracy": 4, "completeness": 4, "tone": 4}')
    run = tmp_path / "results" / "r1"
    run.mkdir(parents=True)
    judge = {"model": "openai/loopback", "api_base": srv.base_url, "concurrency": 8}
    manifest = {
        "run_id": "r1",
        "plan": {"judge": judge},
        "dataset": {"path": "datasets/sample-district"},
    }
    (run / "manifest.json").write_text(json.dumps(manifest))
    res = calibrate("r1", results_dir=tmp_path / "results")
    assert not res.calibrated
    assert (res.summary["kappa"] == 0).all()
    stored = load_calibration("r1", tmp_path / "results")
    assert not stored["calibrated"].any() and set(stored["criterion"]) == set(CRITERIA)
    m = RunStore(run).read_manifest()
    assert m["judge_calibration"]["calibrated"] is False
    assert (tmp_path / "results" / ".cache" / "responses.sqlite").is_file()


# -- the calibration sample --------------------------------------------------------------------

RATED = rated_drafts(load_dataset("datasets/sample-district").ratings, CRITERIA)


@pytest.mark.parametrize("stratify", ["score", "item"])
@pytest.mark.parametrize("size", [1, 5, 24, 60, 61, 500])
def test_the_sample_is_deterministic_bounded_and_spans_the_scale(size, stratify):
    spec = CalibrationSample(max_drafts=size, seed=11, stratify=stratify)
    got = calibration_drafts(RATED, CRITERIA, spec)
    assert len(got) == min(size, len(RATED)) and got.index.is_unique
    assert set(got.index) <= set(RATED.index)
    assert got.index.equals(RATED.index[RATED.index.isin(got.index)])  # original order
    again = calibration_drafts(RATED, CRITERIA, spec)
    assert got.index.equals(again.index)  # the same seed picks the same drafts
    if 24 <= size < len(RATED):
        other = calibration_drafts(RATED, CRITERIA, spec.model_copy(update={"seed": 12}))
        assert not got.index.equals(other.index)
    if stratify == "score" and size < len(RATED):
        mean = RATED[CRITERIA].mean(axis=1)
        step = len(RATED) / size
        # spans the scale: the sample reaches into the lowest and the highest `step` drafts,
        # and every whole score level holding at least `step` drafts is in it
        low, high = mean.rank(method="min"), mean.rank(method="max")  # ties count either way
        assert low[got.index].min() <= math.ceil(step)
        assert high[got.index].max() > len(RATED) - math.ceil(step)
        levels = mean.round()
        big = {lv for lv, n in levels.value_counts().items() if n >= step}
        assert big <= set(levels[got.index])


def test_without_a_sample_every_rated_draft_is_used():
    assert calibration_drafts(RATED, CRITERIA, None) is RATED


@settings(max_examples=80, deadline=None)
@given(
    sizes=st.lists(st.integers(1, 30), min_size=1, max_size=6),
    size=st.integers(1, 120),
    seed=st.integers(0, 2**32 - 1),
)
def test_systematic_sample_keeps_each_stratum_in_proportion(sizes, size, seed):
    levels = [float(i + 1) for i, n in enumerate(sizes) for _ in range(n)]
    rated = pd.DataFrame(
        {"item_id": [f"i{i}" for i in range(len(levels))], **dict.fromkeys(CRITERIA, levels)},
        index=[f"d{i:03d}" for i in range(len(levels))],
    )
    got = calibration_drafts(rated, CRITERIA, CalibrationSample(max_drafts=size, seed=seed))
    total = len(rated)
    assert len(got) == min(size, total)
    counts = got["accuracy"].value_counts()
    for i, n in enumerate(sizes):  # floor or ceil of the stratum's proportional share
        share = n * min(size, total) / total
        assert math.floor(share) <= counts.get(float(i + 1), 0) <= math.ceil(share)


def test_calibrating_on_a_sample_records_it_and_keeps_min_rated(loopback, tmp_path):
    ds = load_dataset("datasets/sample-district")
    first = ds.ratings.sort_values("rater").groupby("draft_id").first().set_index("draft")
    srv = loopback(
        reply=lambda msgs: json.dumps({c: int(first.loc[_draft_of(msgs), c]) for c in CRITERIA})
    )
    sample = {"max_drafts": 12, "seed": 5}
    spec = JudgeSpec(
        model="openai/loopback", api_base=srv.base_url, concurrency=8, calibration_sample=sample
    )
    res = calibrate(ds, spec, cache_path=tmp_path / "c.sqlite", out_dir=tmp_path / "out")
    assert srv.request_count == 12
    assert res.sample == {
        "rated_drafts": 61,
        "used": 12,
        "subset": True,
        "max_drafts": 12,
        "seed": 5,
        "stratify": "score",
    }
    s = res.summary.set_index("criterion")
    assert (s["n"] == 12).all() and (s["kappa"] > 0.8).all()
    assert not res.calibrated  # agrees, but on 12 drafts < min_rated (20): not calibrated
    saved = json.loads((tmp_path / "out" / "calibration.json").read_text())
    assert saved["sample"]["used"] == 12 and saved["by_criterion"]["tone"]["n"] == 12
    lenient = calibrate(
        ds, spec.model_copy(update={"min_rated": 12}), cache_path=tmp_path / "c.sqlite"
    )
    assert lenient.calibrated and srv.request_count == 12  # the same drafts, from the cache


# -- fitting the edit-effort rates -------------------------------------------------------------


def test_features_of_the_sample_pilot_log():
    log = load_dataset("datasets/sample-district").pilot_log
    f = pilot_effort_features(log)
    base = f[f["phase"] == "baseline"]
    assert (base["draft_words"] == 0).all() and (base["changed_words"] == base["final_words"]).all()
    row = log.iloc[7]
    e = edit_effort(row["ai_draft"], row["final_text"])
    got = f.iloc[7]
    assert got["changed_words"] == e["words_inserted_count"] + e["words_substituted_count"]
    assert got["deleted_words"] == e["words_deleted_count"]
    assert got["minutes"] == row["drafting_minutes"] + row["review_minutes"]


def test_fit_recovers_known_rates():
    rng = np.random.default_rng(1)
    rows = []
    truth = {"read_wpm": 200.0, "compose_wpm": 10.0, "deleted_word_seconds": 3.0}
    for i in range(60):
        draft = " ".join(f"w{k}" for k in range(int(rng.integers(20, 120))))
        final = " ".join(
            draft.split()[: int(rng.integers(5, 20))] + ["new"] * int(rng.integers(0, 60))
        )
        rows.append({"entry_id": f"e{i}", "phase": "pilot", "ai_draft": draft, "final_text": final})
    log = pd.DataFrame(rows)
    f = pilot_effort_features(log)
    minutes = (
        f["draft_words"] / truth["read_wpm"]
        + f["changed_words"] / truth["compose_wpm"]
        + f["deleted_words"] * truth["deleted_word_seconds"] / 60
        + 2.0
    )
    log["drafting_minutes"] = 0.0
    log["review_minutes"] = minutes
    rates, report = fit_effort_rates(log)
    assert rates["compose_wpm"] == pytest.approx(10.0, rel=1e-6)
    assert rates["read_wpm"] == pytest.approx(200.0, rel=1e-6)
    assert rates["deleted_word_seconds"] == pytest.approx(3.0, rel=1e-6)
    assert rates["lookup_minutes"] == pytest.approx(2.0, abs=1e-6)
    fitted = report[(report["model"] == "fitted") & (report["fold"] == "mean")].iloc[0]
    assert fitted["mae_minutes"] < 1e-6 and fitted["r2"] == pytest.approx(1.0)


def test_fit_on_the_sample_pilot_log_beats_the_planning_rates():
    log = load_dataset("datasets/sample-district").pilot_log
    rates, report = fit_effort_rates(log, folds=5, seed=0)
    assert set(rates) == {"read_wpm", "compose_wpm", "deleted_word_seconds", "lookup_minutes"}
    assert 1 < rates["compose_wpm"] < 60 and rates["lookup_minutes"] >= 0
    means = report[report["fold"] == "mean"].set_index("model")
    assert means.loc["fitted", "mae_minutes"] < means.loc["current rates", "mae_minutes"]
    assert means.loc["fitted", "r2"] > 0
    assert (report[report["fold"] != "mean"]["n_test"] > 0).all()
    assert len(report) == 2 * 5 + 2
    again, _ = fit_effort_rates(log, folds=5, seed=0)
    assert again == rates  # seeded: the same rates and folds every time


def test_fit_refuses_a_log_too_small_to_check():
    log = load_dataset("datasets/sample-district").pilot_log.iloc[:3]
    with pytest.raises(ValueError, match="at least 5 are needed"):
        fit_effort_rates(log)
