"""An in-memory, read-only view of one snapshot, ready to search: FAISS for the dense
rankers, BM25 (bm25s) for the lexical one, and metadata arrays for filters."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass

import bm25s
import faiss
import numpy as np

from retrieval.lexical import terms
from retrieval.store import ArticleRow, ChunkRow, SentenceRow, SnapshotData


@dataclass(frozen=True)
class Filters:
    """Optional restrictions on which articles may be retrieved."""

    since: dt.date | None = None
    until: dt.date | None = None
    sources: tuple[str, ...] = ()
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
        self._chunk_date = [a.date for a in arts]
        self._chunk_source = [(a.source or "").casefold() for a in arts]
        self._bm25: bm25s.BM25 | None = None
        self._build_bm25()

    def _build_bm25(self) -> None:
        corpus = []
        df: dict[str, int] = {}
        for c in self.chunks:
            title = self.articles[c.article_id].title
            doc = terms(f"{title}\n{c.text}") or ["\x00"]
            corpus.append(doc)
            for t in set(doc):
                df[t] = df.get(t, 0) + 1
        n = max(1, len(corpus))
        self._idf = {t: math.log(1 + (n - d + 0.5) / (d + 0.5)) for t, d in df.items()}
        self._idf_unseen = math.log(1 + (n + 0.5) / 0.5)
        if corpus:
            self._bm25 = bm25s.BM25(k1=1.2, b=0.75)
            self._bm25.index(corpus, show_progress=False)

    def idf(self, term: str) -> float:
        """BM25's inverse document frequency of a term over the chunks."""
        return self._idf.get(term, self._idf_unseen)

    def __len__(self) -> int:
        return len(self.chunks)

    def mask(self, filters: Filters) -> np.ndarray | None:
        """A boolean mask over chunks for the filters, or None when nothing is filtered."""
        if not filters:
            return None
        since = filters.since.isoformat() if filters.since else None
        until = filters.until.isoformat() if filters.until else None
        wanted = {s.casefold() for s in filters.sources}
        articles = set(filters.articles)
        ok = np.ones(len(self.chunks), dtype=bool)
        pairs = zip(self._chunk_date, self._chunk_source, strict=True)
        for i, (date, source) in enumerate(pairs):
            if (
                ((since or until) and date is None)
                or (since and date is not None and date < since)
                or (until and date is not None and date > until)
                or (wanted and source not in wanted)
                or (articles and self.chunks[i].article_id not in articles)
            ):
                ok[i] = False
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
        if self._bm25 is None or not query_terms:
            return []
        scores = self._bm25.get_scores(list(query_terms))
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
