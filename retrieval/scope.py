"""An ingest's scope: every file under its paths read (an unchanged export from its kept
reading, readings.py), and which article keeps a shared id or text."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from retrieval.articles import Article
from retrieval.catalog import hash_owner, ids_below
from retrieval.config import Settings
from retrieval.loaders import read_file
from retrieval.manifest import Catalog
from retrieval.readings import Readings, recalled
from retrieval.scan import fingerprint, scan_entries
from retrieval.segments import ArticleRow

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


def in_scope(path: str, roots: Sequence[Path]) -> bool:
    """True when ``path`` is one of ``roots`` or lies below one (both absolute and
    normalised, as scan() and ``Path.resolve`` give them)."""
    return scope_test(roots)(str(path))


def scope_test(roots: Sequence[Path]) -> Callable[[str], bool]:
    """:func:`in_scope` for many paths: string prefixes, as it runs for every indexed article
    on every ingest."""
    exact = frozenset(str(r) for r in roots)
    prefixes = tuple(r if r.endswith(os.sep) else r + os.sep for r in exact)
    return lambda p: p in exact or p.startswith(prefixes)


def read_scope(
    settings: Settings,
    where: tuple[Sequence[Path], Path],
    old: Catalog | None,
    readings: Readings,
) -> tuple[set[str], tuple[list[FileReport], dict[str, Article], dict[str, str], int]]:
    """The indexed articles under the roots, and what reading the files there gave
    (``_read_all``), unchanged exports taken from their readings. ``where``: this ingest's
    roots and the index folder (never read as articles)."""
    roots, index_dir = where
    known: Mapping[str, ArticleRow] = {} if old is None else old.articles
    # Through the catalog's path and hash indexes: no walk over every indexed article.
    below = scope_test(roots)
    scoped = ids_below(known, roots, below)
    indexed = hash_owner(known, scoped)
    while True:
        readings.start(lambda p: not below(p))
        read = _read_all(settings, roots, index_dir, (known, indexed), readings)
        # An article taken from a reading that must be embedded needs its text: parse its
        # file (ownership is decided from ids and hashes alone, so it stays as it is).
        unread = {a.path for a in read[1].values() if recalled(a) and _to_embed(known, a)}
        if not unread:
            return scoped, read
        readings.parse |= unread


def _to_embed(known: Mapping[str, ArticleRow], a: Article) -> bool:
    """True when an article kept now is not indexed with this text."""
    prev = known.get(a.id)
    return prev is None or prev.content_hash != a.content_hash


def max_bytes_of(settings: Settings) -> int:
    """The size cap of one article file (and of one record of an export), in bytes."""
    return int(settings.ingest.max_file_mb * 1024 * 1024)


def _read_all(
    settings: Settings,
    roots: Sequence[Path],
    index_dir: Path,
    lookups: tuple[Mapping[str, ArticleRow], Callable[[str], str | None]],
    readings: Readings,
) -> tuple[list[FileReport], dict[str, Article], dict[str, str], int]:
    """Load every file (an unchanged export from its reading); decide per article: new,
    duplicate, or id clash. ``lookups``: the indexed articles, and which of them outside
    this ingest's paths has a content hash.

    Which of two articles keeps a shared id or text does not depend on file names or on
    which path was ingested: an article outside an ``added/`` folder wins over one inside
    it, then an article already indexed with that text, then the first file by name. Text
    identical to an indexed article outside this ingest's paths is a duplicate of it.
    """
    known, indexed = lookups
    max_bytes = max_bytes_of(settings)
    reports: list[FileReport] = []
    kept: dict[str, Article] = {}
    # The articles kept so far by content hash; else the indexed article outside this
    # ingest's paths that has it (``indexed``).
    by_hash: dict[str, str] = {}
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
        recall = readings.recall(path, root)
        result = read_file(path, root, max_bytes, within=[*roots, *docs], recall=recall)
        readings.keep(path, root, result)
        files[str(path)] = result.sha256 or fingerprint(path, max_bytes)
        stripped += result.invisible_stripped
        report = FileReport(str(path), "skipped", result.skipped or "", list(result.warnings))
        reports.append(report)
        if not result.skipped:
            loaded.append(report)
            entries += [(a, report) for a in result.articles]

    added: dict[str, bool] = {}  # per file: an export's articles share one path

    def rank(entry: tuple[Article, FileReport]) -> tuple[bool, bool]:
        a = entry[0]
        prev = known.get(a.id)
        if (is_added := added.get(a.path)) is None:
            is_added = added[a.path] = _is_added(a.path)
        return is_added, not (prev and prev.content_hash == a.content_hash)

    duplicates: dict[int, list[str]] = {}
    for a, report in sorted(entries, key=rank):  # stable: file order within a rank
        if a.id in kept:
            report.warnings.append(f"article id {a.id!r} is already used by {kept[a.id].path}")
        elif (first := _owner(by_hash, indexed, a.content_hash)) not in (None, a.id):
            duplicates.setdefault(id(report), []).append(str(first))
        else:
            kept[a.id] = a
            by_hash[a.content_hash] = a.id
            report.article_ids.append(a.id)
    for report in loaded:
        dups = duplicates.get(id(report), [])
        new = len(report.article_ids)
        # An export's records are reported one by one in the warnings ("line 7: ..."); the
        # detail counts them.
        refused = sum(w.endswith("record skipped") for w in report.warnings)
        if new:
            report.status = "indexed"
            report.detail = f"{new} article{'s' if new > 1 else ''}"
            if refused:
                report.detail += f", {refused} record{'s' if refused > 1 else ''} skipped"
            if dups:
                report.detail += f", {len(dups)} duplicate(s) of {', '.join(dups[:3])}"
        elif dups:
            report.status = "duplicate"
            report.detail = "duplicate of " + ", ".join(dups[:3])
        else:
            report.detail = "no article could be used"
    return reports, kept, files, stripped


def _owner(
    by_hash: Mapping[str, str], indexed: Callable[[str], str | None], content_hash: str
) -> str | None:
    return by_hash[content_hash] if content_hash in by_hash else indexed(content_hash)


def _is_added(path: str) -> bool:
    """True for an article file in an ``added/`` folder (written by the service)."""
    # String operations, not Path: it runs for every article of every ingest.
    return os.path.basename(os.path.dirname(path)) == "added"
