"""Join shard runs (``harness run --shard i/n``) into one run with a single manifest."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from harness.errors import RunError
from harness.store.runs import RunStore, default_results_dir, open_run


def merge_runs(
    run_ids: list[str], results_dir: str | Path | None = None, run_id: str | None = None
) -> RunStore:
    """Merge shard runs of one plan on one dataset; refuses shards of different plans or data."""
    if len(run_ids) < 2:
        raise RunError("give two or more shard run ids to merge")
    root = Path(results_dir) if results_dir is not None else default_results_dir()
    stores = [open_run(r, root) for r in run_ids]
    manifests = [s.read_manifest() for s in stores]
    first = manifests[0]
    for s, m in zip(stores[1:], manifests[1:], strict=True):
        if m["plan_fingerprint"] != first["plan_fingerprint"]:
            raise RunError(f"run {s.run_id} used a different plan than {stores[0].run_id}")
        if m["dataset"]["fingerprint"] != first["dataset"]["fingerprint"]:
            raise RunError(f"run {s.run_id} used a different dataset than {stores[0].run_id}")
        if m.get("status") != "complete":
            raise RunError(
                f"run {s.run_id} is {m.get('status')}; finish it with "
                f"harness run --resume {s.run_id} before merging"
            )
    if first.get("status") != "complete":
        raise RunError(f"run {stores[0].run_id} is {first.get('status')}; finish it first")
    ids: list[str] = []
    seen: set[str] = set()
    for m in manifests:
        for i in m["selection"]["item_ids"]:
            if i in seen:
                raise RunError(f"item {i} is in more than one shard; were the shards of one split?")
            seen.add(i)
            ids.append(i)
    run_id = run_id or f"{first['plan_name']}-merged-{datetime.now().strftime('%Y%m%d-%H%M%S')}"
    out = RunStore(root / run_id)
    if out.path.exists():
        raise RunError(f"run folder {out.path} already exists; pick another --run-id")
    out.path.mkdir(parents=True)
    with out.journal_path.open("w", encoding="utf-8") as f:
        for s in stores:
            for rec in s.read_journal():
                f.write(json.dumps(rec, ensure_ascii=False, default=str) + "\n")
    gens = out.finalize()
    manifest: dict[str, Any] = dict(first)
    manifest.update(
        run_id=run_id,
        merged_from=[s.run_id for s in stores],
        selection={**first["selection"], "items": len(ids), "item_ids": ids, "shard": None},
        started_at=min(m["started_at"] for m in manifests),
        finished_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        status="complete",
        counts={
            "units": len(gens),
            "ok": int((gens["status"] == "ok").sum()),
            "failed": int((gens["status"] == "failed").sum()),
            "no_output": int((gens["status"] == "no_output").sum()),
            "cached": int(gens["cached"].sum()),
            "skipped_budget": 0,
        },
        spent={
            k: sum(m.get("spent", {}).get(k, 0) for m in manifests)
            for k in ("calls", "cost_usd", "tokens_in", "tokens_out")
        },
        endpoints=sorted({e for m in manifests for e in m.get("endpoints", [])}),
    )
    manifest.pop("reports", None)
    out.write_manifest(manifest)
    return out
