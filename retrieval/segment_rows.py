"""A read segment's rows without a Python object per row: the columns that filters and the
sentence map need as numpy arrays (columns.npz, loaded in one read), and the rest (ids,
titles, texts) read from the segment's SQLite file on demand, for the few rows a question
retrieves.

At a million chunks, turning every row into Python objects at load cost over a minute and
more than a gigabyte; these views cost a few arrays, and a row costs one SQLite lookup by
its primary key (microseconds) when it is asked for.

An article's code is its position in the segment (its SQLite rowid - 1, the order the
writer inserted the articles in); a chunk's is its row.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Protocol

import numpy as np

_ARTICLE = "id, title, date, source, url, path, content_hash, text"
_CHUNK = 'row, id, article_id, idx, start, "end", text'
_BATCH = 10_000  # rows read per query when iterating
_IDS_IN_MEMORY = 20_000  # a segment of at most this many articles keeps its ids in memory
_CACHED = 1024  # articles a snapshot keeps once read (questions return to the same ones)
_PARAMS = 500  # ids per IN (...) query (SQLite allows 999 parameters in older builds)


class _Rows(Protocol):
    """What a segment's rows are to the columns (segments.Segment)."""

    articles: Mapping[str, Any]
    chunks: Sequence[Any]
    sentences: Sequence[Any]


@dataclass(frozen=True)
class Columns:
    """Per-row integer columns of a segment (articles numbered by their code)."""

    chunk_article: np.ndarray  # int32 per chunk: its article's code
    sentence_chunk: np.ndarray  # int32 per sentence: its chunk's row
    sentence_start: np.ndarray  # int32 per sentence: offsets into the article text
    sentence_end: np.ndarray
    article_date: np.ndarray  # int32 per article: its date's index in ``dates``
    dates: np.ndarray  # the distinct dates (ISO, "" for none), sorted, as U10
    article_source: np.ndarray  # int32 per article: its source's index in ``sources``
    sources: np.ndarray  # the distinct sources as written ("" for none), as U strings

    @classmethod
    def of(cls, seg: _Rows) -> Columns:
        """The columns of a segment held as Python rows (what the writer writes)."""
        code = {aid: i for i, aid in enumerate(seg.articles)}
        arts = list(seg.articles.values())
        n_chunks, n_sentences = len(seg.chunks), len(seg.sentences)
        chunk_article = np.fromiter((code[c.article_id] for c in seg.chunks), np.int32, n_chunks)
        sent = np.fromiter(
            (v for s in seg.sentences for v in (s.chunk_row, s.start, s.end)),
            np.int64,
            3 * n_sentences,
        ).reshape(-1, 3)
        dates, date_of = np.unique(
            np.array([a.date or "" for a in arts], dtype="U10"), return_inverse=True
        )
        names = {s: i for i, s in enumerate(dict.fromkeys(a.source or "" for a in arts))}
        return cls(
            chunk_article,
            sent[:, 0].astype(np.int32), sent[:, 1].astype(np.int32), sent[:, 2].astype(np.int32),
            date_of.astype(np.int32).reshape(-1), dates.astype("U10"),
            np.array([names[a.source or ""] for a in arts], dtype=np.int32),
            np.array(list(names), dtype=str) if names else np.zeros(0, dtype="U1"),
        )  # fmt: skip

    def save(self, path: Path) -> None:
        """Write the columns as one uncompressed .npz (no object arrays: no pickle)."""
        with path.open("wb") as f:
            np.savez(f, **{k: getattr(self, k) for k in self.__dataclass_fields__})

    @classmethod
    def load(cls, path: Path) -> Columns:
        """Read what :meth:`save` wrote (the caller has verified the file's checksum)."""
        with np.load(path, allow_pickle=False) as z:
            return cls(**{k: z[k] for k in cls.__dataclass_fields__})

    def check(self, n_articles: int, n_chunks: int, n_sentences: int) -> None:
        """Refuse columns of other lengths than the rows', or codes that point nowhere."""
        lengths = (
            len(self.chunk_article), len(self.sentence_chunk), len(self.sentence_start),
            len(self.sentence_end), len(self.article_date), len(self.article_source),
        )  # fmt: skip
        want = (n_chunks, n_sentences, n_sentences, n_sentences, n_articles, n_articles)
        if lengths != want:
            raise ValueError("counts disagree between store.sqlite and columns.npz")
        for codes, n in (
            (self.chunk_article, n_articles),
            (self.sentence_chunk, n_chunks),
            (self.article_date, len(self.dates)),
            (self.article_source, len(self.sources)),
        ):
            if len(codes) and (int(codes.min()) < 0 or int(codes.max()) >= n):
                raise ValueError("rows point to articles or chunks the segment does not hold")


class SegmentDB:
    """A segment's store.sqlite, opened read-only once (after its checksum was verified)
    and shared by the threads that answer questions, one query at a time."""

    def __init__(self, path: Path) -> None:
        uri = f"file:{path}?mode=ro&immutable=1"
        self._con = sqlite3.connect(uri, uri=True, check_same_thread=False)
        self._lock = threading.Lock()

    def all(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """The rows of one query."""
        with self._lock:
            return self._con.execute(sql, params).fetchall()

    def one(self, sql: str, params: Sequence[Any] = ()) -> tuple[Any, ...] | None:
        """The first row of one query, or None."""
        with self._lock:
            return self._con.execute(sql, params).fetchone()

    def counts(self, table: str, key: str) -> tuple[int, int | None, int | None]:
        """How many rows a table holds, and its lowest and highest key (the rowid)."""
        row = self.one(f"SELECT count(*), min({key}), max({key}) FROM {table}")
        assert row is not None
        return int(row[0]), row[1], row[2]

    def columns(self, n_articles: int) -> Columns:
        """The columns of a segment written before columns.npz, read from its tables."""
        arts = self.all("SELECT date, source FROM articles ORDER BY rowid")
        chunk_article = np.array(
            [
                r[0]
                for r in self.all(
                    "SELECT a.rowid - 1 FROM chunks c JOIN articles a ON a.id = c.article_id "
                    "ORDER BY c.row"
                )
            ],
            dtype=np.int64,
        )
        sent = np.array(
            self.all('SELECT chunk_row, start, "end" FROM sentences ORDER BY row'), dtype=np.int64
        ).reshape(-1, 3)
        dates, date_of = np.unique(
            np.array([d or "" for d, _ in arts], dtype="U10"), return_inverse=True
        )
        names = {s: i for i, s in enumerate(dict.fromkeys(s or "" for _, s in arts))}
        if len(arts) != n_articles:
            raise ValueError("articles disagree with their count")
        return Columns(
            chunk_article.astype(np.int32),
            sent[:, 0].astype(np.int32), sent[:, 1].astype(np.int32), sent[:, 2].astype(np.int32),
            date_of.astype(np.int32).reshape(-1), dates.astype("U10"),
            np.array([names[s or ""] for _, s in arts], dtype=np.int32),
            np.array(list(names), dtype=str) if names else np.zeros(0, dtype="U1"),
        )  # fmt: skip


class SegmentArticles(Mapping[str, Any]):
    """A read segment's articles by id (with their text), each read when asked for. A
    small segment keeps its ids in memory, so that looking for an article in every
    segment asks SQLite only where it is."""

    def __init__(self, db: SegmentDB, n: int, make: Any) -> None:
        self._db, self._n, self._make = db, n, make
        self._ids: frozenset[str] | None = None
        if n <= _IDS_IN_MEMORY:
            self._ids = frozenset(r[0] for r in db.all("SELECT id FROM articles"))

    def __len__(self) -> int:
        return self._n

    def __getitem__(self, article_id: str) -> Any:
        if not isinstance(article_id, str) or (
            self._ids is not None and article_id not in self._ids
        ):
            raise KeyError(article_id)
        row = self._db.one(f"SELECT {_ARTICLE} FROM articles WHERE id = ?", (article_id,))
        if row is None:
            raise KeyError(article_id)
        return self._make(*row)

    def __contains__(self, article_id: object) -> bool:
        return isinstance(article_id, str) and self.code(article_id) is not None

    def __iter__(self) -> Iterator[str]:
        for lo in range(1, self._n + 1, _BATCH):
            yield from (
                r[0]
                for r in self._db.all(
                    "SELECT id FROM articles WHERE rowid >= ? AND rowid < ? ORDER BY rowid",
                    (lo, lo + _BATCH),
                )
            )

    def values(self) -> Iterator[Any]:  # type: ignore[override]
        """Every article, in code order (read in batches)."""
        for lo in range(1, self._n + 1, _BATCH):
            for r in self._db.all(
                f"SELECT {_ARTICLE} FROM articles WHERE rowid >= ? AND rowid < ? ORDER BY rowid",
                (lo, lo + _BATCH),
            ):
                yield self._make(*r)

    def items(self) -> Iterator[tuple[str, Any]]:  # type: ignore[override]
        """Every (id, article), in code order."""
        return ((a.id, a) for a in self.values())

    def code(self, article_id: str) -> int | None:
        """An article's code, or None when the segment does not hold it."""
        if self._ids is not None and article_id not in self._ids:
            return None
        row = self._db.one("SELECT rowid - 1 FROM articles WHERE id = ?", (article_id,))
        return None if row is None else int(row[0])

    def codes(self, ids: Iterable[str]) -> list[int]:
        """The codes of those of these articles that the segment holds."""
        wanted = list(dict.fromkeys(i for i in ids if isinstance(i, str)))
        out: list[int] = []
        for lo in range(0, len(wanted), _PARAMS):
            part = wanted[lo : lo + _PARAMS]
            marks = ",".join("?" * len(part))
            out += [
                int(r[0])
                for r in self._db.all(f"SELECT rowid - 1 FROM articles WHERE id IN ({marks})", part)
            ]
        return out


class SegmentChunks(Sequence[Any]):
    """A read segment's chunks by row (with their text), each read when asked for."""

    def __init__(self, db: SegmentDB, n: int, make: Any) -> None:
        self._db, self._n, self._make = db, n, make

    def __len__(self) -> int:
        return self._n

    def __getitem__(self, row: Any) -> Any:
        if isinstance(row, slice):
            return [self[i] for i in range(*row.indices(self._n))]
        row = int(row)
        if row < 0:
            row += self._n
        if not 0 <= row < self._n:
            raise IndexError(f"chunk row {row} is outside the segment")
        found = self._db.one(f"SELECT {_CHUNK} FROM chunks WHERE row = ?", (row,))
        if found is None:
            raise IndexError(f"chunk row {row} is missing")
        return self._make(*found)

    def __iter__(self) -> Iterator[Any]:
        for lo in range(0, self._n, _BATCH):
            for r in self._db.all(
                f"SELECT {_CHUNK} FROM chunks WHERE row >= ? AND row < ? ORDER BY row",
                (lo, lo + _BATCH),
            ):
                yield self._make(*r)


class ColumnSentences(Sequence[Any]):
    """A segment's sentences by row, made from its columns when asked for."""

    def __init__(self, cols: Columns, make: Any) -> None:
        self._cols, self._make = cols, make

    def __len__(self) -> int:
        return len(self._cols.sentence_chunk)

    def __getitem__(self, row: Any) -> Any:
        if isinstance(row, slice):
            return [self[i] for i in range(*row.indices(len(self)))]
        row = int(row)
        if row < 0:
            row += len(self)
        if not 0 <= row < len(self):
            raise IndexError(f"sentence row {row} is outside the segment")
        c = self._cols
        return self._make(
            row, int(c.sentence_chunk[row]), int(c.sentence_start[row]), int(c.sentence_end[row])
        )

    def __iter__(self) -> Iterator[Any]:
        c = self._cols
        chunk, start, end = (
            c.sentence_chunk.tolist(),
            c.sentence_start.tolist(),
            c.sentence_end.tolist(),
        )
        rows = zip(chunk, start, end, strict=True)
        for row, (c_row, s_start, s_end) in enumerate(rows):
            yield self._make(row, c_row, s_start, s_end)


class LiveArticles(Mapping[str, Any]):
    """A snapshot's live articles by id, across its segments (a later segment's copy wins,
    an article deleted from a segment is not there, a moved one has its new path): looked
    up segment by segment when asked for, never copied into one dict."""

    def __init__(
        self, parts: Sequence[tuple[Mapping[str, Any], frozenset[str], Mapping[str, str]]], n: int
    ) -> None:
        self._parts, self._n = list(parts), n
        self._recent: dict[str, Any] = {}

    def __len__(self) -> int:
        return self._n

    def _fix(self, a: Any, paths: Mapping[str, str]) -> Any:
        path = paths.get(a.id)
        return a if path is None else replace(a, path=str(path))

    def __getitem__(self, article_id: str) -> Any:
        found = self._recent.get(article_id)
        if found is not None:
            return found
        for arts, deleted, paths in reversed(self._parts):
            if article_id in deleted:
                continue
            a = arts.get(article_id)
            if a is not None:
                if len(self._recent) >= _CACHED:
                    self._recent.clear()
                self._recent[article_id] = found = self._fix(a, paths)
                return found
        raise KeyError(article_id)

    def __contains__(self, article_id: object) -> bool:
        return any(
            article_id not in deleted and article_id in arts for arts, deleted, _ in self._parts
        )

    def __iter__(self) -> Iterator[str]:
        for arts, deleted, _ in self._parts:
            yield from (a for a in arts if a not in deleted)

    def values(self) -> list[Any]:  # type: ignore[override]
        """Every live article (read segment by segment; a list, as callers walk it twice)."""
        return [
            self._fix(a, paths)
            for arts, deleted, paths in self._parts
            for a in arts.values()
            if a.id not in deleted
        ]

    def items(self) -> list[tuple[str, Any]]:  # type: ignore[override]
        """Every (id, live article)."""
        return [(a.id, a) for a in self.values()]
