"""The index in PostgreSQL, the reader's side: what SearchIndex offers, answered by queries.

The three rankers run in the database: dense chunk and sentence search on pgvector's HNSW
indexes (exact, by inner product, when a filter restricts the rows: HNSW would filter after
its search and lose rows), and BM25 from the postings and document frequencies the writer
maintains, with the local backend's formula, so that RRF fuses the same rankings. The rows
of the hits (chunks, sentences, vectors, articles, their terms' frequencies) are fetched
in one go per batch of hits and kept for the generation this reader serves.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from retrieval.segment_index import Filters, top_k
from retrieval.segments import ArticleRow, ChunkRow, SentenceRow

if TYPE_CHECKING:
    from retrieval.pg.store import PgStore

_K1, _B = 1.2, 0.75
# Candidates fetched beyond k, so that ties at the cut are ordered as the local backend does.
_SLACK = 16
# Rows kept per reader before the cache starts afresh.
_CACHE_ROWS = 50_000
_ARTICLE = "id, title, date, source, url, path, content_hash, text"
_CHUNK = 'row, id, article_id, idx, start, "end", text'


@dataclass(frozen=True)
class _Data:
    """What ``SearchIndex.data`` offers readers: the manifest."""

    manifest: dict[str, Any]


@dataclass(frozen=True)
class Where:
    """A filter as SQL over ``articles a``: what ``mask`` returns on this backend."""

    index: PgIndex
    sql: str
    params: tuple[Any, ...]

    def any(self) -> bool:
        """True when some chunk passes the filter."""
        q = (
            "SELECT EXISTS (SELECT 1 FROM chunks c JOIN articles a ON a.id = c.article_id "
            f"WHERE {self.sql})"
        )
        with self.index.store.connection() as conn:
            return bool(conn.execute(q, self.params).fetchone()[0])


def where_of(filters: Filters) -> tuple[str, tuple[Any, ...]]:
    """The filters as a condition on ``articles a``, as segment_index.SegmentIndex.mask."""
    conds: list[str] = []
    params: list[Any] = []
    day = "coalesce(left(a.date, 10), '')"
    if (filters.since or filters.until) and not filters.undated:
        conds.append(f"{day} <> ''")
    if filters.since:
        conds.append(f"{day} >= %s")
        params.append(filters.since.isoformat())
    if filters.until:
        conds.append(f"{day} <= %s")
        params.append(filters.until.isoformat())
    if filters.sources:
        conds.append("a.source_key = ANY(%s)")
        params.append([s.casefold() for s in filters.sources])
    if filters.articles:
        conds.append("a.id = ANY(%s)")
        params.append(list(filters.articles))
    return " AND ".join(conds) or "true", tuple(params)


class PgIndex:
    """One generation of the PostgreSQL index, with SearchIndex's reading interface."""

    def __init__(self, store: PgStore, manifest: dict[str, Any]) -> None:
        self.store = store
        self.data = _Data(manifest)
        self.name = str(manifest["name"])
        counts = manifest["counts"]
        self.n_docs = int(manifest["n_chunks"])
        self.avgdl = manifest["total_len"] / self.n_docs if self.n_docs else 1.0
        self._unseen = math.log(1 + (max(1, self.n_docs) + 0.5) / 0.5)
        self.parts: list[Any] = []
        self.articles = _Articles(self, int(counts["articles"]))
        self.chunks = _Chunks(self, int(counts["chunks"]))
        self.sentences = _Sentences(self, int(counts["sentences"]))
        self.sentences_of = _SentencesOf(self)
        self.chunk_vectors = _Vectors(self, chunks=True)
        self.sentence_vectors = _Vectors(self, chunks=False)
        self._chunk: dict[int, ChunkRow] = {}
        self._chunk_vec: dict[int, np.ndarray] = {}
        self._sents_of: dict[int, list[int]] = {}
        self._sentence: dict[int, SentenceRow] = {}
        self._sentence_vec: dict[int, np.ndarray] = {}
        self._article: dict[str, ArticleRow] = {}
        self._df: dict[str, int] = {}

    def __len__(self) -> int:
        return len(self.chunks)

    @functools.cached_property
    def sources(self) -> tuple[str, ...]:
        """The distinct sources of the generation's articles, as written."""
        with self.store.connection() as conn:
            rows = conn.execute(
                "SELECT DISTINCT source FROM articles WHERE source <> '' ORDER BY source"
            ).fetchall()
        return tuple(str(r[0]) for r in rows)

    def newest(self, filters: Filters) -> str | None:
        """The newest publication date (ISO) among the articles the filters let through."""
        sql, params = where_of(filters)
        with self.store.connection() as conn:
            row = conn.execute(
                f"SELECT max(a.date) FROM articles a WHERE a.date <> '' AND {sql}", params
            ).fetchone()
        return str(row[0]) if row and row[0] else None

    # --- rankers ---------------------------------------------------------------------

    def mask(self, filters: Filters) -> Where | None:
        """The filters as SQL, or None when nothing is filtered."""
        if not filters:
            return None
        sql, params = where_of(filters)
        return Where(self, sql, params)

    def _search(self, sql: str, params: dict[str, Any], limit: int) -> list[tuple[Any, ...]]:
        with self.store.connection() as conn:
            if limit > self.store.settings.hnsw_ef_search:
                with conn.transaction():
                    conn.execute("SELECT set_config('hnsw.ef_search', %s, true)", (str(limit),))
                    return conn.execute(sql, params).fetchall()
            return conn.execute(sql, params).fetchall()

    def dense_chunks(self, qvec: np.ndarray, k: int, mask: Where | None) -> list[tuple[int, float]]:
        """Chunks by cosine similarity of their vector to the question."""
        if k <= 0:
            return []
        limit = k + _SLACK
        params: dict[str, Any] = {"q": _vec(qvec), "limit": limit}
        if mask is None:
            sql = """SELECT row, -(embedding <#> %(q)s) FROM chunks
                     ORDER BY embedding <=> %(q)s LIMIT %(limit)s"""
        else:
            sql = f"""SELECT c.row, -(c.embedding <#> %(q)s) FROM chunks c
                      JOIN articles a ON a.id = c.article_id WHERE {_named(mask, params)}
                      ORDER BY c.embedding <#> %(q)s LIMIT %(limit)s"""
        hits = [(int(r), float(s)) for r, s in self._search(sql, params, limit)]
        return top_k(hits, k)

    def dense_sentences(
        self,
        qvec: np.ndarray,
        k: int,
        mask: Where | None,
        among: Sequence[int] | np.ndarray | None = None,
    ) -> list[tuple[int, float]]:
        """Chunks by the cosine similarity of their best sentence to the question: of the
        chunks ``among`` when given (as the local backend scores them: only inside chunks
        another ranker found), else by a search over every sentence."""
        if k <= 0:
            return []
        if among is not None:
            return self._best_sentences(qvec, k, mask, sorted({int(r) for r in among}))
        limit = k * 4 + _SLACK
        params: dict[str, Any] = {"q": _vec(qvec), "limit": limit}
        if mask is None:
            sql = """SELECT row, chunk_row, -(embedding <#> %(q)s) FROM sentences
                     ORDER BY embedding <=> %(q)s LIMIT %(limit)s"""
        else:
            sql = f"""SELECT s.row, s.chunk_row, -(s.embedding <#> %(q)s) FROM sentences s
                      JOIN chunks c ON c.row = s.chunk_row JOIN articles a ON a.id = c.article_id
                      WHERE {_named(mask, params)}
                      ORDER BY s.embedding <#> %(q)s LIMIT %(limit)s"""
        rows = self._search(sql, params, limit)
        chunk_of = {int(r): int(c) for r, c, _ in rows}
        best: dict[int, float] = {}
        for srow, score in top_k([(int(r), float(s)) for r, _, s in rows], k * 4):
            best.setdefault(chunk_of[srow], score)
            if len(best) >= k:
                break
        return list(best.items())

    def _best_sentences(
        self, qvec: np.ndarray, k: int, mask: Where | None, rows: list[int]
    ) -> list[tuple[int, float]]:
        """The chunks ``rows`` (those the mask lets through) by their best sentence's
        cosine to the question, exactly (of equal scores the lower row first)."""
        if not rows:
            return []
        params: dict[str, Any] = {"q": _vec(qvec), "rows": rows, "k": k}
        where = f"AND {_named(mask, params)}" if mask is not None else ""
        sql = f"""SELECT s.chunk_row, max(-(s.embedding <#> %(q)s)) AS best FROM sentences s
                  JOIN chunks c ON c.row = s.chunk_row JOIN articles a ON a.id = c.article_id
                  WHERE s.chunk_row = ANY(%(rows)s) {where}
                  GROUP BY s.chunk_row ORDER BY best DESC, s.chunk_row LIMIT %(k)s"""
        with self.store.connection() as conn:
            found = conn.execute(sql, params).fetchall()
        return [(int(r), float(b)) for r, b in found]

    def bm25(
        self, query_terms: Sequence[str], k: int, mask: Where | None
    ) -> list[tuple[int, float]]:
        """Chunks by BM25 over their title and text (the local backend's formula)."""
        if not self.n_docs or not query_terms or k <= 0:
            return []
        params: dict[str, Any] = {
            "terms": list(query_terms), "n": float(self.n_docs), "avgdl": float(self.avgdl),
            "k1": _K1, "b": _B, "limit": k,
        }  # fmt: skip
        join, cond = "", "true"
        if mask is not None:
            join, cond = "JOIN articles a ON a.id = c.article_id", _named(mask, params)
        sql = f"""
            WITH q AS (SELECT term, count(*) AS n FROM unnest(%(terms)s::text[]) AS term
                       GROUP BY term),
                 w AS (SELECT q.term, q.n * ln(1 + (%(n)s - t.df + 0.5) / (t.df + 0.5)) AS idf
                       FROM q JOIN terms t USING (term) WHERE t.df > 0)
            SELECT p.chunk_row,
                   sum(w.idf * p.tf / (p.tf + %(k1)s * (1 - %(b)s + %(b)s * c.n_terms / %(avgdl)s)))
                     AS score
            FROM w JOIN postings p USING (term) JOIN chunks c ON c.row = p.chunk_row {join}
            WHERE {cond}
            GROUP BY p.chunk_row ORDER BY score DESC, p.chunk_row LIMIT %(limit)s"""
        with self.store.connection() as conn:
            rows = conn.execute(sql, params).fetchall()
        return [(int(r), float(s)) for r, s in rows if s > 0]

    def idf(self, term: str) -> float:
        """BM25's inverse document frequency of a term over the chunks."""
        df = self._df.get(term)
        if df is None:
            with self.store.connection() as conn:
                row = conn.execute("SELECT df FROM terms WHERE term = %s", (term,)).fetchone()
            df = self._df[term] = int(row[0]) if row else 0
        if df <= 0:
            return self._unseen
        return math.log(1 + (self.n_docs - df + 0.5) / (df + 0.5))

    # --- rows --------------------------------------------------------------------------

    def prefetch(self, rows: Sequence[int]) -> None:
        """Fetch chunks with their sentences, vectors, articles and term frequencies."""
        want = sorted({int(r) for r in rows} - self._chunk.keys())
        if not want:
            return
        if len(self._chunk) > _CACHE_ROWS:
            self._forget()
        with self.store.connection() as conn:
            chunks = conn.execute(
                f"SELECT {_CHUNK}, embedding FROM chunks WHERE row = ANY(%s)", (want,)
            ).fetchall()
            sents = conn.execute(
                'SELECT row, chunk_row, start, "end", embedding FROM sentences '
                "WHERE chunk_row = ANY(%s) ORDER BY row",
                (want,),
            ).fetchall()
            dfs = conn.execute(
                "SELECT DISTINCT t.term, t.df FROM postings p JOIN terms t USING (term) "
                "WHERE p.chunk_row = ANY(%s)",
                (want,),
            ).fetchall()
            need = sorted({c[2] for c in chunks} - self._article.keys())
            arts = conn.execute(
                f"SELECT {_ARTICLE} FROM articles WHERE id = ANY(%s)", (need,)
            ).fetchall() if need else []  # fmt: skip
        self._article.update((a[0], ArticleRow(*a)) for a in arts)
        self._df.update((t, int(df)) for t, df in dfs)
        for row, srow in ((int(s[1]), int(s[0])) for s in sents):
            self._sents_of.setdefault(row, []).append(srow)
        for s in sents:
            self._sentence[int(s[0])] = SentenceRow(int(s[0]), int(s[1]), s[2], s[3])
            self._sentence_vec[int(s[0])] = _np(s[4])
        for c in chunks:
            row = int(c[0])
            self._chunk[row] = ChunkRow(row, *c[1:7])
            self._chunk_vec[row] = _np(c[7])
            self._sents_of.setdefault(row, [])

    def _forget(self) -> None:
        for cache in (self._chunk, self._chunk_vec, self._sents_of, self._sentence,
                      self._sentence_vec, self._article, self._df):  # fmt: skip
            cache.clear()

    def chunk(self, row: int) -> ChunkRow:
        """A chunk by row (KeyError: not in this index)."""
        if row not in self._chunk:
            self.prefetch([row])
        return self._chunk[row]

    def article(self, article_id: str) -> ArticleRow:
        """An article by id (KeyError: not in this index)."""
        if article_id not in self._article:
            with self.store.connection() as conn:
                a = conn.execute(
                    f"SELECT {_ARTICLE} FROM articles WHERE id = %s", (article_id,)
                ).fetchone()
            if a is None:
                raise KeyError(article_id)
            self._article[article_id] = ArticleRow(*a)
        return self._article[article_id]

    def sentence(self, row: int) -> SentenceRow:
        """A sentence by row (KeyError: not in this index)."""
        if row not in self._sentence:
            with self.store.connection() as conn:
                s = conn.execute(
                    "SELECT chunk_row FROM sentences WHERE row = %s", (row,)
                ).fetchone()
            if s is None:
                raise KeyError(row)
            self.prefetch([int(s[0])])
        return self._sentence[row]

    def sentence_rows(self, chunk_row: int) -> list[int]:
        """The rows of a chunk's sentences, ascending."""
        if chunk_row not in self._sents_of:
            self.prefetch([chunk_row])
        return list(self._sents_of[chunk_row])

    def vector(self, row: int, *, chunks: bool) -> np.ndarray:
        """A chunk's (or a sentence's) vector."""
        if chunks:
            self.chunk(row)
            return self._chunk_vec[row]
        self.sentence(row)
        return self._sentence_vec[row]


def _vec(qvec: np.ndarray) -> Any:
    from pgvector import Vector

    return Vector(np.asarray(qvec, dtype=np.float32))


def _np(v: Any) -> np.ndarray:
    return np.asarray(v.to_numpy() if hasattr(v, "to_numpy") else v, dtype=np.float32)


def _named(mask: Where, params: dict[str, Any]) -> str:
    """The mask's condition with its %s parameters renamed into ``params``."""
    parts = mask.sql.split("%s")
    out = parts[0]
    for i, (value, rest) in enumerate(zip(mask.params, parts[1:], strict=True)):
        params[f"f{i}"] = value
        out += f"%(f{i})s" + rest
    return out


class _Articles(Mapping[str, ArticleRow]):
    """``index.articles``: by id, fetched when first asked for."""

    def __init__(self, index: PgIndex, n: int) -> None:
        self._index, self._n = index, n

    def __getitem__(self, article_id: str) -> ArticleRow:
        return self._index.article(article_id)

    def __len__(self) -> int:
        return self._n

    def __iter__(self) -> Iterator[str]:
        with self._index.store.connection() as conn:
            ids = [r[0] for r in conn.execute("SELECT id FROM articles ORDER BY id")]
        return iter(ids)

    def values(self) -> list[ArticleRow]:  # type: ignore[override]
        """Every article, in one query."""
        with self._index.store.connection() as conn:
            rows = conn.execute(f"SELECT {_ARTICLE} FROM articles ORDER BY id").fetchall()
        return [ArticleRow(*r) for r in rows]

    def items(self) -> list[tuple[str, ArticleRow]]:  # type: ignore[override]
        """Every article with its id, in one query."""
        return [(a.id, a) for a in self.values()]


class _Chunks:
    """``index.chunks``: by row; iterating reads them all, in row order."""

    def __init__(self, index: PgIndex, n: int) -> None:
        self._index, self._n = index, n

    def __len__(self) -> int:
        return self._n

    def __getitem__(self, row: int) -> ChunkRow:
        try:
            return self._index.chunk(int(row))
        except KeyError:
            raise IndexError(f"row {row} is not in the index") from None

    def __iter__(self) -> Iterator[ChunkRow]:
        with self._index.store.connection() as conn:
            rows = conn.execute(f"SELECT {_CHUNK} FROM chunks ORDER BY row").fetchall()
        return iter([ChunkRow(int(r[0]), *r[1:]) for r in rows])


class _Sentences:
    """``index.sentences``: by row."""

    def __init__(self, index: PgIndex, n: int) -> None:
        self._index, self._n = index, n

    def __len__(self) -> int:
        return self._n

    def __getitem__(self, row: int) -> SentenceRow:
        try:
            return self._index.sentence(int(row))
        except KeyError:
            raise IndexError(f"row {row} is not in the index") from None


class _SentencesOf:
    """``sentences_of[chunk_row]``: the rows of a chunk's sentences, ascending."""

    def __init__(self, index: PgIndex) -> None:
        self._index = index

    def __getitem__(self, row: int) -> list[int]:
        return self._index.sentence_rows(int(row))


class _Vectors:
    """``chunk_vectors[row]`` / ``sentence_vectors[rows]``."""

    def __init__(self, index: PgIndex, *, chunks: bool) -> None:
        self._index, self._chunks = index, chunks

    def __getitem__(self, rows: int | Sequence[int] | np.ndarray) -> np.ndarray:
        if isinstance(rows, (int, np.integer)):
            return self._index.vector(int(rows), chunks=self._chunks)
        rows = [int(r) for r in rows]
        if not rows:
            return np.zeros((0, 0), dtype=np.float32)
        return np.stack([self._index.vector(r, chunks=self._chunks) for r in rows])
