"""The one YAML loader for every file the harness reads (plans, rubrics, gates, governance,
effort rates, canned replies, front matter in sources).

Plans, datasets and rubrics arrive by pull request, so the loader treats them as untrusted:
only plain YAML types (the safe loader), one document of at most ``MAX_BYTES``, at most
``MAX_ALIASES`` alias uses and ``MAX_NODES`` nodes once aliases are expanded (a
"billion laughs" document is refused in milliseconds, before anything walks it), no recursive
aliases, no duplicate keys, and only finite numbers of a magnitude arithmetic can carry
(``.nan``, ``.inf`` and ``1e400`` are refused). Every refusal names the line. The composed node
tree is returned with the data so validators can name the line of any field.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

import yaml

from harness.errors import PlanError, Problem

# libyaml where PyYAML was built with it (about 10x faster on source front matter)
_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
MAX_BYTES = 1_000_000
MAX_ALIASES = 100
MAX_NODES = 100_000
MAX_NUMBER = 1e15  # any number the harness reads fits this with room for sums and products
_FLOAT = "tag:yaml.org,2002:float"
_NUMBERISH = re.compile(
    r"^[-+]?(?:(?:\d[\d_]*)?\.?\d*(?:[eE][-+]?\d+)|nan|inf|infinity)$", re.IGNORECASE
)
_INT = "tag:yaml.org,2002:int"


class YamlProblem(ValueError):
    """Why a YAML text was refused: the message, its 1-based line and how to fix it."""

    def __init__(self, message: str, line: int | None, hint: str = ""):
        self.message = message
        self.line = line
        self.hint = hint
        super().__init__(message)

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}" if self.line else self.message


def _line(node: yaml.Node, offset: int) -> int:
    return int(node.start_mark.line) + 1 + offset


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [n for pair in node.value for n in pair]
    return []


def _check_scalar(loader: Any, node: yaml.ScalarNode, offset: int) -> None:
    if node.tag not in (_FLOAT, _INT):
        # YAML 1.1 reads 1e400 and nan as text, and a float field would then turn them into
        # inf and nan: an unquoted scalar spelled as a number is checked as one
        if node.style not in (None, "") or not _NUMBERISH.match(node.value):
            return
        value: Any = float(node.value.replace("_", ""))
    elif node.tag == _FLOAT:
        value = loader.construct_yaml_float(node)
    else:
        value = loader.construct_yaml_int(node)
    if isinstance(value, float) and not math.isfinite(value):
        raise YamlProblem(
            f"'{node.value}' is not a finite number",
            _line(node, offset),
            "write an ordinary number (nan and inf are not allowed; quote text that says so)",
        )
    if abs(value) > MAX_NUMBER:
        raise YamlProblem(
            f"'{node.value}' is too large",
            _line(node, offset),
            f"numbers are at most {MAX_NUMBER:g} in size",
        )


def _check_keys(node: yaml.MappingNode, offset: int) -> None:
    seen: dict[Any, int] = {}
    for key, _ in node.value:
        if not isinstance(key, yaml.ScalarNode) or key.value == "<<":
            continue
        if key.value in seen:
            raise YamlProblem(
                f"key '{key.value}' appears twice (first on line {seen[key.value]})",
                _line(key, offset),
                "keep one; the later one would silently replace the earlier",
            )
        seen[key.value] = _line(key, offset)


def _inspect(loader: Any, root: yaml.Node, offset: int, max_nodes: int, max_aliases: int) -> None:
    """Refuse recursive aliases, too many aliases, too many expanded nodes and bad scalars."""
    sizes: dict[int, int] = {}
    seen: set[int] = set()
    aliases = 0
    keys: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, finished = stack.pop()
        nid = id(node)
        if finished:
            size = 1 + sum(sizes[id(c)] for c in _children(node))
            if size > max_nodes:
                raise YamlProblem(
                    f"expands to more than {max_nodes:,} values (aliases repeat whole structures)",
                    _line(node, offset),
                    "write the values out; anchors and aliases may only repeat small parts",
                )
            sizes[nid] = size
            continue
        if nid in seen:
            if nid not in sizes:
                raise YamlProblem(
                    "holds an alias to a structure that contains itself",
                    _line(node, offset),
                    "remove the recursive alias",
                )
            aliases += 1
            if aliases > max_aliases:
                raise YamlProblem(
                    f"uses more than {max_aliases} aliases",
                    _line(node, offset),
                    "write the values out instead of repeating anchors",
                )
            continue
        seen.add(nid)
        if isinstance(node, yaml.ScalarNode):
            if nid not in keys:  # a key spelled "INF" or "1e400" is a name, never a number
                _check_scalar(loader, node, offset)
            sizes[nid] = 1
            continue
        if isinstance(node, yaml.MappingNode):
            _check_keys(node, offset)
            keys.update(id(k) for k, _ in node.value if isinstance(k, yaml.ScalarNode))
        stack.append((node, True))
        stack.extend((c, False) for c in reversed(_children(node)))


def parse(
    text: str,
    *,
    line_offset: int = 0,
    max_bytes: int = MAX_BYTES,
    max_nodes: int = MAX_NODES,
    max_aliases: int = MAX_ALIASES,
) -> tuple[Any, yaml.Node | None]:
    """Parse one YAML document safely.

    Args:
        text: the YAML text.
        line_offset: added to every line reported (front matter starts below line 1).
        max_bytes: the largest document accepted, in UTF-8 bytes.
        max_nodes: the most values the document may hold once aliases are expanded.
        max_aliases: the most alias uses.

    Returns:
        The data (plain dicts, lists and scalars) and the composed node tree (None if empty).

    Raises:
        YamlProblem: the text is not valid YAML or breaks one of the limits.
    """
    size = len(text.encode("utf-8", "surrogatepass"))
    if size > max_bytes:
        raise YamlProblem(
            f"is {size:,} bytes, more than the {max_bytes:,} a YAML file may hold",
            None,
            "split it or shorten it",
        )
    loader = _LOADER(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None, None
        _inspect(loader, node, line_offset, max_nodes, max_aliases)
        return loader.construct_document(node), node
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        reason = getattr(exc, "problem", None) or str(exc)
        raise YamlProblem(
            f"is not valid YAML ({reason})",
            mark.line + 1 + line_offset if mark is not None else None,
            "check indentation and quote text containing ': '",
        ) from None
    except RecursionError:
        raise YamlProblem("is nested too deeply", None, "flatten the structure") from None
    finally:
        loader.dispose()


def load_file(
    path: str | Path, what: str, error: type[PlanError] = PlanError
) -> tuple[Any, yaml.Node | None]:
    """Read and parse a YAML file; every refusal is ``error`` naming the file and line.

    Args:
        path: the YAML file.
        what: what the file is, for the message ("plan", "rubric", ...).
        error: the exception class to raise (an InputError subclass).

    Returns:
        The data and the composed node tree, as :func:`parse`.
    """
    display = str(path)
    p = Path(path)

    def fail(line: int | None, message: str, hint: str) -> error:  # type: ignore[valid-type]
        return error(f"{what} {display}", [Problem(display, line, None, message, hint)])

    if not p.is_file():
        raise fail(None, "does not exist", "check the path")
    if p.stat().st_size > MAX_BYTES:
        raise fail(None, f"is larger than {MAX_BYTES:,} bytes", "split it or shorten it")
    try:
        text = p.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise fail(None, "is not UTF-8 text", "save it as UTF-8") from None
    try:
        return parse(text)
    except YamlProblem as exc:
        raise fail(exc.line, exc.message, exc.hint) from None
