"""The pilot: its protocol (frozen before the pilot), the sample it needs, and its outcomes.

``outcomes`` measures a pilot log; ``protocol`` writes, freezes and checks the pilot protocol;
``sample`` sizes the pilot (a closed-form first guess, confirmed by simulating the gate's rule).
"""

from __future__ import annotations

from harness.pilot.outcomes import (
    HAND_WRITTEN_BELOW,
    MEASURES,
    OUTCOME_COLUMNS,
    by_staff,
    hand_written,
    kept_share,
    minutes_per_reply,
    outcome_value,
    outcomes,
)

__all__ = [
    "HAND_WRITTEN_BELOW",
    "MEASURES",
    "OUTCOME_COLUMNS",
    "by_staff",
    "hand_written",
    "kept_share",
    "minutes_per_reply",
    "outcome_value",
    "outcomes",
]
