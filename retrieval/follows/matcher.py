"""Scoring a new article against every follow at once: one matrix product for the dense
cosine, and for the share of each topic's words the article holds, one sum over the
postings of the words it holds.

The product is numpy's own loop (einsum), not BLAS: a 1,000 x 384 by 384 x 40 product is
too small to gain from BLAS threads, and on a loaded machine their spinning made it 10-20
times slower (bench/follows.py)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from retrieval.answer import Citation
from retrieval.lexical import terms
from retrieval.search_index import SearchIndex

# A later sentence must be this much closer to the topic to be quoted before an earlier one:
# a report says what happened first.
_LEAD_PENALTY = 0.01


@dataclass(frozen=True)
class ArticleView:
    """What matching needs of one indexed article: its vectors (title-prefixed chunks and
    their sentences) and its terms (title and text)."""

    article_id: str
    vectors: np.ndarray
    sentences: list[tuple[int, int, str]]  # (start, end, chunk id), in text order
    sentence_vectors: np.ndarray
    terms: frozenset[str]


def article_view(index: SearchIndex, article_id: str, chunk_rows: Sequence[int]) -> ArticleView:
    """An article's vectors and terms from the snapshot that holds it."""
    article = index.articles[article_id]
    rows = [s for c in chunk_rows for s in index.sentences_of[c]]
    sentences = [index.sentences[r] for r in rows]
    sents = [(s.start, s.end, index.chunks[s.chunk_row].id) for s in sentences]
    return ArticleView(
        article_id,
        np.vstack([index.chunk_vectors[list(chunk_rows)], index.sentence_vectors[rows]]),
        sents,
        index.sentence_vectors[rows],
        frozenset(terms(f"{article.title}\n{article.text}")),
    )


class TopicMatcher:
    """Every follow's topic as a row: its embedding, and its content terms weighted by IDF
    (each row sums to 1, so the lexical score is the share of the topic the article holds)."""

    def __init__(
        self,
        vectors: np.ndarray,
        topics: Sequence[str],
        idf: Callable[[str], float],
        dense_weight: float,
    ) -> None:
        self.vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        self.dense_weight = dense_weight
        # Per term, the follows that hold it and its weight in each (IDF over the topic's
        # IDF total, so that a topic whose words all appear scores 1).
        postings: dict[str, list[tuple[int, float]]] = {}
        for i, topic in enumerate(topics):
            ts = sorted(set(terms(topic)))
            weights = [max(idf(t), 1e-6) for t in ts]
            total = sum(weights)
            for t, w in zip(ts, weights, strict=True):
                postings.setdefault(t, []).append((i, w / total))
        self.vocab = {t: n for n, t in enumerate(postings)}
        lists = list(postings.values())
        self._indptr = np.cumsum([0] + [len(p) for p in lists])
        self._rows = np.array([i for p in lists for i, _ in p], dtype=np.int64)
        self._weights = np.array([w for p in lists for _, w in p], dtype=np.float64)

    def __len__(self) -> int:
        return len(self.vectors)

    def parts(self, view: ArticleView) -> tuple[np.ndarray, np.ndarray]:
        """Each follow's dense score (its best cosine with the article's chunks and
        sentences) and lexical score (the IDF share of its terms the article holds)."""
        if not len(self.vectors) or not len(view.vectors):
            return np.zeros(len(self.vectors)), np.zeros(len(self.vectors))
        dense = np.einsum("fd,vd->fv", self.vectors, view.vectors).max(axis=1)
        cols = [self.vocab[t] for t in view.terms if t in self.vocab]
        if not cols:
            return dense, np.zeros(len(self.vectors))
        at = np.concatenate([np.arange(self._indptr[c], self._indptr[c + 1]) for c in cols])
        lexical = np.bincount(self._rows[at], self._weights[at], minlength=len(self.vectors))
        return dense, lexical

    def scores(self, view: ArticleView) -> np.ndarray:
        """Each follow's relevance of the article, in [0, 1] (mostly)."""
        dense, lexical = self.parts(view)
        return self.dense_weight * dense + (1 - self.dense_weight) * lexical


def what_happened(
    index: SearchIndex, view: ArticleView, topic_vector: np.ndarray, score: float
) -> Citation:
    """The article cited by its sentence nearest the topic, earlier sentences first on a
    near tie (the lead says what happened); the title when it has no sentence."""
    a = index.articles[view.article_id]
    # A page's text often opens with its headline: the quote says more than the title.
    title = " ".join(a.title.split()).casefold()
    keep = [i for i, (s, e, _) in enumerate(view.sentences) if _norm(a.text[s:e]) != title]
    if keep:
        near = view.sentence_vectors[keep] @ topic_vector
        best = keep[int(np.argmax(near - _LEAD_PENALTY * np.arange(len(near))))]
        start, end, chunk_id = view.sentences[best]
        quote = a.text[start:end]
    else:
        quote, chunk_id = a.title, f"{a.id}#0"
    return Citation(
        n=1,
        article_id=a.id,
        title=a.title,
        date=a.date,
        source=a.source,
        url=a.url,
        quote=quote,
        chunk_id=chunk_id,
        score=round(max(0.0, min(1.0, score)), 4),
    )


def _norm(text: str) -> str:
    return " ".join(text.split()).casefold().rstrip(".")
