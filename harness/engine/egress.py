"""Egress: the routes a plan or the environment could give a call around its approved destination.

Two doors are closed here, and :mod:`harness.engine.protect` applies both before any request:

- **Parameters.** Only the generation parameters in :data:`ALLOWED_PARAMS` travel from a plan's
  ``params`` (a candidate's or the judge's) to litellm. ``base_url``, ``api_base``,
  ``extra_body``, ``extra_headers``, ``custom_llm_provider``, ``litellm_params``, ``stream``
  and every other key are refused at plan load (exit 2), and :func:`call_params` refuses them
  again on the way into litellm, so nothing in process can turn them on either.
- **The environment** (the shell, or ``.env``). Every variable litellm, the OpenAI SDK, httpx
  or aiohttp read to choose an endpoint, a proxy or whom TLS trusts is either a destination
  that governance approves (and the manifest records) or a refusal naming the variable:

  * endpoint variables (``*_API_BASE``, ``*_BASE_URL``, ``*_ENDPOINT``, ``AZURE_OPENAI_ENDPOINT``,
    ``OLLAMA_API_BASE``, ...: :func:`is_endpoint_variable`): the value's endpoint must be
    approved as an endpoint or a host, whichever provider it belongs to;
  * proxies (``HTTP_PROXY``, ``HTTPS_PROXY``, ``ALL_PROXY``, lower case too), with httpx's and
    urllib's ``NO_PROXY`` rules: a proxy that would carry a call site's requests must itself be
    approved; one that ``NO_PROXY`` keeps out of every call is ignored;
  * TLS trust (``SSL_CERT_FILE``, ``SSL_CERT_DIR``, ``REQUESTS_CA_BUNDLE``, ``CURL_CA_BUNDLE``,
    ``SSL_VERIFY`` off, ``SSL_SECURITY_LEVEL``, ``SSL_ECDH_CURVE``) and ``USE_LITELLM_PROXY``:
    allowed when they point at the system's own trust store, else only with an ``env:NAME``
    entry in ``approved_providers``.

A refusal names the variable and at most the ``scheme://host:port`` of its value, never the
value itself (a proxy URL may hold a password).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any
from urllib.parse import urlparse

from harness.plan.params import ALLOWED_PARAMS, params_problem  # noqa: F401  (public here too)


def call_params(params: Mapping[str, Any]) -> dict[str, Any]:
    """``params`` as they go into litellm, with streaming explicitly off.

    Raises:
        ValueError: a key outside :data:`ALLOWED_PARAMS` (the plan check refuses it first).
    """
    problem = params_problem(params)
    if problem:
        raise ValueError(f"refused: {problem}")
    return {**params, "stream": False}


# -- the environment -----------------------------------------------------------------------------
_ENDPOINT_NAME = re.compile(r"_(API_BASE(_[A-Z0-9]+)?|BASE_URL|ENDPOINT|ENDPOINT_URL)$")
# endpoint variables litellm (and the SDKs it uses) read whose names follow no pattern
ENDPOINT_EXTRA = frozenset(
    {"WATSONX_URL", "WX_URL", "WML_URL", "DATABRICKS_HOST", "AZURE_AUTHORITY_HOST"}
)
TLS_VARIABLES = (
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "REQUESTS_CA_BUNDLE",
    "CURL_CA_BUNDLE",
    "SSL_VERIFY",
    "SSL_SECURITY_LEVEL",
    "SSL_ECDH_CURVE",
)
SWITCHES = ("USE_LITELLM_PROXY",)  # litellm sends every call to LITELLM_PROXY_API_BASE
_SYSTEM_TRUST = (
    "/etc/ssl/",
    "/etc/pki/",
    "/etc/ca-certificates/",
    "/usr/share/ca-certificates/",
    "/usr/local/share/ca-certificates/",
    "/usr/lib/ssl/",
    "/private/etc/ssl/",
)


def is_endpoint_variable(name: str) -> bool:
    """Does litellm (or an SDK it calls) read a variable so named to choose an endpoint?"""
    upper = name.upper()
    return bool(_ENDPOINT_NAME.search(upper)) or upper in ENDPOINT_EXTRA


def is_proxy_variable(name: str) -> bool:
    low = name.lower()
    return low.endswith("_proxy") and low != "no_proxy"


def _system_trust(value: str) -> bool:
    """A path inside the operating system's own trust store (or certifi's bundle)."""
    try:
        import certifi

        roots: tuple[str, ...] = (*_SYSTEM_TRUST, os.path.dirname(certifi.where()) + "/")
    except ImportError:
        roots = _SYSTEM_TRUST
    real = os.path.realpath(value)
    return any(real == r.rstrip("/") or real.startswith(r) for r in roots)


def _tls_ok(name: str, value: str) -> bool:
    if name == "SSL_VERIFY":
        return value.strip().lower() in ("true", "1", "yes")
    if name in ("SSL_SECURITY_LEVEL", "SSL_ECDH_CURVE"):
        return False
    return _system_trust(value)


def _falsy(value: str) -> bool:
    return value.strip().lower() in ("", "0", "false", "no", "off")


def _proxy_table(env: Mapping[str, str]) -> dict[str, str]:
    """``urllib.request.getproxies_environment`` over ``env``: scheme -> proxy, lower case
    names winning over upper case, and ``no`` for NO_PROXY."""
    table: dict[str, str] = {}
    for upper_first in (True, False):
        for name, value in env.items():
            low = name.lower()
            if value and low.endswith("_proxy") and (name != low) == upper_first:
                table[low[:-6]] = value
    if "REQUEST_METHOD" in env:
        table.pop("http", None)
    return table


def proxies_for(url: str, env: Mapping[str, str]) -> set[str]:
    """Proxy URLs that would carry a request to ``url``: httpx's choice (the transport litellm
    uses; ``httpx._utils.get_environment_proxies``, read over ``env``) and urllib's (aiohttp's,
    when it trusts the environment), each with its own NO_PROXY rules."""
    import urllib.request

    import httpx
    from httpx._utils import URLPattern, is_ipv4_hostname, is_ipv6_hostname

    table = _proxy_table(env)
    found: set[str] = set()
    mounts: dict[str, str | None] = {}
    for scheme in ("http", "https", "all"):
        if table.get(scheme):
            p = table[scheme]
            mounts[f"{scheme}://"] = p if "://" in p else f"http://{p}"
    for host in (h.strip() for h in table.get("no", "").split(",")):
        if host == "*":
            mounts = {}
            break
        if "://" in host:
            mounts[host] = None
        elif is_ipv4_hostname(host) or host.lower() == "localhost":
            mounts[f"all://{host}"] = None
        elif is_ipv6_hostname(host):
            mounts[f"all://[{host}]"] = None
        elif host:
            mounts[f"all://*{host}"] = None
    for pattern, proxy in sorted((URLPattern(k), v) for k, v in mounts.items()):
        if pattern.matches(httpx.URL(url)):
            if proxy:
                found.add(proxy)
            break
    u = urlparse(url)
    chosen = table.get(u.scheme) or table.get("all")
    bypass = urllib.request.proxy_bypass_environment  # type: ignore[attr-defined]
    if chosen and not bypass(u.hostname or "", table):
        found.add(chosen if "://" in chosen else f"http://{chosen}")
    return found


def _where(value: str) -> str:
    """``scheme://host:port`` of a value, never its user, password, path or query."""
    u = urlparse(value if "://" in value else f"//{value}")
    if not u.hostname:
        return "a value that is not a URL"
    port = u.port or {"https": 443, "http": 80}.get(u.scheme)
    return f"{u.scheme or '?'}://{u.hostname}" + (f":{port}" if port else "")


def check_environment(
    urls: Iterable[str],
    approve: Callable[[str], str | None],
    approved: list[str],
    env: Mapping[str, str] | None = None,
) -> tuple[list[str], list[dict[str, Any]]]:
    """Refusals and manifest records for the environment of calls to ``urls``.

    ``approve(url)`` returns the approval entry of an endpoint (an endpoint or host entry), or
    None; ``approved`` is the whole list (for ``env:NAME`` entries).
    """
    environ: Mapping[str, str] = os.environ if env is None else env
    named = {a.strip()[4:] for a in approved if a.strip().startswith("env:")}
    bad: list[str] = []
    records: list[dict[str, Any]] = []
    for name, value in sorted(environ.items()):
        if not value:
            continue
        if is_endpoint_variable(name):
            by = approve(value) if "://" in value else None
            if by is None and name not in named:
                bad.append(f"{name} (set in the environment or .env) points to {_where(value)}")
            else:
                records.append(
                    {
                        "variable": name,
                        "endpoint": _where(value),
                        "approved_by": by or f"env:{name}",
                    }
                )
        elif name in TLS_VARIABLES or (name in SWITCHES and not _falsy(value)):
            if name in named:
                records.append({"variable": name, "approved_by": f"env:{name}"})
            elif name in SWITCHES:
                bad.append(f"{name} (set in the environment or .env) sends every call to a proxy")
            elif not _tls_ok(name, value):
                bad.append(f"{name} (set in the environment or .env) changes whom calls trust")
    if any(is_proxy_variable(k) and v for k, v in environ.items()):
        used: dict[str, list[str]] = {}
        for url in urls:
            for proxy in proxies_for(url, environ):
                used.setdefault(proxy, []).append(url)
        for proxy, targets in sorted(used.items()):
            names = sorted(
                k for k, v in environ.items() if is_proxy_variable(k) and v and v in proxy
            ) or ["a *_PROXY variable"]
            by = approve(proxy)
            if by is None:
                bad.append(
                    f"{'/'.join(names)} (set in the environment or .env) sends calls through the "
                    f"proxy {_where(proxy)}"
                )
            else:
                records.append(
                    {
                        "variable": "/".join(names),
                        "proxy": _where(proxy),
                        "for": sorted({_where(t) for t in targets}),
                        "approved_by": by,
                    }
                )
    return bad, records


# -- CI: the trusted governance file -------------------------------------------------------------
def trusted_governance(plan: Any, trusted: str | os.PathLike[str]) -> None:
    """Make ``trusted`` (the base branch's governance file) the plan's governance.

    A pull request can change a plan and the files beside it, so in CI the approvals come from
    a governance file the pull request cannot change. A plan that names no governance file gets
    the trusted one; a plan naming one whose bytes differ from it is refused (PlanError, exit 2),
    so a pull request cannot approve its own provider.
    """
    from pathlib import Path

    from harness.errors import PlanError, Problem

    path = Path(trusted).resolve()
    display = str(plan.path) if plan.path else "plan"
    if not path.is_file():
        raise PlanError(
            f"trusted governance {path}",
            [Problem(str(path), None, None, "does not exist", "give the base branch's file")],
        )
    if plan.governance:
        named = plan.resolve(plan.governance)
        same = named.is_file() and named.read_bytes() == path.read_bytes()
        if not same:
            raise PlanError(
                f"plan {display}",
                [
                    Problem(
                        display,
                        None,
                        "governance",
                        f"names '{plan.governance}', which is not the trusted governance file "
                        f"{path}",
                        "in CI the base branch's governance decides which providers are "
                        "approved; change rubrics/governance.yaml in its own reviewed pull "
                        "request first",
                    )
                ],
            )
    plan.governance = str(path)
