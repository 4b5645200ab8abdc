"""Everything a plan names is resolved at plan load, before the first model call.

Prompt and system templates (valid Jinja2 and free of the constructs
:func:`harness.plan.templates.unsafe_constructs` refuses), the judge's rubric (a safe YAML
mapping whose prompts pass the same template check), the governance file and a canned-replies
file; the baselines' and scorers' names resolve against the registries the loader is given
(:mod:`harness.plan.names`). A typo then costs nothing: ``harness run`` exits 2 before anything
is generated.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jinja2
import yaml

from harness.data.validation import line_of
from harness.errors import PlanError, Problem

RUBRIC_FILE = Path(__file__).resolve().parents[2] / "rubrics" / "judge.yaml"


def template_problems(
    source: str, display: str, line_offset: int = 0, field: str | None = None
) -> list[Problem]:
    """Syntax errors and refused constructs of one template text, with their lines."""
    from harness.plan.templates import unsafe_constructs

    hint = "templates see item, retrieved (= sources), context and task; see plans/README.md"
    try:
        found = unsafe_constructs(source)
    except jinja2.TemplateSyntaxError as exc:
        return [
            Problem(
                display,
                (exc.lineno or 1) + line_offset,
                field,
                f"is not a valid Jinja2 template ({exc.message})",
                "check the {{ }} and {% %} pairs",
            )
        ]
    return [Problem(display, line + line_offset, field, why, hint) for line, why in found]


def _file_problem(
    plan: Any, display: str, node: yaml.Node | None, loc: tuple[Any, ...], ref: str
) -> Problem | None:
    if plan.resolve(ref).is_file():
        return None
    return Problem(
        display,
        line_of(node, loc),
        ".".join(str(x) for x in loc),
        f"names '{ref}', which does not exist",
        "paths are relative to the plan file's folder",
    )


def _rubric_problems(plan: Any, display: str, node: yaml.Node | None) -> list[Problem]:
    from harness.data.safeyaml import load_file

    assert plan.judge is not None
    if plan.judge.rubric:
        missing = _file_problem(plan, display, node, ("judge", "rubric"), plan.judge.rubric)
        if missing is not None:
            return [missing]
        path = plan.resolve(plan.judge.rubric)
    else:
        path = RUBRIC_FILE
    try:
        data, rnode = load_file(path, "rubric")
    except PlanError as exc:
        return exc.problems
    if not isinstance(data, dict):
        return [Problem(str(path), 1, None, "is not a mapping", "a rubric holds criteria, prompt")]
    problems = []
    for key in ("system", "prompt"):
        text = data.get(key)
        if isinstance(text, str):
            key_line = line_of(rnode, (key,)) or 1
            # a block scalar's text starts on the line below its key
            problems += template_problems(text, str(path), key_line - 1 + (text != ""), key)
    return problems


def reference_problems(plan: Any, display: str, node: yaml.Node | None) -> list[Problem]:
    """Every name or file the plan refers to that does not resolve, or is not safe to use.

    Args:
        plan: the validated plan (its path set).
        display: the plan file as the user named it.
        node: the plan's composed YAML, for line numbers.
    """
    problems: list[Problem] = []
    for i, c in enumerate(plan.candidates):
        for key in ("prompt", "system"):
            ref = getattr(c, key)
            if ref and plan.resolve(ref).is_file():
                p = plan.resolve(ref)
                try:
                    text = p.read_text(encoding="utf-8")
                except UnicodeDecodeError:
                    problems.append(Problem(str(p), None, None, "is not UTF-8", "save as UTF-8"))
                    continue
                problems += template_problems(text, str(p))
        if c.options.get("path"):
            bad = _file_problem(
                plan, display, node, ("candidates", i, "options", "path"), str(c.options["path"])
            )
            problems += [bad] if bad else []
    if plan.governance:
        bad = _file_problem(plan, display, node, ("governance",), plan.governance)
        problems += [bad] if bad else []
    if plan.judge is not None:
        problems += _rubric_problems(plan, display, node)
    return problems
