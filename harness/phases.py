"""The one registry of readiness phases: their names, in order, and the question each answers."""

from __future__ import annotations

from typing import Literal, get_args

PhaseName = Literal["pre_pilot", "post_pilot", "pre_expansion"]
PHASES: tuple[str, ...] = get_args(PhaseName)
PHASE_QUESTIONS = {
    "pre_pilot": "Before the pilot: is a candidate good enough to pilot with staff review?",
    "post_pilot": "After the pilot: did the pilot improve the workflow?",
    "pre_expansion": "Before expansion: may the pilot widen?",
}
assert tuple(PHASE_QUESTIONS) == PHASES


def phase_help() -> str:
    """The phases and their meanings, for command-line help."""
    parts = ", ".join(f"{name} ({q[0].lower()}{q[1:]})" for name, q in PHASE_QUESTIONS.items())
    return f"the phase whose gates decide: {parts}; default pre_pilot"
