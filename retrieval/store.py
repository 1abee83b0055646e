"""The index store: immutable snapshots, published by one atomic rename.

Layout of the index folder::

    LOCK                      held (flock) by the one writer
    CURRENT                   the name of the current snapshot, replaced by rename
    snapshots/<name>/         chunks.faiss, sentences.faiss, store.sqlite, manifest.json

A snapshot is written in full under a temporary name, fsynced, renamed into place, and only
then named in CURRENT. Readers verify every file's size and SHA-256 against the manifest
before FAISS reads it, so a truncated or altered file is refused and never served. No pickle.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import fcntl
import json
import os
import re
import shutil
import sqlite3
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import faiss
import numpy as np

from retrieval.durable import fsync_dir, fsync_file, sha256_file
from retrieval.errors import IndexCorruptError, IndexMissingError, IngestLockedError

FORMAT_VERSION = 1
ARTIFACTS = ("chunks.faiss", "sentences.faiss", "store.sqlite")
KEEP_SNAPSHOTS = 2
# What publish() names a snapshot: a UTC timestamp and 8 random hex digits.
_SNAPSHOT_NAME = re.compile(r"\d{8}T\d{12}-[0-9a-f]{8}")

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
CREATE TABLE files (path TEXT PRIMARY KEY, sha256 TEXT NOT NULL);
CREATE INDEX sentences_by_chunk ON sentences(chunk_row);
"""


@dataclass(frozen=True)
class ArticleRow:
    """An indexed article's metadata and text."""

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
    """A sentence of a chunk; ``row`` is its id in sentences.faiss. Offsets are into the
    article text."""

    row: int
    chunk_row: int
    start: int
    end: int


@dataclass
class SnapshotData:
    """Everything a snapshot holds, in memory: what the writer builds and a reader loads."""

    manifest: dict[str, Any]
    articles: dict[str, ArticleRow]
    chunks: list[ChunkRow]
    sentences: list[SentenceRow]
    files: dict[str, str]
    chunk_vectors: np.ndarray
    sentence_vectors: np.ndarray
    name: str = ""
    # The FAISS indexes as read from disk (a reader's); None on the writer side.
    chunk_index: Any = None
    sentence_index: Any = None


class IndexStore:
    """The index folder: a writer lock, snapshot publishing and verified loading."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.snapshots = self.root / "snapshots"

    # --- writer side ---------------------------------------------------------------

    @contextlib.contextmanager
    def writer_lock(self) -> Iterator[None]:
        """Hold the one-writer lock; a second writer gets IngestLockedError at once."""
        self.root.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.root / "LOCK", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as e:
                if e.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                    raise
                holder = os.pread(fd, 200, 0).decode("utf-8", "replace").strip()
                raise IngestLockedError(
                    f"another ingest is writing this index ({holder or 'unknown process'}); "
                    "wait for it to finish and run again"
                ) from None
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"pid {os.getpid()} since {dt.datetime.now():%H:%M:%S}".encode(), 0)
            yield
        finally:
            os.close(fd)  # closing releases the flock; so does the process dying

    def publish(self, data: SnapshotData) -> str:
        """Write a complete snapshot and make it current by one atomic rename."""
        self.snapshots.mkdir(parents=True, exist_ok=True)
        # Microseconds, so that names sort by age even within one second (garbage collection
        # keeps the newest by name).
        name = f"{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%S%f}-{uuid.uuid4().hex[:8]}"
        tmp = self.snapshots / f".tmp-{name}"
        tmp.mkdir()
        _write_faiss(data.chunk_vectors, tmp / "chunks.faiss")
        _write_faiss(data.sentence_vectors, tmp / "sentences.faiss")
        _write_sqlite(data, tmp / "store.sqlite")
        manifest = dict(data.manifest)
        manifest["format_version"] = FORMAT_VERSION
        manifest["created"] = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        manifest["counts"] = {
            "articles": len(data.articles),
            "chunks": len(data.chunks),
            "sentences": len(data.sentences),
        }
        manifest["files"] = data.files
        manifest["artifacts"] = {
            a: {"sha256": sha256_file(tmp / a), "bytes": (tmp / a).stat().st_size}
            for a in ARTIFACTS
        }
        (tmp / "manifest.json").write_text(json.dumps(manifest, indent=1), encoding="utf-8")
        for f in (*ARTIFACTS, "manifest.json"):
            fsync_file(tmp / f)
        fsync_dir(tmp)
        final = self.snapshots / name
        tmp.rename(final)
        fsync_dir(self.snapshots)
        pointer = self.root / "CURRENT.tmp"
        pointer.write_text(name + "\n", encoding="utf-8")
        fsync_file(pointer)
        pointer.replace(self.root / "CURRENT")
        fsync_dir(self.root)
        self._collect_garbage(keep=name)
        return name

    def _collect_garbage(self, keep: str) -> None:
        """Drop unfinished temporaries and all but the newest snapshots (readers that still
        use an older one hold everything in memory)."""
        entries = sorted(p for p in self.snapshots.iterdir() if p.is_dir())
        done = [p for p in entries if not p.name.startswith(".tmp-")]
        old = [p for p in done if p.name != keep][: max(0, len(done) - KEEP_SNAPSHOTS)]
        for p in [*(p for p in entries if p.name.startswith(".tmp-")), *old]:
            shutil.rmtree(p, ignore_errors=True)

    # --- reader side ---------------------------------------------------------------

    def current_name(self) -> str | None:
        """The current snapshot's name, or None when nothing was published yet."""
        try:
            name = (self.root / "CURRENT").read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            return None
        except UnicodeDecodeError:
            raise IndexCorruptError(
                f"{self.root / 'CURRENT'} is not a snapshot name; rebuild with "
                "`newsbot ingest --rebuild`"
            ) from None
        if not name:
            return None
        if not _SNAPSHOT_NAME.fullmatch(name):
            # Never a path: "../elsewhere" must not lead a reader out of the index folder.
            raise IndexCorruptError(
                f"{self.root / 'CURRENT'} does not name a snapshot ({name[:40]!r}); rebuild "
                "with `newsbot ingest --rebuild`"
            )
        return name

    def read_manifest(self, name: str | None = None) -> dict[str, Any]:
        """The manifest of a snapshot (default: the current one)."""
        name = name or self.current_name()
        if name is None:
            raise IndexMissingError(f"no index at {self.root}; run `newsbot ingest`")
        path = self.snapshots / name / "manifest.json"
        try:
            manifest = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise IndexCorruptError(f"index snapshot {name} has no manifest") from None
        except (OSError, ValueError) as e:
            raise IndexCorruptError(f"index snapshot {name}: unreadable manifest ({e})") from None
        if not isinstance(manifest, dict) or manifest.get("format_version") != FORMAT_VERSION:
            raise IndexCorruptError(f"index snapshot {name}: unknown manifest format")
        return manifest

    def load(self, name: str | None = None) -> SnapshotData:
        """Load and verify a snapshot (default: the current one).

        Raises:
            IndexMissingError: nothing was published yet.
            IndexCorruptError: a file is missing, truncated or altered.
        """
        name = name or self.current_name()
        if name is None:
            raise IndexMissingError(f"no index at {self.root}; run `newsbot ingest`")
        manifest = self.read_manifest(name)
        folder = self.snapshots / name
        try:
            for artifact in ARTIFACTS:
                expected = manifest["artifacts"][artifact]
                path = folder / artifact
                if not path.exists():
                    raise IndexCorruptError(f"index snapshot {name}: {artifact} is missing")
                if (
                    path.stat().st_size != expected["bytes"]
                    or sha256_file(path) != expected["sha256"]
                ):
                    raise IndexCorruptError(
                        f"index snapshot {name}: {artifact} is truncated or altered "
                        "(checksum mismatch); rebuild with `newsbot ingest --rebuild`"
                    )
            data = _read_snapshot(folder, manifest)
            counts = manifest["counts"]  # the manifest is not checksummed: it may lack a key
            expected_counts = (counts["articles"], counts["chunks"], counts["sentences"])
        except IndexCorruptError:
            raise
        except (KeyError, TypeError, ValueError, RuntimeError, sqlite3.Error) as e:
            raise IndexCorruptError(f"index snapshot {name} is unreadable: {e}") from None
        data.name = name
        actual = (len(data.articles), len(data.chunks), len(data.sentences))
        if actual != expected_counts or (
            data.chunk_vectors.shape[0] != len(data.chunks)
            or data.sentence_vectors.shape[0] != len(data.sentences)
        ):
            raise IndexCorruptError(f"index snapshot {name}: counts disagree with its manifest")
        return data


def _write_faiss(vectors: np.ndarray, path: Path) -> None:
    dim = vectors.shape[1]
    index = faiss.IndexFlatIP(dim)
    if len(vectors):
        index.add(np.ascontiguousarray(vectors, dtype=np.float32))
    faiss.write_index(index, str(path))


def _read_faiss(path: Path, dim: int) -> tuple[Any, np.ndarray]:
    index = faiss.read_index(str(path))
    if index.d != dim or not isinstance(index, faiss.IndexFlatIP):
        raise ValueError(f"{path.name} is not an inner-product index of dimension {dim}")
    if index.ntotal == 0:
        return index, np.zeros((0, dim), dtype=np.float32)
    vectors = np.ascontiguousarray(index.reconstruct_n(0, index.ntotal), dtype=np.float32)
    return index, vectors


def _write_sqlite(data: SnapshotData, path: Path) -> None:
    con = sqlite3.connect(path)
    try:
        con.executescript(SCHEMA)
        con.executemany(
            "INSERT INTO articles VALUES (?,?,?,?,?,?,?,?)",
            [
                (a.id, a.title, a.date, a.source, a.url, a.path, a.content_hash, a.text)
                for a in data.articles.values()
            ],
        )
        con.executemany(
            "INSERT INTO chunks VALUES (?,?,?,?,?,?,?)",
            [(c.row, c.id, c.article_id, c.idx, c.start, c.end, c.text) for c in data.chunks],
        )
        con.executemany(
            "INSERT INTO sentences VALUES (?,?,?,?)",
            [(s.row, s.chunk_row, s.start, s.end) for s in data.sentences],
        )
        con.executemany("INSERT INTO files VALUES (?,?)", sorted(data.files.items()))
        con.commit()
    finally:
        con.close()


def _read_snapshot(folder: Path, manifest: dict[str, Any]) -> SnapshotData:
    dim = int(manifest["embedding"]["dim"])
    chunk_index, chunk_vectors = _read_faiss(folder / "chunks.faiss", dim)
    sentence_index, sentence_vectors = _read_faiss(folder / "sentences.faiss", dim)
    uri = f"file:{folder / 'store.sqlite'}?mode=ro&immutable=1"
    con = sqlite3.connect(uri, uri=True)
    try:
        articles = {
            r[0]: ArticleRow(*r)
            for r in con.execute(
                "SELECT id, title, date, source, url, path, content_hash, text FROM articles"
            )
        }
        chunks = [
            ChunkRow(*r)
            for r in con.execute(
                'SELECT row, id, article_id, idx, start, "end", text FROM chunks ORDER BY row'
            )
        ]
        sentences = [
            SentenceRow(*r)
            for r in con.execute('SELECT row, chunk_row, start, "end" FROM sentences ORDER BY row')
        ]
        files = dict(con.execute("SELECT path, sha256 FROM files").fetchall())
    finally:
        con.close()
    if [c.row for c in chunks] != list(range(len(chunks))) or [s.row for s in sentences] != list(
        range(len(sentences))
    ):
        raise ValueError("row numbers are not contiguous")
    return SnapshotData(
        manifest,
        articles,
        chunks,
        sentences,
        files,
        chunk_vectors,
        sentence_vectors,
        chunk_index=chunk_index,
        sentence_index=sentence_index,
    )
