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


# The stages of the flow, in order: a module imports only from its own stage, an earlier one,
# or harness/'s root (errors, paths, metrics, stats: used by every stage). harness/__init__
# (the one-call-per-command API) comes last.
STAGES = (
    "data",
    "plan",
    "engine",
    "store",
    "knowledge",
    "scorers",
    "importers",
    "candidates",
    "run",
    "review",
    "gates",
    "pilot",
    "report",
    "cli",
)
ROOT_LIMIT = 8
# Imports against the flow, (from stage, to stage): the reason. None are left: a stage that
# needs a later stage's names receives them (plan.names.Names, the station's sized_from) or
# the module moves to the stage it belongs to (gates.pilot_log).
BACK_EDGES: dict[tuple[str, str], str] = {}


def _stage(module: str) -> str:
    parts = module.split(".")
    if module == "harness":
        return "api"
    return parts[1] if len(parts) > 2 or parts[1] in STAGES else "root"


def _rank(stage: str) -> int:
    return {"root": -1, "api": len(STAGES)}.get(
        stage, STAGES.index(stage) if stage in STAGES else 0
    )


def _back_edges(graph: dict[str, set[str]]) -> dict[tuple[str, str], list[str]]:
    out: dict[tuple[str, str], list[str]] = {}
    for m, deps in graph.items():
        for d in deps:
            a, b = _stage(m), _stage(d)
            if a != b and _rank(a) < _rank(b):
                out.setdefault((a, b), []).append(f"{m} -> {d}")
    return out


def test_every_folder_of_harness_is_a_declared_stage():
    folders = {p.name for p in PKG.iterdir() if (p / "__init__.py").is_file()}
    assert folders == set(STAGES)


def test_the_root_holds_at_most_eight_modules():
    root = sorted(p.name for p in PKG.glob("*.py"))
    assert len(root) <= ROOT_LIMIT, root


def test_imports_flow_one_way_between_the_stages():
    found = _back_edges(_graph())
    unexplained = {k: v for k, v in found.items() if k not in BACK_EDGES}
    assert unexplained == {}
    assert set(BACK_EDGES) <= set(found), "a listed back edge is gone: drop it from BACK_EDGES"


def test_there_are_no_back_edges_at_all():
    assert BACK_EDGES == {} and _back_edges(_graph()) == {}


def test_the_flow_check_finds_a_back_edge():
    graph = {"harness.data.items": {"harness.gates.decision"}, "harness.gates.decision": set()}
    assert list(_back_edges(graph)) == [("data", "gates")]


def _levels() -> list[Path]:
    return [PKG, *sorted(p.parent for p in PKG.rglob("__init__.py") if p.parent != PKG)]


def test_no_prefix_families_at_one_level():
    """A folder is a family's name, never a shared ``word_`` prefix (``gate_specs``...)."""
    offenders = []
    for level in _levels():
        names = sorted(p.stem for p in level.glob("*.py") if not p.stem.startswith("__"))
        prefixes = {n.split("_")[0] for n in names if "_" in n.strip("_")}
        for pre in sorted(prefixes):
            family = [n for n in names if n.startswith(pre + "_")]
            if len(family) > 1:
                offenders.append(f"{level.relative_to(REPO)}: {family}")
    assert offenders == []


@pytest.mark.parametrize("init", sorted(PKG.rglob("__init__.py")), ids=lambda p: str(p.parent.name))
def test_every_package_exports_its_api_through_all(init):
    import importlib

    name = ".".join(init.parent.relative_to(REPO).parts)
    module = importlib.import_module(name)
    assert isinstance(getattr(module, "__all__", None), list) and module.__all__, name
    subs = {p.stem for p in init.parent.glob("*.py")} | {
        p.parent.name for p in init.parent.glob("*/__init__.py")
    }
    for exported in module.__all__:
        assert getattr(module, exported) is not None, (name, exported)
    # an exported name a submodule shares is shadowed once that submodule is imported
    shadowed = set(module.__all__) & subs - LEGACY_SHADOWED.get(name, set())
    assert shadowed == set(), (name, sorted(shadowed))


# harness.report exports the functions decision() and examples() beside its submodules of the
# same name; its __init__ imports them eagerly, so the function wins (older than issue 21).
LEGACY_SHADOWED = {"harness.report": {"decision", "examples"}}


def test_no_module_imports_another_packages_private_module():
    offenders = []
    for name, path in _modules().items():
        for dep in _imports(path, name, set(_modules())):
            last = dep.rsplit(".", 1)[-1]
            private = last.startswith("_") and not last.startswith("__")
            if private and dep.rsplit(".", 1)[0] != name.rsplit(".", 1)[0]:
                offenders.append(f"{name} -> {dep}")
    assert offenders == []


def test_one_place_finds_and_flags_chromium():
    """harness.report.browser finds the browser and holds its headless flags; the tests' and the
    benchmarks' Chromium (tests/chromium.py, the report and scale checks) take both from there,
    and the review station's Selenium test gives chromedriver the same binary and flags."""
    offenders = [
        f"{p.relative_to(REPO)}: {needle}"
        for folder in ("harness", "tests", "benchmarks")
        for p in (REPO / folder).rglob("*.py")
        if p.relative_to(REPO).as_posix() != "harness/report/browser.py"
        and p.name != "test_architecture.py"
        for needle in ('"--headless', 'which("chromium', "--no-sandbox")
        if needle in p.read_text(encoding="utf-8")
    ]
    assert offenders == []


def test_one_chromium_launcher():
    """One class starts Chromium and speaks DevTools to it (harness.report.browser.Browser, on a
    pipe): the PDF, the report tests and the print benchmark use it; nothing else opens a
    DevTools port or a WebSocket to one."""
    offenders = [
        f"{p.relative_to(REPO)}: {needle}"
        for folder in ("harness", "tests", "benchmarks", "scripts")
        for p in (REPO / folder).rglob("*.py")
        if p.relative_to(REPO).as_posix() != "harness/report/browser.py"
        and p.name != "test_architecture.py"
        for needle in ("--remote-debugging", "import websocket", "posix_spawn", "/json/list")
        if needle in p.read_text(encoding="utf-8")
    ]
    assert offenders == []
    selenium = (REPO / "tests" / "review" / "test_browser.py").read_text(encoding="utf-8")
    assert "HEADLESS_FLAGS" in selenium and "chromium_path()" in selenium
