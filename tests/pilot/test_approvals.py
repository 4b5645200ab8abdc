"""The approval path's measures from a pilot log: revisions per reply, turnaround (live only),
AI drafts sent with little edit beside the rubber-stamp alarm, each with a BCa interval."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from harness.pilot.approvals import LITTLE_EDIT, approval_measures, little_edit
from harness.stats import bca_interval

DRAFT = "The replacement pass costs ten dollars at the school office and is ready in two days."


def _log() -> pd.DataFrame:
    before = [
        {"phase": "baseline", "revision_count": r, "turnaround_hours": h, "approved": "yes",
         "ai_draft": "", "final_text": "Hand written.", "active_seconds": 300.0}
        for r, h in zip([2, 1, 0, 3, 1, 0], [30.0, 20.0, 5.0, 50.0, np.nan, 8.0], strict=True)
    ]  # fmt: skip
    finals = [DRAFT, DRAFT, DRAFT + " Call us.", "A different reply written over it.", DRAFT]
    seconds = [4.0, 60.0, 90.0, 200.0, 120.0]
    during = [
        {"phase": "pilot", "revision_count": r, "turnaround_hours": h, "approved": "yes",
         "ai_draft": DRAFT, "final_text": f, "active_seconds": s}
        for r, h, f, s in zip([0, 1, 0, 0, 1], [2.0, 6.0, np.nan, 1.0, 3.0], finals, seconds,
                              strict=True)
    ]  # fmt: skip
    return pd.DataFrame(before + during)


def test_the_approval_measures_from_a_pilot_log():
    out = approval_measures(_log()).set_index("measure")
    rev = out.loc["revisions_per_reply"]
    assert rev["before"] == pytest.approx(7 / 6) and rev["during"] == pytest.approx(2 / 5)
    assert rev["change"] == pytest.approx(7 / 6 - 2 / 5)
    assert (rev["n_before"], rev["n_during"]) == (6, 5)
    want = bca_interval([2, 1, 0, 3, 1, 0], [0, 1, 0, 0, 1])
    assert (rev["ci_low"], rev["ci_high"]) == pytest.approx(want[1:])
    turn = out.loc["turnaround_hours"]
    assert (turn["n_before"], turn["n_during"]) == (5, 4)  # the unmeasured ones left out
    assert turn["change"] == pytest.approx(113 / 5 - 3.0) and turn["unit"] == "hours"
    edit = out.loc["sent_with_little_edit"]
    # kept in place: 1, 1, 15/17 (below 0.9), rewritten (low), 1 -> 3 of 5
    assert edit["during"] == pytest.approx(3 / 5) and edit["n_during"] == 5
    assert edit["ci_low"] <= 0.6 <= edit["ci_high"] and np.isnan(edit["change"])
    stamp = out.loc["rubber_stamp_share"]
    assert stamp["during"] == pytest.approx(1 / 5)  # one unchanged in 4 s
    assert out.attrs["units"]["turnaround_hours"] == "hours"
    assert out.select_dtypes("number").shape[1] >= 7


def test_little_edit_is_the_word_share_kept_and_needs_an_approved_draft():
    log = _log()
    log.loc[log.index[-1], "approved"] = "no"
    per = little_edit(log)
    assert len(per) == 4 and per["little_edit"].sum() == 2
    assert LITTLE_EDIT == 0.9
    assert approval_measures(None).empty
    blank = approval_measures(log.drop(columns=["revision_count", "turnaround_hours"]))
    assert blank.set_index("measure").loc["revisions_per_reply", "n_during"] == 0


def test_the_phase_report_shows_the_approval_path_or_says_how_to_record_it():
    from harness.report import approval_section

    html = approval_section(_log()).data
    assert "Approval revisions per reply" in html and "rubber-stamp" in html
    assert "1.17" in html or "1.2" in html
    empty = approval_section(_log().drop(columns=["revision_count", "turnaround_hours",
                                                  "ai_draft"]))  # fmt: skip
    assert "--approvers" in str(getattr(empty, "data", empty))
