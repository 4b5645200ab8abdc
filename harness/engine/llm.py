"""Model candidates: a litellm model string + a Jinja2 prompt template + params.

litellm is imported lazily (it costs seconds): a fully cached re-run, a re-score or a report
never imports it. Errors are classified here (retryable or not, Retry-After) so the runner's
retry loop stays provider-agnostic, and every error text is scrubbed of API keys.
"""

from __future__ import annotations

import email.utils
import gc
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

RETRYABLE_STATUS = {408, 409, 425, 429, 500, 502, 503, 504, 520, 522, 524, 529}
_litellm: Any = None


def litellm_module() -> Any:
    """Import litellm once, offline: local cost map, no telemetry, no debug banners."""
    global _litellm
    if _litellm is None:
        os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
        os.environ.setdefault("LITELLM_TELEMETRY", "False")
        # The import builds about half a million objects and little garbage: the cyclic
        # collector, set off again and again as they come, cost a fifth of its CPU (0.6 of
        # 2.8 s here). Paused for the import only, as it was found.
        collecting = gc.isenabled()
        gc.disable()
        try:
            import litellm
        finally:
            if collecting:
                gc.enable()

        litellm.telemetry = False
        litellm.suppress_debug_info = True
        litellm.set_verbose = False
        _litellm = litellm
    return _litellm


def scrub(text: str, secrets: list[str] | None = None) -> str:
    """Remove API keys (every value a run read, credential-like values, key-shaped tokens)."""
    from harness.engine.keys import scrub as _scrub

    return _scrub(text, secrets)


@dataclass
class CallResult:
    """One attempt's outcome."""

    output: str | None = None
    tokens_in: int | None = None
    tokens_out: int | None = None
    cost_usd: float | None = None
    error: str | None = None
    retryable: bool = False
    retry_after: float | None = None
    status: int | None = None
    raw: dict[str, Any] = field(default_factory=dict)


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header: seconds (fractional allowed) or an HTTP date."""
    if value is None:
        return None
    value = str(value).strip()
    try:
        secs = float(value)
        return max(0.0, secs) if secs == secs else None
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when is None:
        return None
    return max(0.0, when.timestamp() - (now if now is not None else time.time()))


def _header(exc: BaseException, name: str) -> str | None:
    for attr in ("litellm_response_headers", "headers"):
        h = getattr(exc, attr, None)
        if h is not None:
            try:
                v = h.get(name)
            except AttributeError:
                v = None
            if v is not None:
                return str(v)
    resp = getattr(exc, "response", None)
    headers = getattr(resp, "headers", None)
    if headers is not None:
        try:
            v = headers.get(name)
        except Exception:
            v = None
        if v is not None:
            return str(v)
    return None


def classify(exc: BaseException) -> CallResult:
    """Turn a provider exception into a CallResult: retryable or not, and Retry-After."""
    status = getattr(exc, "status_code", None)
    if not isinstance(status, int):
        status = None
    name = type(exc).__name__
    transport = any(
        s in name
        for s in (
            "Timeout",
            "Connection",
            "ServiceUnavailable",
            "InternalServer",
            "RateLimit",
            "APIError",
        )
    )
    retryable = (status in RETRYABLE_STATUS) if status is not None else transport
    if name in (
        "AuthenticationError",
        "PermissionDeniedError",
        "BadRequestError",
        "NotFoundError",
        "ContextWindowExceededError",
        "ContentPolicyViolationError",
        "UnprocessableEntityError",
        "BudgetExceededError",
    ):
        retryable = False
    text = str(exc)
    if "Missing credentials" in text or "api_key client option must be set" in text:
        retryable = False
        text += (
            " (set the key in the environment or .env and name the variable in the "
            "plan with 'api_key_env')"
        )
    retry_after = parse_retry_after(_header(exc, "retry-after"))
    msg = scrub(f"{name}: {text}")
    return CallResult(error=msg[:2000], retryable=retryable, retry_after=retry_after, status=status)


@dataclass(frozen=True)
class Call:
    """A resolved request as it goes to litellm, in process or through a call worker.

    Built only by :class:`harness.engine.calls.Engine` after the destination was approved; the key
    crosses to a worker in memory only and is never written anywhere.
    """

    model: str
    api_base: str | None
    api_key: str | None
    params: dict[str, Any]
    timeout: float
    price: tuple[float, float] | None = None

    def wire(self) -> dict[str, Any]:
        """The call as a JSON-able mapping (the call workers' request frame)."""
        return {
            "model": self.model,
            "api_base": self.api_base,
            "api_key": self.api_key,
            "params": self.params,
            "timeout": self.timeout,
            "price": list(self.price) if self.price is not None else None,
        }

    @classmethod
    def from_wire(cls, d: dict[str, Any]) -> Call:
        price = tuple(d["price"]) if d.get("price") is not None else None
        return cls(
            d["model"],
            d.get("api_base"),
            d.get("api_key"),
            d.get("params") or {},
            float(d["timeout"]),
            price,
        )


async def call_model(call: Call, messages: list[dict[str, str]]) -> CallResult:
    """One attempt at a chat completion through litellm (no retries here)."""
    from harness.engine.egress import call_params

    litellm = litellm_module()
    price = call.price
    try:
        params = call_params(call.params)  # only generation parameters; streaming off
    except ValueError as exc:
        return CallResult(error=str(exc), retryable=False)
    try:
        resp = await litellm.acompletion(
            model=call.model,
            messages=messages,
            api_base=call.api_base,
            api_key=call.api_key,
            timeout=call.timeout,
            num_retries=0,
            max_retries=0,
            **params,
        )
    except Exception as exc:  # every provider error becomes data on the sample
        return classify(exc)
    choice = resp.choices[0] if resp.choices else None
    text = getattr(getattr(choice, "message", None), "content", None)
    usage = getattr(resp, "usage", None)
    tin = getattr(usage, "prompt_tokens", None)
    tout = getattr(usage, "completion_tokens", None)
    if price is not None:
        cost: float | None = ((tin or 0) * price[0] + (tout or 0) * price[1]) / 1000.0
    else:
        cost = _litellm_cost(litellm, resp)
    if text is None:
        return CallResult(
            error="the provider returned no text",
            retryable=True,
            tokens_in=tin,
            tokens_out=tout,
            cost_usd=cost,
        )
    return CallResult(
        output=text.strip(),
        tokens_in=tin,
        tokens_out=tout,
        cost_usd=cost,
        raw={"finish_reason": getattr(choice, "finish_reason", None)},
    )


def _litellm_cost(litellm: Any, resp: Any) -> float | None:
    """The price litellm already put on the response; priced again only if it did not.

    litellm prices every response while building it (``_hidden_params['response_cost']``,
    None for a model it has no price for); pricing it a second time costs a few ms per call
    and, for unknown models, an exception each time.
    """
    hidden = getattr(resp, "_hidden_params", None)
    if isinstance(hidden, dict) and "response_cost" in hidden:
        value = hidden["response_cost"]
        return float(value) if isinstance(value, (int, float)) else None
    try:
        return float(litellm.completion_cost(completion_response=resp))
    except Exception:
        return None


def load_dotenv(path: Path = Path(".env")) -> None:
    """Load KEY=VALUE lines from a git-ignored .env file without overriding the environment."""
    if not path.is_file():
        return
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        k, v = line.split("=", 1)
        k = k.strip().removeprefix("export ").strip()
        os.environ.setdefault(k, v.strip().strip('"').strip("'"))


def backoff_delay(attempt: int, base: float, cap: float, retry_after: float | None) -> float:
    """Seconds before retry ``attempt + 1``: Retry-After (capped), else jittered exponential."""
    import random

    if retry_after is not None:
        return min(retry_after, cap) + random.uniform(0, 0.05)
    return random.uniform(0.5, 1.0) * min(cap, base * (2 ** (attempt - 1)))
