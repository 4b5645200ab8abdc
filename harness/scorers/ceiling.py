"""The ceiling: what any drafter could get right from the district's approved material.

Not a scorer family (it scores the dataset, not drafts). For each item:

- ``facts``: the checkable facts of the approved answer (dates, times, amounts, phones, emails,
  URLs, named programs and places: :func:`harness.scorers.claims.extract_claims`, each once);
- ``fact_ceiling``: the share of those facts found (:func:`harness.scorers.accuracy.fact_found`)
  in the top ``k`` passages the knowledge base retrieves for the message, leave-one-out applied
  (what a retrieval-grounded candidate is given); NaN when the answer states no checkable fact;
- ``recall_at_k``: the share of the item's linked sources among the ``k`` documents the index
  ranks highest for the message; NaN where the dataset has no links.

The per-item table depends on the dataset's files, the items and ``k`` alone, and every report
render shows it: it is stored beside the knowledge index (``ceiling-<key>.parquet``, the key a
hash of the dataset's fingerprint, the item ids, ``k``, ``recall_k`` and this code), so the
next render of any run of the same data reads it instead of retrieving for every item again.

A low fact ceiling means the approved material does not hold what the FAQ answer states: a gap
for the district to fill (write or add the policy), not a failure of any AI.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import tempfile
from pathlib import Path

import pandas as pd

from harness.data.dataset import Dataset
from harness.knowledge import DEFAULT_K, knowledge_base, rank_documents, retrieve_rows
from harness.scorers.accuracy import fact_found, normalize_text
from harness.scorers.claims import extract_claims

LOW = 0.5  # a category whose fact ceiling is below this is named as a gap in the material
RECALL_K = 5


def answer_facts(reference: str, message: str = "", people: tuple[str, ...] = ()) -> list[str]:
    """The checkable facts of an approved answer, as written, each once; names that are the
    family's own (in the message) or a listed person's are not facts of the material."""
    out: list[str] = []
    seen: set[str] = set()
    private = message.lower() + " " + " ".join(people).lower()
    for c in extract_claims(reference):
        t = c.text.strip(" .,;:()")
        if c.kind == "name" and t.lower() in private:
            continue
        if len(t) >= 2 and t.lower() not in seen:
            seen.add(t.lower())
            out.append(t)
    return out


def ceiling(
    dataset: Dataset,
    items: pd.DataFrame | None = None,
    *,
    k: int = DEFAULT_K,
    recall_k: int = RECALL_K,
    cache_dir: str | Path | None = None,
) -> pd.DataFrame:
    """Per item: facts, facts_found, fact_ceiling, linked, linked_found, recall_at_k (numeric;
    indexed by item id, with its category). Read from ``cache_dir`` (default: the knowledge
    index's folder) when this dataset and selection were measured before."""
    ids = [str(i) for i in (items if items is not None else dataset.items).index]
    stored = _stored(dataset, ids, k, recall_k, cache_dir)
    if stored is not None and stored.is_file():
        try:
            frame = pd.read_parquet(stored)
            key, frame.attrs = frame.attrs.get("key"), {}
            if key == stored.stem and list(frame.index) == ids and list(frame.columns) == COLUMNS:
                return frame
        except (OSError, ValueError):
            pass  # unreadable: measured again and stored anew
    frame = _measure(dataset, items, k, recall_k, cache_dir)
    if stored is not None:
        _store(frame, stored)  # named by its key, and holding it: a copied file is not used
    return frame


COLUMNS = [
    "category",
    "facts",
    "facts_found",
    "fact_ceiling",
    "facts_in_material",
    "material_share",
    "linked",
    "linked_found",
    "recall_at_k",
]


def _stored(
    dataset: Dataset, ids: list[str], k: int, recall_k: int, cache_dir: str | Path | None
) -> Path | None:
    """Where the table of this dataset, selection and code is stored; None for a dataset
    without a fingerprint (nothing to key it by)."""
    if not dataset.fingerprint:
        return None
    from harness.knowledge.index import default_cache_dir

    # every module the table can depend on: the scorers (facts, patterns, support), the
    # knowledge base (its FORMAT included) and the data loader; a change computes it again
    code = hashlib.sha256()
    pkg = Path(__file__).resolve().parents[1]
    for f in sorted(p for d in ("scorers", "knowledge", "data") for p in (pkg / d).glob("*.py")):
        code.update(f.name.encode() + f.read_bytes())
    key = json.dumps([dataset.fingerprint, ids, k, recall_k, code.hexdigest()])
    folder = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    return folder / f"ceiling-{hashlib.sha256(key.encode()).hexdigest()}.parquet"


def _store(frame: pd.DataFrame, path: Path) -> None:
    """Write atomically (a reader never sees half a file); a folder that cannot be written
    only costs the next render the measurement."""
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
        os.close(fd)
        frame.attrs["key"] = path.stem
        frame.to_parquet(tmp)
        frame.attrs = {}
        os.replace(tmp, path)
    except OSError:
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)


def _measure(
    dataset: Dataset,
    items: pd.DataFrame | None,
    k: int,
    recall_k: int,
    cache_dir: str | Path | None,
) -> pd.DataFrame:
    kb = knowledge_base(dataset, cache_dir)
    people = tuple(kb.people)
    current = dataset.sources[dataset.sources["status"] == "current"]["text"].astype(str)
    material = " ".join(normalize_text(t) for t in current)
    rows = []
    for iid in (items if items is not None else dataset.items).index:
        item = dataset.item(str(iid))
        facts = answer_facts(str(item["reference"]), str(item["input"]), people)
        text = normalize_text("\n".join(str(r["text"]) for r in retrieve_rows(kb, item, k)))
        found = sum(fact_found(f, text) for f in facts)
        anywhere = sum(f" {normalize_text(f)} " in f" {material} " for f in facts)
        linked = [str(s) for s in item.get("source_ids") or []]
        got = len(set(linked) & set(rank_documents(kb, item, recall_k))) if linked else 0
        rows.append(
            {
                "item_id": str(iid),
                "category": item["category"],
                "facts": len(facts),
                "facts_found": found,
                "fact_ceiling": found / len(facts) if facts else math.nan,
                "facts_in_material": anywhere,
                "material_share": anywhere / len(facts) if facts else math.nan,
                "linked": len(linked),
                "linked_found": got,
                "recall_at_k": got / len(linked) if linked else math.nan,
            }
        )
    return pd.DataFrame(rows).set_index("item_id")


def ceiling_by_category(per_item: pd.DataFrame) -> pd.DataFrame:
    """Per category (and ``all``): items, facts, fact_ceiling (facts found in the top k / facts
    stated), material_share (facts found anywhere in the current documents / facts stated) and
    recall_at_k (mean over items with links; NaN without)."""

    def one(g: pd.DataFrame) -> dict[str, float]:
        facts = int(g["facts"].sum())
        return {
            "items": float(len(g)),
            "facts": float(facts),
            "fact_ceiling": g["facts_found"].sum() / facts if facts else math.nan,
            "material_share": g["facts_in_material"].sum() / facts if facts else math.nan,
            "recall_at_k": float(g["recall_at_k"].mean()),
        }

    out = {cat: one(g) for cat, g in per_item.groupby("category", sort=True)}
    out["all"] = one(per_item)
    frame = pd.DataFrame.from_dict(out, orient="index")
    frame.index.name = "category"
    return frame


def ceiling_note(by_category: pd.DataFrame, low: float = LOW) -> str:
    """One plain paragraph: the overall ceiling; the categories whose approved material lacks
    what their FAQ answers state (a gap for the district); those where the material holds it
    but retrieval does not bring it to the top (a retrieval limit)."""
    overall = float(by_category["fact_ceiling"].astype(float).to_dict()["all"])
    if math.isnan(overall):
        return "The approved answers state no checkable fact, so no fact ceiling is measured."
    text = (
        f"The {DEFAULT_K} passages retrieved for each question hold {overall:.0%} of the facts "
        "the district's approved answers state (dates, times, amounts, contacts, named "
        "programs and places): a drafter given that material cannot state the rest from it."
    )
    cats = by_category.drop(index="all")
    gaps = cats[cats["material_share"] < low]
    if len(gaps):
        names = ", ".join(f"{c} ({v:.0%})" for c, v in gaps["material_share"].items())
        text += (
            f" The district's current documents hold less than {low:.0%} of the facts its FAQ "
            f"answers state in {names}: the approved material lacks what the answers say, a "
            "gap for the district to fill (add or update the policy), not an AI failure."
        )
    missed = cats[(cats["material_share"] >= low) & (cats["fact_ceiling"] < low)]
    if len(missed):
        names = ", ".join(str(c) for c in missed.index)
        text += (
            f" In {names} the documents hold the facts but the retrieved passages miss most of "
            "them: a limit of retrieval (more passages, or linked sources), not of the material."
        )
    return text
