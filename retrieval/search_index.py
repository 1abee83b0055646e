"""An in-memory, read-only view of one snapshot, ready to search: the snapshot's segments,
each with its own FAISS indexes and filter arrays (built once per segment, see
segment_index.py), searched together with global row numbers; BM25 with statistics across
the segments (loaded with the snapshot).

A snapshot's rows are its segments' rows one after the other, deleted ones included: a row
of an article deleted since is masked (never returned), not renumbered, so that loading the
next snapshot costs what is new in it, not what it holds.
"""

from __future__ import annotations

import functools
from bisect import bisect_right
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import replace
from typing import Any, Generic, TypeVar

import numpy as np

from retrieval import ann
from retrieval.segment_index import Filters, LivePart, SegmentIndex, top_k
from retrieval.segments import Segment
from retrieval.store import ArticleRow, ChunkRow, SentenceRow, Snapshot, SnapshotData, build_lexical

__all__ = ["Filters", "SearchIndex"]

Row = TypeVar("Row", ChunkRow, SentenceRow)


class SearchIndex:
    """One loaded snapshot with its three rankers."""

    def __init__(self, data: Snapshot | SnapshotData) -> None:
        snap = data if isinstance(data, Snapshot) else _one_part(data)
        self.data = snap
        self.name = snap.name
        self.articles: Mapping[str, ArticleRow] = snap.articles
        self.parts: list[LivePart] = snap.parts
        self.lexical = snap.lexical
        self._chunk0 = [p.chunk0 for p in self.parts]
        self._sentence0 = [p.sentence0 for p in self.parts]
        n_chunks = sum(p.index.n_chunks for p in self.parts)
        n_sentences = sum(p.index.n_sentences for p in self.parts)
        live_chunks = sum(p.live_chunks for p in self.parts)
        live_sentences = sum(p.live_sentences for p in self.parts)
        self.chunks: _Rows[ChunkRow] = _Rows(self, n_chunks, live_chunks, True)
        self.sentences: _Rows[SentenceRow] = _Rows(self, n_sentences, live_sentences, False)
        self.sentences_of = _SentencesOf(self)
        self.chunk_vectors = _Vectors(self, chunks=True)
        self.sentence_vectors = _Vectors(self, chunks=False)
        # True when some rows are deleted: masks then always carry the live rows.
        self._holes = any(p.alive is not None for p in self.parts)

    @functools.cached_property
    def sources(self) -> tuple[str, ...]:
        """The distinct sources of the snapshot's segments, as written."""
        return tuple(dict.fromkeys(n for p in self.parts for n in p.index.source_names))

    def idf(self, term: str) -> float:
        """BM25's inverse document frequency of a term over the chunks."""
        return self.lexical.idf(term)

    def __len__(self) -> int:
        return len(self.chunks)

    def part_of(self, row: int, *, chunks: bool = True) -> LivePart:
        """The segment that holds a snapshot row of a chunk (or of a sentence)."""
        starts = self._chunk0 if chunks else self._sentence0
        return self.parts[bisect_right(starts, row) - 1]

    def mask(self, filters: Filters) -> np.ndarray | None:
        """A boolean mask over the snapshot's chunk rows for the filters (deleted rows never
        pass), or None when nothing is filtered."""
        if not filters:
            return None
        masks = []
        for p in self.parts:
            m = p.index.mask(filters)
            masks.append(m if p.alive is None else m & p.alive)
        return np.concatenate(masks) if masks else np.zeros(0, dtype=bool)

    def newest(self, filters: Filters) -> str | None:
        """The newest publication date (ISO) among the live chunks the filters let through."""
        mask = self.mask(filters)
        days = [p.index.newest(self._allowed(p, mask)) for p in self.parts]
        return max((d for d in days if d), default=None)

    def _allowed(self, p: LivePart, mask: np.ndarray | None) -> np.ndarray | None:
        if mask is None:
            return p.alive
        return mask[p.chunk0 : p.chunk0 + p.index.n_chunks]

    def dense_chunks(
        self, qvec: np.ndarray, k: int, mask: np.ndarray | None
    ) -> list[tuple[int, float]]:
        """Chunks by cosine similarity of their vector to the question."""
        hits = []
        with ann.one_thread():
            for p in self.parts:
                hits += p.chunk_hits(qvec, k, self._allowed(p, mask))
        return top_k(hits, k)

    def dense_sentences(
        self,
        qvec: np.ndarray,
        k: int,
        mask: np.ndarray | None,
        among: Sequence[int] | np.ndarray | None = None,
    ) -> list[tuple[int, float]]:
        """Chunks by the cosine similarity of their best sentence to the question, of the
        chunks ``among`` (default: the dense search's top ``4 * k``), whichever of them
        the mask lets through: sentences are scored inside chunks another ranker retrieved,
        from their stored vectors, never searched over the whole index."""
        if not self.parts:  # an index of no articles
            return []
        if among is None:
            among = [r for r, _ in self.dense_chunks(qvec, 4 * k, mask)]
        rows = np.unique(np.asarray(among, dtype=np.int64))
        if mask is not None:
            rows = rows[mask[rows]]
        found, scores = [], []
        cut = np.searchsorted(rows, np.asarray(self._chunk0[1:], dtype=np.int64))
        for p, local in zip(self.parts, np.split(rows, cut), strict=True):
            if p.alive is not None:
                local = local[p.alive[local - p.chunk0]]
            chunks, best = p.index.best_sentences(qvec, local - p.chunk0)
            found.append(chunks + p.chunk0)
            scores.append(best)
        if not found:
            return []
        rows, best = np.concatenate(found), np.concatenate(scores)
        order = np.lexsort((rows, -best))[:k]  # of equal scores the lower row first
        return [(int(rows[i]), float(best[i])) for i in order]

    def bm25(
        self, query_terms: Sequence[str], k: int, mask: np.ndarray | None
    ) -> list[tuple[int, float]]:
        """Chunks by BM25 over their title and text."""
        if not len(self.chunks) or not query_terms:
            return []
        # Only the rows that hold a query term (deleted rows hold none).
        rows, scores = self.lexical.sparse_scores(query_terms)
        keep = scores > 0
        if mask is not None:
            keep &= mask[rows]
        rows, scores = rows[keep], scores[keep]
        if len(rows) > k:
            kth = np.partition(scores, len(rows) - k)[len(rows) - k]
            rows, scores = rows[scores >= kth], scores[scores >= kth]
        # Of equal scores the lower rows first, so that holes left by deleted rows change
        # nothing (a row's order among the live ones is the same with or without them).
        top = np.lexsort((rows, -scores))[:k]
        return [(int(rows[i]), float(scores[i])) for i in top]


def _one_part(data: SnapshotData) -> Snapshot:
    """A snapshot given as rows and vectors in memory, as one segment without deletions."""
    seg = Segment(
        data.articles, data.chunks, data.sentences, data.chunk_vectors, data.sentence_vectors,
        chunk_index=data.chunk_index, sentence_index=data.sentence_index,
    )  # fmt: skip
    part = LivePart.place(SegmentIndex(seg), 0, 0, frozenset())
    lexical = data.lexical or build_lexical(data.articles, data.chunks)
    return Snapshot(data.name, data.manifest, dict(data.files), data.articles, [part], lexical)


class _Rows(Generic[Row]):
    """The snapshot's chunk (or sentence) rows by snapshot row number; iterating and len()
    see the live ones only."""

    def __init__(self, index: SearchIndex, n_rows: int, n_live: int, chunks: bool) -> None:
        self._index, self._n_rows, self._n_live, self._chunks = index, n_rows, n_live, chunks

    def __len__(self) -> int:
        return self._n_live

    def __getitem__(self, row: int) -> Row:
        if not 0 <= row < self._n_rows:
            raise IndexError(f"row {row} is outside the snapshot")
        p = self._index.part_of(row, chunks=self._chunks)
        return self._lift(p, row - (p.chunk0 if self._chunks else p.sentence0))

    def _lift(self, p: LivePart, local: int) -> Row:
        seg = p.index.seg
        return self._lift_row(p, seg.chunks[local] if self._chunks else seg.sentences[local])

    def __iter__(self) -> Iterator[Row]:
        for p in self._index.parts:
            alive = p.alive if self._chunks else p.sentence_alive
            seg = p.index.seg
            # The segment's rows one after the other (a read segment's in batches).
            rows: Iterable[Any] = seg.chunks if self._chunks else seg.sentences
            for local, row in enumerate(rows):
                if alive is None or alive[local]:
                    yield self._lift_row(p, row)

    def _lift_row(self, p: LivePart, r: Any) -> Row:
        if self._chunks:
            return r if p.chunk0 == 0 else replace(r, row=r.row + p.chunk0)
        if p.chunk0 == 0 and p.sentence0 == 0:
            return r
        return SentenceRow(r.row + p.sentence0, r.chunk_row + p.chunk0, r.start, r.end)  # type: ignore[return-value]


class _SentencesOf:
    """``sentences_of[chunk_row]``: the snapshot rows of a chunk's sentences, ascending."""

    def __init__(self, index: SearchIndex) -> None:
        self._index = index

    def __getitem__(self, row: int) -> list[int]:
        p = self._index.part_of(row)
        return (p.index.sentences_of(row - p.chunk0) + p.sentence0).tolist()


class _Vectors:
    """The snapshot's chunk (or sentence) vectors by snapshot row: ``v[row]`` or
    ``v[rows]``, read from each segment's own storage (no copy of them all); float32 always
    (sentences are stored as half floats)."""

    def __init__(self, index: SearchIndex, *, chunks: bool) -> None:
        self._index, self._chunks = index, chunks

    def _of(self, p: LivePart) -> tuple[np.ndarray, int]:
        seg = p.index.seg
        if self._chunks:
            return seg.chunk_vectors, p.chunk0
        return seg.sentence_vectors, p.sentence0

    def __getitem__(self, rows: int | Sequence[int] | np.ndarray) -> np.ndarray:
        return self._get(rows).astype(np.float32, copy=False)

    def _get(self, rows: int | Sequence[int] | np.ndarray) -> np.ndarray:
        if isinstance(rows, (int, np.integer)):
            vectors, offset = self._of(self._index.part_of(int(rows), chunks=self._chunks))
            return vectors[int(rows) - offset]
        rows = np.asarray(rows, dtype=np.int64)
        if not len(rows):
            parts = self._index.parts
            return self._of(parts[0])[0][:0] if parts else np.zeros((0, 0), dtype=np.float32)
        first = self._index.part_of(int(rows.min()), chunks=self._chunks)
        last = self._index.part_of(int(rows.max()), chunks=self._chunks)
        if first is last:  # a chunk's sentences: always one segment's
            vectors, offset = self._of(first)
            return vectors[rows - offset]
        return np.stack([self._get(int(r)) for r in rows])
