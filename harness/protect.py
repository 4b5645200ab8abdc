"""Data protection: only approved providers receive district data; optional redaction.

The governance file (``rubrics/governance.yaml``) lists ``approved_providers``: model-string
prefixes (``local/smollm2``, ``azure/``, ``openai/gpt-4o-mini``) or endpoint prefixes
(``http://127.0.0.1``, ``https://district.openai.azure.com``). A plan with a model candidate
that matches none of them is refused before the first call. Without a governance file only the
embedded model and loopback endpoints are approved: district data stays on the machine.

Redaction replaces emails, phone numbers, student ids and listed names in what is sent to a
model with placeholders. Nothing is restored afterwards: a stored output holds exactly what the
model wrote.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from harness.errors import PlanError, Problem, RunError
from harness.plan import CandidateSpec, Plan, load_yaml

LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1", "[::1]"}
DEFAULT_APPROVED = ("local",)
EMAIL = re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}")
PHONE = re.compile(
    r"(?<![\w$])(?:\+?1[\s.\-]?)?(?:\(\d{3}\)\s?|\d{3}[\s.\-])?\d{3}[\s.\-]\d{4}(?!\w)"
)
STUDENT_ID = re.compile(r"(?<![\d\-$.,])\d{6,9}(?![\d\-])")


def endpoint_of(spec: CandidateSpec) -> str | None:
    """``scheme://host[:port]`` of a candidate's api_base, or None for a provider default."""
    if not spec.api_base:
        return None
    u = urlparse(spec.api_base)
    return f"{u.scheme}://{u.netloc}"


def is_local(spec: CandidateSpec) -> bool:
    """The embedded model, or an endpoint on this machine's loopback interface."""
    if spec.model and spec.model.startswith("local/"):
        return True
    ep = endpoint_of(spec)
    return ep is not None and (urlparse(ep).hostname or "") in LOOPBACK_HOSTS


def load_approved(path: str | Path) -> list[str]:
    """``approved_providers`` from a governance file (strings, or mappings with a name)."""
    data, _ = load_yaml(path, "governance file")
    entries = (data or {}).get("approved_providers") if isinstance(data, dict) else None
    if not entries or not isinstance(entries, list):
        raise PlanError(
            f"governance file {path}",
            [
                Problem(
                    str(path),
                    None,
                    "approved_providers",
                    "is missing or empty",
                    "list the model prefixes or endpoints approved to receive district data, "
                    "e.g. '- local/smollm2'",
                )
            ],
        )
    out = []
    for e in entries:
        if isinstance(e, dict):
            e = e.get("provider") or e.get("name") or e.get("endpoint") or e.get("model")
        if isinstance(e, str) and e.strip():
            out.append(e.strip())
    return out


def provider_approved(model: str | None, api_base: str | None, approved: list[str]) -> bool:
    """Is a candidate's provider on the approved list?

    An entry approves: a model string exactly (``openai/gpt-4o-mini``) or by prefix (``azure``,
    ``azure/`` or ``azure/*``); an endpoint with a scheme (``https://x.openai.azure.com``,
    optionally with a port); or a bare host name (``127.0.0.1``) for any endpoint on that host.
    A baseline (no model) sends nothing anywhere.
    """
    if not model:
        return True
    u = urlparse(api_base) if api_base else None
    for raw in approved:
        a = raw.strip()
        if "://" in a:
            ua = urlparse(a)
            if (
                u
                and (ua.scheme, ua.hostname) == (u.scheme, u.hostname)
                and ua.port in (None, u.port)
            ):
                return True
            continue
        prefix = a.removesuffix("*").rstrip("/")
        if prefix and (model == prefix or model.startswith(prefix + "/")):
            return True
        if u and u.hostname and u.hostname == a:
            return True
    return False


def _approved(spec: CandidateSpec, approved: list[str]) -> bool:
    return provider_approved(spec.model, spec.api_base, approved)


def check_providers(plan: Plan, governance: str | Path | None) -> list[str]:
    """Refuse (RunError) any model candidate whose provider the governance file does not approve.

    Returns the approval list that was applied, for the manifest.
    """
    if governance is not None:
        approved = load_approved(governance)
        source = str(governance)
    else:
        approved = [*DEFAULT_APPROVED, "127.0.0.1", "localhost", "::1"]
        source = "default (no governance file: only this machine)"
    refused = [c for c in plan.candidates if c.is_model and not _approved(c, approved)]
    if refused:
        names = ", ".join(
            f"{c.name} ({c.model}{' at ' + str(endpoint_of(c)) if c.api_base else ''})"
            for c in refused
        )
        raise RunError(
            f"refused before any call: {names} would receive district data but is not "
            f"in approved_providers of {source}; add it there once the district "
            "approves that provider, or remove the candidate"
        )
    return approved


@dataclass
class Redactor:
    """Replaces personal data in outgoing text with placeholders and counts replacements."""

    names: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(
        default_factory=lambda: {"email": 0, "phone": 0, "student_id": 0, "name": 0}
    )

    def __post_init__(self) -> None:
        names = sorted(
            {n.strip() for n in self.names if n and len(n.strip()) > 2}, key=len, reverse=True
        )
        self._names = (
            re.compile(r"\b(" + "|".join(re.escape(n) for n in names) + r")\b", re.I)
            if names
            else None
        )

    def text(self, s: str) -> str:
        def sub(pattern: re.Pattern[str], label: str, placeholder: str, value: str) -> str:
            new, n = pattern.subn(placeholder, value)
            self.counts[label] += n
            return new

        s = sub(EMAIL, "email", "[EMAIL]", s)
        s = sub(PHONE, "phone", "[PHONE]", s)
        s = sub(STUDENT_ID, "student_id", "[STUDENT_ID]", s)
        if self._names is not None:
            s = sub(self._names, "name", "[NAME]", s)
        return s

    def messages(self, msgs: list[dict[str, str]]) -> list[dict[str, str]]:
        return [{**m, "content": self.text(m["content"])} for m in msgs]


def needs_redaction(mode: str, spec: CandidateSpec) -> bool:
    return mode == "all" or (mode == "non_local" and not is_local(spec))


def summary(redactor: Redactor | None, mode: str) -> dict[str, Any]:
    return {"mode": mode, "replacements": dict(redactor.counts) if redactor else {}}
