"""Hybrid retrieval: dense chunk search, dense sentence search and BM25, fused by weighted
reciprocal rank fusion; a LangChain ``BaseRetriever`` on request (``as_langchain``).

langchain_core is imported only when that view is asked for: importing its retrievers costs
more than a cold `newsbot ask` may spend in all (seconds), and answering never needs it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from retrieval.answer import Citation
from retrieval.config import RetrievalSettings
from retrieval.embeddings import Embedder
from retrieval.lexical import terms
from retrieval.search_index import Filters, SearchIndex
from retrieval.store import ArticleRow, ChunkRow

if TYPE_CHECKING:
    from langchain_core.documents import Document
    from langchain_core.retrievers import BaseRetriever


@dataclass(frozen=True)
class Hit:
    """A retrieved chunk with its fused score and each ranker's own score (None: not ranked)."""

    chunk: ChunkRow
    article: ArticleRow
    rank: int
    score: float
    dense: float | None
    sentence: float | None
    bm25: float | None

    def citation(self, n: int, quote: str, score: float) -> Citation:
        """Citation number ``n`` of this hit's article, quoting ``quote``; score in [0, 1]."""
        a = self.article
        return Citation(
            n=n,
            article_id=a.id,
            title=a.title,
            date=a.date,
            source=a.source,
            url=a.url,
            quote=quote,
            chunk_id=self.chunk.id,
            score=round(max(0.0, min(1.0, score)), 4),
        )

    def to_document(self) -> Document:
        """The LangChain view of the hit."""
        from langchain_core.documents import Document

        a = self.article
        return Document(
            page_content=self.chunk.text,
            id=self.chunk.id,
            metadata={
                "chunk_id": self.chunk.id,
                "article_id": a.id,
                "title": a.title,
                "date": a.date,
                "source": a.source,
                "url": a.url,
                "start": self.chunk.start,
                "end": self.chunk.end,
                "rank": self.rank,
                "score": self.score,
                "dense_score": self.dense,
                "sentence_score": self.sentence,
                "bm25_score": self.bm25,
            },
        )


def reciprocal_rank_fusion(
    rankings: list[tuple[float, list[tuple[int, float]]]], rrf_k: int
) -> dict[int, float]:
    """Weighted RRF: each ranking adds ``weight / (rrf_k + rank)`` to its items."""
    fused: dict[int, float] = {}
    for weight, ranking in rankings:
        if weight <= 0:
            continue
        for rank, (item, _) in enumerate(ranking, start=1):
            fused[item] = fused.get(item, 0.0) + weight / (rrf_k + rank)
    return fused


class HybridRetriever:
    """Dense (cosine on unit vectors) + sentence-level dense + BM25, fused by RRF."""

    def __init__(
        self, *, index: SearchIndex, embedder: Embedder, settings: RetrievalSettings
    ) -> None:
        """``settings`` with ``weight_dense`` decided (``config.retrieval_for``)."""
        if settings.weight_dense is None:
            raise ValueError("weight_dense is unset: pass config.retrieval_for(settings)")
        self.weight_dense = settings.weight_dense
        self.index = index
        self.embedder = embedder
        self.settings = settings
        self._langchain: BaseRetriever | None = None

    def as_langchain(self) -> BaseRetriever:
        """This retriever behind LangChain's ``BaseRetriever`` seam (built on first use)."""
        if self._langchain is None:
            from retrieval.lc_retriever import LangChainRetriever

            self._langchain = LangChainRetriever(hybrid=self)
        return self._langchain

    def invoke(self, query: str, **kwargs: Any) -> list[Document]:
        """LangChain's ``invoke``: the hits as Documents (``k``, ``filters`` as for search)."""
        return self.as_langchain().invoke(query, **kwargs)

    def search(
        self,
        question: str,
        qvec: np.ndarray | None = None,
        k: int | None = None,
        filters: Filters | None = None,
    ) -> list[Hit]:
        """Retrieve the top ``k`` chunks for a question.

        Args:
            question: the (standalone) question.
            qvec: its embedding, when the caller already has it.
            k: how many chunks (default: configured).
            filters: date range and sources.

        Returns:
            Hits, best first.
        """
        cfg = self.settings
        k = k or cfg.k
        if qvec is None:
            qvec = self.embedder.encode([question])[0]
        mask = self.index.mask(filters or Filters())
        if mask is not None and not mask.any():
            return []
        fetch = max(cfg.fetch_k, k)
        dense = self.index.dense_chunks(qvec, fetch, mask)
        lexical = self.index.bm25(terms(question), fetch, mask)
        # Sentences are scored inside the chunks the other two rankers found (never searched
        # over every sentence of the index).
        among = [row for row, _ in dense] + [row for row, _ in lexical]
        sentence = self.index.dense_sentences(qvec, fetch, mask, among=among)
        fused = reciprocal_rank_fusion(
            [
                (self.weight_dense, dense),
                (cfg.weight_sentence, sentence),
                (cfg.weight_bm25, lexical),
            ],
            cfg.rrf_k,
        )
        bm25 = dict(lexical)
        top = sorted(fused.items(), key=lambda kv: (-kv[1], kv[0]))[:k]
        prefetch = getattr(self.index, "prefetch", None)
        if prefetch is not None:  # a database backend: the hits' rows in one round trip
            prefetch([row for row, _ in top])
        hits = []
        for rank, (row, score) in enumerate(top, start=1):
            chunk = self.index.chunks[row]
            # Exact cosines for the chunks kept, whichever rankers found them.
            sents = self.index.sentences_of[row]
            sentence_cos = self.index.sentence_vectors[sents] @ qvec if sents else None
            hits.append(
                Hit(
                    chunk=chunk,
                    article=self.index.articles[chunk.article_id],
                    rank=rank,
                    score=score,
                    dense=float(self.index.chunk_vectors[row] @ qvec),
                    sentence=float(sentence_cos.max()) if sentence_cos is not None else None,
                    bm25=bm25.get(row),
                )
            )
        return hits
