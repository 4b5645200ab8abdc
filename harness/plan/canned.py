"""The canned replies a plan configures: the district's own holding texts, per task.

A ``baseline: template`` candidate sends them (:mod:`harness.candidates.baselines`); the
personal-data scorer reads them too (:func:`plan_canned_texts`): a canned reply is text the
district wrote and sends to every family, so a phone number or email it prints (the
switchboard) is an official contact, never personal data, even where no ``directory.csv``
lists it.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.data.safeyaml import load_file
from harness.errors import PlanError, Problem

if TYPE_CHECKING:
    from harness.plan.spec import Plan

DEFAULT_CANNED = {
    "faq_reply": (
        "Thank you for contacting Cedar Hollow Unified School District. We have received your "
        "message and a staff member will respond within two business days. For urgent matters, "
        "please call the District Office at 555-0100."
    ),
}


def canned_replies(options: dict[str, Any], folder: Path) -> dict[str, str]:
    """The canned reply per task: :data:`DEFAULT_CANNED`, updated from ``options.path`` (a YAML
    file mapping task -> text, relative to ``folder``, the plan's folder)."""
    canned = dict(DEFAULT_CANNED)
    if options.get("path"):
        p = folder / str(options["path"])
        data = load_file(p, "canned replies")[0] if p.is_file() else None
        if not isinstance(data, dict):
            raise PlanError(
                f"canned replies {p}",
                [
                    Problem(
                        str(p),
                        None,
                        None,
                        "is missing or not a mapping of task -> reply text",
                        "write e.g. 'faq_reply: Thank you for ...'",
                    )
                ],
            )
        canned.update({str(k): str(v).strip() for k, v in data.items()})
    return canned


def plan_canned_texts(plan: Plan | None) -> list[str]:
    """Every canned reply text the plan's ``template`` candidates send (none without a plan)."""
    if plan is None:
        return []
    texts: list[str] = []
    for c in plan.candidates:
        if c.baseline == "template":
            texts += canned_replies(c.options, plan.folder).values()
    return list(dict.fromkeys(texts))
