"""The shape of the package: one direction of imports, small modules, the public surface.

Counted from the source (imports inside functions included), so a cycle hidden in a function
body is found as well.
"""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PKG = REPO / "harness"
# Modules allowed over the size limit, with the reason (the note says why each stays large).
LARGE: dict[str, str] = {}


def _modules() -> dict[str, Path]:
    out = {}
    for p in sorted(PKG.rglob("*.py")):
        parts = list(p.relative_to(REPO).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = p
    return out


def _imports(path: Path, name: str, known: set[str]) -> set[str]:
    """Every harness module ``path`` imports, at module level or inside functions."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    pkg = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                up = pkg.split(".")[: len(pkg.split(".")) - node.level + 1]
                base = ".".join([*up, base] if base else up)
            names = [f"{base}.{a.name}" for a in node.names] + [base]
        else:
            continue
        for n in names:
            while n and n not in known:
                n = n.rsplit(".", 1)[0] if "." in n else ""
            if n and n != name:
                found.add(n)
    return found


def _graph() -> dict[str, set[str]]:
    mods = _modules()
    known = set(mods)
    graph = {m: _imports(p, m, known) for m, p in mods.items()}
    # a package's __init__ is imported with any of its modules: that edge is not a cycle
    for m in graph:
        graph[m] = {d for d in graph[m] if not m.startswith(d + ".")}
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []
    counter = [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in graph:
        if v not in index:
            visit(v)
    return out


def test_no_import_cycle_counting_imports_inside_functions():
    assert _cycles(_graph()) == []


def test_the_cycle_finder_finds_a_cycle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_module_imports_another_modules_private_names():
    offenders = []
    for name, path in _modules().items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("harness"):
                for a in node.names:
                    if a.name.startswith("_"):
                        offenders.append(f"{name}: from {node.module} import {a.name}")
    assert offenders == []


@pytest.mark.parametrize("path", sorted(PKG.rglob("*.py")), ids=lambda p: p.name)
def test_modules_stay_small(path):
    rel = path.relative_to(REPO).as_posix()
    limit = 300 if "/report/" in rel else 500
    lines = len(path.read_text(encoding="utf-8").splitlines())
    if rel in LARGE:
        pytest.skip(f"{rel}: {LARGE[rel]}")
    assert lines <= limit, f"{rel} has {lines} lines (limit {limit})"


def test_every_name_a_notebook_uses_is_exported():
    import harness.report as report

    for nb in sorted((REPO / "notebooks").glob("*.ipynb")):
        cells = json.loads(nb.read_text(encoding="utf-8"))["cells"]
        code = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")
        used = set(re.findall(r"\breport\.(\w+)", code))
        assert used, nb
        assert used <= set(report.__all__), (nb.name, sorted(used - set(report.__all__)))


def test_only_the_store_names_the_files_inside_a_run_folder():
    files = (
        "manifest.json",
        "generations.jsonl",
        "generations.parquet",
        "scores.parquet",
        "calibration.json",
        "calibration.parquet",
    )
    offenders = [
        f"{p.relative_to(REPO)}: {f}"
        for p in PKG.rglob("*.py")
        if p.relative_to(PKG).as_posix() != "store/runs.py"
        for f in files
        if f'"{f}"' in p.read_text(encoding="utf-8")
    ]
    assert offenders == []
