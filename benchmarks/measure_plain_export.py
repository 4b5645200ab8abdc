"""Accuracy evidence on a plain export of the sample district, and on the district as shipped.

Issue 22 measured 4.8 unsupported claims per approved answer on the sample district's items
stripped of their links. This script measures, with the public API only (so it runs unchanged
on an older checkout to give the "before" figures):

1. plain export: the sample district's items as a question, answer, category CSV plus its
   policy folder, imported with ``harness.importers.import_export`` (no links, fact lists,
   sensitive flags, people or directory); each approved answer scored as a draft: unsupported
   and superseded claims per answer, the share of answers with at least one, the share of items
   on which fact coverage is measured, personal data per answer; and drafts with one date,
   phone number or fee changed: the share flagged (at least one unsupported claim);
2. ``--shipped``: the shipped baselines plan (``plans/baselines.yaml``) on the sample district
   as it is (links, fact lists, directory), each candidate's mean of the accuracy and
   governance metrics, i.e. what the report shows and what moves.

    .venv/bin/python benchmarks/measure_plain_export.py [--all-tasks] [--shipped] [--out F]

Writes ``benchmarks/results/measure_plain_export.json`` (or ``--out``).
"""

from __future__ import annotations

import argparse
import csv
import json
import re
import shutil
import sys
import tempfile
from pathlib import Path

import pandas as pd

ROOT = Path.cwd() if (Path.cwd() / "harness").is_dir() else Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from harness.data.dataset import load_dataset  # noqa: E402
from harness.importers import import_export  # noqa: E402
from harness.scorers import get_scorer  # noqa: E402
from harness.scorers.accuracy import extract_claims  # noqa: E402
from harness.scorers.scoring import scoring_frame  # noqa: E402

SAMPLE = ROOT / "datasets" / "sample-district"


def plain_export(tmp: Path, all_tasks: bool) -> Path:
    rows = [json.loads(x) for x in (SAMPLE / "items.jsonl").read_text().splitlines()]
    src = tmp / "faq_export.csv"
    with src.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["question", "answer", "category", "task"])
        w.writerows(
            [r["input"], r["reference"], r["category"], r["task"]]
            for r in rows
            if all_tasks or r["task"] == "faq_reply"
        )
    shutil.copytree(SAMPLE / "sources", tmp / "policies")
    import_export(src, tmp / "ds", sources=tmp / "policies")
    return tmp / "ds"


def mutate(text: str, kind: str) -> str | None:
    """The first date (day +1), phone number (last digit +3) or fee (whole amount +2) changed."""
    for c in extract_claims(text):
        if c.kind != kind or (kind == "phone" and c.key == "911"):
            continue
        span, n = c.text, 1
        if kind == "date":
            day = c.key[1]
            new, n = re.subn(rf"(?<!\d){day}(?!\d)", str(day + 1 if day < 28 else day - 1), span)
        elif kind == "phone":
            m = list(re.finditer(r"\d", span))[-1]
            new = span[: m.start()] + str((int(m.group()) + 3) % 10) + span[m.end() :]
        else:
            m = re.search(r"\d+", span)
            if m is None:
                continue
            new = span[: m.start()] + str(int(m.group()) + 2) + span[m.end() :]
        at = text.find(span, c.start)
        if n and at >= 0:
            return text[:at] + new + text[at + len(span) :]
    return None


def score(ds, outputs: pd.Series, names: list[str]) -> pd.DataFrame:
    gens = pd.DataFrame(
        {
            "key": [f"k{i}" for i in range(len(outputs))],
            "item_id": outputs.index,
            "candidate": "x",
            "sample": 0,
            "task": ds.items.loc[outputs.index, "task"].to_numpy(),
            "output": outputs.to_numpy(),
            "status": "ok",
        }
    )
    frame = scoring_frame(gens, ds)
    return pd.concat([get_scorer(n)(frame, ds) for n in names], axis=1)


def plain_figures(all_tasks: bool) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as tmp:
        ds = load_dataset(plain_export(Path(tmp), all_tasks))
        refs = ds.items["reference"]
        out = score(ds, refs, ["claims", "required_facts", "personal_data"])
        unsup = out["unsupported_claims_count"]
        figures: dict[str, object] = {
            "items": len(refs),
            "unsupported_claims_per_approved_answer": round(float(unsup.mean()), 3),
            "superseded_claims_per_approved_answer": round(
                float(out["superseded_claims_count"].mean()), 3
            ),
            "share_of_answers_with_an_unsupported_claim": round(float((unsup > 0).mean()), 3),
            "share_of_items_with_fact_coverage": round(
                float(out["required_facts_coverage"].notna().mean()), 3
            ),
            "personal_data_per_approved_answer": round(float(out["personal_data_count"].mean()), 3),
        }
        for kind in ("date", "phone", "money"):
            drafts = refs.map(lambda t, k=kind: mutate(t, k)).dropna()
            got = score(ds, drafts, ["claims"])["unsupported_claims_count"]
            figures[f"changed_{kind}_flagged"] = f"{int((got > 0).sum())}/{len(got)}"
        return figures


def shipped_figures() -> dict[str, dict[str, float]]:
    from harness.run.runner import RunOptions, run_plan
    from harness.scorers.scoring import score_run
    from harness.store.runs import load_run

    metrics = [
        "unsupported_claims_count",
        "superseded_claims_count",
        "claim_support",
        "required_facts_coverage",
        "personal_data_count",
    ]
    with tempfile.TemporaryDirectory() as tmp:
        store = run_plan(
            ROOT / "plans" / "baselines.yaml",
            results_dir=Path(tmp),
            options=RunOptions(progress=False),
        )
        score_run(store)
        s = load_run(store.run_id, Path(tmp)).scores
        s = s[s["metric"].isin(metrics)]
        table = s.groupby(["candidate", "metric"])["value"].mean().unstack().round(3)
        return {c: {m: float(v) for m, v in row.items()} for c, row in table.iterrows()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--all-tasks", action="store_true", help="every item, not only faq_reply")
    ap.add_argument("--shipped", action="store_true", help="also the shipped baselines plan")
    ap.add_argument("--out", default=str(ROOT / "benchmarks/results/measure_plain_export.json"))
    args = ap.parse_args()
    result: dict[str, object] = {"plain_export": plain_figures(args.all_tasks)}
    if args.shipped:
        result["shipped_baselines_plan"] = shipped_figures()
    text = json.dumps(result, indent=2)
    print(text)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(text + "\n")


if __name__ == "__main__":
    main()
