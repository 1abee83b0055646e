"""An in-memory, read-only view of one snapshot, ready to search: FAISS for the dense
rankers, BM25 arrays for the lexical one (loaded with the snapshot), and per-chunk numpy
arrays for filters."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

import faiss
import numpy as np

from retrieval.store import ArticleRow, ChunkRow, SentenceRow, SnapshotData, build_lexical


@dataclass(frozen=True)
class Filters:
    """Optional restrictions on which articles may be retrieved."""

    since: dt.date | None = None
    until: dt.date | None = None
    sources: tuple[str, ...] = ()
    # Undated articles pass a date bound only when it is the asked-on cut alone: an article
    # without a date is not known to be later (a gazetteer entry, a reference page), but it
    # is never inside a window the user named.
    undated: bool = False
    # Article ids (a conversation's focus); empty: any article.
    articles: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.since or self.until or self.sources or self.articles)


class SearchIndex:
    """One loaded snapshot with its three rankers."""

    def __init__(self, data: SnapshotData) -> None:
        self.data = data
        self.name = data.name
        self.chunks: list[ChunkRow] = data.chunks
        self.sentences: list[SentenceRow] = data.sentences
        self.articles: dict[str, ArticleRow] = data.articles
        self.chunk_index = (
            data.chunk_index if data.chunk_index is not None else _flat(data.chunk_vectors)
        )
        self.sentence_index = (
            data.sentence_index if data.sentence_index is not None else _flat(data.sentence_vectors)
        )
        self.sentence_vectors = data.sentence_vectors
        self.chunk_vectors = data.chunk_vectors
        self.sentence_chunk = np.array([s.chunk_row for s in data.sentences], dtype=np.int64)
        self.sentences_of: list[list[int]] = [[] for _ in data.chunks]
        for s in data.sentences:
            self.sentences_of[s.chunk_row].append(s.row)
        arts = [data.articles[c.article_id] for c in data.chunks]
        # ISO dates compare as strings; "" is no date (never inside a window).
        self._chunk_date = np.array([a.date or "" for a in arts], dtype="U10")
        self._chunk_source = np.array([(a.source or "").casefold() for a in arts], dtype=object)
        self._chunk_article = np.array([c.article_id for c in data.chunks], dtype=object)
        self.lexical = data.lexical or build_lexical(data.articles, data.chunks)

    def idf(self, term: str) -> float:
        """BM25's inverse document frequency of a term over the chunks."""
        return self.lexical.idf(term)

    def __len__(self) -> int:
        return len(self.chunks)

    def mask(self, filters: Filters) -> np.ndarray | None:
        """A boolean mask over chunks for the filters, or None when nothing is filtered."""
        if not filters:
            return None
        ok = np.ones(len(self.chunks), dtype=bool)
        if (filters.since or filters.until) and not filters.undated:
            ok &= self._chunk_date != ""
        if filters.since:
            ok &= self._chunk_date >= filters.since.isoformat()
        if filters.until:
            ok &= self._chunk_date <= filters.until.isoformat()
        if filters.sources:
            wanted = [s.casefold() for s in filters.sources]
            ok &= np.isin(self._chunk_source, np.array(wanted, dtype=object))
        if filters.articles:
            ok &= np.isin(self._chunk_article, np.array(filters.articles, dtype=object))
        return ok

    def dense_chunks(
        self, qvec: np.ndarray, k: int, mask: np.ndarray | None
    ) -> list[tuple[int, float]]:
        """Chunks by cosine similarity of their vector to the question's."""
        params = None
        if mask is not None:
            params = _selector(np.flatnonzero(mask))
        return _search(self.chunk_index, qvec, k, params)

    def dense_sentences(
        self, qvec: np.ndarray, k: int, mask: np.ndarray | None
    ) -> list[tuple[int, float]]:
        """Chunks by the cosine similarity of their best sentence to the question."""
        params = None
        if mask is not None:
            params = _selector(np.flatnonzero(mask[self.sentence_chunk]))
        best: dict[int, float] = {}
        for srow, score in _search(self.sentence_index, qvec, k * 4, params):
            chunk = int(self.sentence_chunk[srow])
            if chunk not in best:
                best[chunk] = score
            if len(best) >= k:
                break
        return list(best.items())

    def bm25(
        self, query_terms: Sequence[str], k: int, mask: np.ndarray | None
    ) -> list[tuple[int, float]]:
        """Chunks by BM25 over their title and text."""
        if not len(self.chunks) or not query_terms:
            return []
        scores = self.lexical.scores(query_terms)
        if mask is not None:
            scores = np.where(mask, scores, 0.0)
        k = min(k, len(scores))
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.argsort(-scores[top], kind="stable")]
        return [(int(i), float(scores[i])) for i in top if scores[i] > 0]


def _selector(ids: np.ndarray) -> faiss.SearchParameters:
    """Search parameters that let FAISS consider only these ids."""
    # The keyword form keeps the selector alive as long as the parameters (faiss's wrapper).
    return faiss.SearchParameters(sel=faiss.IDSelectorBatch(ids.astype(np.int64)))  # type: ignore[call-arg]


def _flat(vectors: np.ndarray) -> faiss.IndexFlatIP:
    index = faiss.IndexFlatIP(vectors.shape[1])
    if len(vectors):
        index.add(vectors)
    return index


def _search(
    index: faiss.Index, qvec: np.ndarray, k: int, params: faiss.SearchParameters | None
) -> list[tuple[int, float]]:
    if index.ntotal == 0:
        return []
    k = min(k, index.ntotal)
    scores, ids = index.search(qvec.reshape(1, -1).astype(np.float32), k, params=params)
    return [(int(i), float(s)) for i, s in zip(ids[0], scores[0], strict=True) if i >= 0]
