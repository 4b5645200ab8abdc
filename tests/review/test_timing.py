"""Active time: visible and focused time only, idle stretches over 2 minutes left out."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from harness.review.timing import active_seconds, measured_seconds, parse_events

S = 1000.0  # ms per second


@pytest.mark.parametrize(
    "events,expected",
    [
        ([], 0.0),
        ([(0, "on"), (30 * S, "act")], 30.0),
        # hidden for 50 s in the middle: left out
        ([(0, "on"), (10 * S, "off"), (60 * S, "on"), (70 * S, "act")], 20.0),
        # activity every 20 s for a minute
        ([(0, "on"), (20 * S, "act"), (40 * S, "act"), (60 * S, "act")], 60.0),
        # a 5-minute idle stretch while visible is left out entirely
        ([(0, "on"), (10 * S, "act"), (310 * S, "act"), (320 * S, "act")], 20.0),
        # exactly 2 minutes still counts; just over does not
        ([(0, "on"), (120 * S, "act")], 120.0),
        ([(0, "on"), (120.5 * S, "act")], 0.0),
        # typing while the page thought it was blurred turns it on again
        ([(0, "off"), (5 * S, "act"), (15 * S, "act")], 10.0),
        # order does not matter
        ([(30 * S, "act"), (0, "on")], 30.0),
    ],
)
def test_active_seconds(events, expected):
    assert active_seconds(events) == pytest.approx(expected)


def test_server_elapsed_caps_the_client_clock():
    assert measured_seconds([(0, "on"), (100 * S, "act")], server_elapsed=40) == 40
    assert measured_seconds([(0, "on"), (10 * S, "act")], server_elapsed=40) == 10


@pytest.mark.parametrize(
    "raw,n",
    [
        (None, 0),
        ("not json", 0),
        ('{"a": 1}', 0),
        (json.dumps([[1, "on"], [2, "bogus"], ["3", "act"], [True, "on"], [4, "act"]]), 2),
    ],
)
def test_parse_events_drops_malformed_entries(raw, n):
    assert len(parse_events(raw)) == n


@given(st.lists(st.tuples(st.floats(0, 3.6e6), st.sampled_from(["on", "off", "act"])), max_size=60))
def test_active_time_is_bounded_by_the_span(events):
    got = active_seconds(events)
    span = (max(t for t, _ in events) - min(t for t, _ in events)) / S if events else 0.0
    assert 0.0 <= got <= span + 1e-6
