#!/usr/bin/env python3
"""Re-score and re-report one stored run with two revisions of the code; print what differs.

    python scripts/compare_outputs.py RUN_FOLDER REV_A REV_B [--phase pre_pilot] [--keep]

For each revision it makes a temporary ``git worktree`` (detached), copies the run folder into a
temporary results folder of its own, and there runs ``harness score`` and ``harness report``
with that revision's code (``PYTHONPATH=<worktree>``, this interpreter, working folder the
worktree, ``LITELLM_LOCAL_MODEL_COST_MAP=True``). No model is called: ``harness score`` of a
plan without a judge only re-scores the stored drafts, and with a judge its answers come from
the response cache, copied from the run's results folder (``.cache/responses.sqlite``; a cache
miss would be a call: the script then says so, as the manifests' call counts differ). The copy's manifest names the plan and dataset inside that revision's worktree.

Then it compares every file of the two run folders: tables (parquet, CSV) cell by cell, JSON
and HTML as text, with times, durations, the temporary paths, and code hashes (the
revisions' commit ids) normalised away. Exit 0 when the outputs are the same, 1 when they
differ (the differences are printed), 2 on a usage or run error.
"""

from __future__ import annotations

import argparse
import difflib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
SKIP = {".lock"}
# Volatile text: ISO times, clock times, dates, durations, elapsed figures, kernel/session ids.
VOLATILE = [
    (
        re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2})?"),
        "<TIME>",
    ),
    (re.compile(r"\b\d{4}-\d{2}-\d{2}\b"), "<DATE>"),
    (re.compile(r"\b\d{1,2}:\d{2}(?::\d{2})?(?:\s?UTC)?\b"), "<CLOCK>"),
    (
        re.compile(
            r'"(duration|elapsed|seconds|start_time|end_time|wall_seconds)"\s*:\s*[\d.eE+-]+'
        ),
        r'"\1": <N>',
    ),
    (re.compile(r"\b\d+(?:\.\d+)?\s?(?:ms|s|seconds|sec)\b(?= elapsed| to render| wall)"), "<DUR>"),
    # papermill gives the injected-parameters cell a random id
    (re.compile(r'(cell-id=|"id": ")[0-9a-f]{8}\b'), r"\1<CELLID>"),
    (
        re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"),
        "<UUID>",
    ),
]
# Time-like columns of tables (dropped before comparing cell by cell).
TIME_COLUMNS = re.compile(
    r"(^|_)(time|timestamp|started|finished|created|at|seconds|elapsed|latency|duration)(_|$)"
)


def git(*args: str, cwd: Path = ROOT) -> str:
    return subprocess.run(
        ["git", *args], cwd=cwd, check=True, capture_output=True, text=True
    ).stdout.strip()


def prepare(run: Path, rev: str, base: Path, side: str) -> tuple[Path, Path, str]:
    """A worktree of ``rev`` and a results folder holding a copy of ``run`` pointing into it."""
    commit = git("rev-parse", "--verify", f"{rev}^{{commit}}")
    tree = base / f"tree-{side}"
    git("worktree", "add", "--detach", str(tree), commit)
    results = base / f"results-{side}"
    results.mkdir()
    dest = results / run.name
    shutil.copytree(run, dest, ignore=shutil.ignore_patterns(".lock"))
    # the results folder's response cache answers the judge: re-scoring calls no model
    cache = run.parent / ".cache" / "responses.sqlite"
    if cache.is_file():
        (results / ".cache").mkdir()
        shutil.copy2(cache, results / ".cache" / "responses.sqlite")
    mpath = dest / "manifest.json"
    manifest = json.loads(mpath.read_text())
    origin = _origin(manifest)
    if origin is not None:
        text = mpath.read_text().replace(str(origin), str(tree))
        mpath.write_text(text)
    return tree, results, commit


def _origin(manifest: dict) -> Path | None:
    """The checkout the run was made in (the plan's folder's parent), to point it elsewhere."""
    plan_path = manifest.get("plan_path")
    if not plan_path:
        return None
    origin = Path(plan_path).parent.parent
    return origin if (origin / "harness").is_dir() or (origin / "plans").is_dir() else None


def run_harness(tree: Path, results: Path, run_id: str, phase: str) -> list[str]:
    env = dict(os.environ)
    env.update(
        PYTHONPATH=str(tree),
        LITELLM_LOCAL_MODEL_COST_MAP="True",
        HF_HUB_OFFLINE="1",
        DO_NOT_TRACK="1",
        HARNESS_RESULTS=str(results),
    )
    logs = []
    for cmd in (
        ["score", run_id, "--results", str(results)],
        ["report", run_id, "--phase", phase, "--results", str(results)],
    ):
        p = subprocess.run(
            [sys.executable, "-m", "harness.cli", *cmd],
            cwd=tree,
            env=env,
            capture_output=True,
            text=True,
        )
        if p.returncode != 0:
            raise SystemExit(
                f"harness {' '.join(cmd)} failed with exit {p.returncode} in {tree}:\n"
                f"{p.stdout}\n{p.stderr}"
            )
        logs.append(p.stdout)
    return logs


def normalise(text: str, replace: dict[str, str]) -> str:
    for old, new in sorted(replace.items(), key=lambda kv: -len(kv[0])):
        text = text.replace(old, new)
    for pattern, new in VOLATILE:
        text = pattern.sub(new, text)
    return text


def frame(path: Path) -> pd.DataFrame:
    df = pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path)
    drop = [c for c in df.columns if TIME_COLUMNS.search(str(c).lower())]
    return df.drop(columns=drop)


def compare_tables(a: Path, b: Path, replace: dict[str, str]) -> list[str]:
    fa, fb = frame(a), frame(b)
    if list(fa.columns) != list(fb.columns):
        return [f"columns differ: {list(fa.columns)} vs {list(fb.columns)}"]
    if len(fa) != len(fb):
        return [f"row counts differ: {len(fa)} vs {len(fb)}"]
    fa, fb = fa.reset_index(drop=True), fb.reset_index(drop=True)
    out = []
    for col in fa.columns:
        sa, sb = fa[col], fb[col]
        if pd.api.types.is_numeric_dtype(sa) and pd.api.types.is_numeric_dtype(sb):
            same = (sa == sb) | (sa.isna() & sb.isna())
        else:
            na = sa.map(lambda v: normalise(str(v), replace))
            nb = sb.map(lambda v: normalise(str(v), replace))
            same = na == nb
        if not bool(same.all()):
            rows = list(same[~same].index[:5])
            out.append(
                f"column {col!r}: {int((~same).sum())} cells differ, e.g. rows {rows}: "
                f"{[sa[r] for r in rows[:2]]} vs {[sb[r] for r in rows[:2]]}"
            )
    return out


def _untimed(value: object, timed: bool = False) -> object:
    """A JSON value with every number under a time-like key (at any depth) replaced."""
    if isinstance(value, dict):
        return {
            k: _untimed(v, timed or bool(TIME_COLUMNS.search(str(k).lower())))
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_untimed(v, timed) for v in value]
    if timed and isinstance(value, (int, float)) and not isinstance(value, bool):
        return "<N>"
    return value


def _text(path: Path) -> str:
    text = path.read_text(errors="replace")
    if path.suffix == ".json":  # timings nested under a time-like key: {"seconds": {...}}
        try:
            return json.dumps(_untimed(json.loads(text)), indent=2, sort_keys=True)
        except ValueError:
            return text
    return text


def compare_text(a: Path, b: Path, replace: dict[str, str]) -> list[str]:
    ta = normalise(_text(a), replace)
    tb = normalise(_text(b), replace)
    if ta == tb:
        return []
    diff = difflib.unified_diff(
        ta.splitlines(), tb.splitlines(), "before", "after", lineterm="", n=1
    )
    lines = [line[:300] for line in diff]
    return lines[:80] + ([f"... {len(lines) - 80} more diff lines"] if len(lines) > 80 else [])


def files(folder: Path) -> set[str]:
    return {
        str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file() and p.name not in SKIP
    }


def compare(run_a: Path, run_b: Path, replace: dict[str, str]) -> dict[str, list[str]]:
    fa, fb = files(run_a), files(run_b)
    diffs: dict[str, list[str]] = {}
    for rel in sorted(fa ^ fb):
        diffs[rel] = [f"only in {'before' if rel in fa else 'after'}"]
    for rel in sorted(fa & fb):
        a, b = run_a / rel, run_b / rel
        if a.suffix in (".parquet", ".csv"):
            d = compare_tables(a, b, replace)
        elif a.suffix in (".html", ".json", ".jsonl", ".txt", ".md", ".xml", ".svg", ".ipynb"):
            d = compare_text(a, b, replace)
        else:
            d = [] if a.read_bytes() == b.read_bytes() else ["binary content differs"]
        if d:
            diffs[rel] = d
    return diffs


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run", type=Path, help="a stored run folder (results/<run_id>)")
    ap.add_argument("rev_a", help="the revision before (e.g. 259adf2)")
    ap.add_argument("rev_b", help="the revision after (e.g. HEAD)")
    ap.add_argument("--phase", default="pre_pilot", help="the report's phase")
    ap.add_argument("--keep", action="store_true", help="keep the temporary folders")
    args = ap.parse_args(argv)
    run = args.run.resolve()
    if not (run / "manifest.json").is_file():
        print(f"{run}: not a run folder (no manifest.json)", file=sys.stderr)
        return 2
    base = Path(tempfile.mkdtemp(prefix="compare-outputs-"))
    trees: list[Path] = []
    try:
        outs = []
        for side, rev in (("before", args.rev_a), ("after", args.rev_b)):
            tree, results, commit = prepare(run, rev, base, side)
            trees.append(tree)
            run_harness(tree, results, run.name, args.phase)
            outs.append((results / run.name, tree, results, commit))
        (ra, ta, resa, ca), (rb, tb, resb, cb) = outs
        replace = {
            str(ta): "<TREE>",
            str(tb): "<TREE>",
            str(resa): "<RESULTS>",
            str(resb): "<RESULTS>",
            str(base): "<BASE>",
            ca: "<COMMIT>",
            cb: "<COMMIT>",
            ca[:12]: "<COMMIT>",
            cb[:12]: "<COMMIT>",
            ca[:7]: "<COMMIT>",
            cb[:7]: "<COMMIT>",
        }
        diffs = compare(ra, rb, replace)
        compared = sorted(files(ra) | files(rb))
        print(f"run {run.name}: {args.rev_a} ({ca[:12]}) vs {args.rev_b} ({cb[:12]})")
        print(f"compared {len(compared)} files: {', '.join(compared)}")
        if not diffs:
            print("same tables and HTML (times, durations, paths and code hashes normalised)")
            return 0
        for rel, lines in diffs.items():
            print(f"--- {rel}")
            for line in lines:
                print(f"    {line}")
        print(f"{len(diffs)} of {len(compared)} files differ")
        return 1
    finally:
        if args.keep:
            print(f"kept: {base}", file=sys.stderr)
        else:
            for tree in trees:
                subprocess.run(
                    ["git", "worktree", "remove", "--force", str(tree)],
                    cwd=ROOT,
                    capture_output=True,
                )
            shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
