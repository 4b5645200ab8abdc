"""Time every non-judge scorer over 10,000 generations built from the sample dataset.

Targets (issue 4): all non-judge scorers in under 30 s on this machine, and the edit family
within 2x a bare RapidFuzz loop over the same (draft, reference) pairs. Run:

    .venv/bin/python benchmarks/bench_scorers.py [--n 10000]

Generations: each sample-district item's reference, its staff first draft (the reference where
there is none), then seeded perturbations of the reference (a number changed, a sentence
dropped, an invented date, phone number or old fee appended) as repeated samples of a
"perturbed" candidate until n rows; nearly every draft is distinct, so per-text caches do not
flatter the figures. Each scorer is timed through ``score_generations`` (join + scorer + long
table), as ``harness score`` runs it; the edit family is also timed as the bare scorer call.
"""

from __future__ import annotations

import argparse
import random
import re
import sys
import time
from pathlib import Path

import pandas as pd
from rapidfuzz.distance import Levenshtein

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from harness.data.dataset import load_dataset  # noqa: E402
from harness.plan.spec import ScorerSpec  # noqa: E402
from harness.scorers import get_scorer, scorer_info, scorer_names  # noqa: E402
from harness.scorers.scoring import score_generations, scoring_frame  # noqa: E402

EXTRAS = [
    " Your pass will be ready on March 3.",
    " Call 555-0123 with questions.",
    " The fee was $5.",
    " See you Tuesday at 9:15 a.m.",
]


def perturb(text: str, rng: random.Random) -> str:
    """A plausible wrong draft: a number changed, a sentence dropped, a claim invented."""
    out = re.sub(r"\d+", lambda m: str(int(m.group(0)) + rng.randint(1, 3)), text, count=1)
    sents = re.split(r"(?<=[.!?])\s+", out)
    if len(sents) > 2:
        sents.pop(rng.randrange(len(sents)))
    return " ".join(sents) + rng.choice(EXTRAS)


def generations(n: int, seed: int = 7) -> tuple[pd.DataFrame, object]:
    ds = load_dataset(ROOT / "datasets" / "sample-district")
    items = ds.items
    rng = random.Random(seed)
    rows = []
    i = 0
    while len(rows) < n:
        item = items.iloc[i % len(items)]
        rnd = i // len(items)
        kind = ("reference", "staff")[rnd] if rnd < 2 else "perturbed"
        sample = max(0, rnd - 2)
        if kind == "reference":
            out = item["reference"]
        elif kind == "staff":
            sfd = item["staff_first_draft"]
            out = sfd if isinstance(sfd, str) else item["reference"]
        else:
            out = perturb(item["reference"], rng)
        rows.append(
            {
                "key": f"{item['id']}|{kind}|{sample}",
                "item_id": item["id"],
                "candidate": kind,
                "sample": sample,
                "task": item["task"],
                "category": item["category"],
                "output": out,
                "status": "ok",
            }
        )
        i += 1
    return pd.DataFrame(rows), ds


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=10_000)
    args = ap.parse_args()
    gens, ds = generations(args.n)
    names = [s for s in scorer_names() if scorer_info(s).family != "judge"]
    rows = []
    t_all = time.perf_counter()
    for name in names:
        t0 = time.perf_counter()
        scores = score_generations(gens, ds, [ScorerSpec(name=name)])
        rows.append((name, scorer_info(name).family, time.perf_counter() - t0, len(scores)))
    total = time.perf_counter() - t_all

    drafts, refs = gens["output"].tolist(), ds.items.loc[gens["item_id"], "reference"].tolist()
    t0 = time.perf_counter()
    for d, r in zip(drafts, refs, strict=True):  # the RapidFuzz calls the edit family makes
        dw, rw = d.split(), r.split()
        Levenshtein.normalized_similarity(d, r)
        Levenshtein.normalized_similarity(dw, rw)
        Levenshtein.editops(dw, rw)
    bare = time.perf_counter() - t0
    edit = sum(t for name, fam, t, _ in rows if fam == "edit")
    frame = scoring_frame(gens, ds)
    t0 = time.perf_counter()
    for name in names:
        if scorer_info(name).family == "edit":
            get_scorer(name)(frame, ds)
    edit_call = time.perf_counter() - t0

    print(f"{len(gens):,} generations, {len(names)} non-judge scorers\n")
    print(f"{'scorer':<26}{'family':<13}{'seconds':>9}{'score rows':>12}")
    for name, fam, t, k in rows:
        print(f"{name:<26}{fam:<13}{t:>9.2f}{k:>12,}")
    print(
        f"{'all non-judge scorers':<39}{total:>9.2f}   target < 30 s: {'PASS' if total < 30 else 'FAIL'}"
    )
    print(f"{'bare rapidfuzz loop (same pairs)':<39}{bare:>9.2f}")
    for label, t in (
        ("edit family (pipeline) / bare", edit),
        ("edit scorer call / bare", edit_call),
    ):
        ratio = t / bare if bare else float("inf")
        print(f"{label:<39}{ratio:>9.2f}x  target <= 2x: {'PASS' if ratio <= 2 else 'FAIL'}")


if __name__ == "__main__":
    main()
