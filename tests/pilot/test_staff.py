"""Consistency across staff in a leader's report: per staff member with an interval, anonymised."""

from __future__ import annotations

from harness.data.dataset import load_dataset
from harness.report.phases import staff_labels, staff_table

from ..conftest import SAMPLE


def test_staff_are_anonymised_and_each_has_an_interval():
    log = load_dataset(SAMPLE).pilot_log
    table = staff_table(log)
    names = set(log["staff_member"].dropna().astype(str))
    assert not names & set(table["staff_member"])
    assert set(table["staff_member"]) == set(staff_labels(log).values())
    assert len(set(staff_labels(log).values())) == len(names)
    assert (table["minutes_low"] <= table["minutes"]).all()
    assert (table["minutes"] <= table["minutes_high"]).all()
    assert (table["minutes_high"] > table["minutes_low"]).any()
