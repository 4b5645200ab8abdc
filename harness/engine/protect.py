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

import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from harness.errors import PlanError, Problem, RunError
from harness.plan.spec import CandidateSpec, load_yaml

LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1", "[::1]"}
DEFAULT_APPROVED = ("local",)
EMAIL = re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}")
PHONE = re.compile(
    r"(?<![\w$])(?:\+?1[\s.\-]?)?(?:\(\d{3}\)\s?|\d{3}[\s.\-])?\d{3}[\s.\-]\d{4}(?!\w)"
)
STUDENT_ID = re.compile(r"(?<![\d\-$.,])\d{6,9}(?![\d\-])")


# A provider's own default endpoint: a model or prefix approval covers this destination only.
# The engine passes it to litellm explicitly, so no environment variable can redirect the call.
PROVIDER_DEFAULTS = {
    "openai": "https://api.openai.com/v1",
    "anthropic": "https://api.anthropic.com",
    "mistral": "https://api.mistral.ai/v1",
    "groq": "https://api.groq.com/openai/v1",
    "deepseek": "https://api.deepseek.com",
    "together_ai": "https://api.together.xyz/v1",
    "fireworks_ai": "https://api.fireworks.ai/inference/v1",
    "perplexity": "https://api.perplexity.ai",
    "cohere": "https://api.cohere.ai",
    "gemini": "https://generativelanguage.googleapis.com",
    "ollama": "http://localhost:11434",
    "ollama_chat": "http://localhost:11434",
}
# Endpoint variables litellm (or the SDK it calls) reads for a provider beyond the
# ``<PROVIDER>_API_BASE`` / ``<PROVIDER>_BASE_URL`` pair, in litellm's order of preference.
ENV_BASES = {
    "azure": ("AZURE_API_BASE", "AZURE_OPENAI_ENDPOINT"),
    "together_ai": ("TOGETHERAI_API_BASE", "TOGETHER_AI_API_BASE"),
    "fireworks_ai": ("FIREWORKS_API_BASE", "FIREWORKSAI_API_BASE", "FIREWORKS_AI_API_BASE"),
    "ollama_chat": ("OLLAMA_API_BASE",),
}


def provider_of(model: str) -> str:
    """litellm's provider prefix of a model string (``openai`` when it has none)."""
    return model.split("/", 1)[0] if "/" in model else "openai"


def env_base_names(provider: str) -> tuple[str, ...]:
    """The environment variables litellm reads for a provider's endpoint (``OPENAI_API_BASE``)."""
    p = provider.upper()
    return (*ENV_BASES.get(provider, ()), f"{p}_API_BASE", f"{p}_BASE_URL")


def endpoint(url: str) -> str:
    """``scheme://host:port`` of a URL, with the scheme's default port written out."""
    u = urlparse(url)
    port = u.port or {"https": 443, "http": 80}.get(u.scheme)
    host = u.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    return f"{u.scheme}://{host}" + (f":{port}" if port else "")


@dataclass(frozen=True)
class Destination:
    """Where one call site's requests go, decided before any request is made.

    ``url`` is what litellm is given as ``api_base`` (None: litellm's own choice for a provider
    this table does not know); ``origin`` says where it came from: ``plan``, ``environment``
    (an ``*_API_BASE`` variable, from the shell or ``.env``), ``default`` (the provider's own
    endpoint) or ``embedded`` (the local model server on 127.0.0.1).
    """

    model: str
    url: str | None
    origin: str

    @property
    def endpoint(self) -> str:
        if self.origin == "embedded":
            return "http://127.0.0.1 (embedded model)"
        return endpoint(self.url) if self.url else f"{provider_of(self.model)} default endpoint"

    @property
    def is_default(self) -> bool:
        return self.origin in ("default", "embedded")


def destination(
    model: str, api_base: str | None, env: Mapping[str, str] | None = None
) -> Destination:
    """Resolve where a model's calls go: the plan's api_base, else an ``*_API_BASE`` variable in
    the environment, else the provider's own default endpoint."""
    if model.startswith("local/"):
        return Destination(model, None, "embedded")
    if api_base:
        return Destination(model, api_base, "plan")
    environ: Mapping[str, str] = os.environ if env is None else env
    provider = provider_of(model)
    for name in env_base_names(provider):
        if environ.get(name):
            return Destination(model, environ[name], "environment")
    return Destination(model, PROVIDER_DEFAULTS.get(provider), "default")


def endpoint_of(spec: CandidateSpec) -> str | None:
    """``scheme://host[:port]`` of a candidate's api_base, or None for a provider default."""
    if not spec.api_base:
        return None
    u = urlparse(spec.api_base)
    return f"{u.scheme}://{u.netloc}"


def is_local(spec: CandidateSpec) -> bool:
    """The embedded model, or an endpoint on this machine's loopback interface."""
    return (
        is_local_destination(destination(spec.model or "", spec.api_base)) if spec.model else True
    )


def is_local_destination(dest: Destination) -> bool:
    """The embedded model, or an endpoint on this machine's loopback interface."""
    if dest.origin == "embedded":
        return True
    return dest.url is not None and (urlparse(dest.url).hostname or "") in LOOPBACK_HOSTS


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


def approved_by(dest: Destination, approved: list[str]) -> str | None:
    """The approval entry that lets ``dest`` receive district data, or None.

    An endpoint entry (``https://x.openai.azure.com``, optionally with a port) or a bare host
    (``127.0.0.1``) approves that destination for any model. A model entry, exactly
    (``openai/gpt-4o-mini``) or by prefix (``azure``, ``azure/``, ``azure/*``), approves the
    model at its provider's own default endpoint only: the same model at another ``api_base``,
    or redirected by an ``*_API_BASE`` variable, needs that endpoint approved too.
    """
    u = urlparse(dest.url) if dest.url else None
    for raw in approved:
        a = raw.strip()
        if "://" in a:
            ua = urlparse(a)
            if (
                u
                and (ua.scheme, ua.hostname) == (u.scheme, u.hostname)
                and ua.port in (None, u.port)
            ):
                return a
            continue
        if u and not dest.is_default and u.hostname and u.hostname == a:
            return a
        prefix = a.removesuffix("*").rstrip("/")
        if (
            dest.is_default
            and prefix
            and (dest.model == prefix or dest.model.startswith(prefix + "/"))
        ):
            return a
    return None


def provider_approved(model: str | None, api_base: str | None, approved: list[str]) -> bool:
    """Is a call site's destination on the approved list? A baseline (no model) sends nothing."""
    if not model:
        return True
    return approved_by(destination(model, api_base), approved) is not None


def approval_list(governance: str | Path | None) -> tuple[list[str], str]:
    """The approval list a run applies, and where it came from (for messages and the manifest)."""
    if governance is not None:
        return load_approved(governance), str(governance)
    return [*DEFAULT_APPROVED, *sorted(LOOPBACK_HOSTS - {"[::1]"})], DEFAULT_SOURCE


DEFAULT_SOURCE = "default (no governance file: only this machine)"


def _url(dest: Destination) -> str | None:
    return "http://127.0.0.1" if dest.origin == "embedded" else dest.url


def _environment(
    dests: list[Destination], approved: list[str]
) -> tuple[list[str], list[dict[str, Any]]]:
    """Refusals and records of the endpoint, proxy and TLS variables set for these calls."""
    from harness.engine.egress import check_environment

    def approve(url: str) -> str | None:
        return approved_by(Destination("", url, "environment"), approved)

    urls = [u for u in (_url(d) for d in dests) if u]
    return check_environment(urls, approve, approved)


def environment_record(targets: Iterable[Any], approved: list[str]) -> list[dict[str, Any]]:
    """The manifest's ``environment`` for the engine's targets: each endpoint, proxy or TLS
    variable set, and the entry that approved it."""
    dests = [t.destination for t in targets]
    return _environment(dests, approved)[1] if dests else []


def refuse(
    sites: Sequence[tuple[str, str | None, str | None]], approved: list[str], source: str
) -> None:
    """Raise RunError naming every call site whose destination is not approved, and every
    environment variable (shell or .env) that would move or expose their calls."""
    bad, dests = [], []
    for name, model, base in sites:
        if not model:
            continue
        dest = destination(model, base)
        dests.append(dest)
        if dest.url is None and dest.origin != "embedded":
            bad.append(
                f"{name} ({model}: litellm would choose the endpoint of "
                f"'{provider_of(model)}' itself; name it with api_base)"
            )
        elif approved_by(dest, approved) is None:
            where = f" at {dest.endpoint}" + (
                " (set by the environment)" if dest.origin == "environment" else ""
            )
            bad.append(f"{name} ({model}{where})")
    env_bad = _environment(dests, approved)[0] if dests else []
    if bad or env_bad:
        raise RunError(
            "refused before any call: "
            + ", ".join([*bad, *env_bad])
            + f" would receive district data but is not in approved_providers of {source}; "
            "add it there once the district approves that provider (an 'env:NAME' entry for a "
            "TLS setting), or remove the candidate or unset the variable"
        )


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
