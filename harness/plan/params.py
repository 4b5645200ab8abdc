"""The generation parameters a plan may pass to a model, checked when the plan loads.

Only the parameters in :data:`ALLOWED_PARAMS` travel from a plan's ``params`` (a candidate's or
the judge's) to litellm; :func:`params_problem` refuses every other key at plan load (exit 2)
and :func:`harness.engine.egress.call_params` refuses them again on the way into litellm.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

_NUMBER = (int, float)


def _num(v: Any) -> bool:
    return isinstance(v, _NUMBER) and not isinstance(v, bool)


def _int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _stop(v: Any) -> bool:
    return isinstance(v, str) or (
        isinstance(v, list) and len(v) <= 4 and all(isinstance(s, str) for s in v)
    )


# name -> (check of the value, what the value must be)
ALLOWED_PARAMS: dict[str, tuple[Callable[[Any], bool], str]] = {
    "temperature": (_num, "a number"),
    "top_p": (_num, "a number"),
    "max_tokens": (_int, "a whole number"),
    "max_completion_tokens": (_int, "a whole number"),
    "seed": (_int, "a whole number"),
    "stop": (_stop, "a string or a list of at most 4 strings"),
    "presence_penalty": (_num, "a number"),
    "frequency_penalty": (_num, "a number"),
    "logit_bias": (lambda v: isinstance(v, dict), "a mapping of token to bias"),
    "response_format": (lambda v: isinstance(v, dict), "a mapping"),
    "reasoning_effort": (lambda v: isinstance(v, str), "a string"),
}
_HINTS = {
    "api_key": "never put an API key in a plan: name its variable with 'api_key_env'",
    "n": "use the candidate's 'samples' for several drafts",
    "stream": "replies are read whole, so keys can be scrubbed from the joined text",
    "timeout": "set runner.timeout (or the judge's timeout)",
}


def params_problem(params: Mapping[str, Any]) -> str | None:
    """Why ``params`` may not be sent (None: every key is an allowed generation parameter)."""
    allowed = ", ".join(ALLOWED_PARAMS)
    for key, value in params.items():
        if key not in ALLOWED_PARAMS:
            hint = _HINTS.get(key) or (
                "a destination is set only by the candidate's or judge's own 'api_base' field, "
                "which governance must approve"
            )
            return (
                f"'{key}' is not a generation parameter the harness passes on ({hint}); "
                f"allowed: {allowed}"
            )
        check, what = ALLOWED_PARAMS[key]
        if not check(value):
            return f"'{key}' must be {what}"
    return None
