"""The gate checks (harness/gates/checks.py) give one typed shape, whatever the check."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from harness.gates.checks import (
    GateResult,
    by_category,
    by_slice,
    max_gap_check,
    paired_check,
    pilot_check,
    threshold_check,
)
from harness.gates.decision import GATE_COLUMNS
from harness.gates.evidence import Evidence
from harness.gates.specs import FAIL, NOT_EVALUATED, PASS
from tests.gates.test_decision import CANDIDATES, gate, gateset, scores_of

# What every check gives the gate's row: the decision table's columns it fills, and the p-value
# the pilot gates are corrected with.
ROW_KEYS = {"status", "n", "evidence", "value", "ci_low", "ci_high", "needs", "p_value"}


def _gate(**kw):
    gs = gateset(gate(**kw))
    return gs.phase("pre_pilot").gates[0], gs


def _evidence(scores: pd.DataFrame, **kw) -> Evidence:
    items = sorted(scores["item_id"].unique())
    return Evidence(
        scores=scores,
        categories=pd.Series(dict.fromkeys(items, "general")),
        candidates=CANDIDATES,
        **kw,
    )


def _results() -> dict[str, GateResult]:
    """Each check, once with evidence and once without."""
    thr, gs = _gate(metric="word_similarity", threshold=0.5)
    good = np.array([0.9] * 12)
    scores = scores_of(
        {("ai", "word_similarity"): [0.9] * 12, ("canned", "word_similarity"): [0.2] * 12}
    )
    sup, _ = _gate(metric="word_similarity", test="superiority", baseline="canned", threshold=None)
    gap, _ = _gate(
        metric="word_similarity", test="max_gap", max_gap_by="category", max_gap=0.1, min_n=5
    )
    pilot, _ = _gate(metric="pilot:review_minutes_saved", threshold=1.0)
    items = pd.DataFrame({"category": ["a"] * 6 + ["b"] * 6}, index=[f"i{i}" for i in range(12)])
    ev = _evidence(scores, items=items)

    def fn(frame: pd.DataFrame) -> GateResult:
        vals = frame[frame["candidate"] == "ai"].groupby("item_id")["value"].mean()
        return threshold_check(vals.to_numpy(dtype=np.float64), thr, True, gs)

    return {
        "threshold": threshold_check(good, thr, True, gs),
        "threshold, no scores": threshold_check(np.array([np.nan]), thr, True, gs),
        "paired": paired_check(scores, sup, "ai", "canned", True, gs),
        "paired, no baseline": paired_check(scores, sup, "ai", "nobody", True, gs),
        "by category": by_category(scores, pd.Series(items["category"]), fn),
        "by category, none": by_category(scores.iloc[:0], pd.Series(items["category"]), fn),
        "by slice": by_slice(scores, ev, "category", fn, 5, None),
        "by slice, too few": by_slice(scores, ev, "category", fn, 50, None),
        "max gap": max_gap_check(scores, ev, gap, "ai", gs),
        "pilot, no log": pilot_check(pilot, ev, gs),
    }


@pytest.mark.parametrize("name", list(_results()))
def test_every_check_gives_one_shape(name):
    result = _results()[name]
    assert isinstance(result, GateResult)
    row = result.as_dict()
    assert set(row) - {"bar"} == ROW_KEYS  # only a check with its own bar (max gap) sets it
    assert set(row) - {"p_value"} <= set(GATE_COLUMNS)
    assert row["status"] in (PASS, FAIL, NOT_EVALUATED) and row["evidence"]
    assert isinstance(row["n"], int)
    if row["status"] == NOT_EVALUATED and row["n"] == 0:
        assert math.isnan(row["value"]) and math.isnan(row["ci_low"])


def test_floors_name_their_weakest_part_and_keep_its_numbers():
    r = _results()
    assert r["by category"].weakest in ("a", "b")
    assert r["by slice"].weakest in ("a", "b")
    assert r["by category"].value == pytest.approx(0.9) and r["by category"].n == 12
    assert "weakest" not in r["by category"].as_dict()  # the row reads the gate's own columns
    assert r["max gap"].as_dict()["bar"] == pytest.approx(0.1)
    assert "bar" not in r["threshold"].as_dict()  # the row keeps the gate's threshold
