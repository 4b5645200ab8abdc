"""Judge rubrics and replies: criteria with 1-5 anchors, reply parsing, constrained JSON.

The rubric (``rubrics/judge.yaml``) holds the criteria, one anchor per whole score, and the
Jinja2 prompt. Replies are parsed robustly (code fences, prose around the JSON, single
quotes, scores written as strings); a reply that cannot be read raises, and the judging pass
answers it with a repair turn (:data:`REPAIR`). Nothing here calls a model.
"""

from __future__ import annotations

import ast
import hashlib
import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
import jinja2.meta
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from harness.data.validation import line_of, validation_problems
from harness.errors import PlanError, Problem
from harness.plan.spec import JudgeSpec, load_yaml

RUBRIC_FILE = Path(__file__).resolve().parents[2] / "rubrics" / "judge.yaml"
LEVELS = (1, 2, 3, 4, 5)
REPAIR = (
    "That reply could not be read as the JSON object asked for. Answer again with only the "
    "JSON object: {example}"
)


# -- rubric ------------------------------------------------------------------------------------


class Criterion(BaseModel):
    """One rubric criterion with an anchor text for each whole score 1-5."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    description: str = ""
    anchors: dict[int, str]

    @field_validator("anchors")
    @classmethod
    def _five_levels(cls, value: dict[int, str]) -> dict[int, str]:
        if set(value) != set(LEVELS):
            raise ValueError(
                f"has levels {sorted(value)}; give one anchor for each score 1, 2, 3, 4 and 5"
            )
        empty = [k for k, v in value.items() if not str(v).strip()]
        if empty:
            raise ValueError(f"anchor(s) {sorted(empty)} are empty; describe each level")
        return value


class Rubric(BaseModel):
    """A judge rubric: criteria with 1-5 anchors and the Jinja2 prompt that asks for JSON."""

    model_config = ConfigDict(extra="forbid")

    name: str
    version: int | str = 1
    description: str = ""
    criteria: list[Criterion] = Field(min_length=1)
    system: str | None = None
    prompt: str
    path: Path | None = Field(None, exclude=True)

    @model_validator(mode="after")
    def _unique(self) -> Rubric:
        names = [c.name for c in self.criteria]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"criterion names must be unique; repeated: {', '.join(dupes)}")
        if "rationale" in names:
            raise ValueError("'rationale' is reserved for the judge's explanation")
        return self

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.criteria]

    def json_example(self, rationale: bool = True) -> str:
        """The JSON object the judge must answer with (``rationale``: with its rationale)."""
        fields = ", ".join(f'"{n}": n' for n in self.names)
        return "{" + fields + (', "rationale": "..."}' if rationale else "}")

    def fingerprint(self) -> str:
        """Hash of the rubric's content (criteria, anchors, prompts)."""
        blob = json.dumps(self.model_dump(mode="json"), sort_keys=True).encode()
        return hashlib.sha256(blob).hexdigest()


def template_env() -> jinja2.Environment:
    """The Jinja2 environment of rubric prompts: the harness's one sandbox."""
    from harness.plan.templates import environment

    return environment()


def load_rubric(path: str | Path | None = None) -> Rubric:
    """Load and validate a judge rubric (default: the shipped ``rubrics/judge.yaml``).

    Raises:
        PlanError: every problem with file, line and field.
    """
    p = Path(path) if path else RUBRIC_FILE
    display = str(p)
    data, node = load_yaml(p, "rubric")
    if not isinstance(data, dict):
        raise PlanError(
            f"rubric {display}",
            [Problem(display, 1, None, "is not a mapping", "a rubric holds criteria and prompt")],
        )
    try:
        rubric = Rubric.model_validate(data)
    except ValidationError as exc:
        guide = "see the comments in rubrics/judge.yaml"
        raise PlanError(
            f"rubric {display}", validation_problems(display, exc, node, guide, guide)
        ) from None
    rubric.path = p.resolve()
    problems = []
    env = template_env()
    for key in ("system", "prompt"):
        text = getattr(rubric, key)
        if text is None:
            continue
        key_line = line_of(node, (key,))
        try:
            parsed = env.parse(text)
        except jinja2.TemplateSyntaxError as exc:
            line = key_line + (exc.lineno or 0) if key_line else None  # block scalars start below
            problems.append(
                Problem(display, line, key, f"is not a valid Jinja2 template ({exc.message})")
            )
            continue
        if key == "prompt" and "draft" not in jinja2.meta.find_undeclared_variables(parsed):
            problems.append(
                Problem(
                    display,
                    key_line,
                    key,
                    "never shows the draft to the judge",
                    "put {{ draft }} in the prompt",
                )
            )
    if problems:
        raise PlanError(f"rubric {display}", problems)
    return rubric


# -- parsing -----------------------------------------------------------------------------------

_FENCE = re.compile(r"```[a-zA-Z]*\s*(.*?)```", re.S)
_SCORE_TEXT = re.compile(r"^\s*([1-5])(?:\.0+)?\s*(?:(?:/|out of)\s*5)?\s*$", re.I)


@dataclass(frozen=True)
class Judgement:
    """A parsed judge reply: one whole score 1-5 per criterion and the rationale."""

    scores: dict[str, int]
    rationale: str


def _objects(text: str) -> list[str]:
    """Every balanced ``{...}`` span in ``text`` (outermost first), ignoring braces in quotes."""
    spans: list[str] = []
    i = 0
    while True:
        start = text.find("{", i)
        if start == -1:
            return spans
        depth, quote, esc = 0, "", False
        end = -1
        for j in range(start, len(text)):
            ch = text[j]
            if quote:
                if esc:
                    esc = False
                elif ch == "\\":
                    esc = True
                elif ch == quote:
                    quote = ""
            elif ch in "\"'":
                # an apostrophe inside a word (don't) is not a quote
                prev = text[j - 1] if j else " "
                if ch == '"' or not prev.isalnum():
                    quote = ch
            elif ch == "{":
                depth += 1
            elif ch == "}":
                depth -= 1
                if depth == 0:
                    end = j
                    break
        if end == -1:
            i = start + 1
            continue
        spans.append(text[start : end + 1])
        i = end + 1


def _load_object(span: str) -> dict[str, Any] | None:
    """A JSON-ish object: JSON (raw newlines in strings allowed), then without trailing commas,
    then Python literal syntax."""
    candidates = [span, re.sub(r",\s*([}\]])", r"\1", span)]
    for c in candidates:
        try:
            # strict=False: a raw newline inside a string (the embedded model's grammar lets
            # one through) is read as the newline it is
            obj = json.loads(c, strict=False)
        except json.JSONDecodeError:
            continue
        if isinstance(obj, dict):
            return obj
    py = re.sub(r"\btrue\b", "True", candidates[1])
    py = re.sub(r"\bfalse\b", "False", py)
    py = re.sub(r"\bnull\b", "None", py)
    try:
        obj = ast.literal_eval(py)
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        return None
    return obj if isinstance(obj, dict) else None


def _score(value: Any) -> int | None:
    """A whole score 1-5 from an int, an integral float, or text like "4", "4/5", "4 out of 5"."""
    if isinstance(value, dict):
        value = value.get("score", value.get("rating"))
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)):
        if isinstance(value, float) and (math.isnan(value) or not value.is_integer()):
            return None
        v = int(value)
        return v if v in LEVELS else None
    m = _SCORE_TEXT.match(str(value))
    return int(m.group(1)) if m else None


def parse_reply(text: str, criteria: Sequence[str]) -> Judgement:
    """Read a judge reply into whole scores 1-5 per criterion.

    Raises:
        ValueError: the reply holds no object with a valid score for every criterion (why).
    """
    if not text or not text.strip():
        raise ValueError("the reply is empty")
    fenced = _FENCE.findall(text)
    spans = [s for block in fenced for s in _objects(block)] + _objects(text)
    if not spans:
        raise ValueError("the reply holds no JSON object")
    why = "no object could be read as JSON"
    for span in spans:
        obj = _load_object(span)
        if obj is None:
            continue
        low = {str(k).strip().lower(): v for k, v in obj.items()}
        scores: dict[str, int] = {}
        bad = []
        for c in criteria:
            if c.lower() not in low:
                bad.append(f"'{c}' is missing")
                continue
            s = _score(low[c.lower()])
            if s is None:
                bad.append(f"'{c}' is {low[c.lower()]!r}, not a whole score 1-5")
            else:
                scores[c] = s
        if not bad:
            rationale = low.get("rationale", low.get("reason", ""))
            return Judgement(scores, "" if rationale is None else str(rationale).strip())
        why = "; ".join(bad)
    raise ValueError(why)


# -- constrained output ------------------------------------------------------------------------


def judge_schema(rubric: Rubric, rationale_chars: int | None = 200) -> dict[str, Any]:
    """The JSON schema of a judge reply: each criterion a whole score 1-5, then a rationale.

    ``rationale_chars`` caps the rationale (``maxLength``), so a grammar-constrained reply
    closes its JSON within a small ``max_tokens``; None leaves it uncapped; 0 leaves it out, so
    the grammar does not make the judge generate ``"rationale": ""`` (about 7 tokens a reply).
    """
    scores: dict[str, Any] = {c: {"type": "integer", "enum": list(LEVELS)} for c in rubric.names}
    if rationale_chars == 0:
        return {
            "type": "object",
            "properties": scores,
            "required": list(rubric.names),
            "additionalProperties": False,
        }
    rationale: dict[str, Any] = {"type": "string"}
    if rationale_chars is not None:
        rationale["maxLength"] = rationale_chars
    return {
        "type": "object",
        "properties": {**scores, "rationale": rationale},
        "required": [*rubric.names, "rationale"],
        "additionalProperties": False,
    }


def response_format(spec: JudgeSpec, rubric: Rubric) -> dict[str, Any] | None:
    """The ``response_format`` a judge call sends (None: none), from ``spec.response_format``.

    The embedded model's server (llama-cpp-python) takes ``{"type": "json_object", "schema":
    ...}`` and turns the schema into a grammar, so even a 135M model answers parseable JSON;
    ``auto`` sends that to the embedded model and nothing to other providers. For other
    providers ``json_object`` asks for any JSON object and ``json_schema`` for the rubric's
    schema in the OpenAI form (``strict``, no length cap), both passed on by litellm. A
    ``params.response_format`` in the plan is sent as written instead.
    """
    mode = response_format_name(spec)
    if mode in ("off", "params"):
        return None
    local = spec.model.startswith("local/")
    if mode == "json_object":
        return {"type": "json_object"}
    if local:
        return {"type": "json_object", "schema": judge_schema(rubric, spec.rationale_chars)}
    return {
        "type": "json_schema",
        "json_schema": {
            "name": "judgement",
            "schema": judge_schema(rubric, None),
            "strict": True,
        },
    }


def response_format_name(spec: JudgeSpec) -> str:
    """What ``spec.response_format`` resolves to: off, json_object, json_schema or params."""
    if "response_format" in spec.params:
        return "params"
    if spec.response_format == "auto":
        return "json_schema" if spec.model.startswith("local/") else "off"
    return spec.response_format
