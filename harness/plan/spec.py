"""Eval plans (YAML), validated with errors that name the file, line and field.

A plan names a dataset, the tasks to run, the candidates (baselines by name, or a litellm
model string with a Jinja2 prompt template), the scorers, and runner settings.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from harness.data.validation import line_of, validation_problems
from harness.errors import PlanError, Problem
from harness.paths import resolve_path
from harness.plan.names import Names, name_problems

LOCAL_MODELS = ("local/smollm2",)


def _check_model(model: str | None, params: dict[str, Any]) -> None:
    """Shared checks of a model string and its params (candidates and the judge)."""
    if model is not None and model.startswith("local/") and model not in LOCAL_MODELS:
        raise ValueError(
            f"unknown local model '{model}'; the embedded models are: {', '.join(LOCAL_MODELS)}"
        )
    if "api_key" in params:
        raise ValueError(
            "never put an API key in a plan: set it in the environment or "
            ".env and name the variable with 'api_key_env'"
        )


def _check_params(params: dict[str, Any]) -> dict[str, Any]:
    """Only generation parameters reach litellm (harness/plan/params.py): no route, no streaming."""
    from harness.plan.params import params_problem

    problem = params_problem(params)
    if problem:
        raise ValueError(problem)
    return params


# The built-in reference row's name: the approved answer, scored like every draft.
REFERENCE = "approved_answer"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Price(_Strict):
    """Prices for a model litellm does not know (e.g. a local one), in USD per 1,000 tokens."""

    input_per_1k: float = Field(0.0, ge=0)
    output_per_1k: float = Field(0.0, ge=0)


class CandidateSpec(_Strict):
    """One candidate: a baseline by name, a model with a prompt template, or a drafts file.

    ``drafts: FILE`` (an external system's drafts, harness/candidates/drafts.py) is stored as
    ``baseline: drafts`` with ``options.path: FILE``, the baseline interface the runner calls.
    """

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")
    description: str = ""  # what the candidate is, in plain words, for the report's first screen
    baseline: str | None = None  # a name in harness.candidates.BASELINES (resolved at load)
    model: str | None = None
    prompt: str | None = None
    system: str | None = None
    params: dict[str, Any] = Field(default_factory=dict)
    samples: int = Field(1, ge=1, le=50)
    api_base: str | None = None
    api_key_env: str | None = Field(None, pattern=r"^[A-Z_][A-Z0-9_]*$")
    options: dict[str, Any] = Field(default_factory=dict)
    price: Price | None = None
    concurrency: int | None = Field(None, ge=1, le=512)
    rpm: float | None = Field(None, gt=0)
    # what a model (or the retrieval baseline) is given: the top_k passages the knowledge base
    # retrieves for the item (leave-one-out), or the item's hand-linked sources
    context: Literal["retrieved", "linked"] = "retrieved"
    top_k: int = Field(3, ge=1, le=20)

    _params = field_validator("params")(_check_params)

    @model_validator(mode="before")
    @classmethod
    def _drafts_as_baseline(cls, data: Any) -> Any:
        if isinstance(data, dict) and "drafts" in data:
            data = dict(data)
            path = data.pop("drafts")
            if "baseline" in data or "model" in data:
                raise ValueError("a drafts candidate takes no 'baseline' or 'model'")
            if not isinstance(path, str) or not path.strip():
                raise ValueError("'drafts' names the drafts file (CSV/XLSX/JSONL), e.g. drafts.csv")
            data["baseline"] = "drafts"
            data["options"] = {**(data.get("options") or {}), "path": path}
        return data

    @model_validator(mode="after")
    def _one_kind(self, info: ValidationInfo) -> CandidateSpec:
        # the baselines' names come from whoever loads the plan (harness.plan.names.Names)
        if (self.baseline is None) == (self.model is None):
            baselines = (info.context or {}).get("baselines")  # read only for the message
            names = ", ".join(sorted(baselines)) if baselines else "a baseline's name"
            raise ValueError(
                f"give exactly one of 'baseline' ({names}), 'model' (a litellm model string) "
                "or 'drafts' (a file of an external tool's drafts)"
            )
        if self.model is not None and not self.prompt:
            raise ValueError(
                "a model candidate needs 'prompt': a Jinja2 template file "
                "under plans/ that turns an item into the user message"
            )
        if self.baseline is not None and (self.prompt or self.params):
            raise ValueError("a baseline takes 'options', not 'prompt' or 'params'")
        if self.baseline == "drafts" and not self.options.get("path"):
            raise ValueError("a drafts candidate names its file: drafts: FILE")
        _check_model(self.model, self.params)
        return self

    @property
    def is_model(self) -> bool:
        return self.model is not None


class ScorerSpec(_Strict):
    """A scorer by registered name, with options."""

    name: str
    options: dict[str, Any] = Field(default_factory=dict)


class RunnerSpec(_Strict):
    """How the runner calls providers."""

    concurrency: int = Field(8, ge=1, le=512)
    max_attempts: int = Field(10, ge=1, le=20)  # 30% faults: P(a sample lost) = 0.3**10
    timeout: float = Field(120.0, gt=0)
    backoff_base: float = Field(0.5, gt=0)
    backoff_max: float = Field(30.0, gt=0)
    budget_usd: float | None = Field(None, gt=0)
    cache: bool = True
    cache_path: str | None = None
    # worker processes that make the model calls (harness/engine/pool.py): "auto" starts
    # them only for many calls with many in flight; 0 keeps every call in this process
    workers: Annotated[int, Field(ge=0, le=32)] | Literal["auto"] = "auto"


class Selection(_Strict):
    """Which items run: all of the plan's tasks, or a documented subset."""

    per_category: int | None = Field(None, ge=1)
    limit: int | None = Field(None, ge=1)
    ids: list[str] | None = None
    prefer_paraphrase_groups: bool = True
    # with per_category: also every item marked sensitive, so the escalation gate can be judged
    include_sensitive: bool = True


class CalibrationSample(_Strict):
    """At most ``max_drafts`` of the dataset's rated drafts, chosen by a seeded stratified draw.

    The rated drafts are ordered by stratum (``score``: the human mean over the criteria;
    ``item``: the item id) with seeded random ties, and every k-th one is taken from a seeded
    start (systematic sampling), so the subset spans the strata in proportion to their size.
    """

    max_drafts: int = Field(ge=1)
    seed: int = 20261201
    stratify: Literal["score", "item"] = "score"


class BiasProbe(_Strict):
    """A seeded share of the run's drafts is rated twice, once as is and once padded with
    polite filler that adds no fact, to show whether the judge rewards length; a judge whose
    scores move by ``max_shift`` points or more is treated like an uncalibrated one."""

    share: float = Field(0.1, ge=0.0, le=1.0)
    seed: int = 20261201
    max_shift: float = Field(0.5, gt=0.0, le=4.0)  # points on the 1-5 scale
    min_probes: int = Field(3, ge=1)


class JudgeSpec(_Strict):
    """The LLM judge: a litellm model string, its rubric, and the calibration bar it must meet."""

    model: str = "local/smollm2"
    api_base: str | None = None
    api_key_env: str | None = Field(None, pattern=r"^[A-Z_][A-Z0-9_]*$")
    rubric: str | None = None  # relative to the plan file; None: the shipped rubrics/judge.yaml
    params: dict[str, Any] = Field(default_factory=lambda: {"temperature": 0.0, "max_tokens": 200})
    max_attempts: int = Field(3, ge=1, le=10)  # replies tried before a row stays unscored
    concurrency: int = Field(4, ge=1, le=512)
    timeout: float = Field(120.0, gt=0)
    min_kappa: float = Field(0.6, ge=-1.0, le=1.0)  # quadratic-weighted kappa vs human raters
    min_rated: int = Field(20, ge=1)  # rated drafts needed before a judge can be calibrated
    # The candidates whose drafts the judge rates (None: every candidate); the others' judge
    # scores are unscored (NaN).
    candidates: list[str] | None = Field(None, min_length=1)
    # Calibrate on a seeded, stratified subset of ratings.csv (None: every rated draft).
    calibration_sample: CalibrationSample | None = None
    # Constrained JSON: auto (a JSON schema from the rubric for the embedded model, which
    # llama.cpp turns into a grammar; off for other providers), off, json_object (any JSON
    # object) or json_schema (the rubric's schema, in the OpenAI form litellm passes on).
    response_format: Literal["auto", "off", "json_object", "json_schema"] = "auto"
    rationale_chars: int = Field(200, ge=0, le=4000)  # the schema's cap on the rationale
    # rate a seeded share of drafts again padded with filler (length bias); None: no probe
    bias_probe: BiasProbe | None = Field(default_factory=lambda: BiasProbe())

    _params = field_validator("params")(_check_params)

    @field_validator("candidates")
    @classmethod
    def _unique_candidates(cls, value: list[str] | None) -> list[str] | None:
        if value is not None:
            dupes = sorted({n for n in value if value.count(n) > 1})
            if dupes:
                raise ValueError(f"names a candidate more than once: {', '.join(dupes)}")
        return value

    @model_validator(mode="after")
    def _check(self) -> JudgeSpec:
        _check_model(self.model, self.params)
        if "response_format" in self.params and self.response_format not in ("auto", "off"):
            raise ValueError(
                f"gives both 'response_format: {self.response_format}' and "
                "'params.response_format'; keep one (params.response_format is sent as written)"
            )
        return self


_JUDGE_SCORER_ARGS = ("cache", "cache_path", "calibrate", "retries")  # the scorer's own


class Plan(_Strict):
    """An eval plan: dataset, tasks, candidates, scorers and runner settings."""

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")
    description: str = ""
    workflow: str = ""
    dataset: str
    tasks: list[str] = Field(min_length=1)
    select: Selection = Field(default_factory=lambda: Selection())
    candidates: list[CandidateSpec] = Field(min_length=1)
    scorers: list[ScorerSpec] = Field(default_factory=lambda: [ScorerSpec(name="edit")])
    runner: RunnerSpec = Field(default_factory=lambda: RunnerSpec())
    judge: JudgeSpec | None = None
    # The governance file whose approved_providers may receive district data (None: only the
    # embedded model and loopback endpoints), and whether to redact personal data from what is
    # sent: off, non_local (only to providers off this machine) or all.
    governance: str | None = None
    redact: Literal["off", "non_local", "all"] = "off"
    # `harness check --against BASE`: how much worse than the base run still counts as no worse,
    # per metric, in the metric's units (defaults in harness/gates/ci.py).
    regression_margins: dict[str, float] | None = None
    # Score the approved answer itself as a reference row (the ceiling every metric is read
    # against; never a contender for the decision).
    reference_row: bool = True
    path: Path | None = Field(None, exclude=True)
    # its baselines' and scorers' names resolved against the registries (harness.plan.names)
    _names_resolved: bool = PrivateAttr(default=False)

    @field_validator("scorers", mode="before")
    @classmethod
    def _scorer_names(cls, value: Any) -> Any:
        if isinstance(value, list):
            return [{"name": v} if isinstance(v, str) else v for v in value]
        return value

    @model_validator(mode="after")
    def _unique_names(self) -> Plan:
        names = [c.name for c in self.candidates]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"candidate names must be unique; repeated: {', '.join(dupes)}")
        if REFERENCE in names:
            raise ValueError(
                f"'{REFERENCE}' is the built-in reference row (the approved answer itself); "
                "give the candidate another name"
            )
        return self

    @model_validator(mode="after")
    def _judge_scorer_options(self) -> Plan:
        """A judge scorer's options are judge settings: checked here, at plan load, like the
        plan's own judge section (its params too), not first when the run is scored."""
        for i, sc in enumerate(self.scorers):
            if sc.name != "judge":
                continue
            opts = {k: v for k, v in sc.options.items() if k not in _JUDGE_SCORER_ARGS}
            base = self.judge.model_dump() if self.judge is not None else {}
            try:
                JudgeSpec.model_validate({**base, **opts})
            except ValidationError as exc:
                why = "; ".join(
                    f"{'.'.join(str(x) for x in e['loc']) or 'judge'}: {e['msg']}"
                    for e in exc.errors()
                )
                raise ValueError(f"scorers.{i}.options: {why}") from None
        return self

    @property
    def names_resolved(self) -> bool:
        """Whether its baselines and scorers were resolved (at load, or by ``mark_resolved``)."""
        return self._names_resolved

    def mark_resolved(self) -> None:
        """Record that every baseline and scorer name resolved (harness.run.names)."""
        self._names_resolved = True

    @property
    def folder(self) -> Path:
        return self.path.parent if self.path else Path.cwd()

    def resolve(self, relative: str) -> Path:
        """A path named in the plan, relative to the plan file's folder."""
        p = Path(relative)
        return p if p.is_absolute() else (self.folder / p)

    def dataset_path(self) -> Path:
        return self.resolve(self.dataset)

    def files(self) -> list[Path]:
        """The plan file and every template it names, for fingerprints and audits."""
        out = [self.path] if self.path else []
        if self.governance and self.resolve(self.governance).is_file():
            out.append(self.resolve(self.governance))
        if self.judge and self.judge.rubric and self.resolve(self.judge.rubric).is_file():
            out.append(self.resolve(self.judge.rubric))
        for c in self.candidates:
            for ref in (c.prompt, c.system):
                if ref and self.resolve(ref).is_file():
                    out.append(self.resolve(ref))
            if c.options.get("path"):
                out.append(self.resolve(str(c.options["path"])))
        return out

    def fingerprint(self) -> str:
        """Hash of what the plan runs: its settings and the bytes of the files it names, never a
        path, so it is the same from any folder (:mod:`harness.plan.content`); the dataset has
        its own fingerprint."""
        from harness.plan.content import fingerprint, plan_content

        return fingerprint(plan_content(self))


def load_yaml(path: str | Path, what: str) -> tuple[Any, yaml.Node | None]:
    """Read a YAML file with the one safe loader (:mod:`harness.data.safeyaml`); errors name the line."""
    from harness.data.safeyaml import load_file

    return load_file(path, what)


def load_plan(
    path: str | Path,
    dataset: str | Path | None = None,
    *,
    names: Names | None = None,
    shaped: Callable[[Plan], object] | None = None,
) -> Plan:
    """Load and validate an eval plan.

    Args:
        path: the plan YAML file.
        dataset: run the plan on this dataset folder instead of the one it names.
        names: the baselines and scorers its names resolve against (``harness.load_plan``
            and ``harness.run.load_plan`` pass the registries); None checks shape and files only.
        shaped: called with the plan once its shape is valid, before its files and names are
            checked (``harness run`` starts its call workers there, before the registries'
            imports); the plan is refused afterwards all the same if anything else is wrong.

    Raises:
        PlanError: every problem with file, line and field.
    """
    path = resolve_path(path)  # from a notebook in notebooks/ too
    display = str(path)
    data, node = load_yaml(path, "plan")
    if not isinstance(data, dict):
        raise PlanError(
            f"plan {display}",
            [Problem(display, 1, None, "is not a mapping", "a plan is 'key: value' settings")],
        )
    try:
        context = {"baselines": names.baselines} if names is not None else None
        plan = Plan.model_validate(data, context=context)
    except ValidationError as exc:
        raise PlanError(f"plan {display}", validation_problems(display, exc, node)) from None
    plan.path = Path(path).resolve()
    if dataset is not None:
        plan.dataset = str(resolve_path(dataset).resolve())
    if shaped is not None:
        shaped(plan)
    problems = []
    for i, c in enumerate(plan.candidates):
        for key in ("prompt", "system"):
            ref = getattr(c, key)
            if ref and not plan.resolve(ref).is_file():
                problems.append(
                    Problem(
                        display,
                        line_of(node, ("candidates", i, key)),
                        f"candidates.{i}.{key}",
                        f"names '{ref}', which does not exist",
                        "paths are relative to the plan file's folder",
                    )
                )
    for i, c in enumerate(plan.candidates):
        drafts = c.options.get("path") if c.baseline == "drafts" else None
        if drafts and not plan.resolve(str(drafts)).is_file():
            loc = ("candidates", i, "drafts")
            problems.append(
                Problem(
                    display,
                    line_of(node, loc) or line_of(node, ("candidates", i, "options", "path")),
                    f"candidates.{i}.drafts",
                    f"names '{drafts}', which does not exist",
                    "paths are relative to the plan file's folder",
                )
            )
    if plan.judge is not None and plan.judge.candidates:
        candidates = [c.name for c in plan.candidates]
        for j, name in enumerate(plan.judge.candidates):
            if name not in candidates:
                problems.append(
                    Problem(
                        display,
                        line_of(node, ("judge", "candidates", j)),
                        f"judge.candidates.{j}",
                        f"names '{name}', which is not a candidate of this plan",
                        f"candidates: {', '.join(candidates)}",
                    )
                )
    from harness.plan.refs import reference_problems

    if names is not None:
        problems += name_problems(plan, display, node, names)
    problems += reference_problems(plan, display, node)
    if problems:
        raise PlanError(f"plan {display}", problems)
    if names is not None:
        plan.mark_resolved()
    return plan
