"""Immutable index segments: the unit an index grows by.

A segment folder holds the rows of some articles, numbered from 0 within the segment::

    chunks.faiss                    its chunk vectors: an inner-product index of the kind its
                                    manifest entry records (flat, hnsw or ivf; see ann.py)
    sentences.f16                   its sentence vectors as raw half floats, memory-mapped
                                    (never searched: sentences are scored inside the retrieved
                                    chunks), with sentences.sums, an XXH3-64 digest per block
                                    of rows, verified the first time a block is read
                                    (checksums.CheckedRows); segments written before it have
                                    sentences.faiss instead (half floats in a FAISS file)
    store.sqlite                    its articles (with their text), chunks and sentences
    postings.npz                    term frequencies and chunk lengths (lexical.Postings)
    catalog.json                    id, path and content hash of each article (and its row
                                    counts): all that a writer reads to decide what changed
    columns.npz                     per-row integer columns (each chunk's article, each
                                    sentence's chunk and offsets, each article's date and
                                    source): what a reader holds in memory (segment_rows.py);
                                    segments written before it have none (then a reader
                                    derives them from store.sqlite)

A segment is written once and never changed; what changes later (an article removed,
replaced or moved) is recorded in the snapshot manifest that lists it (see store.py).
Every file is checksummed in that manifest and verified before FAISS, SQLite or numpy reads it
(sentences.f16 block by block, before a row of a block is read).
A reader keeps no Python object per row: texts and ids are read from store.sqlite on demand.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import faiss
import numpy as np

from retrieval import ann, checksums
from retrieval.lexical import Postings, terms
from retrieval.segment_rows import (
    Columns,
    ColumnSentences,
    SegmentArticles,
    SegmentChunks,
    SegmentDB,
)

CHUNKS, SENTENCES, STORE, POSTINGS, CATALOG, COLUMNS, SENTENCE_ROWS, SENTENCE_SUMS = (
    "chunks.faiss", "sentences.faiss", "store.sqlite", "postings.npz", "catalog.json",
    "columns.npz", "sentences.f16", "sentences.sums",
)  # fmt: skip
ARTIFACTS = (CHUNKS, SENTENCES, STORE, POSTINGS, CATALOG, COLUMNS, SENTENCE_ROWS, SENTENCE_SUMS)
# What this newsbot writes.
WRITTEN = (CHUNKS, STORE, POSTINGS, CATALOG, COLUMNS, SENTENCE_ROWS, SENTENCE_SUMS)
# What every segment has (columns.npz came later, then sentences.f16 and .sums in place of
# sentences.faiss: a manifest entry lists them when written).
REQUIRED = (CHUNKS, STORE, POSTINGS, CATALOG)
# Verified block by block as rows are read, not whole at load (checksums.CheckedRows).
LAZY = (SENTENCE_ROWS,)


def artifacts_of(listed: Mapping[str, Any]) -> tuple[str, ...]:
    """The files a segment's manifest entry (its ``artifacts``) says it has."""
    sentences = (SENTENCE_ROWS, SENTENCE_SUMS) if SENTENCE_ROWS in listed else (SENTENCES,)
    wanted = (*REQUIRED, *sentences, *((COLUMNS,) if COLUMNS in listed else ()))
    return tuple(a for a in ARTIFACTS if a in wanted)


SCHEMA = """
CREATE TABLE articles (
    id TEXT PRIMARY KEY, title TEXT NOT NULL, date TEXT, source TEXT, url TEXT,
    path TEXT NOT NULL, content_hash TEXT NOT NULL, text TEXT NOT NULL
);
CREATE TABLE chunks (
    row INTEGER PRIMARY KEY, id TEXT UNIQUE NOT NULL, article_id TEXT NOT NULL,
    idx INTEGER NOT NULL, start INTEGER NOT NULL, "end" INTEGER NOT NULL, text TEXT NOT NULL
);
CREATE TABLE sentences (
    row INTEGER PRIMARY KEY, chunk_row INTEGER NOT NULL,
    start INTEGER NOT NULL, "end" INTEGER NOT NULL
);
CREATE INDEX sentences_by_chunk ON sentences(chunk_row);
"""


@dataclass(frozen=True)
class ArticleRow:
    """An indexed article's metadata and text (empty in a writer's catalog)."""

    id: str
    title: str
    date: str | None
    source: str | None
    url: str | None
    path: str
    content_hash: str
    text: str


@dataclass(frozen=True)
class ChunkRow:
    """An indexed chunk; ``row`` is its id in chunks.faiss."""

    row: int
    id: str
    article_id: str
    idx: int
    start: int
    end: int
    text: str


@dataclass(frozen=True)
class SentenceRow:
    """A sentence of a chunk; ``row`` is its row in sentences.f16. Offsets are into the
    article text."""

    row: int
    chunk_row: int
    start: int
    end: int


@dataclass
class Segment:
    """A segment's rows and vectors (rows numbered from 0): Python rows in memory as the
    writer builds them, or, read from a segment folder, views that read a row when asked
    for (segment_rows.py) with its integer ``columns`` in memory."""

    articles: Mapping[str, ArticleRow]
    chunks: Sequence[ChunkRow]
    sentences: Sequence[SentenceRow]
    chunk_vectors: np.ndarray
    sentence_vectors: np.ndarray
    postings: Postings | None = None
    # The FAISS indexes read from the segment's files: then the vectors above are read-only
    # views of their storage, the one copy in memory.
    chunk_index: Any = None
    sentence_index: Any = None
    columns: Columns | None = None

    def columns_of(self) -> Columns:
        """The segment's integer columns (computed once from its rows when not read)."""
        if self.columns is None:
            self.columns = Columns.of(self)
        return self.columns

    def counts(self) -> dict[str, int]:
        """Rows per table, as the manifest records them."""
        return {
            "articles": len(self.articles),
            "chunks": len(self.chunks),
            "sentences": len(self.sentences),
        }


@dataclass(frozen=True)
class Selection:
    """Which rows of a segment are live, and where they go in the snapshot."""

    chunk_map: np.ndarray  # segment chunk row -> snapshot row, or -1 when deleted
    chunk_keep: np.ndarray
    sentence_keep: np.ndarray


def select(seg: Segment, deleted: set[str], offset: int) -> Selection:
    """The live rows of a segment whose ``deleted`` articles are gone, numbered from offset."""
    cols = seg.columns_of()
    if isinstance(seg.articles, SegmentArticles):
        gone = np.asarray(seg.articles.codes(deleted), dtype=np.int64)
    else:
        gone = np.array([i for i, a in enumerate(seg.articles) if a in deleted], dtype=np.int64)
    keep = ~np.isin(cols.chunk_article, gone)
    chunk_map = np.full(len(seg.chunks), -1, dtype=np.int64)
    chunk_map[keep] = np.arange(offset, offset + int(keep.sum()))
    sent_chunk = cols.sentence_chunk.astype(np.int64)
    return Selection(chunk_map, keep, keep[sent_chunk] if len(sent_chunk) else keep[:0])


def combine(
    parts: Sequence[tuple[Segment, set[str], Mapping[str, str]]], dim: int
) -> tuple[Segment, list[np.ndarray]]:
    """The live rows of several segments as one, renumbered part after part, with the moved
    articles' paths applied; and each part's chunk map (segment row -> new row or -1)."""
    articles: dict[str, ArticleRow] = {}
    chunks: list[ChunkRow] = []
    sentences: list[SentenceRow] = []
    cvecs, svecs, maps = [], [], []
    for seg, deleted, paths in parts:
        sel = select(seg, deleted, len(chunks))
        for a in seg.articles.values():
            if a.id not in deleted:
                articles[a.id] = replace(a, path=paths[a.id]) if a.id in paths else a
        rows = sel.chunk_map
        if not chunks and not sentences and sel.chunk_keep.all():
            # Nothing renumbered (the first part, whole): share its rows.
            chunks, sentences = list(seg.chunks), list(seg.sentences)
        else:
            chunks += [
                ChunkRow(int(rows[c.row]), c.id, c.article_id, c.idx, c.start, c.end, c.text)
                for c in seg.chunks
                if rows[c.row] >= 0
            ]
            base = len(sentences)
            kept = [s for s in seg.sentences if rows[s.chunk_row] >= 0]
            sentences += [
                SentenceRow(base + i, int(rows[s.chunk_row]), s.start, s.end)
                for i, s in enumerate(kept)
            ]
        whole = bool(sel.chunk_keep.all())  # then no copy: most segments have no deletions
        cvecs.append(seg.chunk_vectors if whole else seg.chunk_vectors[sel.chunk_keep])
        svecs.append(seg.sentence_vectors if whole else seg.sentence_vectors[sel.sentence_keep])
        maps.append(rows)
    out = Segment(articles, chunks, sentences, _stack(cvecs, dim), _stack(svecs, dim))
    return out, maps


def _stack(parts: list[np.ndarray], dim: int) -> np.ndarray:
    if len(parts) == 1:
        return parts[0]
    if not parts:
        return np.zeros((0, dim), dtype=np.float32)
    return np.ascontiguousarray(np.concatenate(parts))  # float16 sentences stay float16


def merge(parts: Sequence[tuple[Segment, set[str], Mapping[str, str]]]) -> Segment:
    """One new segment of the live rows of several (their postings merged, not rebuilt)."""
    out, maps = combine(parts, parts[0][0].chunk_vectors.shape[1])
    out.postings = Postings.merge(
        [(_postings(seg), m >= 0) for (seg, _, _), m in zip(parts, maps, strict=True)]
    )
    return out


def _postings(seg: Segment) -> Postings:
    if seg.postings is None:
        seg.postings = build_postings(seg.articles, seg.chunks)
    return seg.postings


def build_postings(articles: Mapping[str, ArticleRow], chunks: Sequence[ChunkRow]) -> Postings:
    """Term frequencies of each chunk's article title and text."""
    return Postings.build([terms(f"{articles[c.article_id].title}\n{c.text}") for c in chunks])


# --- files ------------------------------------------------------------------------------


def write(folder: Path, seg: Segment, kind: ann.Kind = "flat") -> None:
    """Write a segment's files into an empty folder (the caller fsyncs and renames it), its
    chunks searchable by an index of that kind."""
    faiss.write_index(ann.build(seg.chunk_vectors, kind), str(folder / CHUNKS))
    half = np.asarray(seg.sentence_vectors, dtype=np.float16)
    checksums.write_rows(folder / SENTENCE_ROWS, folder / SENTENCE_SUMS, half)
    _write_sqlite(seg, folder / STORE)
    _postings(seg).save(folder / POSTINGS)
    seg.columns_of().save(folder / COLUMNS)
    catalog = [
        [a.id, a.title, a.date, a.source, a.url, a.path, a.content_hash, n, m]
        for a, n, m in catalog_rows(seg)
    ]
    (folder / CATALOG).write_text(json.dumps(catalog, ensure_ascii=False), encoding="utf-8")


def catalog_rows(seg: Segment) -> list[tuple[ArticleRow, int, int]]:
    """Each article of a segment with its numbers of chunks and sentences (catalog.json)."""
    cols = seg.columns_of()
    n_articles = len(seg.articles)
    chunks_of = np.bincount(cols.chunk_article, minlength=n_articles)
    sentences_of = np.bincount(
        cols.chunk_article[cols.sentence_chunk], minlength=n_articles
    ) if len(cols.sentence_chunk) else np.zeros(n_articles, dtype=np.int64)  # fmt: skip
    return [
        (a, int(n), int(m))
        for a, n, m in zip(seg.articles.values(), chunks_of, sentences_of, strict=True)
    ]


def read(folder: Path, dim: int, *, kind: ann.Kind = "flat", postings: bool = True) -> Segment:
    """Read a segment whose files the caller has verified, its chunks.faiss of that kind
    (``postings=False``: a snapshot of the first format, whose tables are the same but which
    has no postings.npz). Its rows are read from store.sqlite when asked for; its columns
    from columns.npz, or from the tables when the segment has none."""
    chunk_index = ann.check(_read_faiss(folder / CHUNKS), kind, dim)
    sentence_index = None
    sentence_vectors: Any
    if (folder / SENTENCE_ROWS).exists():
        sums = np.fromfile(folder / SENTENCE_SUMS, dtype="<u8")
        damaged = (
            f"index segment {folder.name}: {SENTENCE_ROWS} is truncated or altered (checksum "
            "mismatch); rebuild it with `newsbot ingest --rebuild`"
        )
        sentence_vectors = checksums.CheckedRows(
            folder / SENTENCE_ROWS, np.dtype("<f2"), dim, sums, damaged
        )
    else:
        sentence_index = _read_sentences(folder / SENTENCES, dim)
        sentence_vectors = _sentence_vectors(sentence_index)
    db = SegmentDB(folder / STORE)
    n_articles, lo, hi = db.counts("articles", "rowid")
    n_chunks, c_lo, c_hi = db.counts("chunks", "row")
    # Articles are coded by rowid (the order they were written in), chunks by row.
    if (n_articles and (lo, hi) != (1, n_articles)) or (
        n_chunks and (c_lo, c_hi) != (0, n_chunks - 1)
    ):
        raise ValueError("row numbers are not contiguous")
    n_sentences, s_lo, s_hi = db.counts("sentences", "row")
    if n_sentences and (s_lo, s_hi) != (0, n_sentences - 1):
        raise ValueError("row numbers are not contiguous")
    has_columns = (folder / COLUMNS).exists()
    cols = Columns.load(folder / COLUMNS) if has_columns else db.columns(n_articles)
    cols.check(n_articles, n_chunks, n_sentences)
    loaded = Postings.load(folder / POSTINGS) if postings else None
    return Segment(
        SegmentArticles(db, n_articles, ArticleRow), SegmentChunks(db, n_chunks, ChunkRow),
        ColumnSentences(cols, SentenceRow), ann.vectors_of(chunk_index),
        sentence_vectors, loaded, chunk_index, sentence_index, cols,
    )  # fmt: skip


def check_rows(seg: Segment) -> None:
    """Refuse rows that point to articles or chunks the segment does not hold."""
    if seg.columns is not None:  # read: its columns were checked against its tables
        seg.columns.check(len(seg.articles), len(seg.chunks), len(seg.sentences))
        return
    if any(c.article_id not in seg.articles for c in seg.chunks) or any(
        not 0 <= s.chunk_row < len(seg.chunks) for s in seg.sentences
    ):
        raise ValueError("rows point to articles or chunks the segment does not hold")


@dataclass(frozen=True)
class CatalogEntry:
    """What a writer knows of an indexed article without reading its rows."""

    article: ArticleRow  # text left empty
    chunks: int
    sentences: int


def read_catalog(folder: Path) -> list[CatalogEntry]:
    """Read a segment's catalog.json (verified by the caller)."""
    raw: Any = json.loads((folder / CATALOG).read_text(encoding="utf-8"))
    out = []
    for r in raw:
        aid, title, date, source, url, path, content_hash, n_chunks, n_sentences = r
        out.append(
            CatalogEntry(
                ArticleRow(aid, title, date, source, url, path, content_hash, ""),
                int(n_chunks),
                int(n_sentences),
            )
        )
    return out


# FAISS maps a verified file's vectors in place (zero copy) where it can: a cold load then
# neither copies nor allocates them (1.5 GB at a million chunks), and a search reads the
# pages it probes. Segment files never change once written, and a mapping outlives a
# segment's collection (unlink), so what was verified is what is searched.
_MMAP = getattr(faiss, "IO_FLAG_MMAP_IFC", 0)


def _read_faiss(path: Path) -> faiss.Index:
    return faiss.read_index(str(path), _MMAP)


def _read_sentences(path: Path, dim: int) -> faiss.Index:
    """sentences.faiss: half floats, or exact floats in segments written before them."""
    index = _read_faiss(path)
    half = isinstance(index, faiss.IndexScalarQuantizer) and (
        index.sq.qtype == faiss.ScalarQuantizer.QT_fp16
    )
    if index.d != dim or not (half or isinstance(index, faiss.IndexFlatIP)):
        raise ValueError(f"{path.name} holds no vectors of dimension {dim}")
    return index


def _sentence_vectors(index: faiss.Index) -> np.ndarray:
    if isinstance(index, faiss.IndexScalarQuantizer):
        return ann.fp16_vectors(index)
    return ann.vectors_of(index)


def _write_sqlite(seg: Segment, path: Path) -> None:
    con = sqlite3.connect(path)
    try:
        # A new file that nothing reads before the store fsyncs and renames it: no journal.
        con.execute("PRAGMA journal_mode = OFF")
        con.execute("PRAGMA synchronous = OFF")
        con.executescript(SCHEMA)
        con.executemany(
            "INSERT INTO articles VALUES (?,?,?,?,?,?,?,?)",
            [
                (a.id, a.title, a.date, a.source, a.url, a.path, a.content_hash, a.text)
                for a in seg.articles.values()
            ],
        )
        con.executemany(
            "INSERT INTO chunks VALUES (?,?,?,?,?,?,?)",
            [(c.row, c.id, c.article_id, c.idx, c.start, c.end, c.text) for c in seg.chunks],
        )
        con.executemany(
            "INSERT INTO sentences VALUES (?,?,?,?)",
            [(s.row, s.chunk_row, s.start, s.end) for s in seg.sentences],
        )
        con.commit()
    finally:
        con.close()
