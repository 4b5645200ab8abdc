"""The knowledge base: everything the district approved, indexed once, searched with
leave-one-out.

- :func:`build` / :func:`knowledge_base`: every approved answer (with its date, category and
  task) and every source document split into passages at headings and paragraphs
  (:mod:`harness.knowledge.passages`, which also states the passage-id rule), each with its
  document, title, effective date, status and language, in a SQLite FTS5 index ranked by
  FTS5's BM25, precomputed per passage and term at build (:mod:`harness.knowledge.bm25`: a
  search sums its terms' weights); Spanish folded and stemmed before indexing
  (:mod:`harness.knowledge.text`). Cached per
  dataset fingerprint under ``results/.cache/knowledge/``, checked before use, rebuilt when
  a file changes or the cache is damaged.
- :meth:`KnowledgeBase.search` / :func:`retrieve`: the best passages for a text; with an
  :class:`Exclusion` (:func:`exclude_for`) none of what the item must not see.
- :func:`given_passages`: what a generation's writer was given, read back for the scorers.
- the ceiling of what any drafter could get right is measured from it in
  :mod:`harness.scorers.ceiling` (scorers may import this package, never the reverse).
- :func:`detect_language`, :func:`propose_links`: what ``harness import`` fills in.
"""

from harness.knowledge.context import (
    CONTEXTS,
    DEFAULT_K,
    DOCUMENTS_ONLY,
    as_prompt,
    given_passages,
    ids_of,
    knowledge_base,
    rank_documents,
    retrieve,
    retrieve_rows,
    use_cache_dir,
)
from harness.knowledge.exclude import SIMILARITY, Exclusion, exclude_for, exclusion
from harness.knowledge.index import KnowledgeBase, KnowledgeError, build
from harness.knowledge.links import propose_links
from harness.knowledge.passages import (
    MAX_WORDS,
    depersonalize,
    normalise,
    passage_id,
    split_document,
)
from harness.knowledge.text import analyze, detect_language

__all__ = [
    "CONTEXTS",
    "DEFAULT_K",
    "DOCUMENTS_ONLY",
    "MAX_WORDS",
    "SIMILARITY",
    "Exclusion",
    "KnowledgeBase",
    "KnowledgeError",
    "analyze",
    "as_prompt",
    "build",
    "depersonalize",
    "detect_language",
    "exclude_for",
    "exclusion",
    "given_passages",
    "ids_of",
    "knowledge_base",
    "normalise",
    "passage_id",
    "propose_links",
    "rank_documents",
    "retrieve",
    "retrieve_rows",
    "split_document",
    "use_cache_dir",
]
