"""The phase comparison's paired changes carry a no-worse test: after against before on the same
questions, within the metric's own margin (statsmodels' ttost_paired, checked by hand)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import t

from harness.metrics import metric_def
from harness.report.phases import phase_changes, phase_table
from harness.store.runs import load_run

from .test_report import runs  # noqa: F401  (the session's two report runs)


def test_phase_changes_test_no_worse_within_each_metrics_margin(runs):  # noqa: F811
    before, after = (load_run(r.run_id, r.path.parent) for r in runs)
    ch = phase_changes(before, after).set_index(["candidate", "metric"])
    cand = "m"  # the runs' model candidate
    row = ch.loc[(cand, "word_similarity")]
    margin = metric_def("word_similarity").margin
    assert row["margin"] == margin
    per = [
        r.scores[(r.scores["candidate"] == cand) & (r.scores["metric"] == "word_similarity")]
        .groupby("item_id")["value"]
        .mean()
        for r in (after, before)
    ]
    pa, pb = per
    both = pa.index.intersection(pb.index)
    d = (pa[both] - pb[both]).dropna().to_numpy()
    if np.ptp(d) == 0:
        assert row["p_no_worse"] in (0.0, 1.0)
    else:
        tstat = (d.mean() + margin) / (d.std(ddof=1) / np.sqrt(d.size))
        assert row["p_no_worse"] == pytest.approx(t.sf(tstat, d.size - 1))
    no_margin = ch[ch["margin"].isna()]
    assert no_margin["p_no_worse"].isna().all()
    assert "no worse than before?" in phase_table(before, after).columns
