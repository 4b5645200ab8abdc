"""The one place Jinja2 templates (prompts, rubric prompts) are built: always sandboxed.

Prompt and rubric templates arrive by pull request. They are rendered in Jinja2's
:class:`~jinja2.sandbox.ImmutableSandboxedEnvironment`: no attribute or item starting with
``_`` (so no ``__class__``, ``__globals__``, ``_TemplateReference__context``), ``|attr`` and
``str.format`` go through the same check, lists and dicts cannot be changed, and ``*`` / ``**``
cannot build a value larger than ``MAX_VALUE``. The helpers a template never needs
(``cycler``, ``joiner``, ``namespace``, ``lipsum``) are not offered. Dataset text is passed in
as values and printed literally: it is never itself rendered as a template.

Every render is bounded (harness/plan/limits.py): widths of ``center``, ``indent``,
``wordwrap``, ``format`` and ``%`` and of the string methods that pad, ``range`` length and the
range steps of one render, ``+`` and ``replace`` results, the characters a render produces
and its wall time. Past a bound the render stops with a :class:`SecurityError` naming it.

:func:`unsafe_constructs` also checks a template statically at plan load, so a template that
reaches for internals is refused (exit 2) before the first model call.
"""

from __future__ import annotations

import operator
from collections.abc import Mapping
from typing import Any

import jinja2
from jinja2 import nodes
from jinja2.compiler import CodeGenerator, Frame
from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError

from harness.plan import limits

MAX_VALUE = 1_000_000  # characters (or items) a '*' or '**' may produce in a template
_NOT_OFFERED = ("cycler", "joiner", "namespace", "lipsum")
_FORMAT_METHODS = ("format", "format_map", "mro")

__all__ = ["SecurityError", "environment", "render", "unsafe_constructs"]


class _CodeGenerator(CodeGenerator):
    """``a ~ b`` joins through :func:`harness.plan.limits.concat`, which bounds its size."""

    def visit_Concat(self, node: nodes.Concat, frame: Frame) -> None:
        self.write("environment.bounded_concat((")
        for arg in node.nodes:
            self.visit(arg, frame)
            self.write(", ")
        self.write("))")


class _Sandbox(ImmutableSandboxedEnvironment):
    intercepted_binops = frozenset({"*", "**", "+", "%"})
    template_class = limits.BoundedTemplate
    code_generator_class = _CodeGenerator
    bounded_concat = staticmethod(limits.concat)

    def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        limits.check_call(__obj, args, kwargs)
        return super().call(__context, __obj, *args, **kwargs)

    def format_string(self, s: str, args: Any, kwargs: Any, format_func: Any = None) -> str:
        limits.check_format(s)
        return super().format_string(s, args, kwargs, format_func)  # type: ignore[misc]

    def call_binop(self, context: Any, operator_: str, left: Any, right: Any) -> Any:
        if operator_ == "+":
            return limits.add(left, right)
        if operator_ == "%":
            return limits.percent(left, right)
        if operator_ == "**":
            numbers = isinstance(left, (int, float)) and isinstance(right, (int, float))
            if numbers and abs(right) > 100:
                raise SecurityError(f"'{left} ** {right}' is too large for a template")
            return operator.pow(left, right)
        sized = next((x for x in (left, right) if isinstance(x, (str, list, tuple))), None)
        count = right if sized is left else left
        if sized is not None and isinstance(count, int) and len(sized) * count > MAX_VALUE:
            raise SecurityError(f"a template may build at most {MAX_VALUE:,} characters")
        return operator.mul(left, right)


def environment() -> jinja2.Environment:
    """A new sandboxed environment: undefined names are errors, output is not HTML-escaped."""
    env = _Sandbox(undefined=jinja2.StrictUndefined, autoescape=False, keep_trailing_newline=False)
    for name in _NOT_OFFERED:
        env.globals.pop(name, None)
    env.globals["range"] = limits.bounded_range
    env.filters.update(limits.bounded_filters(env.filters))
    return env


def render(source: str, context: Mapping[str, Any]) -> str:
    """Render template text with ``context`` in the sandbox.

    Raises:
        jinja2.TemplateError: a syntax error, an undefined name, or a
            :class:`~jinja2.sandbox.SecurityError` for an unsafe access.
    """
    return environment().from_string(source).render(dict(context))


def unsafe_constructs(source: str) -> list[tuple[int, str]]:
    """Lines and reasons of constructs a prompt or rubric template may not use.

    Refused: attributes and constant keys starting with ``_``, strings holding ``__``, keys
    computed by an expression (``x[a ~ b]``; a loop variable ``x[level]`` is fine), the
    ``attr`` filter, ``.format``/``.format_map`` calls, and the helpers the sandbox does not
    offer. This is a check at plan load on top of the sandbox, not a replacement for it.

    Raises:
        jinja2.TemplateSyntaxError: the text is not a valid template.
    """
    tree = environment().parse(source)
    found: list[tuple[int, str]] = []
    for node in tree.find_all(
        (nodes.Getattr, nodes.Getitem, nodes.Filter, nodes.Name, nodes.Const)
    ):
        line = node.lineno
        if isinstance(node, nodes.Const) and isinstance(node.value, str) and "__" in node.value:
            found.append((line, "holds a string naming an internal ('__')"))
        if isinstance(node, nodes.Getattr):
            if node.attr.startswith("_"):
                found.append((line, f"reads the internal attribute '{node.attr}'"))
            elif node.attr in _FORMAT_METHODS:
                found.append((line, f"calls '.{node.attr}'; use '~' or the format filter"))
        elif isinstance(node, nodes.Getitem):
            arg = node.arg
            if isinstance(arg, nodes.Const):
                if isinstance(arg.value, str) and arg.value.startswith("_"):
                    found.append((line, f"reads the internal key '{arg.value}'"))
            elif not isinstance(arg, (nodes.Name, nodes.Slice)):
                found.append((line, "indexes with a computed key; write x.field or x['field']"))
        elif isinstance(node, nodes.Filter) and node.name == "attr":
            found.append((line, "uses the attr filter; write x.field"))
        elif isinstance(node, nodes.Name) and node.name in (*_NOT_OFFERED, "self"):
            found.append((line, f"uses '{node.name}', which templates here do not offer"))
    found += limits.static_problems(tree)
    return sorted(set(found))
