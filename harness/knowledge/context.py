"""What a candidate is given: the retrieved (or linked) passages, and reading them back.

Every generation records ``context`` (``retrieved`` or ``linked``; empty for candidates that are
given nothing, such as the canned reply or a vendor's drafts) and ``passage_ids`` (a JSON list:
passage ids in retrieved mode, source ids in linked mode). :func:`given_passages` turns a
record back into the passages, so a scorer can check a draft against exactly what its writer
saw.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from harness.knowledge.exclude import exclude_for
from harness.knowledge.index import COLUMNS, KnowledgeBase, build, default_cache_dir
from harness.knowledge.text import STEMMED

if TYPE_CHECKING:
    from harness.data.dataset import Dataset

DEFAULT_K = 3  # passages a prompt gets: at most 3 x 120 words (harness.knowledge.passages)
CONTEXTS = ("retrieved", "linked")
# Tasks answered from policy alone: a staff answer cites the passage it relies on
# (harness/scorers/citations.py), and another staff question's approved answer is no citable
# source (some of them decline: "The approved material does not answer this").
DOCUMENTS_ONLY = frozenset({"staff_question"})

_OPEN: dict[tuple[str, str], KnowledgeBase] = {}
_PREFERRED: dict[str, str] = {}  # dataset fingerprint -> the folder a run named
_LOCK = threading.Lock()


def use_cache_dir(dataset: Dataset, cache_dir: str | Path) -> None:
    """Where this process keeps ``dataset``'s knowledge base when a caller names no folder.

    A run's ``--results`` folder holds its index (``<results>/.cache/knowledge``); the scorers and
    reports that read a stored run call :func:`knowledge_base` without a folder, and would
    otherwise build a second index under the default results folder. Nothing is built here."""
    with _LOCK:
        _PREFERRED[_fingerprint(dataset)] = str(Path(cache_dir).resolve())


def knowledge_base(dataset: Dataset, cache_dir: str | Path | None = None) -> KnowledgeBase:
    """The dataset's knowledge base, built or opened once per process and cache folder.

    No folder: the one :func:`use_cache_dir` set for this dataset, else the default
    (``<results>/.cache/knowledge``)."""
    fp = _fingerprint(dataset)
    with _LOCK:
        if cache_dir is None:
            folder = _PREFERRED.get(fp) or str(default_cache_dir().resolve())
        else:
            folder = str(Path(cache_dir).resolve())
        key = (fp, folder)
        if key not in _OPEN:
            _OPEN[key] = build(dataset, folder)
        return _OPEN[key]


def _fingerprint(dataset: Dataset) -> str:
    return dataset.fingerprint or str(dataset.path)


def retrieve(kb: KnowledgeBase, item: dict[str, Any], k: int = DEFAULT_K) -> pd.DataFrame:
    """The top ``k`` current passages for an item's message, with leave-one-out applied
    (:mod:`harness.knowledge.exclude`): approved answers of the item's task and documents;
    documents only for the tasks of :data:`DOCUMENTS_ONLY`. A frame with the columns of
    :meth:`KnowledgeBase.search` (:func:`retrieve_rows` gives the same rows as dicts)."""
    return pd.DataFrame(retrieve_rows(kb, item, k), columns=[*COLUMNS, "score", "rank"])


def retrieve_rows(
    kb: KnowledgeBase, item: dict[str, Any], k: int = DEFAULT_K
) -> list[dict[str, Any]]:
    """:func:`retrieve` as a list of row dicts, best first (what a prompt, the retrieval
    baseline and the scorers read)."""
    lang = item.get("language")
    task = item.get("task")
    return kb.search_rows(
        str(item.get("input") or ""),
        k,
        exclude=exclude_for(kb, item),
        kinds=("document",) if task in DOCUMENTS_ONLY else ("answer", "document"),
        task=task,
        language=lang if lang in STEMMED else None,
    )


def as_prompt(found: pd.DataFrame | list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Passages (a :func:`retrieve` frame or :func:`retrieve_rows` list) as the dicts a prompt
    template iterates: id, title, text, status, kind, effective."""
    cols = ["passage_id", "title", "text", "status", "kind", "effective", "doc_id"]
    rows = found[cols].to_dict(orient="records") if isinstance(found, pd.DataFrame) else found
    return [{**{c: r[c] for c in cols}, "id": r["passage_id"]} for r in rows]


def ids_of(record: dict[str, Any] | pd.Series) -> list[str]:
    """The ``passage_ids`` of a generation record as a list (stored as a JSON list)."""
    raw = record.get("passage_ids")
    if raw is None or (isinstance(raw, float) and raw != raw):
        return []
    if isinstance(raw, str):
        try:
            got = json.loads(raw)
        except json.JSONDecodeError:
            return []
        return [str(x) for x in got] if isinstance(got, list) else []
    return [str(x) for x in raw]


def given_passages(
    dataset: Dataset,
    record: dict[str, Any] | pd.Series,
    *,
    k: int = DEFAULT_K,
    cache_dir: str | Path | None = None,
) -> list[dict[str, Any]]:
    """The passages a generation's writer was given, each a dict with ``id``, ``doc_id``,
    ``title``, ``text``, ``status`` (current / superseded) and ``kind`` (answer / document).

    - ``context: retrieved``: the recorded passage ids, read back from the knowledge base;
    - ``context: linked``: the recorded source ids, as whole documents;
    - nothing recorded (a vendor's drafts, the approved answer's row, a canned reply, or a run
      from before the knowledge base): the top ``k`` the index finds for the item, with
      leave-one-out, i.e. what a retrieval tool would have had.

    Args:
        dataset: the run's dataset.
        record: a generation (a row of ``generations.parquet`` or a journal record) with
            ``item_id`` and optionally ``context`` and ``passage_ids``.
    """
    mode = record.get("context")
    ids = ids_of(record)
    if mode == "linked":
        return [
            {
                "id": s["id"],
                "doc_id": s["id"],
                "title": s.get("title"),
                "text": s.get("text"),
                "status": s.get("status", "current"),
                "kind": "document",
            }
            for s in dataset.source_texts(ids)
        ]
    kb = knowledge_base(dataset, cache_dir)
    if mode != "retrieved":
        item_id = str(record.get("item_id"))
        if item_id not in dataset.items.index:
            return []
        ids = _retrieved_ids(kb, dataset, item_id, k)
    # read from the index's rows, not a frame: the scorers ask for every generation
    return [
        {"id": pid, **{c: kb.rows[pid][c] for c in ("doc_id", "title", "text", "status", "kind")}}
        for pid in ids
        if pid in kb.rows
    ]


def _retrieved_ids(kb: KnowledgeBase, dataset: Dataset, item_id: str, k: int) -> list[str]:
    """The ids :func:`retrieve` gives an item, searched once per index, item and ``k``: every
    generation of the item with nothing recorded (the approved answer, a canned reply, staff
    and vendor drafts) is checked against the same passages, by the claims scorer and again
    by the report's claims table."""
    key = ("given", item_id, k)
    with _LOCK:
        hit = kb.memo.get(key)
    if hit is None:
        hit = [str(r["passage_id"]) for r in retrieve_rows(kb, dataset.item(item_id), k)]
        with _LOCK:
            kb.memo[key] = hit
    return hit


def rank_documents(kb: KnowledgeBase, item: dict[str, Any], k: int = 5) -> list[str]:
    """The ``k`` source documents the index ranks highest for an item's message (each by its
    best current passage, leave-one-out applied): what recall@k of linked sources reads."""
    lang = item.get("language")
    hits = kb.search_rows(
        str(item.get("input") or ""),
        12 * k,
        exclude=exclude_for(kb, item),
        kinds=("document",),
        language=lang if lang in STEMMED else None,
    )
    return list(dict.fromkeys(str(h["doc_id"]) for h in hits))[:k]
