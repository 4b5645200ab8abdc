"""Active review time from the page's activity events, with idle stretches left out.

The page records events as ``[ms since the epoch, kind]``: ``on`` when the page becomes visible
and focused, ``off`` when it is hidden or loses focus, ``act`` on typing, clicking, scrolling or
moving the pointer (at most one every few seconds). Time counts only between two events while
the page is on; a stretch between two events longer than ``idle_seconds`` (default 2 minutes)
is left out entirely: the reviewer was away. The server caps the result at its own elapsed
time between serving the page and receiving the submission.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from typing import Any

IDLE_SECONDS = 120.0
KINDS = ("on", "off", "act")
MAX_EVENTS = 20000


def parse_events(raw: str | None) -> list[tuple[float, str]]:
    """The events a form posted (JSON list of ``[ms, kind]``); malformed entries are dropped."""
    if not raw:
        return []
    try:
        data = json.loads(raw)
    except (ValueError, TypeError, RecursionError):
        return []
    out: list[tuple[float, str]] = []
    if not isinstance(data, list):
        return out
    for ev in data[:MAX_EVENTS]:
        if (
            isinstance(ev, list)
            and len(ev) == 2
            and isinstance(ev[0], (int, float))
            and not isinstance(ev[0], bool)
            and math.isfinite(ev[0])
            and isinstance(ev[1], str)
            and ev[1] in KINDS
        ):
            out.append((float(ev[0]), str(ev[1])))
    return out


class MalformedEvents(ValueError):
    """The posted events are not a JSON list of ``[ms, kind]`` pairs."""


def strict_events(raw: str | None) -> list[tuple[float, str]]:
    """The events a form posted; empty when none were posted.

    Raises:
        MalformedEvents: not JSON (nested too deep included), not a list, or an entry that is
            not ``[finite ms, kind]``: the station answers 400 and keeps the reviewer's input.
    """
    if not raw:
        return []
    try:
        data = json.loads(raw)
    except (ValueError, TypeError, RecursionError) as exc:
        raise MalformedEvents("events are not JSON") from exc
    if not isinstance(data, list):
        raise MalformedEvents("events are not a list")
    out: list[tuple[float, str]] = []
    for ev in data[:MAX_EVENTS]:
        if not (
            isinstance(ev, list)
            and len(ev) == 2
            and isinstance(ev[0], (int, float))
            and not isinstance(ev[0], bool)
            and math.isfinite(ev[0])
            and isinstance(ev[1], str)
            and ev[1] in KINDS
        ):
            raise MalformedEvents(f"event {str(ev)[:40]} is not [ms, kind]")
        out.append((float(ev[0]), ev[1]))
    return out


def active_seconds(
    events: Sequence[tuple[float, str]] | Sequence[Any], idle_seconds: float = IDLE_SECONDS
) -> float:
    """Seconds the page was visible, focused and in use; gaps over ``idle_seconds`` left out.

    Args:
        events: ``(ms, kind)`` pairs in any order (``kind`` is ``on``, ``off`` or ``act``).
        idle_seconds: a gap between two events longer than this counts as 0.
    """
    evs = sorted((float(t), str(k)) for t, k in events)
    total_ms = 0.0
    active = False
    last: float | None = None
    limit = idle_seconds * 1000.0
    for t, kind in evs:
        if active and last is not None:
            gap = t - last
            if 0 <= gap <= limit:
                total_ms += gap
        active = kind != "off"  # 'on', or activity: a keystroke means the page has focus
        last = t
    return total_ms / 1000.0


def measured_seconds(events: Sequence[tuple[float, str]], server_elapsed: float) -> float:
    """Active seconds, never more than the server's own elapsed time for the page."""
    return max(0.0, min(active_seconds(events), max(0.0, server_elapsed)))
