"""Where a validation error is in a YAML file: pydantic errors as Problems with their lines.

Shared by every loader of plans, rubrics, gates and governance files (and by the checks of
what a plan refers to), so none of them imports another's private helpers.
"""

from __future__ import annotations

from typing import Any

import yaml
from pydantic import ValidationError

from harness.errors import Problem


def line_of(node: yaml.Node | None, loc: tuple[Any, ...]) -> int | None:
    """The 1-based line of the YAML node at ``loc`` (the deepest one that exists)."""
    line = node.start_mark.line + 1 if node is not None else None
    for key in loc:
        if isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                if k.value == key:
                    line = k.start_mark.line + 1
                    node = v
                    break
            else:
                return line
        elif isinstance(node, yaml.SequenceNode) and isinstance(key, int) and key < len(node.value):
            node = node.value[key]
            line = node.start_mark.line + 1
        else:
            return line
    return line


def validation_problems(
    display: str,
    exc: ValidationError,
    root: yaml.Node | None,
    unknown_hint: str = "check the spelling; see plans/README.md",
    missing_hint: str = "see plans/README.md for what a plan holds",
) -> list[Problem]:
    """Pydantic errors as Problems with the YAML line of each field (shared by every loader)."""
    problems = []
    for err in exc.errors():
        loc = tuple(err["loc"])
        fld = ".".join(str(p) for p in loc) or None
        msg = err["msg"].removeprefix("Value error, ")
        hint = ""
        if err["type"] == "extra_forbidden":
            msg, hint = "is not a known setting", unknown_hint
        elif err["type"] == "missing":
            msg, hint = "is missing", missing_hint
        problems.append(Problem(display, line_of(root, loc), fld, msg, hint))
    return problems
