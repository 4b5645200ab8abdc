"""Source links proposed from the knowledge base, for a person to accept (``harness import``).

For each approved answer, the source documents whose passages best match the answer and its
question (BM25 over current documents only): the best document, and up to ``n - 1`` more whose
best passage scores at least ``share`` of the best one's.
"""

from __future__ import annotations

from typing import Any

from harness.knowledge.index import KnowledgeBase

MAX_LINKS = 2
SHARE = 0.6


def propose_links(
    kb: KnowledgeBase, item: dict[str, Any], n: int = MAX_LINKS, share: float = SHARE
) -> list[str]:
    """Source ids to propose as ``source_ids`` for an item (best first; [] when none match)."""
    query = f"{item.get('input') or ''}\n{item.get('reference') or ''}"
    hits = kb.search(query, 8 * n, kinds=("document",))
    if hits.empty:
        return []
    best = hits.groupby("doc_id", sort=False)["score"].max().sort_values(ascending=False)
    top = float(best.iloc[0])
    return [str(d) for d, s in best.items() if s >= share * top][:n]
