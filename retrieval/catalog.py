"""The writer's view of a snapshot's articles (id, path, content hash, row counts), looked up
segment by segment, so that planning an ingest of a few files costs what those files hold,
not what the index holds.

Each segment's catalog (catalog.json) is read once per process and kept (a watching writer,
the poller or the HTTP API, reads it once; the segments it writes itself it never reads);
its path and hash indexes are built on first use. A snapshot's view puts the segments
together with the deletions and moves its manifest records, without copying them into one
dict: at a million articles that copy cost seconds on every ingest.
"""

from __future__ import annotations

import os
from bisect import bisect_left
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from retrieval.segments import ArticleRow


@dataclass
class SegmentCatalog:
    """One segment's articles (text left empty) and their (chunks, sentences) counts."""

    articles: dict[str, ArticleRow]
    sizes: dict[str, tuple[int, int]]
    _paths: list[str] | None = field(default=None, repr=False)  # distinct, sorted
    _by_path: dict[str, list[str]] | None = field(default=None, repr=False)
    _by_hash: dict[str, str] | None = field(default=None, repr=False)
    _shared: dict[str, list[str]] = field(default_factory=dict, repr=False)

    def ids_at(self, exact: Iterable[str], prefixes: Sequence[str]) -> list[str]:
        """The articles whose written path is one of ``exact`` or starts with a prefix."""
        if self._paths is None:
            self._paths = sorted({a.path for a in self.articles.values()})
        paths = self._paths
        hits = [p for p in exact if (i := bisect_left(paths, p)) < len(paths) and paths[i] == p]
        for prefix in prefixes:
            i = bisect_left(paths, prefix)
            while i < len(paths) and paths[i].startswith(prefix):
                hits.append(paths[i])
                i += 1
        if not hits:  # a new file: the common case of adding articles
            return []
        if self._by_path is None:
            by_path: dict[str, list[str]] = {}
            for a in self.articles.values():
                by_path.setdefault(a.path, []).append(a.id)
            self._by_path = by_path
        return [aid for p in hits for aid in self._by_path[p]]

    def ids_with(self, content_hash: str) -> list[str]:
        """The articles of this content hash."""
        if self._by_hash is None:
            # One article per hash (ingest keeps one copy of a text): one comprehension.
            self._by_hash = {a.content_hash: a.id for a in self.articles.values()}
            if len(self._by_hash) < len(self.articles):  # some text is held twice
                every: dict[str, list[str]] = {}
                for a in self.articles.values():
                    every.setdefault(a.content_hash, []).append(a.id)
                self._shared = {h: ids for h, ids in every.items() if len(ids) > 1}
        if content_hash in self._shared:
            return self._shared[content_hash]
        found = self._by_hash.get(content_hash)
        return [] if found is None else [found]


# One segment in a snapshot: its name, catalog, deleted articles and moved ones' paths.
Part = tuple[str, SegmentCatalog, frozenset[str], Mapping[str, str]]


class CatalogArticles(Mapping[str, ArticleRow]):
    """A snapshot's live articles by id (text left empty), current paths applied."""

    def __init__(self, parts: Sequence[Part]) -> None:
        self.parts = list(parts)
        self._found: dict[str, tuple[str, ArticleRow, SegmentCatalog] | None] = {}
        self._n = sum(
            len(c.articles) - sum(1 for a in deleted if a in c.articles)
            for _, c, deleted, _ in self.parts
        )

    def find(self, article_id: str) -> tuple[str, ArticleRow, SegmentCatalog] | None:
        """The segment that holds a live article (a later one wins), the article, and the
        segment's catalog; None when no segment does. Kept per article: an ingest looks
        each one up several times (ranking, ownership, planning)."""
        if article_id in self._found:
            return self._found[article_id]
        found = None
        for name, cat, deleted, paths in reversed(self.parts):
            a = cat.articles.get(article_id)
            if a is not None and article_id not in deleted:
                path = paths.get(article_id)
                found = name, (a if path is None else replace(a, path=str(path))), cat
                break
        self._found[article_id] = found
        return found

    def get(self, article_id: str, default: Any = None) -> Any:
        """The live article, or ``default`` (one call, not Mapping.get's three: ingest
        asks for every article it reads, several times)."""
        found = self._found[article_id] if article_id in self._found else self.find(article_id)
        return default if found is None else found[1]

    def __getitem__(self, article_id: str) -> ArticleRow:
        found = self.find(article_id)
        if found is None:
            raise KeyError(article_id)
        return found[1]

    def __contains__(self, article_id: object) -> bool:
        return isinstance(article_id, str) and self.find(article_id) is not None

    def __len__(self) -> int:
        return self._n

    def __iter__(self) -> Iterator[str]:
        for _, cat, deleted, _ in self.parts:
            yield from (a for a in cat.articles if a not in deleted)

    def below(self, roots: Sequence[Path]) -> set[str]:
        """The live articles whose file is one of ``roots`` or lies below one."""
        exact = [str(r) for r in roots]
        prefixes = [r if r.endswith(os.sep) else r + os.sep for r in exact]
        inside = _inside(exact, prefixes)
        candidates: set[str] = set()
        for _, cat, _, paths in self.parts:
            candidates.update(cat.ids_at(exact, prefixes))
            candidates.update(a for a, p in paths.items() if inside(str(p)))
        return {a for a in candidates if (row := self.get(a)) is not None and inside(row.path)}

    def with_hash(self, content_hash: str) -> list[str]:
        """The live articles of this content hash, in catalog order."""
        return [
            a
            for _, cat, deleted, _ in self.parts
            for a in cat.ids_with(content_hash)
            if a not in deleted
            and (row := self.get(a)) is not None
            and row.content_hash == content_hash
        ]


class _Lookup(Mapping[str, Any]):
    """``where[article]`` / ``sizes[article]`` of a :class:`CatalogArticles`."""

    def __init__(self, articles: CatalogArticles, pick: Callable[[str, SegmentCatalog, str], Any]):
        self._articles, self._pick = articles, pick

    def __getitem__(self, article_id: str) -> Any:
        found = self._articles.find(article_id)
        if found is None:
            raise KeyError(article_id)
        return self._pick(found[0], found[2], article_id)

    def __len__(self) -> int:
        return len(self._articles)

    def __iter__(self) -> Iterator[str]:
        return iter(self._articles)


def where_of(articles: CatalogArticles) -> Mapping[str, str]:
    """Which segment holds each live article."""
    return _Lookup(articles, lambda name, _, aid: name)


def sizes_of(articles: CatalogArticles) -> Mapping[str, tuple[int, int]]:
    """Each live article's (chunks, sentences)."""
    return _Lookup(articles, lambda _, cat, aid: cat.sizes[aid])


def _inside(exact: Sequence[str], prefixes: Sequence[str]) -> Callable[[str], bool]:
    exact_set, starts = frozenset(exact), tuple(prefixes)
    return lambda p: p in exact_set or p.startswith(starts)


def ids_below(
    articles: Mapping[str, ArticleRow], roots: Sequence[Path], inside: Callable[[str], bool]
) -> set[str]:
    """The indexed articles whose file is under ``roots`` (through the catalog's path index
    when it has one; a plain dict, as the PostgreSQL store gives, is walked)."""
    if isinstance(articles, CatalogArticles):
        return articles.below(roots)
    return {aid for aid, a in articles.items() if inside(a.path)}


def hash_owner(articles: Mapping[str, ArticleRow], scoped: set[str]) -> Callable[[str], str | None]:
    """Which indexed article outside ``scoped`` has a content hash (the last in catalog
    order), or None."""
    if len(scoped) == len(articles):  # every indexed article is in scope: none outside
        return lambda content_hash: None
    if isinstance(articles, CatalogArticles):

        def owner(content_hash: str) -> str | None:
            ids = [a for a in articles.with_hash(content_hash) if a not in scoped]
            return ids[-1] if ids else None

        return owner
    table = {a.content_hash: a.id for aid, a in articles.items() if aid not in scoped}
    return table.get
