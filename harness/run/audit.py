"""Audit trail of a run: content hashes of everything that shaped it, and ``verify``.

At the start of a run the manifest records the SHA-256 of the dataset files, the plan, its
prompt templates, the rubric, gate and governance files, plus model and judge identifiers,
package versions and the git state. ``verify`` recomputes the hashes from the files on disk and
lists anything changed or missing since the run.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pandas as pd

from harness.store.runs import RunStore, open_run

RUBRICS = Path(__file__).resolve().parents[2] / "rubrics"


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def audit_files(
    plan_files: list[Path], extra: list[Path] | None = None
) -> dict[str, dict[str, str]]:
    """Hashes of the plan, its templates, and the rubric/gates/governance files, by kind."""
    out: dict[str, dict[str, str]] = {"plan": {}, "rubrics": {}}
    for p in plan_files:
        out["plan"][str(p.resolve())] = sha256_file(p)
    rubric_files = sorted(RUBRICS.glob("*.yaml")) if RUBRICS.is_dir() else []
    for p in [*rubric_files, *(extra or [])]:
        if p.is_file():
            out["rubrics"][str(p.resolve())] = sha256_file(p)
    return out


def verify(run: str | RunStore, results_dir: str | Path | None = None) -> pd.DataFrame:
    """Recompute every recorded hash; one row per file with status unchanged/changed/missing."""
    store = run if isinstance(run, RunStore) else open_run(run, results_dir)
    m = store.read_manifest()
    rows: list[dict[str, Any]] = []
    ds_root = Path(m["dataset"]["path"])
    recorded = {str(ds_root / rel): digest for rel, digest in m["dataset"]["files"].items()}
    kinds = {path: "dataset" for path in recorded}
    for kind, files in m.get("audit", {}).get("files", {}).items():
        for path, digest in files.items():
            recorded[path] = digest
            kinds[path] = kind
    for path, digest in sorted(recorded.items()):
        p = Path(path)
        current = sha256_file(p) if p.is_file() else None
        status = "missing" if current is None else "unchanged" if current == digest else "changed"
        rows.append(
            {
                "kind": kinds[path],
                "file": path,
                "status": status,
                "recorded": digest[:12],
                "current": current[:12] if current else None,
            }
        )
    if ds_root.is_dir():  # files added to the dataset since the run also change its meaning
        known = set(m["dataset"]["files"])
        for p in sorted(ds_root.rglob("*")):
            rel = p.relative_to(ds_root).as_posix()
            if p.is_file() and rel not in known and _dataset_file(rel):
                rows.append(
                    {
                        "kind": "dataset",
                        "file": str(p),
                        "status": "added",
                        "recorded": None,
                        "current": sha256_file(p)[:12],
                    }
                )
    return pd.DataFrame(rows, columns=["kind", "file", "status", "recorded", "current"])


def _dataset_file(rel: str) -> bool:
    return rel in (
        "items.jsonl",
        "items.csv",
        "items.parquet",
        "ratings.csv",
        "pilot_log.csv",
        "people.csv",
    ) or (rel.startswith("sources/") and rel.endswith((".md", ".txt")))
