"""Incremental ingest: read article files, chunk and embed what changed, publish a snapshot.

Unchanged articles (same id, same content hash) stay in their segments untouched; new and
changed ones are embedded into one new segment, and a changed one's earlier chunks are marked
deleted, as are those of an article whose file is gone. Every file is reported.
"""

from __future__ import annotations

import contextlib
import gc
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from retrieval.articles import Article
from retrieval.backend import Store, make_store
from retrieval.chunking import chunk_article, embed_text
from retrieval.config import Settings
from retrieval.embeddings import Embedder
from retrieval.errors import IndexCorruptError, IndexMismatchError, IndexMissingError
from retrieval.readings import Readings
from retrieval.scan import fingerprint as fingerprint
from retrieval.scan import scan as scan
from retrieval.scope import FileReport as FileReport
from retrieval.scope import ReportStatus as ReportStatus
from retrieval.scope import in_scope as in_scope
from retrieval.scope import max_bytes_of, read_scope, scope_test
from retrieval.segments import Segment
from retrieval.store import ArticleRow, Catalog, Change, ChunkRow, SentenceRow

SPLITTER_VERSION = 2
_EMBED_BATCH = 256
# chunks: from_sentences: the title's vector counts as if its word pieces were this many times
# as many sentence word pieces (a title shapes every word piece of a chunk's own pass).
TITLE_WEIGHT = 2.0


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
    if settings.embedding.sentences != "own":
        embedding["sentences"] = settings.embedding.sentences
    if settings.embedding.chunks != "own":
        embedding["chunks"] = settings.embedding.chunks
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
        have, want = manifest.get(part), signature[part]
        if have != want:
            raise IndexMismatchError(
                f"the index was built with {part} {_differences(have, want)}; rebuild it with "
                "`newsbot ingest --rebuild`"
            )


# What an index signature leaves out when a setting has its first value.
_SIGNATURE_DEFAULTS = {"precision": "fp32", "sentences": "own", "chunks": "own"}


def _differences(have: Any, want: dict[str, Any]) -> str:
    """The keys on which two signature parts differ, or both parts whole."""
    if not isinstance(have, dict):
        return f"{have}, but the configuration asks for {want}"
    keys = sorted(k for k in {*have, *want} if have.get(k) != want.get(k))
    shown = [
        f"{k} {have.get(k, _SIGNATURE_DEFAULTS.get(k))!r} (the configuration: "
        f"{want.get(k, _SIGNATURE_DEFAULTS.get(k))!r})"
        for k in keys
    ]
    return ", ".join(shown)


class _Builder:
    """Chunks and embeds the new and changed articles: the next segment."""

    def __init__(self, settings: Settings, embedder: Embedder) -> None:
        self.settings = settings
        self.embedder = embedder
        self.articles: dict[str, ArticleRow] = {}
        self.chunks: list[ChunkRow] = []
        self.sentences: list[SentenceRow] = []
        self.chunk_vecs: list[np.ndarray] = []
        self.sent_vecs: list[np.ndarray] = []
        self.pending_chunks: list[tuple[int, str]] = []  # (chunk row, text to embed)
        self.pending_sents: list[tuple[int, str]] = []
        self.sent_tokens: list[int] = []  # each pending sentence's word pieces, from chunking
        # Each pending chunk's sentences: (sentence row, span in the chunk's embedded text).
        self.chunk_spans: dict[int, list[tuple[int, tuple[int, int]]]] = {}
        self.chunk_titles: dict[int, str] = {}  # each pending chunk's title prefix

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
            embedded = embed_text(prefix, text)
            self.pending_chunks.append((row, embedded))
            self.chunk_titles[row] = prefix
            shift = len(embedded) - len(text) - c.start  # article offset -> embedded text's
            spans = self.chunk_spans.setdefault(row, [])
            for (s_start, s_end), n in zip(c.sentences, c.tokens, strict=True):
                srow = len(self.sentences)
                self.sentences.append(SentenceRow(srow, row, s_start, s_end))
                self.sent_vecs.append(np.empty(0, dtype=np.float32))
                self.pending_sents.append((srow, a.text[s_start:s_end]))
                self.sent_tokens.append(n)
                spans.append((srow, (s_start + shift, s_end + shift)))

    def embed(self, progress: bool) -> int:
        """Embed everything pending (each distinct text once); return how many texts."""
        if self.settings.embedding.sentences == "pooled":
            return self._embed_pooled(progress)
        if self.settings.embedding.chunks == "from_sentences":
            return self._embed_from_sentences(progress)
        vectors = self._embed_each(
            {t for _, t in self.pending_chunks} | {t for _, t in self.pending_sents}, progress
        )
        for row, t in self.pending_chunks:
            self.chunk_vecs[row] = vectors[t]
        for row, t in self.pending_sents:
            self.sent_vecs[row] = vectors[t]
        return len(vectors)

    def _embed_from_sentences(self, progress: bool) -> int:
        """Each distinct sentence and title embedded once, alone; a chunk's vector is the
        word-piece-weighted mean of its sentences' vectors and its title's."""
        titles = sorted({t for t in self.chunk_titles.values() if t})
        vectors = self._embed_each({*titles, *(t for _, t in self.pending_sents)}, progress)
        # Sentences were counted when they were packed into chunks: only titles are counted.
        title_tokens = dict(zip(titles, self.embedder.count_tokens_batch(titles), strict=True))
        for row, t in self.pending_sents:
            self.sent_vecs[row] = vectors[t]
        own = dict(self.pending_sents)
        for row, _ in self.pending_chunks:
            parts = [own[srow] for srow, _ in self.chunk_spans[row]]
            weights = [float(max(self.sent_tokens[srow], 1)) for srow, _ in self.chunk_spans[row]]
            title = self.chunk_titles[row]
            if title:
                parts.append(title)
                weights.append(TITLE_WEIGHT * max(title_tokens[title], 1))
            mean = np.asarray(weights, dtype=np.float32) @ np.stack([vectors[t] for t in parts])
            self.chunk_vecs[row] = mean / max(float(np.linalg.norm(mean)), 1e-12)
        return len(vectors)

    def _embed_each(self, texts: set[str], progress: bool) -> dict[str, np.ndarray]:
        """Embed each text once (similar lengths batched together: less padding)."""
        ordered = _by_length(texts)
        vectors: dict[str, np.ndarray] = {}
        bar = _progress(len(ordered), progress)
        for i in range(0, len(ordered), _EMBED_BATCH):
            batch = ordered[i : i + _EMBED_BATCH]
            vectors.update(zip(batch, self.embedder.encode(batch), strict=True))
            bar.update(len(batch))
        bar.close()
        return vectors

    def _embed_pooled(self, progress: bool) -> int:
        """One pass per distinct chunk text gives the chunk's vector and its sentences'."""
        texts = _by_length({t for _, t in self.pending_chunks})
        spans_of: dict[str, list[tuple[int, int]]] = {}
        for row, t in self.pending_chunks:
            spans_of.setdefault(t, [span for _, span in self.chunk_spans[row]])
        pooled: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        bar = _progress(len(texts), progress)
        for i in range(0, len(texts), _EMBED_BATCH):
            batch = texts[i : i + _EMBED_BATCH]
            vecs, span_vecs = self.embedder.encode_spans(batch, [spans_of[t] for t in batch])
            pooled.update(zip(batch, zip(vecs, span_vecs, strict=True), strict=True))
            bar.update(len(batch))
        bar.close()
        alone: list[int] = []  # sentences the model's input cut off: embedded on their own
        for row, t in self.pending_chunks:
            self.chunk_vecs[row], row_spans = pooled[t]
            for (srow, _), vec in zip(self.chunk_spans[row], row_spans, strict=True):
                self.sent_vecs[srow] = vec
                if np.isnan(vec[0]):
                    alone.append(srow)
        if alone:
            own = dict(self.pending_sents)
            for srow, vec in zip(alone, self.embedder.encode([own[r] for r in alone]), strict=True):
                self.sent_vecs[srow] = vec
        return len(texts) + len(alone)

    def segment(self) -> Segment:
        """The new articles' rows and vectors, as one segment."""
        dim = self.embedder.dim
        return Segment(
            self.articles,
            self.chunks,
            self.sentences,
            _stack(self.chunk_vecs, dim),
            _stack(self.sent_vecs, dim),
        )


def _by_length(texts: set[str]) -> list[str]:
    """Shortest first (similar lengths batched together: less padding), ties by text. A
    fixed order matters at int8: activations are quantised per batch, so a text's vector
    depends on the texts batched with it (cosine ~0.99 to its vector alone), and an order
    left to the set's (per-process hash) order gave another index, and other eval numbers,
    on every run."""
    return sorted(texts, key=lambda t: (len(t), t))


def _stack(vecs: list[np.ndarray], dim: int) -> np.ndarray:
    return np.vstack(vecs).astype(np.float32) if vecs else np.zeros((0, dim), dtype=np.float32)


class _NoProgress:
    """A progress bar that shows nothing."""

    def update(self, n: int) -> None:
        pass

    def close(self) -> None:
        pass


def _progress(total: int, enabled: bool) -> Any:
    if not enabled or not total:
        return _NoProgress()  # not even tqdm's import when there is nothing to show
    from tqdm import tqdm

    return tqdm(
        total=total,
        desc="embedding",
        unit="text",
        file=sys.stderr,
    )


def load_previous(
    store: Store, signature: dict[str, Any], rebuild: bool, deep: bool = True
) -> tuple[Catalog | None, list[str]]:
    """What the current snapshot holds (articles, files; never a vector), or None to start
    afresh (with the reason). ``deep`` verifies every file's checksum, not only its size."""
    if rebuild:
        return None, []
    try:
        store.upgrade()  # an index of the older format becomes one segment, not re-embedded
        old = store.catalog(deep=deep)
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
    compact: bool = False,
    progress: bool = True,
    locked: bool = False,
) -> IngestReport:
    """Bring the index up to date with the articles under ``paths`` (default: configured).

    New and changed articles are embedded into one new segment; a changed or removed
    article's old rows are marked deleted. The cost follows what changed, not the index
    (besides reading the articles' ids, paths and hashes, and merging now and then).

    Args:
        settings: the configuration.
        embedder: the loaded embedding model.
        paths: folders or files; articles indexed earlier from elsewhere are kept.
        rebuild: ignore the current index and embed everything again.
        compact: merge every segment into one as well (drops deleted rows for good).
        progress: show a progress bar on stderr.
        locked: the caller already holds the store's writer lock.

    Returns:
        A report of every file and of the published snapshot.

    Raises:
        IngestLockedError: another ingest is running.
        IndexMismatchError: the index was built with another model or chunking.
    """
    store = make_store(settings)
    roots = [p.resolve() for p in (paths or settings.docs_paths)]
    signature = index_signature(settings, embedder)
    # A full ingest re-reads every article anyway: it verifies every file of the index too,
    # so that a damaged one is rebuilt. Adding a few files checks the sizes only (readers
    # verify checksums before they read).
    deep = paths is None
    with contextlib.nullcontext() if locked else store.writer_lock():
        with _paused_gc():
            old, notes = load_previous(store, signature, rebuild, deep)
            readings = _readings(settings, store, old)
            read = read_scope(settings, (roots, store.root), old, readings)
            scoped, (reports, kept, files, stripped) = read
            if notes:
                reports.insert(0, FileReport(str(store.root), "rebuilt", notes[0]))
            scope = (roots, scoped)
            change, builder = _plan(settings, embedder, old, scope, reports, kept, files)
        change.signature = signature
        change.readings, change.blobs = readings.entries, readings.blobs
        embedded = builder.embed(progress)
        change.add = builder.segment()
        changed = (
            old is None or embedded > 0 or bool(change.delete or change.paths)
            or files != old.files or (change.add is not None and bool(change.add.articles))
            or bool(readings.blobs) or readings.entries != old.readings
        )  # fmt: skip
        name = old.name if old is not None else None
        counts = _live_counts(old)
        entries = [] if old is None else old.manifest["segments"]
        compact = compact and (len(entries) > 1 or any(e["deleted"] for e in entries))
        if changed or compact:
            name = store.commit(change, compact=compact)
            changed = changed or name != (old.name if old else None)
            counts = store.read_manifest(name)["counts"]
    return IngestReport(
        files=reports,
        snapshot=name,
        published=changed,
        articles=counts["articles"],
        chunks=counts["chunks"],
        embedded=embedded,
        invisible_stripped=stripped,
    )


@contextlib.contextmanager
def _paused_gc() -> Iterator[None]:
    """Cyclic garbage collection paused while ingest reads the catalog and the files into
    per-article tables: they hold no cycles (reference counting frees them), and at 40,000
    articles the collector's repeated passes over them cost as much as the reading itself."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _readings(settings: Settings, store: Store, old: Catalog | None) -> Readings:
    """The readings of exports this ingest may use instead of parsing them (readings.py)."""
    if store.readings_dir is None:  # a backend that keeps none: every file is parsed
        return Readings(store.root, {}, max_bytes_of(settings), keeping=False)
    return Readings(store.readings_dir, {} if old is None else old.readings, max_bytes_of(settings))


def _live_counts(old: Catalog | None) -> dict[str, int]:
    if old is None:
        return {"articles": 0, "chunks": 0}
    return dict(old.manifest["counts"])


def _plan(
    settings: Settings,
    embedder: Embedder,
    old: Catalog | None,
    scope: tuple[Sequence[Path], set[str]],
    reports: list[FileReport],
    kept: dict[str, Article],
    files: dict[str, str],
) -> tuple[Change, _Builder]:
    """What to publish: the indexed articles to delete and those that moved, and the new
    and changed articles, chunked but not yet embedded. ``scope``: this ingest's roots, and
    the indexed articles below them."""
    roots, scoped = scope
    builder = _Builder(settings, embedder)
    change = Change({}, files, base=old)
    if old is not None:
        # Articles from outside this ingest's paths stay as they are, unless a file read
        # now has the same id (the folder moved, or an explicit file shares a stem): the
        # file read now wins, since one id must not be indexed twice.
        owner = {aid: r for r in reports for aid in r.article_ids}
        for aid in kept:
            a = old.articles.get(aid)
            if a is not None and aid not in scoped:
                owner[aid].warnings.append(f"replaces article {aid!r} from {a.path}")
        below = scope_test(roots)
        files.update({p: h for p, h in old.files.items() if not below(p)})
        gone = [old.articles[aid] for aid in scoped if aid not in kept]
        for a in sorted(gone, key=lambda a: a.path):
            reports.append(FileReport(a.path, "removed", f"article {a.id} removed"))
            change.delete.add(a.id)
    fresh: set[str] = set()
    for article in sorted(kept.values(), key=lambda a: a.id):
        prev = old.articles.get(article.id) if old else None
        if prev is not None and prev.content_hash == article.content_hash:
            if prev.path != article.path:
                change.paths[article.id] = article.path  # same content, the file moved
            continue
        if prev is not None:
            change.delete.add(article.id)
        builder.add(article)
        fresh.add(article.id)
    for r in reports:
        if r.status == "indexed" and not fresh.intersection(r.article_ids):
            r.status = "unchanged"
        elif r.status == "indexed" and len(r.article_ids) > 1:
            n = len(fresh.intersection(r.article_ids))
            r.detail += f" ({n} new or changed)"
    return change, builder
