"""FTS5's own BM25, precomputed: one weight per passage and term, summed per query with numpy.

SQLite's ``bm25()`` (``fts5_aux.c``, ``fts5Bm25Function``) scores a row for a query of
phrases ``i`` as ``sum_i idf_i * f_i * (k1 + 1) / (f_i + k1 * (1 - b + b * D / avgdl))`` with

- ``k1 = 1.2``, ``b = 0.75``;
- ``f_i``: the phrase's instances in the row, each counted with the weight of its column;
- ``D``: the row's length in tokens, every column together (``xColumnSize(-1)``), and
  ``avgdl`` the same over the whole table divided by its row count;
- ``idf_i = log((N - n_i + 0.5) / (n_i + 0.5))``, ``n_i`` the rows holding the phrase in any
  column, and ``1e-6`` instead when that is not positive (a term in more than half the rows).

Every factor but the query's choice of terms is fixed once the index is built, so
:func:`from_fts` computes each (term, passage) weight once, from what FTS5 itself indexed (its
``fts5vocab`` instance table: the same tokens, columns and rows), into a sparse column-major
matrix (passages x terms: ``indptr``, ``rows``, ``weights``). A query's score is then the sum of
its terms' columns, added in the order FTS5 adds its phrases (the terms sorted, as the MATCH
expression names them), with the same floating-point operations: the scores equal ``bm25()``'s
(negated: greater is better) to the last bit on this machine, and
``tests/knowledge/test_bm25.py`` holds them to it. A passage matched only in a column of
weight 0 (the ``tags``) scores 0 and is not a match here.
"""

from __future__ import annotations

import hashlib
import math
import sqlite3
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np

K1 = 1.2  # FTS5's k1
B = 0.75  # FTS5's b
MIN_IDF = 1e-6  # FTS5's idf for a term in more than half the rows
ARRAYS = {"indptr": "<i8", "rows": "<i4", "weights": "<f8", "body_df": "<i4"}


@dataclass
class Bm25:
    """The precomputed BM25 weights of an FTS5 table (see the module doc).

    ``rows`` are 0-based: row ``i`` is the FTS5 row whose rowid is ``i + 1`` (the index inserts
    its passages in order into a new table, so rowid ``i + 1`` is the ``i``-th passage)."""

    terms: list[str]  # column j's term, FTS5's order
    indptr: np.ndarray  # column j's entries are [indptr[j], indptr[j + 1])
    rows: np.ndarray  # the passage of each entry
    weights: np.ndarray  # its BM25 weight (idf included)
    body_df: np.ndarray  # passages holding each term in the body column
    n: int  # passages (rows of the FTS5 table)
    column: dict[str, int] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.column = {t: j for j, t in enumerate(self.terms)}

    def scores(self, terms: Sequence[str]) -> np.ndarray:
        """Every passage's BM25 score for a query of these terms (one phrase each; terms not in
        the index add nothing), greater is better, 0 for a passage none of them matches."""
        # FTS5's phrase order (the MATCH expression's): bincount adds each passage's weights
        # in the order given, from 0.0, as bm25() adds its phrases' shares
        cols = [j for t in sorted(terms) if (j := self.column.get(t)) is not None]
        if not cols:
            return np.zeros(self.n)
        spans = [slice(self.indptr[j], self.indptr[j + 1]) for j in cols]
        rows = np.concatenate([self.rows[s] for s in spans])
        weights = np.concatenate([self.weights[s] for s in spans])
        return np.bincount(rows, weights=weights, minlength=self.n)

    def blobs(self) -> dict[str, bytes]:
        """What the index file stores (little-endian arrays, the terms one a line)."""
        out = {"terms": "\n".join(self.terms).encode("utf-8"), "n": str(self.n).encode()}
        for name, dtype in ARRAYS.items():
            out[name] = np.ascontiguousarray(getattr(self, name), dtype=dtype).tobytes()
        return out


def ranked(scores: np.ndarray, first: int) -> Iterator[int]:
    """The passages with a positive score, best first (equal scores by row), ranked lazily:
    the best ``first`` (and any tied with the last of them) at once, then 8 times more each
    time the caller reads past them (leave-one-out may skip many)."""
    hit = np.flatnonzero(scores > 0)
    vals = scores[hit]
    done = 0
    take = max(first, 1)
    while done < len(hit):
        if take < len(hit):
            cut = np.partition(vals, len(hit) - take)[len(hit) - take]  # the take-th best
            part = hit[vals >= cut]
        else:
            part = hit
        order = part[np.lexsort((part, -scores[part]))]
        # every passage ranked in an earlier round scores at least this round's cut, so this
        # round's order begins with the earlier one
        yield from order[done:].tolist()
        done = len(order)
        take *= 8


def digest(blobs: dict[str, bytes]) -> str:
    """SHA-256 of the stored arrays, each named and length-prefixed."""
    h = hashlib.sha256()
    for name in sorted(blobs):
        h.update(f"{name}:{len(blobs[name])}:".encode())
        h.update(blobs[name])
    return h.hexdigest()


def from_blobs(blobs: dict[str, bytes]) -> Bm25:
    """The arrays back from :meth:`Bm25.blobs` (read-only views, no copy); raises ValueError
    when they do not fit together."""
    text = blobs["terms"].decode("utf-8")
    terms = text.split("\n") if text else []
    arrays = {name: np.frombuffer(blobs[name], dtype=dtype) for name, dtype in ARRAYS.items()}
    n = int(blobs["n"])
    ptr = arrays["indptr"]
    if (
        len(ptr) != len(terms) + 1
        or len(arrays["body_df"]) != len(terms)
        or ptr[0] != 0
        or ptr[-1] != len(arrays["rows"])
        or len(arrays["rows"]) != len(arrays["weights"])
        or (len(arrays["rows"]) and not 0 <= arrays["rows"].min() <= arrays["rows"].max() < n)
    ):
        raise ValueError("its BM25 arrays do not fit together")
    return Bm25(terms, arrays["indptr"], arrays["rows"], arrays["weights"], arrays["body_df"], n)


def _instances(db: sqlite3.Connection, table: str) -> Iterator[list[tuple[str, int, str]]]:
    db.execute(f"CREATE VIRTUAL TABLE temp.bm25_inst USING fts5vocab(main, {table}, 'instance')")
    try:
        cur = db.execute("SELECT term, doc, col FROM temp.bm25_inst")
        while chunk := cur.fetchmany(1 << 16):
            yield chunk
    finally:
        db.execute("DROP TABLE temp.bm25_inst")


def from_fts(
    db: sqlite3.Connection, table: str, weights: dict[str, float], body: str = "body"
) -> Bm25:
    """The BM25 weights of FTS5 table ``table`` for ``bm25(table, w0, w1, ...)``.

    Args:
        db: the open database.
        table: the FTS5 table (rowids 1..N, as a new table filled in order has).
        weights: each indexed column's weight (a column not named weighs 1, as in ``bm25()``).
        body: the column whose document frequency :attr:`Bm25.body_df` counts.
    """
    n, lo, hi = db.execute(f"SELECT count(*), min(rowid), max(rowid) FROM {table}").fetchone()
    if n and (lo, hi) != (1, n):
        raise ValueError(f"{table}: rowids are not 1..{n}")
    ids: dict[str, int] = {}
    code: dict[str, int] = {}  # column name -> small int
    col_w: list[float] = []
    t_parts, d_parts, c_parts = [], [], []
    for chunk in _instances(db, table):
        t_parts.append(
            np.fromiter(
                (ids.setdefault(t, len(ids)) for t, _, _ in chunk), dtype=np.int64, count=len(chunk)
            )
        )
        d_parts.append(np.fromiter((d for _, d, _ in chunk), dtype=np.int64, count=len(chunk)))
        for _, _, c in chunk:
            if c not in code:
                code[c] = len(code)
                col_w.append(float(weights.get(c, 1.0)))
        c_parts.append(
            np.fromiter((code[c] for _, _, c in chunk), dtype=np.int64, count=len(chunk))
        )
    names = list(ids)
    term = np.concatenate(t_parts) if t_parts else np.zeros(0, np.int64)
    doc = (np.concatenate(d_parts) if d_parts else np.zeros(0, np.int64)) - 1
    col = np.concatenate(c_parts) if c_parts else np.zeros(0, np.int64)
    nt = len(names)
    length = np.bincount(doc, minlength=n).astype(np.float64)  # D: tokens, all columns
    avgdl = int(length.sum()) / n if n else 1.0
    # instances come sorted by term, row, column, offset: a (term, row) pair is a run
    key = term * (n + 1) + doc
    first = np.ones(len(key), dtype=bool)
    first[1:] = key[1:] != key[:-1]
    pair = np.cumsum(first) - 1
    p_term, p_doc = term[first], doc[first]
    hits = np.bincount(p_term, minlength=nt)  # rows holding the term, any column
    freq = np.bincount(pair, weights=np.asarray(col_w)[col], minlength=len(p_term))
    in_body = np.bincount(pair, weights=col == code.get(body, -1), minlength=len(p_term))
    body_df = np.bincount(p_term[in_body > 0], minlength=nt)  # rows holding it in the body
    idf = np.array([_idf(n, int(h)) for h in hits], dtype=np.float64)
    keep = freq > 0
    f, t, d = freq[keep], p_term[keep], p_doc[keep]
    dl = length[d]
    w = idf[t] * ((f * (K1 + 1.0)) / (f + K1 * (1 - B + B * dl / avgdl)))
    indptr = np.zeros(nt + 1, dtype=np.int64)
    np.cumsum(np.bincount(t, minlength=nt), out=indptr[1:])
    return Bm25(names, indptr, d.astype(np.int32), w, body_df.astype(np.int32), n)


def _idf(n: int, hits: int) -> float:
    """FTS5's idf (``fts5Bm25GetData``), with its floor."""
    idf = math.log((n - hits + 0.5) / (hits + 0.5))
    return idf if idf > 0.0 else MIN_IDF
