"""The knowledge base: every approved answer and source passage in one SQLite FTS5 index.

Built once per dataset fingerprint (every file of the dataset hashed, ``Dataset.fingerprint``)
and kept under the results folder's cache (``results/.cache/knowledge/``, beside the response
cache; never inside the dataset, which may be read-only). A changed file changes the
fingerprint, so the next build makes a new index. A cached index is never trusted: it is
opened only if SQLite's quick check, FTS5's own integrity check, the format version, the
fingerprint and a SHA-256 of every stored passage all match; anything else is rebuilt (with a
warning saying why). Ranking is FTS5's BM25 over the analysed words of
:func:`harness.knowledge.text.analyze` (title and heading included), as ``bm25(fts, 0,
TITLE_WEIGHT, 1, 0)`` gives it, computed from weights precomputed at build
(:mod:`harness.knowledge.bm25`, stored beside FTS5 in the same file with a SHA-256 checked on
open): a search adds up its terms' weights with numpy instead of a BM25 pass of FTS5 over the
thousands of passages a question's words match.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import tempfile
import warnings
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
import pandas as pd

from harness.knowledge import bm25
from harness.knowledge.passages import depersonalize, passage_id, split_document
from harness.knowledge.private import public_material, withhold
from harness.knowledge.text import STEMMED, analyze, detect_language

if TYPE_CHECKING:
    from harness.data.dataset import Dataset


class Excludes(Protocol):
    """What a search leaves out (:class:`harness.knowledge.exclude.Exclusion`)."""

    @property
    def ids(self) -> frozenset[str]: ...

    def excludes(self, passage_id: str, row: dict[str, Any]) -> bool: ...


TITLE_WEIGHT = 1.0  # BM25 weight of a passage's title and heading against its text (1)
MAX_TERMS = 32  # query terms matched at most (the rarest)
MIN_CUT = 2_000  # passages from which common terms are dropped (see _telling)
# The cut was made for FTS5's speed; with the precomputed weights it saves nothing (p95 0.9 ms
# either way on bench_retrieval's 18,589 passages) but it is kept: it is the ranking the
# recall figures were measured with (dropping it changes the top 3 of 28% of that index's
# queries; the sample district is below MIN_CUT and unaffected)
COMMON = 0.25  # a term in more than this share of passages is dropped from a query
FETCH = 32  # candidates ranked beyond 8 k (and the excluded ids) before leave-one-out filters
# them; when the excluded near-copies of an answer fill them all, 8 times more are ranked (the
# scores are not computed again)
WEIGHTS = {"pid": 0.0, "title": TITLE_WEIGHT, "body": 1.0, "tags": 0.0}  # bm25()'s arguments
WITHHELD = ("phone", "email", "student_id", "name")  # kinds of withheld details, counted
FORMAT = 1  # bump when passages, ids or analysis change: old cache files are then ignored
COLUMNS = [
    "passage_id",
    "kind",  # "answer" (an approved answer) or "document" (a source passage)
    "doc_id",  # the item id of an answer, the source id of a document
    "title",
    "heading",
    "text",
    "status",  # current | superseded
    "effective",  # YYYY-MM-DD: the answer's date, the document's effective date (or None)
    "category",
    "language",
    "task",  # an answer's task (faq_reply, ...); None for documents
    "group",  # an answer's paraphrase group
]


class KnowledgeError(Exception):
    """The knowledge base cannot be built (no approved material at all)."""


@dataclass
class KnowledgeBase:
    """An opened index and its passages (``passages`` frame indexed by ``passage_id``)."""

    frame: pd.DataFrame
    db: sqlite3.Connection
    scoring: bm25.Bm25  # the BM25 weights of ``db``'s FTS5 table, row i = the i-th passage
    fingerprint: str
    path: Path | None
    rebuilt: bool = False
    warnings: list[str] = field(default_factory=list)
    people: list[str] = field(default_factory=list)  # people.csv names (leave-one-out)
    rows: dict[str, dict[str, Any]] = field(default_factory=dict)  # passage id -> its row
    doc_freq: dict[str, int] = field(default_factory=dict)  # term -> passages holding it
    withheld: dict[str, int] = field(default_factory=dict)  # details kept out of answers
    searches: int = 0  # BM25 scorings made (one per search: every passage scored at once)

    def __post_init__(self) -> None:
        self.withheld = dict(self.frame.attrs.get("withheld") or {})
        flat = self.frame.reset_index()
        records = flat.to_dict(orient="records")
        self.rows = {r["passage_id"]: r for r in records}
        self.order: list[str] = [r["passage_id"] for r in records]  # row i of the scoring
        if self.scoring.n != len(self.order):
            raise ValueError("the BM25 weights and the passages disagree")
        self.kind = flat["kind"].to_numpy(dtype=object)
        self.current = (flat["status"] == "current").to_numpy()
        self.task = flat["task"].to_numpy(dtype=object)
        self.masks: dict[tuple[Any, ...], np.ndarray] = {}  # see _allowed
        self.memo: dict[tuple[Any, ...], list[str]] = {}  # see harness.knowledge.context
        sc = self.scoring
        self.doc_freq = {t: int(c) for t, c in zip(sc.terms, sc.body_df.tolist(), strict=True) if c}
        self.answers: dict[str, str] = {}  # item id -> its approved answer as indexed
        self.groups: dict[str, list[str]] = {}  # paraphrase group -> item ids
        for r in self.rows.values():
            if r["kind"] == "answer":
                self.answers[r["doc_id"]] = r["text"]
                if isinstance(r["group"], str) and r["group"]:
                    self.groups.setdefault(r["group"], []).append(r["doc_id"])

    def _telling(self, terms: set[str]) -> set[str]:
        """The query terms worth matching: the rarest ``MAX_TERMS``, and in an index of at least
        ``MIN_CUT`` passages without terms found in more than ``COMMON`` of them (when rarer
        ones remain)."""
        df = self.doc_freq
        n = max(len(self.rows), 1)
        known = sorted((df[t], t) for t in terms if t in df)
        if n < MIN_CUT:  # a small index answers any query at once: keep every term
            return {t for _, t in known}
        rare = [t for c, t in known if c <= COMMON * n] or [t for _, t in known[:3]]
        return set(rare[:MAX_TERMS])

    def query_terms(self, query: str, language: str | None = None) -> list[str]:
        """The index terms a search for ``query`` matches, sorted (the order FTS5 adds them
        up): its analysed words in its language (default: detected) and in English, the
        telling ones (:meth:`_telling`)."""
        lang = language or detect_language(query)
        terms = set(analyze(query, lang))
        if lang != "en":  # names, programs and numbers are shared across languages
            terms |= set(analyze(query, "en"))
        return sorted(self._telling(terms))

    def passages(self, ids: Iterable[str] | None = None) -> pd.DataFrame:
        """The passages with these ids, in the order given (all of them without ids)."""
        if ids is None:
            return self.frame.reset_index()
        wanted = [i for i in ids if i in self.frame.index]
        return self.frame.loc[wanted].reset_index()

    def search(
        self,
        query: str,
        k: int = 3,
        *,
        exclude: Excludes | None = None,
        kinds: tuple[str, ...] = ("answer", "document"),
        task: str | None = None,
        current_only: bool = True,
        language: str | None = None,
    ) -> pd.DataFrame:
        """The ``k`` passages that best match ``query`` (BM25, greater ``score`` = better).

        Args:
            query: the text to match (a family's message, an approved answer).
            k: how many passages at most.
            exclude: leave-one-out for an item (:func:`harness.knowledge.exclude_for`): no
                passage it excludes is ever returned, however well it matches.
            kinds: ``answer`` and/or ``document``.
            task: answers of this task only (documents are not filtered).
            current_only: leave superseded documents out.
            language: the query's language (default: detected).

        Returns:
            A frame with the columns of :data:`COLUMNS` plus ``score`` and ``rank`` (1 = best);
            empty when nothing matches.
        """
        found = self.search_rows(
            query,
            k,
            exclude=exclude,
            kinds=kinds,
            task=task,
            current_only=current_only,
            language=language,
        )
        if not found:
            return _empty()
        return pd.DataFrame(found, columns=[*COLUMNS, "score", "rank"])

    def search_rows(
        self,
        query: str,
        k: int = 3,
        *,
        exclude: Excludes | None = None,
        kinds: tuple[str, ...] = ("answer", "document"),
        task: str | None = None,
        current_only: bool = True,
        language: str | None = None,
    ) -> list[dict[str, Any]]:
        """:meth:`search` as a list of row dicts (same keys, best first): what the runner and
        the scorers read, without building a DataFrame for three rows (which cost more CPU
        than the rest of the search's Python side together)."""
        terms = self.query_terms(query, language)
        if not terms or k <= 0:
            return []
        self.searches += 1
        scores = self.scoring.scores(terms)
        scores[~self._allowed(kinds, task, current_only)] = 0.0
        first = FETCH + 8 * k + (len(exclude.ids) if exclude is not None else 0)
        keep: list[tuple[str, float]] = []
        for i in bm25.ranked(scores, first):
            pid = self.order[i]
            if exclude is not None and exclude.excludes(pid, self.rows[pid]):
                continue
            keep.append((pid, float(scores[i])))
            if len(keep) == k:
                break
        return [{**self.rows[p], "score": sc, "rank": i} for i, (p, sc) in enumerate(keep, start=1)]

    def _allowed(self, kinds: tuple[str, ...], task: str | None, current_only: bool) -> np.ndarray:
        """The passages a search may return: of these kinds, current (when asked), and answers
        of this task (when one is given); kept per combination."""
        key = (tuple(sorted(set(kinds))), task, current_only)
        mask = self.masks.get(key)
        if mask is None:
            mask = np.isin(self.kind, list(key[0]))
            if current_only:
                mask &= self.current
            if task is not None:
                mask &= (self.kind != "answer") | (self.task == task)
            self.masks[key] = mask
        return mask


def _empty() -> pd.DataFrame:
    return pd.DataFrame(columns=[*COLUMNS, "score", "rank"])


@lru_cache(maxsize=1)
def code_version() -> str:
    """A hash of this package's source: an index built by other splitting or analysis code is
    never reused (no FORMAT bump to forget)."""
    h = hashlib.sha256(str(FORMAT).encode())
    for f in sorted(Path(__file__).parent.glob("*.py")):
        h.update(f.read_bytes())
    return h.hexdigest()[:12]


def default_cache_dir() -> Path:
    """``<results>/.cache/knowledge``: the results folder the runs and response cache use."""
    from harness.store.runs import default_results_dir

    return default_results_dir() / ".cache" / "knowledge"


def passages_frame(dataset: Dataset) -> tuple[pd.DataFrame, list[str]]:
    """Every approved answer (another family's details withheld: :mod:`harness.knowledge.private`)
    and source passage of a dataset, and the build's warnings."""
    notes: list[str] = []
    people = dataset.people["name"].dropna().tolist() if dataset.people is not None else []
    rows: list[dict[str, Any]] = []
    items = dataset.items
    directory = dataset.directory["value"].tolist() if dataset.directory is not None else []
    public = public_material(
        dataset.sources["text"].tolist(),
        directory,
        zip(items["reference"].astype(str), items["input"].astype(str), strict=True),
    )
    for iid, it in items.iterrows():
        text = withhold(depersonalize(str(it["reference"]), people), str(it["input"]), public)
        if not text.strip():
            continue
        lang = it.get("language")
        lang = lang if isinstance(lang, str) and lang else detect_language(text)
        if lang not in STEMMED:  # the item's language is the message's: read the answer's
            lang = detect_language(text)
        date = it.get("date")
        rows.append(
            {
                "passage_id": passage_id(str(iid), text),
                "kind": "answer",
                "doc_id": str(iid),
                "title": f"Approved answer: {_short(str(it['input']))}",
                "heading": "",
                "text": text,
                "status": "current",
                "effective": date if isinstance(date, str) and date else None,
                "category": it.get("category"),
                "language": lang,
                "task": it.get("task"),
                "group": it.get("paraphrase_group")
                if isinstance(it.get("paraphrase_group"), str)
                else None,
            }
        )
    for sid, src in dataset.sources.iterrows():
        parts = split_document(str(sid), str(src["text"]))
        doc_lang = detect_language(str(src["text"]))
        if not parts:
            notes.append(
                f"sources/{src['file']}: yields no text to index; "
                "check the file (a scanned page? only headings?)"
            )
        for p in parts:
            title = str(src["title"]) + (f" - {p.heading}" if p.heading else "")
            eff = src.get("effective")
            rows.append(
                {
                    "passage_id": p.id,
                    "kind": "document",
                    "doc_id": str(sid),
                    "title": title,
                    "heading": p.heading,
                    "text": p.text,
                    "status": str(src["status"]),
                    "effective": str(eff)[:10] if isinstance(eff, str) and eff else None,
                    "category": src.get("category")
                    if isinstance(src.get("category"), str)
                    else None,
                    "language": _passage_language(p.text, doc_lang),
                    "task": None,
                    "group": None,
                }
            )
    if dataset.sources.empty:
        notes.append(
            f"{dataset.path}: no source documents (sources/ is empty): retrieval can only "
            "return approved answers; add the district's policies with harness import-sources"
        )
    frame = pd.DataFrame(rows, columns=COLUMNS).drop_duplicates("passage_id")
    other = frame[~frame["language"].isin(list(STEMMED))]
    if len(other):
        langs = ", ".join(sorted(set(other["language"])))
        notes.append(
            f"{len(other)} passages in another language ({langs}) are indexed without "
            "stemming: only exact words match them"
        )
    frame = frame.set_index("passage_id")
    frame.attrs["withheld"] = {k: int(public.withheld[k]) for k in WITHHELD}
    return frame, notes


def _passage_language(text: str, doc_lang: str) -> str:
    """A passage's own language when its words tell (a Spanish section of an English policy),
    else its document's (a table of fees has no stop words)."""
    own = detect_language(text)
    return own if own != "und" else doc_lang


def _short(text: str, n: int = 80) -> str:
    one = " ".join(text.split())
    return one if len(one) <= n else one[: n - 1] + "…"


def _digest(frame: pd.DataFrame) -> str:
    payload = frame.reset_index()[COLUMNS].to_json(orient="values", force_ascii=False)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def _write(
    path: Path, frame: pd.DataFrame, fingerprint: str
) -> tuple[sqlite3.Connection, bm25.Bm25]:
    """Build the index in ``path`` (a new file) and return it open, with its BM25 weights."""
    db = sqlite3.connect(str(path), check_same_thread=False)
    db.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
    db.execute("CREATE TABLE passages (passage_id TEXT PRIMARY KEY, row TEXT NOT NULL)")
    db.execute("CREATE TABLE bm25 (name TEXT PRIMARY KEY, value BLOB NOT NULL)")
    db.execute(
        "CREATE VIRTUAL TABLE fts USING fts5(pid UNINDEXED, title, body, tags, "
        "tokenize='unicode61')"
    )
    flat = frame.reset_index()
    bodies = []
    for r in flat.itertuples(index=False):
        lang = r.language if r.language in STEMMED else None
        title = " ".join(analyze(f"{r.title}\n{r.heading}", lang))
        body = " ".join(analyze(str(r.text), lang))
        bodies.append((r.passage_id, title, body, f"{r.kind} {r.status}"))
    db.executemany("INSERT INTO fts (pid, title, body, tags) VALUES (?, ?, ?, ?)", bodies)
    db.executemany(
        "INSERT INTO passages VALUES (?, ?)",
        [
            (r["passage_id"], json.dumps(r, ensure_ascii=False))
            for r in flat[COLUMNS]
            .astype(object)
            .where(flat[COLUMNS].notna(), None)
            .to_dict(orient="records")
        ],
    )
    scoring = bm25.from_fts(db, "fts", WEIGHTS)  # rowid i + 1 is the i-th passage of flat
    blobs = scoring.blobs()
    db.executemany("INSERT INTO bm25 VALUES (?, ?)", list(blobs.items()))
    meta = {
        "format": code_version(),
        "fingerprint": fingerprint,
        "digest": _digest(frame),
        "bm25": bm25.digest(blobs),
        "withheld": json.dumps(frame.attrs.get("withheld") or {}),
    }
    db.executemany("INSERT INTO meta VALUES (?, ?)", list(meta.items()))
    db.commit()
    return db, scoring


def _open(path: Path, fingerprint: str) -> tuple[sqlite3.Connection, pd.DataFrame, bm25.Bm25]:
    """Open a cached index, checking everything; raises ValueError saying why it is not fit."""
    db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
    try:
        if db.execute("PRAGMA quick_check").fetchone()[0] != "ok":
            raise ValueError("SQLite's quick check failed")
        meta = dict(db.execute("SELECT key, value FROM meta").fetchall())
        if meta.get("format") != code_version() or meta.get("fingerprint") != fingerprint:
            raise ValueError("it was built for another dataset or format")
        db.execute("INSERT INTO fts(fts, rank) VALUES ('integrity-check', 1)")
        rows = [json.loads(r) for (r,) in db.execute("SELECT row FROM passages ORDER BY rowid")]
        frame = pd.DataFrame(rows, columns=COLUMNS).set_index("passage_id")
        frame.attrs["withheld"] = {k: int(v) for k, v in json.loads(meta["withheld"]).items()}
        if _digest(frame) != meta.get("digest"):
            raise ValueError("its passages do not match their checksum")
        n = db.execute("SELECT count(*) FROM fts").fetchone()[0]
        if n != len(frame):
            raise ValueError("its index and passages disagree")
        blobs = dict(db.execute("SELECT name, value FROM bm25").fetchall())
        if bm25.digest(blobs) != meta.get("bm25"):
            raise ValueError("its BM25 weights do not match their checksum")
        scoring = bm25.from_blobs(blobs)
        if scoring.n != n:
            raise ValueError("its BM25 weights and passages disagree")
    except (sqlite3.Error, ValueError, KeyError, TypeError, json.JSONDecodeError) as exc:
        db.close()
        raise ValueError(str(exc) or type(exc).__name__) from None
    return db, frame, scoring


def build(
    dataset: Dataset, cache_dir: str | Path | None = None, *, cache: bool = True
) -> KnowledgeBase:
    """The dataset's knowledge base: opened from the cache when it is intact, else built.

    Args:
        dataset: a loaded dataset (its fingerprint names the index file).
        cache_dir: where index files live (default ``<results>/.cache/knowledge``).
        cache: False builds in memory and writes nothing.

    Raises:
        KnowledgeError: the dataset holds no approved answer and no source text.
    """
    kb = _build(dataset, cache_dir, cache)
    kb.people = (
        dataset.people["name"].dropna().astype(str).tolist() if dataset.people is not None else []
    )
    return kb


def _build(dataset: Dataset, cache_dir: str | Path | None, cache: bool) -> KnowledgeBase:
    fp = dataset.fingerprint or hashlib.sha256(str(dataset.path).encode()).hexdigest()
    folder = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    # named by a hash of the whole fingerprint: a variant sharing its first characters
    # (``<fp>-stripped``) must not land in the same file
    path = folder / f"{hashlib.sha256(fp.encode()).hexdigest()[:32]}-{code_version()}.sqlite"
    reason = None
    if cache and path.is_file():
        try:
            db, frame, scoring = _open(path, fp)
            return KnowledgeBase(frame, db, scoring, fp, path)
        except ValueError as exc:
            reason = f"the cached knowledge base {path} was not used ({exc}); rebuilt"
            warnings.warn(reason, stacklevel=2)
    frame, notes = passages_frame(dataset)
    if frame.empty:
        raise KnowledgeError(
            f"dataset {dataset.path}: no approved answer and no source text to index; "
            "add items with a 'reference' or policy files under sources/"
        )
    for n in notes:
        warnings.warn(n, stacklevel=2)
    kb_notes = [*notes, *([reason] if reason else [])]
    if not cache:
        return KnowledgeBase(frame, *_write(Path(":memory:"), frame, fp), fp, None, True, kb_notes)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".kb-", suffix=".sqlite", dir=folder)
        os.close(fd)
        os.unlink(tmp)
        _write(Path(tmp), frame, fp)[0].close()
        os.replace(tmp, path)
        db, frame, scoring = _open(path, fp)
    except OSError as exc:  # a read-only results folder: keep it in memory for this process
        warnings.warn(f"knowledge base kept in memory: cannot write {folder} ({exc})", stacklevel=2)
        return KnowledgeBase(frame, *_write(Path(":memory:"), frame, fp), fp, None, True, kb_notes)
    return KnowledgeBase(frame, db, scoring, fp, path, True, kb_notes)
