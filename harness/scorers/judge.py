"""LLM judge: any litellm model rates a draft 1-5 per rubric criterion, as the human raters did.

The rubric (``rubrics/judge.yaml``) holds the criteria, one anchor per whole score, and the
Jinja2 prompt. A plan may limit the judge to some candidates (the others' judge scores are
unscored) and ask for constrained JSON: the embedded model gets a JSON schema built from the
rubric, which llama.cpp enforces with a grammar (:func:`response_format`). Replies are parsed
robustly (code fences, prose around the JSON, single quotes, scores written as strings); a
reply that still cannot be read is answered with a repair turn, up to ``max_attempts`` replies,
and then the row stays unscored (NaN): a score is never guessed. Every reply goes through the
runner's response cache (keyed on the judge model, the messages and the parameters, the
response format included), so re-scoring a run makes no calls. Scores are rescaled to 0-1 as
``(score - 1) / 4``; ``judge_calibrated`` says whether the judge met the plan's bar against
the dataset's human ratings (``harness.calibration``): an uncalibrated judge cannot pass a gate.
"""

from __future__ import annotations

import ast
import asyncio
import contextlib
import hashlib
import json
import math
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
import jinja2.meta
import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from harness import aio
from harness.cache import ResponseCache, cache_key
from harness.datasets import Dataset
from harness.errors import HarnessError, PlanError, Problem
from harness.plan import JudgeSpec, _line_of, _validation_problems, load_yaml
from harness.scorers import Metric, ScoreFn, scorer
from harness.store import default_results_dir

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

    def json_example(self) -> str:
        """The JSON object the judge must answer with."""
        fields = ", ".join(f'"{n}": n' for n in self.names)
        return "{" + fields + ', "rationale": "..."}'

    def fingerprint(self) -> str:
        """Hash of the rubric's content (criteria, anchors, prompts)."""
        blob = json.dumps(self.model_dump(mode="json"), sort_keys=True).encode()
        return hashlib.sha256(blob).hexdigest()


def _env() -> jinja2.Environment:
    return jinja2.Environment(
        undefined=jinja2.StrictUndefined, autoescape=False, keep_trailing_newline=False
    )


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
            f"rubric {display}", _validation_problems(display, exc, node, guide, guide)
        ) from None
    rubric.path = p.resolve()
    problems = []
    env = _env()
    for key in ("system", "prompt"):
        text = getattr(rubric, key)
        if text is None:
            continue
        key_line = _line_of(node, (key,))
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
    closes its JSON within a small ``max_tokens``; None leaves it uncapped.
    """
    rationale: dict[str, Any] = {"type": "string"}
    if rationale_chars is not None:
        rationale["maxLength"] = rationale_chars
    return {
        "type": "object",
        "properties": {
            **{c: {"type": "integer", "enum": list(LEVELS)} for c in rubric.names},
            "rationale": rationale,
        },
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


def call_params(spec: JudgeSpec, rubric: Rubric) -> dict[str, Any]:
    """The parameters of every judge call: the plan's ``params`` plus the response format."""
    fmt = response_format(spec, rubric)
    return {**spec.params, "response_format": fmt} if fmt is not None else dict(spec.params)


# -- calling -----------------------------------------------------------------------------------


class JudgePrompt:
    """Renders (item, draft) into chat messages with the rubric's Jinja2 templates."""

    def __init__(self, rubric: Rubric, dataset: Dataset):
        env = _env()
        self.rubric = rubric
        self.user = env.from_string(rubric.prompt)
        self.system = env.from_string(rubric.system) if rubric.system else None
        self.dataset = dataset

    def messages(self, item: dict[str, Any], draft: str) -> list[dict[str, str]]:
        ctx = {
            "item": item,
            "sources": self.dataset.source_texts(list(item.get("source_ids") or [])),
            "task": item.get("task"),
            "draft": draft,
            "criteria": [c.model_dump() for c in self.rubric.criteria],
            "json_example": self.rubric.json_example(),
        }
        msgs = []
        if self.system is not None:
            msgs.append({"role": "system", "content": self.system.render(ctx).strip()})
        msgs.append({"role": "user", "content": self.user.render(ctx).strip()})
        return msgs


def _item(dataset: Dataset, item_id: str) -> dict[str, Any]:
    row = dataset.items.loc[item_id]
    out = {str(k): (None if isinstance(v, float) and v != v else v) for k, v in row.items()}
    out["id"] = str(item_id)
    return out


@dataclass
class JudgeCounts:
    """What a judging pass cost: network calls made and replies served from the cache."""

    calls: int = 0
    cached: int = 0
    cost_usd: float = 0.0


def _result_columns(criteria: Sequence[str]) -> list[str]:
    return [*criteria, "rationale", "replies", "calls", "cached", "error"]


def judge_drafts(
    drafts: pd.DataFrame,
    dataset: Dataset,
    spec: JudgeSpec,
    rubric: Rubric | None = None,
    *,
    cache: bool = True,
    cache_path: str | Path | None = None,
    retries: int = 4,
    backoff_base: float = 0.5,
    backoff_max: float = 30.0,
    counts: JudgeCounts | None = None,
) -> pd.DataFrame:
    """Rate each draft (columns ``item_id`` and ``draft``) with the judge.

    Returns:
        One row per input row (same index): a whole score 1-5 per criterion (NaN: unscored),
        ``rationale``, ``replies`` read, network ``calls`` made, ``cached`` (every reply came
        from the cache) and ``error`` (why a row is unscored).
    """
    rubric = rubric or load_rubric(spec.rubric)
    counts = counts if counts is not None else JudgeCounts()
    cols = _result_columns(rubric.names)
    if drafts.empty:
        return pd.DataFrame(columns=cols, index=drafts.index)
    builder = JudgePrompt(rubric, dataset)
    jobs = [
        (idx, builder.messages(_item(dataset, str(iid)), str(draft)))
        for idx, iid, draft in zip(
            drafts.index, drafts["item_id"], drafts["draft"].fillna(""), strict=True
        )
    ]
    store: ResponseCache | None = None
    path = Path(cache_path) if cache_path else default_results_dir() / ".cache" / "responses.sqlite"
    if cache:
        store = ResponseCache(path)
    try:
        rows = aio.run(
            _judge_all(
                jobs, spec, rubric, store, retries, backoff_base, backoff_max, counts, path.parent
            )
        )
    finally:
        if store is not None:
            store.close()
    out = pd.DataFrame([r for _, r in sorted(rows.items(), key=lambda kv: kv[0][0])], columns=cols)
    out.index = drafts.index
    for c in rubric.names:
        out[c] = pd.to_numeric(out[c], errors="coerce").astype(np.float64)
    out["replies"] = out["replies"].astype("int64")
    out["calls"] = out["calls"].astype("int64")
    out["cached"] = out["cached"].astype(bool)
    return out


class _Endpoint:
    """Where the judge's calls go; the embedded server starts on the first cache miss only."""

    def __init__(self, spec: JudgeSpec, stack: contextlib.ExitStack, log_dir: Path):
        self.spec = spec
        self.stack = stack
        self.log_dir = log_dir  # the embedded server's log goes beside the response cache
        self.lock = asyncio.Lock()
        self.local = spec.model.startswith("local/")
        self.model: str | None = None if self.local else spec.model
        self.api_base = spec.api_base
        if self.local:
            from harness.candidates.local import gguf_path, model_identity

            self.logical: tuple[str, str | None] = (
                f"{spec.model}@{model_identity(gguf_path())}",
                None,
            )
            self.api_key: str | None = "sk-no-key-needed"
            self.price: tuple[float, float] | None = (0.0, 0.0)
        else:
            self.logical = (spec.model, spec.api_base)
            if spec.api_key_env:
                self.api_key = os.environ.get(spec.api_key_env)
            else:
                self.api_key = "no-key-configured" if spec.api_base else None
            self.price = None

    async def ready(self) -> tuple[str, str | None]:
        if self.model is None:
            async with self.lock:
                if self.model is None:
                    from harness.candidates.local import serve_smollm2

                    # Started from the event loop's own thread on purpose (the loop waits a
                    # few seconds): the server's parent-death signal follows the starting
                    # thread, which is the main thread or harness.aio's long-lived one.
                    srv = self.stack.enter_context(serve_smollm2(log_dir=self.log_dir))
                    self.api_base = srv.api_base
                    self.model = srv.litellm_model
        assert self.model is not None
        return self.model, self.api_base


async def _judge_all(
    jobs: list[tuple[Any, list[dict[str, str]]]],
    spec: JudgeSpec,
    rubric: Rubric,
    store: ResponseCache | None,
    retries: int,
    backoff_base: float,
    backoff_max: float,
    counts: JudgeCounts,
    log_dir: Path,
) -> dict[tuple[int, Any], dict[str, Any]]:
    from harness.candidates.llm import call_model, call_with_retries

    sem = asyncio.Semaphore(spec.concurrency)
    results: dict[tuple[int, Any], dict[str, Any]] = {}
    params = call_params(spec, rubric)
    with contextlib.ExitStack() as stack:
        endpoint = _Endpoint(spec, stack, log_dir)

        async def reply(msgs: list[dict[str, str]]) -> tuple[str | None, str | None, int]:
            """A reply's text (or None and why), and the network calls it took (0: cached)."""
            key = cache_key(*endpoint.logical, msgs, params, 0)
            if store is not None:
                hit = store.get_many([key]).get(key)
                if hit is not None:
                    counts.cached += 1
                    return str(hit["output"]), None, 0
            model, base = await endpoint.ready()

            async def attempt(_: int) -> Any:
                async with sem:
                    counts.calls += 1
                    try:
                        return await asyncio.wait_for(
                            call_model(
                                model,
                                msgs,
                                params,
                                base,
                                endpoint.api_key,
                                spec.timeout,
                                endpoint.price,
                            ),
                            spec.timeout + 10,
                        )
                    except asyncio.TimeoutError:
                        from harness.candidates.llm import CallResult

                        return CallResult(
                            error=f"Timeout: no answer within {spec.timeout + 10:.0f} s",
                            retryable=True,
                        )

            res, errors, made = await call_with_retries(
                attempt, max_attempts=retries, backoff_base=backoff_base, backoff_max=backoff_max
            )
            if res is None or res.output is None:
                return None, "; ".join(errors[-3:]) or "no reply", made
            counts.cost_usd += res.cost_usd or 0.0
            if store is not None:
                store.put(
                    key,
                    endpoint.logical[0],
                    {
                        "output": res.output,
                        "tokens_in": res.tokens_in,
                        "tokens_out": res.tokens_out,
                    },
                )
            return res.output, None, made

        async def one(pos: int, idx: Any, msgs: list[dict[str, str]]) -> None:
            row: dict[str, Any] = dict.fromkeys(rubric.names, math.nan)
            row.update(rationale=None, replies=0, calls=0, cached=True, error=None)
            problems: list[str] = []
            for n in range(1, spec.max_attempts + 1):
                text, err, made = await reply(msgs)
                row["calls"] += made
                row["cached"] = row["cached"] and made == 0
                if text is None:
                    problems.append(f"reply {n}: no answer ({err})")
                    break
                row["replies"] = n
                try:
                    j = parse_reply(text, rubric.names)
                except ValueError as exc:
                    problems.append(f"reply {n}: {exc}")
                    msgs = [
                        *msgs,
                        {"role": "assistant", "content": text},
                        {"role": "user", "content": REPAIR.format(example=rubric.json_example())},
                    ]
                    continue
                row.update(j.scores, rationale=j.rationale)
                problems = []
                break
            row["error"] = "; ".join(problems)[:2000] if problems else None
            results[(pos, idx)] = row

        await asyncio.gather(*(one(i, idx, msgs) for i, (idx, msgs) in enumerate(jobs)))
    return results


# -- scorer ------------------------------------------------------------------------------------

_CRITERIA = {
    "accuracy": "every fact matches the approved sources",
    "completeness": "answers everything asked, with the next step and contact",
    "tone": "warm, plain, respectful, right length",
}


@scorer(
    "judge",
    family="judge",
    metrics=[
        *(
            Metric(f"judge_{c}", f"LLM judge, rescaled (score - 1) / 4: {d}")
            for c, d in _CRITERIA.items()
        ),
        Metric(
            "judge_calibrated",
            "1 when the judge met the plan's calibration bar (quadratic-weighted kappa against "
            "the dataset's human ratings), else 0: an uncalibrated judge cannot pass a gate",
        ),
    ],
)
def judge_scorer(
    *,
    cache: bool = True,
    cache_path: str | None = None,
    calibrate: bool = True,
    retries: int = 4,
    **spec: Any,
) -> ScoreFn:
    """LLM judge against a rubric (1-5 per criterion, rescaled to 0-1), with its calibration.

    Only the drafts of ``candidates`` (default: all) are rated; the judge is calibrated on
    the dataset's rated drafts, or on the ``calibration_sample`` of them.
    """
    try:
        js = JudgeSpec.model_validate(spec)
    except ValidationError as exc:
        details = "; ".join(
            f"{'.'.join(str(x) for x in e['loc']) or 'judge'}: {e['msg']}" for e in exc.errors()
        )
        raise HarnessError(f"judge scorer options: {details}; see plans/README.md") from None
    rubric = load_rubric(js.rubric)

    def score(frame: pd.DataFrame, dataset: Dataset) -> pd.DataFrame:
        from harness.calibration import compare, drafts_to_check

        # Drafts of candidates the judge does not rate stay unscored (NaN), never 0.
        rate = (
            frame["candidate"].isin(js.candidates)
            if js.candidates is not None and "candidate" in frame
            else pd.Series(True, index=frame.index)
        )
        sub = frame[rate]
        drafts = pd.DataFrame({"item_id": sub["item_id"], "draft": sub["output"]})
        rated = None
        if calibrate and dataset.ratings is not None:
            # One judging pass (one server start) for the run's drafts and the rated drafts.
            rated = drafts_to_check(dataset.ratings, rubric.names, js.calibration_sample)
            drafts = pd.concat([drafts, rated[["item_id", "draft"]]], ignore_index=True)
        got = judge_drafts(
            drafts.reset_index(drop=True),
            dataset,
            js,
            rubric,
            cache=cache,
            cache_path=cache_path,
            retries=retries,
        )
        mine = got.iloc[: len(sub)].set_axis(sub.index).reindex(frame.index)
        out = pd.DataFrame(index=frame.index)
        for c in rubric.names:
            out[f"judge_{c}"] = (mine[c].astype(np.float64) - 1.0) / 4.0
        flag = 0.0
        if rated is not None:
            judged = got.iloc[len(sub) :].set_axis(rated.index)
            flag = 1.0 if compare(rated, judged, rubric.names, js).calibrated else 0.0
        scored = mine[rubric.names].notna().any(axis=1)
        out["judge_calibrated"] = np.where(scored, flag, np.nan)
        return out.astype(np.float64)

    return score


def judge_options(plan: Any) -> dict[str, Any]:
    """The judge scorer's options from a plan's ``judge`` section (rubric path resolved, the
    runner's cache and retry settings), for ``get_scorer("judge", **judge_options(plan))``."""
    if plan.judge is None:
        return {}
    opts = plan.judge.model_dump()
    if plan.judge.rubric:
        opts["rubric"] = str(plan.resolve(plan.judge.rubric))
    opts["cache"] = plan.runner.cache
    if plan.runner.cache_path:
        opts["cache_path"] = str(plan.resolve(plan.runner.cache_path))
    opts["retries"] = plan.runner.max_attempts
    return opts
