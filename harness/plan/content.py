"""What a plan runs, apart from where its files lie: the content its fingerprint covers.

A resume loads the plan again, perhaps from another folder, by a relative or an absolute path,
on the dataset folder the run recorded, and must find the same content. Paths are no part of
it: the dataset is checked by its own files' fingerprint, each file the plan names (prompt and
system templates, the judge's rubric, the governance file, canned replies, drafts) counts by the
SHA-256 of its bytes under the setting that names it, and ``runner.cache_path`` (where answers
are cached, not what is run) is left out. The manifest keeps the content (``plan_content``), so
a refused resume names what changed.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from harness.errors import RunError

_SHOWN = 8  # changes named in one message


def _digest(path: Path) -> str:
    return (
        "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else "missing"
    )


def _flatten(value: Any, prefix: str, out: dict[str, Any]) -> None:
    if isinstance(value, dict) and value:
        for k, v in value.items():
            _flatten(v, f"{prefix}.{k}" if prefix else str(k), out)
    elif isinstance(value, list) and value and prefix != "judge.candidates":
        for i, v in enumerate(value):
            _flatten(v, f"{prefix}.{i}", out)
    else:
        out[prefix] = value


def file_refs(plan: Any) -> dict[str, str]:
    """The plan's settings that name a file, by dotted key, with the name as written."""
    out: dict[str, str] = {}
    if plan.governance:
        out["governance"] = plan.governance
    if plan.judge is not None and plan.judge.rubric:
        out["judge.rubric"] = plan.judge.rubric
    for c in plan.candidates:
        for key, ref in (("prompt", c.prompt), ("system", c.system)):
            if ref:
                out[f"candidates.{c.name}.{key}"] = ref
        if c.options.get("path"):
            out[f"candidates.{c.name}.options.path"] = str(c.options["path"])
    return out


def plan_content(plan: Any) -> dict[str, Any]:
    """The plan's content as flat ``{dotted.key: value}``: settings that differ from the
    defaults (a harness upgrade that adds a setting does not change old plans), candidates by
    name, and each named file as the hash of its bytes; no path."""
    data = plan.model_dump(mode="json", exclude_defaults=True)
    data.pop("dataset", None)
    if isinstance(data.get("runner"), dict):
        data["runner"].pop("cache_path", None)
    data["candidates"] = {
        c.name: {k: v for k, v in d.items() if k != "name"}
        for c, d in zip(plan.candidates, data.get("candidates", []), strict=True)
    }
    flat: dict[str, Any] = {}
    _flatten(data, "", flat)
    for key, ref in file_refs(plan).items():
        flat[key] = _digest(plan.resolve(ref))
    return {k: v for k, v in flat.items() if v != {} and v != []}


def fingerprint(content: dict[str, Any]) -> str:
    """The SHA-256 of a plan's content (:func:`plan_content`)."""
    return hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()


def legacy_fingerprint(plan: Any) -> str:
    """The fingerprint runs recorded before content-only fingerprints (the dataset path as the
    plan or ``--dataset`` gave it), so a run started then can still be resumed."""
    content = plan.model_dump(mode="json", exclude_defaults=True)
    h = hashlib.sha256(json.dumps(content, sort_keys=True).encode())
    for f in plan.files()[1:]:
        h.update(f.read_bytes())
    return h.hexdigest()


def _show(value: Any) -> str:
    return "not set" if value is None else json.dumps(value, ensure_ascii=False)


def content_changes(
    before: dict[str, Any], after: dict[str, Any], refs: dict[str, str]
) -> list[str]:
    """What differs between two plan contents, one phrase per setting or file."""
    out = []
    for key in sorted(before.keys() | after.keys()):
        old, new = before.get(key), after.get(key)
        if old == new:
            continue
        if key in refs or str(old).startswith("sha256:") or str(new).startswith("sha256:"):
            name = refs.get(key, "the file it names")
            out.append(f"{key}: the content of {name} changed")
        else:
            out.append(f"{key}: {_show(old)} then, {_show(new)} now")
    return out


def file_changes(before: dict[str, str], after: dict[str, str]) -> list[str]:
    """Which of a dataset's files differ (by their recorded SHA-256)."""
    out = []
    for f in sorted(before.keys() | after.keys()):
        if f not in after:
            out.append(f"{f} removed")
        elif f not in before:
            out.append(f"{f} added")
        elif before[f] != after[f]:
            out.append(f"{f} changed")
    return out


def _listed(changes: list[str]) -> str:
    more = len(changes) - _SHOWN
    return "; ".join(changes[:_SHOWN]) + (f"; and {more} more" if more > 0 else "")


def check_unchanged(plan: Any, dataset: Any, manifest: dict[str, Any], run_id: str) -> None:
    """Refuse to resume ``run_id`` when its plan or dataset content changed, naming what did.

    Raises:
        RunError: the changed settings, templates or dataset files, and what to do instead.
    """
    recorded = manifest.get("plan_content")
    if recorded is not None:
        changes = content_changes(recorded, plan_content(plan), file_refs(plan))
        if changes or fingerprint(recorded) != manifest["plan_fingerprint"]:
            raise RunError(
                f"the plan changed since run {run_id} started: {_listed(changes or ['its content'])}; "
                "start a new run instead of resuming, or undo the change"
            )
    elif plan.fingerprint() != manifest["plan_fingerprint"]:
        # a run recorded before content-only fingerprints hashed the dataset path as the plan
        # (or --dataset) gave it then, which the manifest's copy of the plan keeps
        then = (manifest.get("plan") or {}).get("dataset", plan.dataset)
        if (
            legacy_fingerprint(plan.model_copy(update={"dataset": then}))
            != manifest["plan_fingerprint"]
        ):
            raise RunError(
                f"the plan changed since run {run_id} started (its prompts, candidates or "
                "settings differ); start a new run instead of resuming, or undo the change"
            )
    if dataset.fingerprint != manifest["dataset"]["fingerprint"]:
        changes = file_changes(manifest["dataset"].get("files") or {}, dataset.files)
        raise RunError(
            f"the dataset changed since run {run_id} started: "
            f"{_listed(changes or ['its content'])} in {dataset.path}; "
            "start a new run instead of resuming, or restore the files"
        )
