"""Plan: the eval plan, its content fingerprint, its references and templates.

This file is the stage's public API (``__all__``). Names load lazily on first use, so
importing one module of the stage does not import the others.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from harness.plan.canned import DEFAULT_CANNED, canned_replies, plan_canned_texts
    from harness.plan.content import (
        check_unchanged,
        content_changes,
        file_changes,
        file_refs,
        fingerprint,
        legacy_fingerprint,
        plan_content,
    )
    from harness.plan.limits import (
        MAX_OUTPUT,
        MAX_RANGE,
        MAX_SECONDS,
        MAX_STEPS,
        MAX_WIDTH,
        BoundedRange,
        BoundedTemplate,
        TemplateTimeout,
        add,
        bounded_filters,
        bounded_range,
        check_call,
        check_format,
        concat,
        percent,
        static_problems,
    )
    from harness.plan.names import Names, name_problems
    from harness.plan.params import ALLOWED_PARAMS, params_problem
    from harness.plan.refs import (
        RUBRIC_FILE,
        reference_problems,
        template_problems,
    )
    from harness.plan.spec import (
        LOCAL_MODELS,
        REFERENCE,
        BiasProbe,
        CalibrationSample,
        CandidateSpec,
        JudgeSpec,
        Plan,
        Price,
        RunnerSpec,
        ScorerSpec,
        Selection,
        load_plan,
        load_yaml,
    )
    from harness.plan.templates import MAX_VALUE, environment, render, unsafe_constructs

_API = {
    "DEFAULT_CANNED": "harness.plan.canned",
    "canned_replies": "harness.plan.canned",
    "plan_canned_texts": "harness.plan.canned",
    "ALLOWED_PARAMS": "harness.plan.params",
    "BiasProbe": "harness.plan.spec",
    "BoundedRange": "harness.plan.limits",
    "BoundedTemplate": "harness.plan.limits",
    "CalibrationSample": "harness.plan.spec",
    "CandidateSpec": "harness.plan.spec",
    "JudgeSpec": "harness.plan.spec",
    "LOCAL_MODELS": "harness.plan.spec",
    "MAX_OUTPUT": "harness.plan.limits",
    "MAX_RANGE": "harness.plan.limits",
    "MAX_SECONDS": "harness.plan.limits",
    "MAX_STEPS": "harness.plan.limits",
    "MAX_VALUE": "harness.plan.templates",
    "MAX_WIDTH": "harness.plan.limits",
    "Names": "harness.plan.names",
    "Plan": "harness.plan.spec",
    "Price": "harness.plan.spec",
    "REFERENCE": "harness.plan.spec",
    "RUBRIC_FILE": "harness.plan.refs",
    "RunnerSpec": "harness.plan.spec",
    "ScorerSpec": "harness.plan.spec",
    "Selection": "harness.plan.spec",
    "TemplateTimeout": "harness.plan.limits",
    "add": "harness.plan.limits",
    "bounded_filters": "harness.plan.limits",
    "bounded_range": "harness.plan.limits",
    "check_call": "harness.plan.limits",
    "check_format": "harness.plan.limits",
    "check_unchanged": "harness.plan.content",
    "concat": "harness.plan.limits",
    "content_changes": "harness.plan.content",
    "environment": "harness.plan.templates",
    "file_changes": "harness.plan.content",
    "file_refs": "harness.plan.content",
    "fingerprint": "harness.plan.content",
    "legacy_fingerprint": "harness.plan.content",
    "load_plan": "harness.plan.spec",
    "load_yaml": "harness.plan.spec",
    "name_problems": "harness.plan.names",
    "params_problem": "harness.plan.params",
    "percent": "harness.plan.limits",
    "plan_content": "harness.plan.content",
    "reference_problems": "harness.plan.refs",
    "render": "harness.plan.templates",
    "static_problems": "harness.plan.limits",
    "template_problems": "harness.plan.refs",
    "unsafe_constructs": "harness.plan.templates",
}

__all__ = [
    "ALLOWED_PARAMS",
    "DEFAULT_CANNED",
    "LOCAL_MODELS",
    "MAX_OUTPUT",
    "MAX_RANGE",
    "MAX_SECONDS",
    "MAX_STEPS",
    "MAX_VALUE",
    "MAX_WIDTH",
    "REFERENCE",
    "RUBRIC_FILE",
    "BiasProbe",
    "BoundedRange",
    "BoundedTemplate",
    "CalibrationSample",
    "CandidateSpec",
    "JudgeSpec",
    "Names",
    "Plan",
    "Price",
    "RunnerSpec",
    "ScorerSpec",
    "Selection",
    "TemplateTimeout",
    "add",
    "bounded_filters",
    "bounded_range",
    "canned_replies",
    "check_call",
    "check_format",
    "check_unchanged",
    "concat",
    "content_changes",
    "environment",
    "file_changes",
    "file_refs",
    "fingerprint",
    "legacy_fingerprint",
    "load_plan",
    "load_yaml",
    "name_problems",
    "params_problem",
    "percent",
    "plan_canned_texts",
    "plan_content",
    "reference_problems",
    "render",
    "static_problems",
    "template_problems",
    "unsafe_constructs",
]


def __getattr__(name: str) -> Any:
    if name in _API:
        return getattr(importlib.import_module(_API[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
