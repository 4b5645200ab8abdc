#!/usr/bin/env python3
"""The harness/ layout of issue 21: one package per stage. The mapping old module -> new module.

    python scripts/relayout.py --move      # once: the git mv's and each new package's __init__
    python scripts/relayout.py --rewrite   # any time: old import paths -> new ones, repo-wide
    python scripts/relayout.py --check     # the mapping's own consistency (used by the tests)

``--rewrite`` is for branches written against the old layout: after merging the moves, run it
and the old dotted names (``harness.plan.load_plan``, ``from harness import safeyaml``,
``from harness.gates import decide``, ``import harness.engine as e``, ``"harness.datasets"`` in a
string, ``harness/runner.py`` and ``tests/test_runner.py`` in docs) become the new ones in every
.py, .ipynb, .md, .toml, .yaml, .yml, .cfg, .txt, .sh and Makefile of the repository (not
CHANGELOG.md, which is history). It is idempotent and safe on code that is already partly
rewritten: a name after an old module that is a submodule of the new package of the same name
(``harness.plan.spec``) is taken as new and left alone; the check below guarantees that no old
module had an attribute with such a name. A bare package name that is also an old module's name
(``harness.plan``, ``harness.gates``, ``harness.store``, ``harness.engine``, ``harness.pilot``,
``harness.cli``) outside an import statement is left alone too: the package exports the old
module's public names. In new code, don't write ``from harness import plan`` (or gates, store,
engine, pilot, cli) for the package: the rewrite reads it as the old module.

Standard library only.
"""

from __future__ import annotations

import argparse
import ast
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# old dotted module -> new dotted module (harness/ and tests/ follow the same tree)
MOVES: dict[str, str] = {
    # data: reading and checking a dataset folder
    "harness.datasets": "harness.data.dataset",
    "harness.dataset_checks": "harness.gates.feeds",  # reads the gates file: a gates-stage check
    "harness.dataset_files": "harness.data.files",
    "harness.dataset_guard": "harness.data.guard",
    "harness.dataset_items": "harness.data.items",
    "harness.dataset_sources": "harness.data.sources",
    "harness.dataset_tables": "harness.data.tables",
    "harness.safeyaml": "harness.data.safeyaml",
    "harness.validation": "harness.data.validation",
    "harness.importers.mapping": "harness.data.mapping",
    # plan: the eval plan, its content fingerprint, its references, its templates
    "harness.plan": "harness.plan.spec",
    "harness.plan_content": "harness.plan.content",
    "harness.plan_refs": "harness.plan.refs",
    "harness.templates": "harness.plan.templates",
    "harness.template_limits": "harness.plan.limits",
    # (plan/params.py: the allowed generation parameters, moved out of engine/egress.py)
    # engine: every model call, its lanes, cache, keys, protection, egress, providers
    "harness.engine": "harness.engine.calls",
    "harness.lanes": "harness.engine.lanes",
    "harness.cache": "harness.engine.cache",
    "harness.keys": "harness.engine.keys",
    "harness.protect": "harness.engine.protect",
    "harness.egress": "harness.engine.egress",
    "harness.candidates.llm": "harness.engine.llm",
    "harness.candidates.local": "harness.engine.local",
    "harness.candidates.pool": "harness.engine.pool",
    "harness.candidates.watchdog": "harness.engine.watchdog",
    # store: the run folder's one owner
    "harness.store": "harness.store.runs",
    "harness.runfiles": "harness.store.files",
    # scorers: + scoring a stored run, judge calibration
    "harness.scoring": "harness.scorers.scoring",
    "harness.calibration": "harness.scorers.calibration",
    "harness.scorers.claim_patterns": "harness.scorers.patterns",  # no claim_ prefix family
    "harness.scorers.claim_words": "harness.scorers.lexicon",
    # run: a plan's run from selection to manifest
    "harness.runner": "harness.run.runner",
    "harness.model_calls": "harness.run.model_calls",
    "harness.work": "harness.run.work",
    "harness.selection": "harness.run.selection",
    "harness.provenance": "harness.run.provenance",
    "harness.merge": "harness.run.merge",
    "harness.audit": "harness.run.audit",
    # pilot: outcomes of the staff pilot (measured below the gates that judge them)
    "harness.pilot": "harness.gates.pilot_log",
    "harness.pilot.analysis": "harness.gates.pilot_log",
    # gates: specs, evidence, checks, evaluation, slices, the decision, CI, the evidence index
    "harness.gates": "harness.gates.decision",
    "harness.gate_specs": "harness.gates.specs",
    "harness.gate_evidence": "harness.gates.evidence",
    "harness.gate_checks": "harness.gates.checks",
    "harness.gate_evaluation": "harness.gates.evaluation",
    "harness.slices": "harness.gates.slices",
    "harness.evidence_index": "harness.gates.index",
    "harness.evidence_checks": "harness.gates.facts",
    "harness.check": "harness.gates.ci",
    "harness.data.checks": "harness.gates.feeds",  # (its place in the first moves commit)
    # report: + the notebook kernel
    "harness.kernel": "harness.report.kernel",
    # cli
    "harness.cli": "harness.cli.commands",
    "harness.cli_data": "harness.cli.data",
}

# tests/ mirrors harness/: old test file -> new test file
TEST_MOVES: dict[str, str] = {
    "tests/test_calibration.py": "tests/scorers/test_calibration.py",
    "tests/test_check.py": "tests/gates/test_ci.py",
    "tests/test_cli_args.py": "tests/cli/test_args.py",
    "tests/test_dataset_checks.py": "tests/gates/test_feeds.py",
    "tests/data/test_checks.py": "tests/gates/test_feeds.py",
    "tests/test_dataset_guard.py": "tests/data/test_guard.py",
    "tests/test_datasets.py": "tests/data/test_dataset.py",
    "tests/test_egress.py": "tests/engine/test_egress.py",
    "tests/test_engine.py": "tests/engine/test_calls.py",
    "tests/test_evidence.py": "tests/report/test_evidence.py",
    "tests/test_evidence_index.py": "tests/gates/test_index.py",
    "tests/test_gates.py": "tests/gates/test_decision.py",
    "tests/test_kernel.py": "tests/report/test_kernel.py",
    "tests/test_lanes.py": "tests/engine/test_lanes.py",
    "tests/test_pilot.py": "tests/gates/test_pilot_log.py",
    "tests/test_plan.py": "tests/plan/test_spec.py",
    "tests/test_plan_refs.py": "tests/plan/test_refs.py",
    "tests/test_protect.py": "tests/engine/test_protect.py",
    "tests/test_report.py": "tests/report/test_report.py",
    "tests/test_report_print.py": "tests/report/test_print.py",
    "tests/test_resume.py": "tests/run/test_resume.py",
    "tests/test_runner.py": "tests/run/test_runner.py",
    "tests/test_safeyaml.py": "tests/data/test_safeyaml.py",
    "tests/test_selection.py": "tests/run/test_selection.py",
    "tests/test_slices.py": "tests/gates/test_slices.py",
    "tests/test_store.py": "tests/store/test_runs.py",
    "tests/test_templates.py": "tests/plan/test_templates.py",
    "tests/candidates/test_local.py": "tests/engine/test_local.py",
    "tests/candidates/test_local_shared.py": "tests/engine/test_local_shared.py",
    "tests/candidates/test_pool.py": "tests/engine/test_pool.py",
}

PACKAGE_DOCS = {
    "harness.data": "Data: read and check a dataset folder (items, sources, tables, safe YAML).",
    "harness.plan": "Plan: the eval plan, its content fingerprint, its references and templates.",
    "harness.engine": "Engine: every model call (lanes, cache, keys, protection, egress, providers).",
    "harness.store": "Store: the run folder and its files, owned in one place.",
    "harness.run": "Run: a plan's run, from item selection and model calls to the manifest.",
    "harness.pilot": "Pilot: the staff pilot's outcomes from its log.",
    "harness.gates": "Gates: specs, evidence, checks, slices, the decision, CI and the evidence index.",
    "harness.cli": "CLI: the ``harness`` command (``python -m harness.cli``).",
}

TEXT_SUFFIXES = {".py", ".ipynb", ".md", ".toml", ".yaml", ".yml", ".cfg", ".txt", ".sh", ".j2"}
TEXT_NAMES = {"Makefile"}
SKIP_FILES = {
    "CHANGELOG.md",
    "test_api.py",
}  # test_api.py calls the new packages by their old names on purpose
# files whose bytes a run records (plans, rubrics, datasets): a comment edit would change their
# SHA-256 and refuse the resume of a run started before the rewrite
SKIP_DATA = ("plans/", "rubrics/", "datasets/")
SKIP_DIRS = {".git", ".venv", "results", ".cache", "node_modules", "__pycache__", ".mypy_cache"}


def path_of(module: str) -> str:
    return module.replace(".", "/") + ".py"


def new_modules() -> set[str]:
    """Every module of the new layout this mapping names, and its packages."""
    out: set[str] = set()
    # and every module of the tree as it is (harness.pilot.protocol is new, not pilot's attribute)
    for p in (ROOT / "harness").rglob("*.py"):
        parts = p.relative_to(ROOT).with_suffix("").parts
        out.add(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    for new in MOVES.values():
        parts = new.split(".")
        for i in range(2, len(parts) + 1):
            out.add(".".join(parts[:i]))
    return out


NEW = new_modules()
# old modules whose dotted name is a package of the new layout (harness.plan, harness.gates...)
SAME_NAME = {old for old in MOVES if old in NEW}


# ---------------------------------------------------------------------------------- rewrite


_ATTRIBUTES: dict[str, set[str]] = {}


def old_attributes(old: str) -> set[str] | None:
    """The top-level names of an old module (read from its new file), or None if unknown."""
    if old not in _ATTRIBUTES:
        path = ROOT / path_of(MOVES[old])
        if not path.is_file():
            path = ROOT / path_of(old)
        _ATTRIBUTES[old] = attribute_names(path) if path.is_file() else set()
    return _ATTRIBUTES[old] or None


def _is_new(module: str, name: str) -> bool:
    """``module.name`` is already the new layout: a submodule of the new package, or (for a
    package named like an old module) a name the old module never had, from the package's API."""
    if f"{module}.{name}" in NEW:
        return True
    if module in SAME_NAME:
        known = old_attributes(module)
        return known is not None and name not in known
    return False


def _translate(dotted: str) -> str:
    """An old dotted name (module or module.attribute) -> the new one; new names unchanged."""
    parts = dotted.split(".")
    for i in range(len(parts), 1, -1):
        prefix = ".".join(parts[:i])
        if prefix in MOVES:
            rest = parts[i:]
            if rest and _is_new(prefix, rest[0]):
                return dotted  # already the new layout (harness.plan.spec, harness.gates.X)
            return ".".join([MOVES[prefix], *rest])
    return dotted


IDENT = r"[A-Za-z_][A-Za-z0-9_]*"
FROM_IMPORT = re.compile(
    rf"(?P<indent>^[ \t]*|(?<=\"))from[ \t]+(?P<mod>harness(?:\.{IDENT})*)[ \t]+import[ \t]+"
    rf"(?:\((?P<paren>[^)]*)\)|(?P<names>{IDENT}(?:[ \t]+as[ \t]+{IDENT})?"
    rf"(?:[ \t]*,[ \t]*{IDENT}(?:[ \t]+as[ \t]+{IDENT})?)*))",
    re.M,
)
IMPORT = re.compile(
    rf"(?P<lead>(?:^[ \t]*|(?<=\"))import[ \t]+)(?P<mod>harness(?:\.{IDENT})+)(?=[ \t]*(?:$|as\b|,|\\n|#))",
    re.M,
)
DOTTED = re.compile(rf"(?<![\w.])harness(?:\.{IDENT})+")
PATHS = re.compile(r"(?<![\w/.-])(?:harness|tests)/[\w/]+\.py\b")


def _from_import(m: re.Match[str]) -> str:
    mod = m.group("mod")
    raw = m.group("paren") if m.group("paren") is not None else m.group("names")
    items = []
    for chunk in raw.split(","):
        words = chunk.split("#")[0].split()
        if not words:
            continue
        name = words[0]
        alias = words[2] if len(words) >= 3 and words[1] == "as" else None
        items.append((name, alias))
    groups: dict[str, list[str]] = {}
    for name, alias in items:
        full = f"{mod}.{name}"
        if full in MOVES:  # from harness import safeyaml / from harness.candidates import pool
            new = MOVES[full]
            parent, leaf = new.rsplit(".", 1)
            bound = alias or name
            groups.setdefault(parent, []).append(leaf if leaf == bound else f"{leaf} as {bound}")
            continue
        # from harness.plan import spec: already new; from harness.plan import load_plan: old
        target = mod if (mod in MOVES and _is_new(mod, name)) else _translate(mod)
        groups.setdefault(target, []).append(f"{name} as {alias}" if alias else name)
    if list(groups) == [mod]:
        return m.group(0)
    indent = m.group("indent") or ""
    in_json = m.start() > 0 and m.string[m.start() - 1] == '"'
    lines = []
    for target, names in groups.items():
        if m.group("paren") is not None and len(names) > 1:
            body = "".join(f"\n{indent}    {n}," for n in names)
            lines.append(f"from {target} import ({body}\n{indent})")
        else:
            lines.append(f"from {target} import {', '.join(names)}")
    if in_json:
        return '\\n",\n    "'.join(lines)  # one notebook source line per import
    return indent + f"\n{indent}".join(lines)


def _import(m: re.Match[str]) -> str:
    mod = m.group("mod")
    if mod in MOVES:  # import harness.engine (as e): the old module, precisely
        return m.group("lead") + MOVES[mod]
    return m.group("lead") + _translate(mod)


def _dotted(m: re.Match[str]) -> str:
    name = m.group(0)
    if name in SAME_NAME:  # bare harness.plan outside an import: the package exports it
        return name
    return _translate(name)


def _path(m: re.Match[str]) -> str:
    p = m.group(0)
    if p in TEST_MOVES:
        return TEST_MOVES[p]
    if p.startswith("harness/"):
        mod = p[:-3].replace("/", ".")
        if mod in MOVES:
            return path_of(MOVES[mod])
    return p


def rewrite_text(text: str, paths: bool = True) -> str:
    text = FROM_IMPORT.sub(_from_import, text)
    text = IMPORT.sub(_import, text)
    out = []
    # dotted names outside import statements (strings, docs, attribute chains)
    for line in text.splitlines(keepends=True):
        stripped = line.lstrip()
        if stripped.startswith(("from harness", "import harness")):
            out.append(line)
            continue
        out.append(DOTTED.sub(_dotted, line))
    text = "".join(out)
    if paths:
        text = PATHS.sub(_path, text)
    return text


def repo_files(root: Path) -> list[Path]:
    try:
        listed = subprocess.run(
            ["git", "ls-files", "-co", "--exclude-standard"],
            cwd=root,
            check=True,
            capture_output=True,
            text=True,
        ).stdout.splitlines()
        candidates = [root / p for p in listed]
    except (OSError, subprocess.CalledProcessError):
        candidates = [p for p in root.rglob("*") if p.is_file()]
    out = []
    for p in candidates:
        rel = p.relative_to(root)
        if any(part in SKIP_DIRS for part in rel.parts) or p.name in SKIP_FILES:
            continue
        if rel.as_posix().startswith(SKIP_DATA) and p.suffix != ".md":
            continue
        if rel.as_posix() in ("scripts/relayout.py", "tests/test_relayout.py"):
            continue  # the mapping and its test name the old modules
        if (p.suffix in TEXT_SUFFIXES or p.name in TEXT_NAMES) and p.is_file():
            out.append(p)
    return sorted(out)


def _module_of(rel: str) -> str:
    return rel[:-3].replace("/", ".").removesuffix(".__init__")


TEST_MODULES = {_module_of(old): _module_of(new) for old, new in TEST_MOVES.items()}
RELATIVE = re.compile(
    rf"^(?P<indent>[ \t]*)from[ \t]+(?P<dots>\.+)(?P<mod>{IDENT}(?:\.{IDENT})*)[ \t]+import\b", re.M
)


def rewrite_relative(rel: str, text: str, root: Path) -> str:
    """Relative imports of a test file that no longer resolve (the file or its target moved)
    become absolute ones (``from tests.conftest import``, ``from tests.gates.test_decision``)."""
    here = _module_of(rel).split(".")[:-1]
    old_rel = next((o for o, n in TEST_MOVES.items() if n == rel), rel)
    old_here = _module_of(old_rel).split(".")[:-1]

    def exists(module: str) -> bool:
        base = root / module.replace(".", "/")
        return base.with_suffix(".py").is_file() or (base / "__init__.py").is_file()

    def resolve(package: list[str], dots: int, mod: str) -> str:
        up = package[: len(package) - (dots - 1)] if dots > 1 else package
        return ".".join([*up, mod])

    def sub(m: re.Match[str]) -> str:
        dots, mod = len(m.group("dots")), m.group("mod")
        if exists(resolve(here, dots, mod)):
            return m.group(0)
        for package in (old_here, here):
            target = resolve(package, dots, mod)
            target = TEST_MODULES.get(target, target)
            if exists(target):
                return f"{m.group('indent')}from {target} import"
        return m.group(0)

    return RELATIVE.sub(sub, text)


def rewrite(root: Path, dry_run: bool = False) -> list[Path]:
    changed = []
    for p in repo_files(root):
        try:
            text = p.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        new = rewrite_text(text)
        rel = p.relative_to(root).as_posix()
        if rel.startswith("tests/") and p.suffix == ".py":
            new = rewrite_relative(rel, new, root)
        if new != text:
            changed.append(p)
            if not dry_run:
                p.write_text(new, encoding="utf-8")
    return changed


# ------------------------------------------------------------------------------------- move


def public_names(path: Path) -> list[str]:
    """Names a module defines at its top level (not imported, not private)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: list[str] = []
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.append(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for t in targets:
                if isinstance(t, ast.Name):
                    names.append(t.id)
    return [n for n in dict.fromkeys(names) if not n.startswith("_") and n != "TYPE_CHECKING"]


def attribute_names(path: Path) -> set[str]:
    """Every top-level name of a module, imported ones included."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = set(public_names(path))
    for node in tree.body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            for a in node.names:
                names.add((a.asname or a.name).split(".")[0])
    return names


def init_text(package: str, modules: list[str], root: Path) -> str:
    api: dict[str, str] = {}
    submodules = {m.rsplit(".", 1)[1] for m in modules}
    for mod in modules:
        for name in public_names(root / path_of(mod)):
            if name not in submodules:  # the submodule would shadow it once imported
                api.setdefault(name, mod)
    by_module: dict[str, list[str]] = {}
    for name, mod in api.items():
        by_module.setdefault(mod, []).append(name)
    lines = [
        f'"""{PACKAGE_DOCS[package]}',
        "",
        "This file is the stage's public API (``__all__``). Names load lazily on first use, so",
        "importing one module of the stage does not import the others.",
        '"""',
        "",
        "from __future__ import annotations",
        "",
        "import importlib",
        "from typing import TYPE_CHECKING, Any",
        "",
        "if TYPE_CHECKING:",
    ]
    for mod in sorted(by_module):
        names = ", ".join(sorted(by_module[mod]))
        lines.append(f"    from {mod} import {names}")
    lines += ["", "_API = {"]
    for name in sorted(api):
        lines.append(f'    "{name}": "{api[name]}",')
    lines += ["}", "", "__all__ = ["]
    for name in sorted(api):
        lines.append(f'    "{name}",')
    lines += [
        "]",
        "",
        "",
        "def __getattr__(name: str) -> Any:",
        "    if name in _API:",
        "        return getattr(importlib.import_module(_API[name]), name)",
        '    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")',
        "",
        "",
        "def __dir__() -> list[str]:",
        "    return sorted(set(globals()) | set(__all__))",
        "",
    ]
    return "\n".join(lines)


def move(root: Path) -> None:
    def git(*args: str) -> None:
        subprocess.run(["git", *args], cwd=root, check=True)

    for old, new in MOVES.items():
        src, dst = root / path_of(old), root / path_of(new)
        if not src.exists():
            continue
        dst.parent.mkdir(parents=True, exist_ok=True)  # harness/plan.py -> harness/plan/spec.py
        git("mv", str(src.relative_to(root)), str(dst.relative_to(root)))
    for old, new in TEST_MOVES.items():
        src, dst = root / old, root / new
        if not src.exists():
            continue
        dst.parent.mkdir(parents=True, exist_ok=True)
        init = dst.parent / "__init__.py"
        if not init.exists():
            init.write_text("")
            git("add", str(init.relative_to(root)))
        git("mv", old, new)
    for package in PACKAGE_DOCS:
        folder = root / package.replace(".", "/")
        modules = [  # the mapped modules first (their names win), then any other module there
            *dict.fromkeys(new for new in MOVES.values() if new.rsplit(".", 1)[0] == package),
            *(
                f"{package}.{p.stem}"
                for p in sorted(folder.glob("*.py"))
                if not p.stem.startswith("_") and f"{package}.{p.stem}" not in MOVES.values()
            ),
        ]
        init = root / package.replace(".", "/") / "__init__.py"
        modules = [m for m in modules if (root / path_of(m)).is_file()]
        init.write_text(init_text(package, modules, root))
        git("add", str(init.relative_to(root)))


# ------------------------------------------------------------------------------------ check


def _all_of(init: Path) -> set[str]:
    for node in ast.parse(init.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets
        ):
            try:
                return set(ast.literal_eval(node.value))
            except ValueError:
                return set()
    return set()


def check(root: Path) -> list[str]:
    """The mapping is unambiguous: no old module had an attribute named like a new submodule
    of the package of its own name, and no new submodule name is a name the package exports."""
    problems = []
    for old in SAME_NAME:
        src = root / path_of(MOVES[old])
        if not src.exists():
            src = root / path_of(old)
        if not src.exists():
            continue
        subs = {m.rsplit(".", 1)[1] for m in NEW if m.rsplit(".", 1)[0] == old}
        # an attribute that is the very module moved there (engine.py's `from harness import
        # keys` is harness.engine.keys) is no ambiguity
        same = {s for s in subs if MOVES.get(f"harness.{s}") == f"{old}.{s}"}
        clash = (subs - same) & attribute_names(src)
        if clash:
            problems.append(f"{old} has attributes named like submodules: {sorted(clash)}")
    for package in PACKAGE_DOCS:
        subs = {m.rsplit(".", 1)[1] for m in NEW if m.rsplit(".", 1)[0] == package}
        init = root / package.replace(".", "/") / "__init__.py"
        if init.exists():  # an exported name a submodule would shadow once imported
            clash = subs & set(public_names(init)) | subs & _all_of(init)
            if clash:
                problems.append(f"{package} exports names of its submodules: {sorted(clash)}")
    for old, new in MOVES.items():
        if _translate(old) != new or _translate(new) != new:
            problems.append(f"{old} -> {new} does not translate once")
    return problems


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--move", action="store_true", help="git mv the modules (once)")
    ap.add_argument("--rewrite", action="store_true", help="rewrite old import paths")
    ap.add_argument("--check", action="store_true", help="check the mapping is unambiguous")
    ap.add_argument("--dry-run", action="store_true", help="with --rewrite: list, don't write")
    ap.add_argument("--no-ruff", action="store_true", help="with --rewrite: don't run ruff")
    ap.add_argument("--root", type=Path, default=ROOT, help="the repository (default: this one)")
    args = ap.parse_args(argv)
    root = args.root.resolve()
    if not (args.move or args.rewrite or args.check):
        ap.error("give --move, --rewrite or --check")
    if args.check or args.move:
        problems = check(root)
        for p in problems:
            print(f"relayout: {p}", file=sys.stderr)
        if problems:
            return 1
    if args.move:
        move(root)
    if args.rewrite:
        changed = rewrite(root, dry_run=args.dry_run)
        for p in changed:
            print(p.relative_to(root))
        py = [str(p) for p in changed if p.suffix == ".py"]
        ruff = Path(sys.executable).parent / "ruff"
        if py and not args.dry_run and not args.no_ruff and ruff.exists():
            # the rewritten import lines sorted and wrapped as the project's ruff wants
            subprocess.run([str(ruff), "check", "--fix", "--select", "I", "-q", *py], cwd=root)
            subprocess.run([str(ruff), "format", "-q", *py], cwd=root)
        print(f"{len(changed)} files {'would change' if args.dry_run else 'rewritten'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
