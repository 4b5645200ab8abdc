"""What a staff answer cites, shown beside it on the review page.

A staff answer (``staff_question``) cites the passages it rests on by their knowledge-base ids
(``<document>#<10 hex>``) or a whole linked source in square brackets
(:func:`harness.scorers.citations.citations`). The reviewer checks the answer against exactly
those passages, so each draft's page shows them: title, id, effective date, status and text. An
id the knowledge base does not hold is shown as not found. The hidden control (the approved
answer) cites the passages holding its quoted sentences, which the dataset records instead of
writing them into its text; the page shows those, so the control looks like any other draft.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from harness.data.dataset import Dataset
from harness.review import db
from harness.review.queue import CONTROL

TASK = "staff_question"


def _shown(pid: str, kb: Any, dataset: Dataset) -> dict[str, Any]:
    """One cited id as the page shows it (``found`` False: no such passage or source)."""
    row = kb.rows.get(pid) if "#" in pid else None
    if row is not None:
        return {
            "id": pid,
            "title": " > ".join(
                t
                for t in (str(row.get("title") or row["doc_id"]), str(row.get("heading") or ""))
                if t
            ),
            "effective": str(row.get("effective") or ""),
            "status": str(row.get("status") or "current"),
            "text": str(row["text"]),
            "found": True,
        }
    if "#" not in pid and pid in dataset.sources.index:
        src = dataset.sources.loc[pid]
        return {
            "id": pid,
            "title": str(src.get("title") or pid),
            "effective": str(src.get("effective") or ""),
            "status": str(src.get("status") or "current"),
            "text": str(src.get("text", "")),
            "found": True,
        }
    return {"id": pid, "title": "", "effective": "", "status": "", "text": "", "found": False}


def cited_passages(
    db_file: Path, dataset: Dataset, cache_dir: str | Path | None = None
) -> dict[str, list[dict[str, Any]]]:
    """Per draft of a staff question in the queue: the passages its answer cites, in order.

    Args:
        db_file: the queue (``review.sqlite``).
        dataset: the run's dataset.
        cache_dir: where the run keeps its knowledge base (``<results>/.cache/knowledge``).
    """
    items = dataset.items
    if "task" not in items.columns or not items["task"].eq(TASK).any():
        return {}
    with db.connect(db_file) as c:
        rows = c.execute("SELECT draft_id, item_id, candidate, text FROM drafts").fetchall()
    mine = [r for r in rows if r[1] in items.index and items.at[r[1], "task"] == TASK]
    if not mine:
        return {}
    from harness.knowledge import knowledge_base
    from harness.scorers.citations import citations, supporting_passages

    kb = knowledge_base(dataset, cache_dir)
    out: dict[str, list[dict[str, Any]]] = {}
    for draft_id, item_id, candidate, text in mine:
        item = dataset.item(item_id)
        if candidate == CONTROL:
            ids = supporting_passages(kb, item.get("cited_passages"))
        else:
            linked = item.get("source_ids")
            ids = citations(text, [str(s) for s in (linked if linked is not None else [])])
        out[str(draft_id)] = [_shown(i, kb, dataset) for i in ids]
    return out
