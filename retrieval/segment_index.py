"""One segment ready to search: built once per verified segment and kept with it (segments
never change), so that a reader loading the next snapshot builds only what is new.

A :class:`SegmentIndex` holds the segment's chunk search index (flat, HNSW or IVF; its
storage is the one copy of the chunk vectors in memory, see ann.py), its sentence vectors
(half floats, scored only inside retrieved chunks), per-chunk filter arrays (date, source,
article) and the map between its chunks and their sentences, all numbered from 0 within the
segment. A snapshot places
each at an offset in its row space (:class:`LivePart`); the rows of articles deleted since
are masked, never renumbered.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from retrieval import ann
from retrieval.segment_rows import SegmentArticles
from retrieval.segments import Segment


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


class SegmentIndex:
    """A segment's rankers and filter arrays, its rows numbered from 0."""

    def __init__(self, seg: Segment) -> None:
        self.seg = seg
        self.chunk_index = seg.chunk_index
        if self.chunk_index is None:
            self.chunk_index = ann.build(seg.chunk_vectors, "flat")
            seg.chunk_vectors = ann.vectors_of(self.chunk_index)
        self.kind = ann.kind_of(self.chunk_index)
        self.n_chunks, self.n_sentences = len(seg.chunks), len(seg.sentences)
        cols = seg.columns_of()
        self.sentence_chunk = cols.sentence_chunk.astype(np.int64)
        # Sentences of chunk c: _sent_order[_sent_start[c]:_sent_start[c + 1]], ascending.
        self._sent_order = np.argsort(self.sentence_chunk, kind="stable")
        self._sent_start = np.zeros(self.n_chunks + 1, dtype=np.int64)
        per_chunk = np.bincount(self.sentence_chunk, minlength=self.n_chunks)
        np.cumsum(per_chunk, out=self._sent_start[1:])
        # Articles and sources as small integer codes, so that filters compare integers.
        codes = cols.chunk_article
        # ISO dates compare as strings; "" is no date (never inside a window). Each chunk
        # holds its date's rank among the segment's distinct dates, so that a window is two
        # integer comparisons (comparing 1M strings costs ~10 ms a query).
        self._dates = cols.dates
        self._chunk_date = cols.article_date[codes]
        self.source_names = tuple(dict.fromkeys(str(x) for x in cols.sources if str(x)))
        folded = [str(x).casefold() for x in cols.sources]
        self._source_code = {f: i for i, f in enumerate(dict.fromkeys(folded))}
        by_name = np.array([self._source_code[f] for f in folded], dtype=np.int32)
        self._chunk_source = by_name[cols.article_source][codes] if len(folded) else codes
        self._chunk_article = codes
        self._alive: tuple[frozenset[str], np.ndarray | None] = (frozenset(), None)
        self._article_code: dict[str, int] | None = None

    def article_codes(self, ids: Iterable[str]) -> list[int]:
        """The codes of those of these articles that the segment holds."""
        arts = self.seg.articles
        if isinstance(arts, SegmentArticles):
            return arts.codes(ids)
        if self._article_code is None:
            self._article_code = {aid: i for i, aid in enumerate(arts)}
        return [c for a in ids if (c := self._article_code.get(a)) is not None]

    def n_deleted(self, deleted: frozenset[str]) -> int:
        """How many of these articles the segment holds."""
        return len(self.article_codes(deleted)) if deleted else 0

    def sentences_of(self, chunk: int) -> np.ndarray:
        """The rows of a chunk's sentences, ascending."""
        return self._sent_order[self._sent_start[chunk] : self._sent_start[chunk + 1]]

    def best_sentences(self, qvec: np.ndarray, chunks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Of these chunks (rows within the segment), those with sentences, and the inner
        product of each one's best sentence with the question (from the stored vectors)."""
        starts, ends = self._sent_start[chunks], self._sent_start[chunks + 1]
        has = ends > starts
        chunks, starts, ends = chunks[has], starts[has], ends[has]
        if not len(chunks):
            return chunks, np.zeros(0, dtype=np.float32)
        sizes = ends - starts
        # The positions starts[i] .. ends[i] - 1 of every chunk, one after the other.
        first = np.repeat(np.cumsum(sizes) - sizes, sizes)
        pos = np.repeat(starts, sizes) + np.arange(int(sizes.sum())) - first
        rows = self._sent_order[pos]
        cos = self.seg.sentence_vectors[rows].astype(np.float32) @ qvec.astype(np.float32)
        return chunks, np.maximum.reduceat(cos, np.cumsum(sizes) - sizes)

    def alive(self, deleted: frozenset[str]) -> np.ndarray | None:
        """Which chunks are live when ``deleted`` articles are gone; None: all of them."""
        if not deleted:
            return None
        if self._alive[0] != deleted:  # a snapshot's deletions change seldom: keep the last
            gone = self.article_codes(deleted)
            self._alive = (deleted, ~np.isin(self._chunk_article, gone))
        return self._alive[1]

    def newest(self, allowed: np.ndarray | None) -> str | None:
        """The newest date of the chunks ``allowed`` lets through (None: every chunk)."""
        codes = self._chunk_date if allowed is None else self._chunk_date[allowed]
        if not len(codes):
            return None
        return str(self._dates[codes.max()]) or None

    def mask(self, filters: Filters) -> np.ndarray:
        """A boolean mask over the segment's chunks for the filters."""
        ok = np.ones(self.n_chunks, dtype=bool)
        if (filters.since or filters.until) and not filters.undated and "" in self._dates[:1]:
            ok &= self._chunk_date != 0  # "" sorts first
        if filters.since:
            ok &= self._chunk_date >= np.searchsorted(self._dates, filters.since.isoformat())
        if filters.until:
            hi = np.searchsorted(self._dates, filters.until.isoformat(), side="right")
            ok &= self._chunk_date < hi
        if filters.sources:
            wanted = [self._source_code.get(s.casefold(), -1) for s in filters.sources]
            ok &= np.isin(self._chunk_source, wanted)
        if filters.articles:
            ok &= np.isin(self._chunk_article, self.article_codes(filters.articles))
        return ok


@dataclass(frozen=True)
class LivePart:
    """A segment in a snapshot: where its rows start, and which of them are live."""

    index: SegmentIndex
    chunk0: int
    sentence0: int
    alive: np.ndarray | None  # over its chunks; None: every chunk is live
    sentence_alive: np.ndarray | None

    @classmethod
    def place(
        cls, index: SegmentIndex, chunk0: int, sentence0: int, deleted: frozenset[str]
    ) -> LivePart:
        """The segment at these offsets with ``deleted`` articles masked."""
        alive = index.alive(deleted)
        sentence_alive = None if alive is None else alive[index.sentence_chunk]
        return cls(index, chunk0, sentence0, alive, sentence_alive)

    @property
    def live_chunks(self) -> int:
        """How many of its chunks are live."""
        return self.index.n_chunks if self.alive is None else int(self.alive.sum())

    @property
    def live_sentences(self) -> int:
        """How many of its sentences are live."""
        s = self.sentence_alive
        return self.index.n_sentences if s is None else int(s.sum())

    def rowmap(self) -> np.ndarray:
        """Each of its chunks' row in the snapshot, or -1 when deleted."""
        rows = np.arange(self.chunk0, self.chunk0 + self.index.n_chunks, dtype=np.int64)
        if self.alive is not None:
            rows[~self.alive] = -1
        return rows

    def chunk_hits(
        self, qvec: np.ndarray, k: int, allowed: np.ndarray | None
    ) -> list[tuple[int, float]]:
        """Its top ``k`` allowed chunks (snapshot rows) by inner product with the question."""
        scores, ids = ann.search(self.index.chunk_index, qvec, k, allowed)
        return [(self.chunk0 + int(i), float(s)) for i, s in zip(ids, scores, strict=True)]


def top_k(hits: list[tuple[int, float]], k: int) -> list[tuple[int, float]]:
    """The best ``k`` of several segments' hits, best first, as one flat FAISS index lists
    them: of equal scores the lowest rows are kept, and listed highest row first (a
    sentence two overlapping chunks share then ranks the later chunk first, as before).
    Which of several rows with one score at the k-th place a segment returns under a
    selector is FAISS's choice, as it is in one flat index."""
    kept = sorted(hits, key=lambda h: (-h[1], h[0]))[:k]
    return sorted(kept, key=lambda h: (-h[1], -h[0]))
