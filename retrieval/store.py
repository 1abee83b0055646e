"""The index store: immutable segments, listed by snapshots, switched by one atomic rename.

Layout of the index folder::

    LOCK                       held (flock) by the one writer
    CURRENT                    the name of the current snapshot, replaced by rename
    snapshots/<name>/manifest.json
                               what the index is bound to (model, chunking), the files read,
                               and its segments: each with the size and checksum of every file,
                               its row counts and the articles deleted from it since
    segments/<name>/           one segment's files (see segments.py), never changed
    readings/<name>            what reading an export gave (readings.py), never changed

Adding k chunks writes one segment of k chunks and a new manifest; the other segments are
neither rewritten nor re-hashed (their checksums are carried over in the manifest). An
article replaced or removed is marked deleted in its segment's entry, and readers drop its
rows. When there are more than MAX_SEGMENTS segments, the small ones are merged (tiered by
size, so each chunk is copied O(log N) times); ``compact`` merges them all into one.

Everything new is written under a temporary name, fsynced and renamed into place, and only
then named in CURRENT, so a crash at any point leaves the last snapshot. Readers verify each
file's size and checksum (XXH3-128; SHA-256 in segments written before) against the manifest
before FAISS (or SQLite, or numpy) reads it; the sentence vectors, memory-mapped, block by
block before a row of the block is read (checksums.py). The manifest carries a checksum of
itself. No pickle. Segments no snapshot kept refers to (and
unfinished temporaries) are collected after each publish.

A reader (``open``) keeps each verified segment ready to search (segment_index.py), by name
and checksums, so that loading the next snapshot reads and builds only its new segments; the
segments it had are placed at their offsets and their deleted rows masked.
"""

from __future__ import annotations

import contextlib
import copy
import datetime as dt
import errno
import fcntl
import json
import os
import shutil
import sqlite3
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from retrieval import ann, checksums, readings, segments
from retrieval.catalog import CatalogArticles, SegmentCatalog, sizes_of, where_of
from retrieval.durable import fsync_dir, fsync_file
from retrieval.errors import IndexCorruptError, IndexMissingError, IngestLockedError
from retrieval.lexical import SegmentedBM25
from retrieval.manifest import (
    FORMAT_VERSION,
    MAX_SEGMENTS,
    NAME,
    Catalog,
    Change,
    checksum,
    mark,
    new_name,
    next_merge,
)
from retrieval.segment_index import LivePart, SegmentIndex
from retrieval.segment_rows import LiveArticles
from retrieval.segments import ARTIFACTS, ArticleRow, ChunkRow, Segment, SentenceRow

__all__ = [
    "ARTIFACTS",
    "FORMAT_VERSION",
    "MAX_SEGMENTS",
    "ArticleRow",
    "Catalog",
    "Change",
    "ChunkRow",
    "IndexStore",
    "SentenceRow",
    "Snapshot",
    "SnapshotData",
]

KEEP_SNAPSHOTS = 2
ANN_MIN_CHUNKS = 50_000  # index.ann_min_chunks' default
_REBUILD = "rebuild it with `newsbot ingest --rebuild`"
# Segment catalogs read (or written) in this process, by index folder, segment and checksum.
_CATALOGS: dict[tuple[str, str, str], SegmentCatalog] = {}


@dataclass
class SnapshotData:
    """A snapshot's live rows in memory, numbered from 0: what a reader loads."""

    manifest: dict[str, Any]
    articles: Mapping[str, ArticleRow]
    chunks: Sequence[ChunkRow]
    sentences: Sequence[SentenceRow]
    files: dict[str, str]
    chunk_vectors: np.ndarray
    sentence_vectors: np.ndarray
    name: str = ""
    # The FAISS indexes, when the caller has them; SearchIndex builds them otherwise.
    chunk_index: Any = None
    sentence_index: Any = None
    # BM25 over the live chunks with statistics across segments; built when None.
    lexical: SegmentedBM25 | None = None


@dataclass
class Snapshot:
    """A verified snapshot as its segments, each ready to search and placed at its offset in
    the snapshot's rows (deleted rows masked): what a reader searches (see search_index.py)."""

    name: str
    manifest: dict[str, Any]
    files: dict[str, str]
    articles: Mapping[str, ArticleRow]  # the live ones, their current paths applied
    parts: list[LivePart]
    lexical: SegmentedBM25


class IndexStore:
    """The index folder: a writer lock, segment and snapshot publishing, verified loading."""

    def __init__(self, root: Path, kind: str = "auto", ann_min: int = ANN_MIN_CHUNKS) -> None:
        """``kind`` and ``ann_min``: what chunk index the segments it writes get (ann.py)."""
        self.root = Path(root)
        self.kind, self.ann_min = kind, ann_min
        self.snapshots = self.root / "snapshots"
        self.segments = self.root / "segments"
        self.readings_dir: Path = self.root / readings.FOLDER
        # Verified segments already read, ready to search, by name and checksums (they never
        # change): a reader loading the next snapshot reads and builds only its new segments.
        self._cache: dict[tuple[str, str], SegmentIndex] = {}

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
        """Publish everything in ``data`` as a snapshot of one new segment."""
        seg = Segment(
            data.articles, data.chunks, data.sentences, data.chunk_vectors, data.sentence_vectors
        )
        return self.commit(Change(data.manifest, data.files, add=seg))

    def commit(self, change: Change, *, compact: bool = False) -> str:
        """Write the change's segment, merge as the policy says, switch to the new snapshot.

        The caller holds the writer lock and built ``change.base`` from the current snapshot.
        """
        entries = [] if change.base is None else copy.deepcopy(change.base.manifest["segments"])
        if change.base is not None:
            mark(entries, change)
        entries = [e for e in entries if e["live"]["articles"] > 0]
        if change.add is not None and change.add.articles:
            entries.append(self._write_segment(change.add))
        dim = int(change.signature["embedding"]["dim"])
        if compact and (len(entries) > 1 or any(e["deleted"] for e in entries)):
            entries = self._merge(entries, [e["name"] for e in entries], dim)
        while group := next_merge(entries):
            entries = self._merge(entries, group, dim)
        manifest = {k: v for k, v in change.signature.items() if k in ("embedding", "chunking")}
        manifest["format_version"] = FORMAT_VERSION
        manifest["created"] = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        manifest["counts"] = {
            k: sum(e["live"][k] for e in entries) for k in ("articles", "chunks", "sentences")
        }
        manifest["files"] = change.files
        if change.readings is not None:
            readings.write(self.readings_dir, change.blobs)  # before the manifest lists them
        manifest["readings"] = (
            change.readings if change.readings is not None else _base_readings(change)
        )
        manifest["segments"] = entries
        manifest["checksum"] = checksum(manifest)
        name = self._switch(manifest)
        self._collect_garbage(keep=name)
        return name

    def compact(self, signature: dict[str, Any]) -> str | None:
        """Merge every segment of the current snapshot into one (the writer lock held);
        None when it is one segment without deletions already."""
        base = self.catalog()
        entries = base.manifest["segments"]
        if len(entries) <= 1 and not any(e["deleted"] for e in entries):
            return None
        return self.commit(Change(signature, base.files, base=base), compact=True)

    def upgrade(self) -> str | None:
        """Republish a current snapshot of the first format (one file set per snapshot) as
        one segment, reusing its verified rows and vectors; None when it is not of that
        format. The caller holds the writer lock.

        Raises:
            IndexCorruptError: the old snapshot is damaged (then it must be rebuilt).
        """
        name = self.current_name()
        if name is None:
            return None
        folder = self.snapshots / name
        try:
            manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
            if manifest.get("format_version") != 1:
                return None
            for artifact in ("chunks.faiss", "sentences.faiss", "store.sqlite"):
                expected = manifest["artifacts"][artifact]
                path = folder / artifact
                if (
                    path.stat().st_size != expected["bytes"]
                    or checksums.digest_file(path, "sha256") != expected["sha256"]
                ):
                    raise IndexCorruptError(f"index snapshot {name}: {artifact} is altered")
            seg = segments.read(folder, int(manifest["embedding"]["dim"]), postings=False)
            segments.check_rows(seg)
            files = dict(manifest["files"])
        except IndexCorruptError:
            raise
        except (OSError, KeyError, TypeError, ValueError, AttributeError, sqlite3.Error) as e:
            raise IndexCorruptError(f"index snapshot {name} (older format): {e}") from None
        return self.commit(Change(manifest, files, add=seg))

    def _write_segment(self, seg: Segment) -> dict[str, Any]:
        """Write a segment under a temporary name, fsync it, rename it into place."""
        self.segments.mkdir(parents=True, exist_ok=True)
        name = new_name()
        tmp = self.segments / f".tmp-{name}"
        tmp.mkdir()
        kind = ann.resolve(self.kind, len(seg.chunks), self.ann_min)
        segments.write(tmp, seg, kind)
        artifacts = {a: checksums.file_entry(tmp / a) for a in segments.WRITTEN}
        for a in segments.WRITTEN:
            fsync_file(tmp / a)
        fsync_dir(tmp)
        tmp.rename(self.segments / name)
        fsync_dir(self.segments)
        # What it wrote, this process never reads back to plan its next ingest.
        key = (str(self.root), name, checksums.expected(artifacts[segments.CATALOG]))
        written = segments.catalog_rows(seg)
        _CATALOGS[key] = SegmentCatalog(
            {
                a.id: ArticleRow(a.id, a.title, a.date, a.source, a.url, a.path, a.content_hash, "")
                for a, _, _ in written
            },
            {a.id: (n, m) for a, n, m in written},
        )
        counts = seg.counts()
        return {
            "name": name,
            "kind": kind,
            "counts": counts,
            "live": dict(counts),
            "artifacts": artifacts,
            "deleted": [],
            "paths": {},
        }

    def _merge(
        self, entries: list[dict[str, Any]], group: list[str], dim: int
    ) -> list[dict[str, Any]]:
        """Replace the ``group`` segments by one holding their live rows."""
        chosen = [e for e in entries if e["name"] in group]
        parts = [(self._segment(e, dim).seg, set(e["deleted"]), dict(e["paths"])) for e in chosen]
        merged = self._write_segment(segments.merge(parts))
        at = entries.index(chosen[0])
        rest = [e for e in entries if e["name"] not in group]
        return [*rest[:at], merged, *rest[at:]]

    def _switch(self, manifest: dict[str, Any]) -> str:
        """Write the manifest as a new snapshot and name it in CURRENT (atomic rename)."""
        self.snapshots.mkdir(parents=True, exist_ok=True)
        name = new_name()
        tmp = self.snapshots / f".tmp-{name}"
        tmp.mkdir()
        (tmp / "manifest.json").write_text(json.dumps(manifest, indent=1), encoding="utf-8")
        fsync_file(tmp / "manifest.json")
        fsync_dir(tmp)
        tmp.rename(self.snapshots / name)
        fsync_dir(self.snapshots)
        pointer = self.root / "CURRENT.tmp"
        pointer.write_text(name + "\n", encoding="utf-8")
        fsync_file(pointer)
        pointer.replace(self.root / "CURRENT")
        fsync_dir(self.root)
        return name

    def _collect_garbage(self, keep: str) -> None:
        """Drop unfinished temporaries, all but the newest snapshots (readers that still use
        an older one hold it in memory), and the segments none of those refers to."""
        entries = sorted(p for p in self.snapshots.iterdir() if p.is_dir())
        done = [p for p in entries if not p.name.startswith(".tmp-")]
        old = [p for p in done if p.name != keep][: max(0, len(done) - KEEP_SNAPSHOTS)]
        for p in [*(p for p in entries if p.name.startswith(".tmp-")), *old]:
            shutil.rmtree(p, ignore_errors=True)
        used: set[str] = set()
        blobs: set[str] = set()
        for p in done:
            if p in old:
                continue
            try:
                manifest = self.read_manifest(p.name)
                used |= {e["name"] for e in manifest["segments"]}
                blobs |= {str(e["name"]) for e in manifest.get("readings", {}).values()}
            except (IndexCorruptError, KeyError, TypeError, AttributeError):
                if p.name == keep:
                    return  # never collect what the current snapshot may need
        if self.segments.is_dir():
            for p in self.segments.iterdir():
                if p.name not in used:
                    shutil.rmtree(p, ignore_errors=True)
        readings.collect(self.readings_dir, blobs)

    # --- reader side ---------------------------------------------------------------

    def current_name(self) -> str | None:
        """The current snapshot's name, or None when nothing was published yet."""
        try:
            name = (self.root / "CURRENT").read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            return None
        except UnicodeDecodeError:
            raise IndexCorruptError(
                f"{self.root / 'CURRENT'} is not a snapshot name; {_REBUILD}"
            ) from None
        if not name:
            return None
        if not NAME.fullmatch(name):
            # Never a path: "../elsewhere" must not lead a reader out of the index folder.
            raise IndexCorruptError(
                f"{self.root / 'CURRENT'} does not name a snapshot ({name[:40]!r}); {_REBUILD}"
            )
        return name

    def read_manifest(self, name: str | None = None) -> dict[str, Any]:
        """The manifest of a snapshot (default: the current one), its checksum verified.

        Raises:
            IndexMissingError: nothing was published yet.
            IndexCorruptError: the manifest is missing, altered or of an older format.
        """
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
        version = manifest.get("format_version") if isinstance(manifest, dict) else None
        if version == 1:
            raise IndexCorruptError(
                f"index snapshot {name} was written by an older newsbot (one file set per "
                f"snapshot, no segments); {_REBUILD}"
            )
        if version != FORMAT_VERSION:
            raise IndexCorruptError(f"index snapshot {name}: unknown manifest format")
        if manifest.get("checksum") != checksum(manifest):
            raise IndexCorruptError(
                f"index snapshot {name}: manifest.json is altered (checksum mismatch); {_REBUILD}"
            )
        return manifest

    def load(self, name: str | None = None) -> SnapshotData:
        """Load and verify a snapshot (default: the current one): its live rows.

        Raises:
            IndexMissingError: nothing was published yet.
            IndexCorruptError: a file is missing, truncated or altered.
        """
        name = name or self.current_name()
        if name is None:
            raise IndexMissingError(f"no index at {self.root}; run `newsbot ingest`")
        manifest = self.read_manifest(name)
        try:
            dim = int(manifest["embedding"]["dim"])
            entries = manifest["segments"]
            loaded = [self._segment(e, dim).seg for e in entries]
            parts = [
                (seg, set(e["deleted"]), dict(e["paths"]))
                for seg, e in zip(loaded, entries, strict=True)
            ]
            counts = manifest["counts"]
            expected = (counts["articles"], counts["chunks"], counts["sentences"])
            files = dict(manifest["files"])
        except IndexCorruptError:
            raise
        except (KeyError, TypeError, ValueError, AttributeError) as e:
            raise IndexCorruptError(f"index snapshot {name} is unreadable: {e}") from None
        self._forget_all_but(entries)
        live, maps = segments.combine(parts, dim)
        if (len(live.articles), len(live.chunks), len(live.sentences)) != expected:
            raise IndexCorruptError(f"index snapshot {name}: counts disagree with its manifest")
        lexical = SegmentedBM25(
            [(seg.postings, m) for seg, m in zip(loaded, maps, strict=True) if seg.postings],
            len(live.chunks),
        )
        return SnapshotData(
            manifest, live.articles, live.chunks, live.sentences, files,
            live.chunk_vectors, live.sentence_vectors, name=name, lexical=lexical,
        )  # fmt: skip

    def open(self, name: str | None = None) -> Snapshot:
        """Open a snapshot (default: the current one) as its verified segments, ready to
        search; a segment read before (by this store) is reused as it is, so that the cost
        follows the segments new to this store.

        Raises:
            IndexMissingError: nothing was published yet.
            IndexCorruptError: a file is missing, truncated or altered.
        """
        name = name or self.current_name()
        if name is None:
            raise IndexMissingError(f"no index at {self.root}; run `newsbot ingest`")
        manifest = self.read_manifest(name)
        try:
            dim = int(manifest["embedding"]["dim"])
            entries = manifest["segments"]
            indexes = [self._segment(e, dim) for e in entries]
            counts = manifest["counts"]
            expected = (counts["articles"], counts["chunks"], counts["sentences"])
            files = dict(manifest["files"])
            marks = [(frozenset(e["deleted"]), dict(e["paths"])) for e in entries]
        except IndexCorruptError:
            raise
        except (KeyError, TypeError, ValueError, AttributeError) as e:
            raise IndexCorruptError(f"index snapshot {name} is unreadable: {e}") from None
        self._forget_all_but(entries)
        parts = []
        chunk0 = sentence0 = n_articles = 0
        for index, (deleted, _) in zip(indexes, marks, strict=True):
            parts.append(LivePart.place(index, chunk0, sentence0, deleted))
            chunk0, sentence0 = chunk0 + index.n_chunks, sentence0 + index.n_sentences
            # Only this segment's copy is deleted: a live one elsewhere stays.
            n_articles += len(index.seg.articles) - index.n_deleted(deleted)
        # Looked up segment by segment when asked for: no dict of every article.
        articles = LiveArticles(
            [(i.seg.articles, d, p) for i, (d, p) in zip(indexes, marks, strict=True)],
            n_articles,
        )
        live = (
            n_articles,
            sum(p.live_chunks for p in parts),
            sum(p.live_sentences for p in parts),
        )
        if live != expected:
            raise IndexCorruptError(f"index snapshot {name}: counts disagree with its manifest")
        lexical = SegmentedBM25(
            [(p.index.seg.postings, p.rowmap()) for p in parts if p.index.seg.postings],
            live[1],
            n_rows=chunk0,
        )
        return Snapshot(name, manifest, files, articles, parts, lexical)

    def _forget_all_but(self, entries: list[dict[str, Any]]) -> None:
        """Drop cached segments that these (a snapshot's segments) do not name."""
        names = {e["name"] for e in entries}
        self._cache = {k: v for k, v in self._cache.items() if k[0] in names}

    def _segment(self, entry: Mapping[str, Any], dim: int) -> SegmentIndex:
        """A verified segment, read and made ready to search once per store (segments
        never change)."""
        name = str(entry["name"])
        if not NAME.fullmatch(name):
            raise IndexCorruptError(f"the manifest names a segment {name[:40]!r}; {_REBUILD}")
        key = (name, json.dumps(entry["artifacts"], sort_keys=True))
        if key in self._cache:
            return self._cache[key]
        kind = entry.get("kind", "flat")  # segments written before ANN kinds are flat
        if kind not in ann.KINDS:
            raise IndexCorruptError(f"index segment {name}: unknown kind {kind!r}; {_REBUILD}")
        folder = self.segments / name
        # A reader never reads catalog.json (the writer's), and verifies the sentence
        # vectors block by block as it reads them.
        self._verify(folder, entry["artifacts"], deep=True, skip=(*segments.LAZY, segments.CATALOG))
        try:
            seg = segments.read(folder, dim, kind=kind)
        except (KeyError, TypeError, ValueError, RuntimeError, sqlite3.Error) as e:
            raise IndexCorruptError(f"index segment {name} is unreadable: {e}") from None
        counts = entry["counts"]
        if (
            seg.counts() != {k: counts[k] for k in ("articles", "chunks", "sentences")}
            or seg.chunk_vectors.shape[0] != len(seg.chunks)
            or seg.sentence_vectors.shape[0] != len(seg.sentences)
            or seg.postings is None
            or seg.postings.n_docs != len(seg.chunks)
        ):
            raise IndexCorruptError(f"index segment {name}: counts disagree with its manifest")
        try:
            segments.check_rows(seg)
        except ValueError as e:
            raise IndexCorruptError(f"index segment {name} is unreadable: {e}") from None
        self._cache[key] = index = SegmentIndex(seg)
        return index

    def _verify(
        self, folder: Path, artifacts: Mapping[str, Any], *, deep: bool, skip: Sequence[str] = ()
    ) -> None:
        """Check each file's size (and, when deep, its checksum but for those in ``skip``)
        against the manifest. The files are hashed two at a time, largest first (the hashes
        let go of the GIL)."""
        names = segments.artifacts_of(artifacts)
        for artifact in names:
            path = folder / artifact
            if not path.exists():
                raise IndexCorruptError(f"index segment {folder.name}: {artifact} is missing")
            if path.stat().st_size != artifacts[artifact]["bytes"]:
                raise _altered(folder, artifact)
        if not deep:
            return
        todo = [a for a in names if a not in skip]
        todo.sort(key=lambda a: -int(artifacts[a]["bytes"]))
        with ThreadPoolExecutor(max_workers=2) as pool:
            ok = list(pool.map(lambda a: checksums.matches(folder / a, artifacts[a]), todo))
        for artifact, good in zip(todo, ok, strict=True):
            if not good:
                raise _altered(folder, artifact)

    def _catalog_of(self, name: str, artifacts: Mapping[str, Any], deep: bool) -> SegmentCatalog:
        """A segment's catalog, verified; kept per process (a watching writer reads it once)."""
        folder = self.segments / name
        self._verify(folder, artifacts, deep=deep)
        entry = artifacts[segments.CATALOG]
        key = (str(self.root), name, checksums.expected(entry))
        if key not in _CATALOGS:
            if not deep and not checksums.matches(folder / segments.CATALOG, entry):
                raise IndexCorruptError(
                    f"index segment {name}: catalog.json is truncated or altered; {_REBUILD}"
                )
            entries = segments.read_catalog(folder)
            _CATALOGS[key] = SegmentCatalog(
                {c.article.id: c.article for c in entries},
                {c.article.id: (c.chunks, c.sentences) for c in entries},
            )
        return _CATALOGS[key]

    def catalog(self, *, deep: bool = False) -> Catalog:
        """The writer's view of the current snapshot: live articles, files, segments.

        Reads each segment's catalog (verified) and checks the size of its other files;
        ``deep`` verifies their checksums too (as a reader would). The articles are looked
        up segment by segment (catalog.py), never copied into one dict.

        Raises:
            IndexMissingError: nothing was published yet.
            IndexCorruptError: the snapshot is unusable.
        """
        name = self.current_name()
        manifest = self.read_manifest(name)
        assert name is not None
        parts = []
        try:
            for e in manifest["segments"]:
                seg = str(e["name"])
                if not NAME.fullmatch(seg):
                    raise IndexCorruptError(f"the manifest names a segment {seg[:40]!r}")
                held = self._catalog_of(seg, e["artifacts"], deep)
                paths = {str(k): str(v) for k, v in e["paths"].items()}
                if any(a not in held.articles for a in paths):
                    raise ValueError(f"segment {seg} moves an article it does not hold")
                parts.append((seg, held, frozenset(e["deleted"]), paths))
            files = dict(manifest["files"])
            kept = {str(p): dict(e) for p, e in manifest.get("readings", {}).items()}
        except IndexCorruptError:
            raise
        except (KeyError, TypeError, ValueError, AttributeError) as e:
            raise IndexCorruptError(f"index snapshot {name} is unreadable: {e}") from None
        used = {(str(self.root), e["name"]) for e in manifest["segments"]}
        for key in [k for k in list(_CATALOGS) if k[0] == str(self.root) and k[:2] not in used]:
            del _CATALOGS[key]
        articles = CatalogArticles(parts)
        return Catalog(
            name, manifest, articles, where_of(articles), sizes_of(articles), files, kept
        )


def _base_readings(change: Change) -> dict[str, Any]:
    """What a change that reads no file (a merge, an upgrade) lists: the base's readings."""
    return {} if change.base is None else dict(change.base.readings)


def _altered(folder: Path, artifact: str) -> IndexCorruptError:
    return IndexCorruptError(
        f"index segment {folder.name}: {artifact} is truncated or altered "
        f"(checksum mismatch); {_REBUILD}"
    )


def build_lexical(articles: Mapping[str, ArticleRow], chunks: Sequence[ChunkRow]) -> SegmentedBM25:
    """BM25 over each chunk's article title and text (one segment of every chunk)."""
    postings = segments.build_postings(articles, chunks)
    return SegmentedBM25([(postings, np.arange(len(chunks)))], len(chunks))
