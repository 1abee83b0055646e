"""Incremental ingest: read article files, chunk and embed what changed, publish a snapshot.

Unchanged articles (same id, same content hash) keep their vectors; a changed one replaces
exactly its chunks; an article whose file is gone disappears. Every file is reported.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

import numpy as np

from retrieval.articles import Article
from retrieval.chunking import chunk_article, embed_text
from retrieval.config import Settings
from retrieval.embeddings import Embedder
from retrieval.errors import IndexCorruptError, IndexMismatchError, IndexMissingError
from retrieval.loaders import FileResult, read_file
from retrieval.scan import fingerprint as fingerprint
from retrieval.scan import scan as scan
from retrieval.scan import scan_entries
from retrieval.store import ArticleRow, ChunkRow, IndexStore, SentenceRow, SnapshotData

SPLITTER_VERSION = 2
_EMBED_BATCH = 256


# rebuilt: not a file but the index itself, when the current one was unusable.
ReportStatus = Literal["indexed", "unchanged", "duplicate", "skipped", "removed", "rebuilt"]


@dataclass
class FileReport:
    """What ingest did with one file (or folder entry)."""

    path: str
    status: ReportStatus
    detail: str = ""
    warnings: list[str] = field(default_factory=list)
    article_ids: list[str] = field(default_factory=list)


@dataclass
class IngestReport:
    """The outcome of one ingest run."""

    files: list[FileReport]
    snapshot: str | None
    published: bool
    articles: int
    chunks: int
    embedded: int
    invisible_stripped: int
    notice: str = ""  # e.g. why nothing was ingested although articles changed


def index_signature(settings: Settings, embedder: Embedder) -> dict[str, Any]:
    """What an index is bound to: a snapshot built otherwise is refused.

    The backend is not part of it: torch and onnx fp32 give the same vectors (within 2e-7),
    so either may read an index the other built. int8 vectors differ (cosine ~0.995), so an
    int8 index is bound to int8; fp32 signatures stay as they were before precision existed.
    """
    embedding: dict[str, Any] = {
        "model": settings.embedding.model,
        "dim": embedder.dim,
        "normalized": True,
        "max_seq_length": embedder.max_seq_length,
    }
    if embedder.precision != "fp32":
        embedding["precision"] = embedder.precision
    return {
        "embedding": embedding,
        "chunking": {
            "max_tokens": min(settings.chunking.max_tokens, embedder.max_seq_length),
            "overlap_sentences": settings.chunking.overlap_sentences,
            "title_tokens": settings.chunking.title_tokens,
            "splitter_version": SPLITTER_VERSION,
        },
    }


def check_signature(manifest: dict[str, Any], signature: dict[str, Any]) -> None:
    """Refuse an index built with another model or chunking, saying how to rebuild."""
    for part in ("embedding", "chunking"):
        if manifest.get(part) != signature[part]:
            raise IndexMismatchError(
                f"the index was built with {part} {manifest.get(part)}, but the configuration "
                f"asks for {signature[part]}; rebuild it with `newsbot ingest --rebuild`"
            )


def in_scope(path: str, roots: Sequence[Path]) -> bool:
    """True when ``path`` is one of ``roots`` or lies below one."""
    return any(Path(path) == r or Path(path).is_relative_to(r) for r in roots)


class _Builder:
    """Assembles the next snapshot from reused rows and freshly embedded ones."""

    def __init__(self, settings: Settings, embedder: Embedder, old: SnapshotData | None) -> None:
        self.settings = settings
        self.embedder = embedder
        self.old = old
        # Where the previous snapshot keeps each article's chunks and each chunk's sentences,
        # indexed once for all the articles reused from it.
        self.old_chunks: dict[str, list[int]] = {}
        self.old_sentences: dict[int, list[SentenceRow]] = {}
        if old is not None:
            for c in old.chunks:
                self.old_chunks.setdefault(c.article_id, []).append(c.row)
            for s in old.sentences:
                self.old_sentences.setdefault(s.chunk_row, []).append(s)
        self.articles: dict[str, ArticleRow] = {}
        self.chunks: list[ChunkRow] = []
        self.sentences: list[SentenceRow] = []
        self.chunk_vecs: list[np.ndarray] = []
        self.sent_vecs: list[np.ndarray] = []
        self.pending_chunks: list[tuple[int, str]] = []  # (chunk row, text to embed)
        self.pending_sents: list[tuple[int, str]] = []

    def reuse(self, article: ArticleRow) -> None:
        """Carry an article of the previous snapshot over, with its vectors."""
        old = self.old
        assert old is not None, "reuse needs a previous snapshot"
        self.articles[article.id] = article
        for old_row in self.old_chunks.get(article.id, []):
            c = old.chunks[old_row]
            new_row = len(self.chunks)
            self.chunks.append(ChunkRow(new_row, c.id, c.article_id, c.idx, c.start, c.end, c.text))
            self.chunk_vecs.append(old.chunk_vectors[old_row])
            for s in self.old_sentences.get(old_row, []):
                self.sentences.append(SentenceRow(len(self.sentences), new_row, s.start, s.end))
                self.sent_vecs.append(old.sentence_vectors[s.row])

    def add(self, a: Article) -> None:
        self.articles[a.id] = ArticleRow(
            a.id, a.title, a.date, a.source, a.url, a.path, a.content_hash, a.text
        )
        cfg = self.settings.chunking
        max_tokens = min(cfg.max_tokens, self.embedder.max_seq_length)
        prefix = self.embedder.truncate(a.title, cfg.title_tokens) if cfg.title_tokens else ""
        for c in chunk_article(
            a.text, prefix, max_tokens, cfg.overlap_sentences, self.embedder.count_tokens_batch
        ):
            row = len(self.chunks)
            text = a.text[c.start : c.end]
            self.chunks.append(
                ChunkRow(row, f"{a.id}#{c.index}", a.id, c.index, c.start, c.end, text)
            )
            self.chunk_vecs.append(np.empty(0, dtype=np.float32))
            self.pending_chunks.append((row, embed_text(prefix, text)))
            for s_start, s_end in c.sentences:
                srow = len(self.sentences)
                self.sentences.append(SentenceRow(srow, row, s_start, s_end))
                self.sent_vecs.append(np.empty(0, dtype=np.float32))
                self.pending_sents.append((srow, a.text[s_start:s_end]))

    def embed(self, progress: bool) -> int:
        """Embed everything pending (each distinct text once); return how many texts."""
        # Similar lengths batch together with less padding.
        texts = sorted(
            {t for _, t in self.pending_chunks} | {t for _, t in self.pending_sents}, key=len
        )
        vectors: dict[str, np.ndarray] = {}
        bar = _progress(len(texts), progress)
        for i in range(0, len(texts), _EMBED_BATCH):
            batch = texts[i : i + _EMBED_BATCH]
            for t, v in zip(batch, self.embedder.encode(batch), strict=True):
                vectors[t] = v
            bar.update(len(batch))
        bar.close()
        for row, t in self.pending_chunks:
            self.chunk_vecs[row] = vectors[t]
        for row, t in self.pending_sents:
            self.sent_vecs[row] = vectors[t]
        return len(texts)

    def snapshot(self, manifest: dict[str, Any], files: dict[str, str]) -> SnapshotData:
        dim = self.embedder.dim
        return SnapshotData(
            manifest=manifest,
            articles=self.articles,
            chunks=self.chunks,
            sentences=self.sentences,
            files=files,
            chunk_vectors=_stack(self.chunk_vecs, dim),
            sentence_vectors=_stack(self.sent_vecs, dim),
        )


def _stack(vecs: list[np.ndarray], dim: int) -> np.ndarray:
    return np.vstack(vecs).astype(np.float32) if vecs else np.zeros((0, dim), dtype=np.float32)


def _progress(total: int, enabled: bool) -> Any:
    from tqdm import tqdm

    return tqdm(
        total=total,
        desc="embedding",
        unit="text",
        file=sys.stderr,
        disable=not enabled or not total,
    )


def load_previous(
    store: IndexStore, signature: dict[str, Any], rebuild: bool
) -> tuple[SnapshotData | None, list[str]]:
    """The current snapshot to build on, or None to start afresh (with the reason)."""
    if rebuild:
        return None, []
    try:
        old = store.load()
    except IndexMissingError:
        return None, []
    except IndexCorruptError as e:
        return None, [f"the current index is unusable ({e}); rebuilding from the articles"]
    check_signature(old.manifest, signature)
    return old, []


def ingest(
    settings: Settings,
    embedder: Embedder,
    paths: Sequence[Path] | None = None,
    *,
    rebuild: bool = False,
    progress: bool = True,
    locked: bool = False,
) -> IngestReport:
    """Bring the index up to date with the articles under ``paths`` (default: configured).

    Args:
        settings: the configuration.
        embedder: the loaded embedding model.
        paths: folders or files; articles indexed earlier from elsewhere are kept.
        rebuild: ignore the current index and embed everything again.
        progress: show a progress bar on stderr.
        locked: the caller already holds the store's writer lock.

    Returns:
        A report of every file and of the published snapshot.

    Raises:
        IngestLockedError: another ingest is running.
        IndexMismatchError: the index was built with another model or chunking.
    """
    store = IndexStore(settings.index_dir)
    roots = [p.resolve() for p in (paths or settings.docs_paths)]
    signature = index_signature(settings, embedder)
    with contextlib.nullcontext() if locked else store.writer_lock():
        old, notes = load_previous(store, signature, rebuild)
        outside = (
            [] if old is None else [a for a in old.articles.values() if not in_scope(a.path, roots)]
        )
        known = {} if old is None else old.articles
        reports, kept, files, stripped = _read_all(settings, roots, store.root, known, outside)
        if notes:
            reports.insert(0, FileReport(str(store.root), "rebuilt", notes[0]))
        builder = _Builder(settings, embedder, old)
        if old is not None:
            # Articles from outside this ingest's paths stay as they are, unless a file read
            # now has the same id (the folder moved, or an explicit file shares a stem): the
            # file read now wins, since one id must not be indexed twice.
            owner = {aid: r for r in reports for aid in r.article_ids}
            for a in old.articles.values():
                if in_scope(a.path, roots):
                    continue
                if a.id in kept:
                    owner[a.id].warnings.append(f"replaces article {a.id!r} from {a.path}")
                else:
                    builder.reuse(a)
            files.update({p: h for p, h in old.files.items() if not in_scope(p, roots)})
            for a in sorted(old.articles.values(), key=lambda a: a.path):
                if in_scope(a.path, roots) and a.id not in kept:
                    reports.append(FileReport(a.path, "removed", f"article {a.id} removed"))
        fresh: set[str] = set()
        for article in sorted(kept.values(), key=lambda a: a.id):
            prev = old.articles.get(article.id) if old else None
            if prev is not None and prev.content_hash == article.content_hash and old is not None:
                # Same content, but the file may have moved: record where it is now.
                builder.reuse(replace(prev, path=article.path))
            else:
                builder.add(article)
                fresh.add(article.id)
        for r in reports:
            if r.status == "indexed" and not fresh.intersection(r.article_ids):
                r.status = "unchanged"
            elif r.status == "indexed" and len(r.article_ids) > 1:
                n = len(fresh.intersection(r.article_ids))
                r.detail += f" ({n} new or changed)"
        embedded = builder.embed(progress)
        changed = old is None or embedded > 0 or set(builder.articles) != set(old.articles)
        changed = changed or (old is not None and files != old.files)
        name = old.name if old is not None else None
        if changed:
            name = store.publish(builder.snapshot(signature, files))
    return IngestReport(
        files=reports,
        snapshot=name,
        published=changed,
        articles=len(builder.articles),
        chunks=len(builder.chunks),
        embedded=embedded,
        invisible_stripped=stripped,
    )


def _read_all(
    settings: Settings,
    roots: Sequence[Path],
    index_dir: Path,
    known: Mapping[str, ArticleRow],
    outside: Sequence[ArticleRow],
) -> tuple[list[FileReport], dict[str, Article], dict[str, str], int]:
    """Load every file; decide per article: new, duplicate, or id clash.

    Which of two articles keeps a shared id or text does not depend on file names or on
    which path was ingested: an article outside an ``added/`` folder wins over one inside
    it, then an article already indexed with that text, then the first file by name. Text
    identical to an indexed article outside this ingest's paths is a duplicate of it.
    """
    max_bytes = int(settings.ingest.max_file_mb * 1024 * 1024)
    reports: list[FileReport] = []
    kept: dict[str, Article] = {}
    by_hash: dict[str, str] = {a.content_hash: a.id for a in outside}
    files: dict[str, str] = {}
    stripped = 0
    entries: list[tuple[Article, FileReport]] = []
    loaded: list[FileReport] = []  # the files that hold articles
    docs = settings.docs_paths
    for entry in scan_entries(roots, index_dir, docs=docs):
        path, root = entry.path, entry.root
        if entry.problem or root is None:
            # Refused unread, and left out of the manifest as is_stale() leaves it out.
            reports.append(
                FileReport(str(path), "skipped", entry.problem or "no such file or folder")
            )
            continue
        result: FileResult = read_file(path, root, max_bytes, within=[*roots, *docs])
        files[str(path)] = result.sha256 or fingerprint(path, max_bytes)
        stripped += result.invisible_stripped
        report = FileReport(str(path), "skipped", result.skipped or "", list(result.warnings))
        reports.append(report)
        if not result.skipped:
            loaded.append(report)
            entries += [(a, report) for a in result.articles]

    def rank(entry: tuple[Article, FileReport]) -> tuple[bool, bool]:
        a = entry[0]
        prev = known.get(a.id)
        return _is_added(a.path), not (prev and prev.content_hash == a.content_hash)

    duplicates: dict[int, list[str]] = {}
    for a, report in sorted(entries, key=rank):  # stable: file order within a rank
        if a.id in kept:
            report.warnings.append(f"article id {a.id!r} is already used by {kept[a.id].path}")
        elif by_hash.get(a.content_hash, a.id) != a.id:
            duplicates.setdefault(id(report), []).append(by_hash[a.content_hash])
        else:
            kept[a.id] = a
            by_hash[a.content_hash] = a.id
            report.article_ids.append(a.id)
    for report in loaded:
        dups = duplicates.get(id(report), [])
        new = len(report.article_ids)
        if new:
            report.status = "indexed"
            report.detail = f"{new} article{'s' if new > 1 else ''}"
            if dups:
                report.detail += f", {len(dups)} duplicate(s) of {', '.join(dups[:3])}"
        elif dups:
            report.status = "duplicate"
            report.detail = "duplicate of " + ", ".join(dups[:3])
        else:
            report.detail = "no article could be used"
    return reports, kept, files, stripped


def _is_added(path: str) -> bool:
    """True for an article file in an ``added/`` folder (written by the service)."""
    return Path(path).parent.name == "added"
