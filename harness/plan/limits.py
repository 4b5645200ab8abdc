"""Bounds on one template render: sizes, widths, range steps, output and wall time.

Prompt and rubric templates arrive by pull request, and the sandbox alone lets them ask for
``'x'|center(999999999)``, ``'%999999999s'|format(x)``, ``item.input.ljust(10**9)``, nested
``range(100000)`` loops or a loop that runs for hours. :mod:`harness.plan.templates` plugs these
bounds into its sandbox; past one, the render stops with a
:class:`~jinja2.sandbox.SecurityError` naming it (a run stops with exit 2, naming the template).
:func:`static_problems` refuses the same constructs at plan load when they are written as
constants.
"""

from __future__ import annotations

import ctypes
import re
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import jinja2
from jinja2 import nodes
from jinja2.sandbox import SecurityError

MAX_VALUE = 1_000_000  # characters (or items) one '*', '+' or replace may produce
MAX_WIDTH = 10_000  # a width a filter or method may pad, indent or wrap to
MAX_RANGE = 10_000  # items one range() may produce
MAX_STEPS = 1_000_000  # range items one render may iterate over, loops nested or not
MAX_OUTPUT = 2_000_000  # characters one render may produce
MAX_SECONDS = 5.0  # wall time of one render

_PADDING_METHODS = {"center", "ljust", "rjust", "zfill", "expandtabs"}
_WIDTH_FILTERS = ("center", "indent", "wordwrap", "slice", "batch")
_SPEC = re.compile(r"%(?:\([^)]*\))?[-+ #0]*(\*|\d+)?(?:\.(\*|\d+))?")
_BRACE_SPEC = re.compile(r"\{[^{}]*?:[^{}]*?(\d+)[^{}]*\}")
_NESTED_SPEC = re.compile(r"\{[^{}]*:[^{}]*\{")
_state = threading.local()


class TemplateTimeout(SecurityError):
    """Raised inside a render that ran past :data:`MAX_SECONDS` (by the watchdog)."""


def _refuse(what: str) -> SecurityError:
    return SecurityError(f"a template {what}")


def _width(value: Any, what: str) -> None:
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > MAX_WIDTH:
        raise _refuse(f"may {what} to at most {MAX_WIDTH:,} characters, not {value:,}")
    if isinstance(value, str) and len(value) > MAX_WIDTH:
        raise _refuse(f"may {what} with at most {MAX_WIDTH:,} characters")


def check_format(fmt: Any) -> None:
    """Refuse ``%``-style or ``{:...}``-style widths and precisions above :data:`MAX_WIDTH`."""
    if not isinstance(fmt, str):
        return
    for width, precision in _SPEC.findall(fmt):
        for v in (width, precision):
            if v == "*":
                raise _refuse("may not take a width from its arguments ('*')")
            if v:
                _width(int(v), "format a value")
    for v in _BRACE_SPEC.findall(fmt):
        _width(int(v), "format a value")
    if _NESTED_SPEC.search(fmt):
        raise _refuse("may not take a width from its arguments ('{:{}}')")


def percent(left: Any, right: Any) -> Any:
    check_format(left)
    return left % right


def add(left: Any, right: Any) -> Any:
    sized = (str, list, tuple)
    if isinstance(left, sized) and isinstance(right, sized) and len(left) + len(right) > MAX_VALUE:
        raise _refuse(f"may build at most {MAX_VALUE:,} characters")
    return left + right


def concat(parts: tuple[Any, ...]) -> str:
    """``a ~ b ~ ...``, at most :data:`MAX_VALUE` characters."""
    texts = [str(p) for p in parts]
    if sum(len(t) for t in texts) > MAX_VALUE:
        raise _refuse(f"may build at most {MAX_VALUE:,} characters")
    return "".join(texts)


def _replace_size(s: Any, old: Any, new: Any) -> None:
    if isinstance(s, str) and isinstance(old, str) and isinstance(new, str):
        grows = (s.count(old) if old else len(s) + 1) * max(0, len(new) - len(old))
        if len(s) + grows > MAX_VALUE:
            raise _refuse(f"may build at most {MAX_VALUE:,} characters")


def check_call(obj: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    """Bounds on methods a template calls on its values (``str.center``, ``str.replace``)."""
    name = getattr(obj, "__name__", "")
    owner = getattr(obj, "__self__", None)
    if isinstance(owner, str):
        if name in _PADDING_METHODS:
            for a in (*args, *kwargs.values()):
                _width(a, "pad")
        elif name == "replace" and len(args) >= 2:
            _replace_size(owner, args[0], args[1])


def bounded_filters(filters: dict[str, Callable[..., Any]]) -> dict[str, Callable[..., Any]]:
    """The built-in filters that pad, wrap, format, replace or slice, with bounds."""
    out: dict[str, Callable[..., Any]] = {}
    center, indent, wordwrap = filters["center"], filters["indent"], filters["wordwrap"]
    fmt, replace, slice_, batch = (
        filters["format"],
        filters["replace"],
        filters["slice"],
        filters["batch"],
    )

    def do_center(value: Any, width: int = 80) -> Any:
        _width(width, "center")
        return center(value, width)

    def do_indent(s: Any, width: Any = 4, first: bool = False, blank: bool = False) -> Any:
        _width(width, "indent")
        lines = str(s).count("\n") + 1
        if lines * (width if isinstance(width, int) else len(width)) > MAX_VALUE:
            raise _refuse(f"may build at most {MAX_VALUE:,} characters")
        return indent(s, width, first, blank)

    @jinja2.pass_environment
    def do_wordwrap(env: Any, s: Any, width: int = 79, *args: Any, **kwargs: Any) -> Any:
        _width(width, "wrap")
        wrap = kwargs.get("wrapstring") or (args[1] if len(args) > 1 else None)
        if isinstance(wrap, str) and len(wrap) * (len(str(s)) + 1) > MAX_VALUE:
            raise _refuse(f"may build at most {MAX_VALUE:,} characters")
        return wordwrap(env, s, width, *args, **kwargs)

    def do_format(value: Any, *args: Any, **kwargs: Any) -> Any:
        check_format(value)
        return fmt(value, *args, **kwargs)

    @jinja2.pass_eval_context
    def do_replace(ctx: Any, s: Any, old: Any, new: Any, count: Any = None) -> Any:
        _replace_size(str(s), str(old), str(new))
        return replace(ctx, s, old, new, count)

    def do_slice(value: Any, slices: int, fill_with: Any = None) -> Any:
        _width(slices, "slice a list into parts")
        return slice_(value, slices, fill_with)

    def do_batch(value: Any, linecount: int, fill_with: Any = None) -> Any:
        _width(linecount, "batch a list into parts")
        return batch(value, linecount, fill_with)

    out.update(
        center=do_center,
        indent=do_indent,
        wordwrap=do_wordwrap,
        format=do_format,
        replace=do_replace,
        slice=do_slice,
        batch=do_batch,
    )
    return out


def _step() -> None:
    steps = getattr(_state, "steps", None)
    if steps is None:
        return
    _state.steps = steps + 1
    if _state.steps > MAX_STEPS:
        raise _refuse(f"may iterate at most {MAX_STEPS:,} range steps in one render")
    if _state.steps % 1024 == 0 and time.monotonic() > _state.deadline:
        raise _refuse(f"render may take at most {MAX_SECONDS:g} s")


class BoundedRange:
    """A range whose iteration counts against the render's steps."""

    def __init__(self, r: range):
        self.r = r

    def __iter__(self) -> Iterator[int]:
        for i in self.r:
            _step()
            yield i

    def __len__(self) -> int:
        return len(self.r)

    def __getitem__(self, i: Any) -> Any:
        return self.r[i]

    def __contains__(self, x: object) -> bool:
        return x in self.r


def bounded_range(*args: int) -> BoundedRange:
    """``range`` of at most :data:`MAX_RANGE` items, counted against the render's steps."""
    r = range(*args)
    if len(r) > MAX_RANGE:
        raise _refuse(f"range may produce at most {MAX_RANGE:,} items, not {len(r):,}")
    return BoundedRange(r)


class _Watchdog:
    """One daemon thread that interrupts a render running past its deadline (a loop over a
    long value that yields no output and never calls range)."""

    def __init__(self) -> None:
        self.cond = threading.Condition()
        self.active: dict[int, tuple[int, float]] = {}
        self.fired: set[int] = set()
        self.thread: threading.Thread | None = None
        self.next = 0
        self.wake_at = float("inf")  # when the watchdog wakes next

    def start(self, deadline: float) -> int:
        with self.cond:
            self.next += 1
            self.active[self.next] = (threading.get_ident(), deadline)
            if self.thread is None:
                self.thread = threading.Thread(target=self._run, daemon=True, name="templates")
                self.thread.start()
            if deadline < self.wake_at:
                self.cond.notify()
            return self.next

    def stop(self, token: int) -> bool:
        """Unregister; True if the deadline passed (a pending interrupt is withdrawn)."""
        with self.cond:
            tid, _ = self.active.pop(token, (threading.get_ident(), 0.0))
            if token in self.fired:
                self.fired.discard(token)
                ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(tid), None)
                return True
            return False

    def _run(self) -> None:
        with self.cond:
            while True:
                now = time.monotonic()
                for token, (tid, deadline) in self.active.items():
                    if deadline <= now and token not in self.fired:
                        self.fired.add(token)
                        ctypes.pythonapi.PyThreadState_SetAsyncExc(
                            ctypes.c_ulong(tid), ctypes.py_object(TemplateTimeout)
                        )
                waits = [d for t, (_, d) in self.active.items() if t not in self.fired]
                self.wake_at = min(waits) if waits else float("inf")
                self.cond.wait(max(0.01, self.wake_at - now) if waits else None)


_WATCHDOG = _Watchdog()


class BoundedTemplate(jinja2.Template):
    """A template whose render is bounded in output, range steps and wall time."""

    def render(self, *args: Any, **kwargs: Any) -> str:
        ctx = self.new_context(dict(*args, **kwargs))
        deadline = time.monotonic() + MAX_SECONDS
        outer = getattr(_state, "steps", None)
        _state.steps, _state.deadline = 0, deadline
        token = _WATCHDOG.start(deadline)
        timed_out = False
        try:
            try:
                parts, size = [], 0
                for chunk in self.root_render_func(ctx):
                    size += len(chunk)
                    if size > MAX_OUTPUT:
                        raise _refuse(f"render may produce at most {MAX_OUTPUT:,} characters")
                    parts.append(chunk)
            finally:
                timed_out = _WATCHDOG.stop(token)
                _state.steps = outer
        except TemplateTimeout:
            _WATCHDOG.stop(token)  # again, if the interrupt landed inside the first stop
            timed_out = True
        except Exception:
            if not timed_out:
                self.environment.handle_exception()
        if timed_out:
            raise _refuse(f"render may take at most {MAX_SECONDS:g} s")
        return "".join(parts)


def _const_ints(call: nodes.Node) -> list[int]:
    args = [*getattr(call, "args", []), *(k.value for k in getattr(call, "kwargs", []))]
    return [
        a.value
        for a in args
        if isinstance(a, nodes.Const) and isinstance(a.value, int) and not isinstance(a.value, bool)
    ]


def static_problems(tree: nodes.Template) -> list[tuple[int, str]]:
    """Lines and reasons of bounds a template breaks with constants (refused at plan load)."""
    found: list[tuple[int, str]] = []
    for node in tree.find_all((nodes.Filter, nodes.Call, nodes.Mod, nodes.Macro)):
        line = node.lineno
        big = any(abs(v) > MAX_WIDTH for v in _const_ints(node))
        if isinstance(node, nodes.Filter) and node.name in _WIDTH_FILTERS and big:
            found.append((line, f"asks '{node.name}' for more than {MAX_WIDTH:,}"))
        if isinstance(node, nodes.Filter) and node.name == "format" and node.node is not None:
            found += _format_problem(line, node.node)
        if isinstance(node, nodes.Mod):
            found += _format_problem(line, node.left)
        if isinstance(node, nodes.Call):
            fn = node.node
            if isinstance(fn, nodes.Name) and fn.name == "range":
                ints = _const_ints(node)[:3]
                if ints and (0 not in ints[2:]) and len(range(*ints)) > MAX_RANGE:
                    found.append((line, f"asks range for more than {MAX_RANGE:,} items"))
            if isinstance(fn, nodes.Getattr) and fn.attr in _PADDING_METHODS and big:
                found.append((line, f"pads with '.{fn.attr}' to more than {MAX_WIDTH:,}"))
        if isinstance(node, nodes.Macro):
            calls = node.find_all(nodes.Call)
            if any(isinstance(c.node, nodes.Name) and c.node.name == node.name for c in calls):
                found.append((line, f"macro '{node.name}' calls itself"))
    return found + _nested_ranges(tree, 1)


def _range_len(node: nodes.Node) -> int | None:
    if isinstance(node, nodes.Call) and isinstance(node.node, nodes.Name):
        ints = _const_ints(node)[:3]
        if node.node.name == "range" and ints and 0 not in ints[2:]:
            return len(range(*ints))
    return None


def _nested_ranges(node: nodes.Node, steps: int) -> list[tuple[int, str]]:
    """Loops over constant ranges nested so deep that they pass :data:`MAX_STEPS`."""
    found = []
    for child in node.iter_child_nodes():
        n = steps
        if isinstance(child, nodes.For):
            n = steps * (_range_len(child.iter) or 1)
            if n > MAX_STEPS >= steps:
                found.append((child.lineno, f"nests range loops past {MAX_STEPS:,} steps"))
        found += _nested_ranges(child, n)
    return found


def _format_problem(line: int, fmt: nodes.Node) -> list[tuple[int, str]]:
    if isinstance(fmt, nodes.Const):
        try:
            check_format(fmt.value)
        except SecurityError as exc:
            return [(line, str(exc).removeprefix("a template "))]
    return []
