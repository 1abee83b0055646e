"""One story, one hit: copies of a story collapse to its earliest retrieved copy, whose
citation then names the other outlets that carried it ("also: AP, Yahoo News").

The story map is read from the feed state (``<docs>/feeds/.state/feeds.sqlite``), which the
poller writes; only stories with two or more articles are kept, so articles that are not
from feeds, or that nobody copied, pass through untouched. This module imports neither the
poller nor datasketch: the service loads it on every start.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, TypeVar

from retrieval.answer import AlsoCarried

log = logging.getLogger(__name__)


class _Article(Protocol):
    @property
    def id(self) -> str: ...

    @property
    def date(self) -> str | None: ...


class _Outlet(_Article, Protocol):
    @property
    def source(self) -> str | None: ...

    @property
    def url(self) -> str | None: ...


class _Hit(Protocol):
    @property
    def article(self) -> _Article: ...


H = TypeVar("H", bound=_Hit)


def state_file(docs_paths: Sequence[Path]) -> Path | None:
    """Where the poller keeps its state: ``feeds/.state/feeds.sqlite`` in the first docs
    folder (the poller's ``state_path``, without its checks: this is only read)."""
    if not docs_paths:
        return None
    root = docs_paths[0]
    root = root.parent if root.is_file() else root
    return root / "feeds" / ".state" / "feeds.sqlite"


@dataclass(frozen=True)
class StoryMap:
    """The stories with two or more articles: each article's story, and each story's
    articles (earliest first)."""

    story_of: dict[str, str] = field(default_factory=dict)
    members: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.story_of)

    @classmethod
    def of(cls, stories: Mapping[str, Sequence[str]]) -> StoryMap:
        """A map from ``{story id: [article ids, earliest first]}``."""
        members = {s: tuple(ids) for s, ids in stories.items() if len(ids) > 1}
        story_of = {a: s for s, ids in members.items() for a in ids}
        return cls(story_of, members)

    @classmethod
    def load(cls, path: Path | None) -> StoryMap:
        """The stories in a feed state database; empty when there is none (or it cannot be
        read: collapsing is then skipped, never answering)."""
        if path is None or not path.is_file():
            return cls()
        try:
            db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=5)
            try:
                rows = db.execute(
                    "SELECT story_id, article_id FROM stories WHERE story_id IN "
                    "(SELECT story_id FROM stories GROUP BY story_id HAVING COUNT(*) > 1) "
                    "ORDER BY COALESCE(published, '9999'), article_id"
                ).fetchall()
            finally:
                db.close()
        except sqlite3.Error as e:
            log.warning("cannot read the story map from %s (copies not collapsed): %s", path, e)
            return cls()
        stories: dict[str, list[str]] = {}
        for story, article in rows:
            stories.setdefault(story, []).append(article)
        return cls.of(stories)


def _earlier(a: _Article, b: _Article) -> bool:
    """True when ``a`` was published before ``b`` (undated last; a tie keeps ``b``)."""
    return (a.date or "9999") < (b.date or "9999")


def collapse(hits: Sequence[H], stories: StoryMap) -> list[H]:
    """The hits with each story's copies but one dropped.

    A story keeps the earliest-dated of its articles among the hits (the first ranked on a
    tie) and all of that article's hits: its best hit moves up to the rank of the story's
    best hit, the others keep their order. Hits of articles in no story keep their places.
    """
    if not stories:
        return list(hits)
    kept: dict[str, tuple[_Article, int]] = {}  # story -> (article kept, its best hit)
    for i, h in enumerate(hits):
        story = stories.story_of.get(h.article.id)
        if story is None:
            continue
        if story not in kept or _earlier(h.article, kept[story][0]):
            kept[story] = (h.article, i)
    out: list[H] = []
    placed: set[str] = set()
    for i, h in enumerate(hits):
        story = stories.story_of.get(h.article.id)
        if story is None:
            out.append(h)
            continue
        article, best = kept[story]
        if story not in placed:
            placed.add(story)
            out.append(hits[best])
        elif h.article.id == article.id and i != best:
            out.append(h)
    return out


def also_carried(
    article_id: str,
    stories: StoryMap,
    articles: Mapping[str, _Outlet],
    until: str | None = None,
) -> list[AlsoCarried]:
    """The other outlets that carried an article's story, earliest first: one entry per
    outlet, not the article's own outlet, only articles in ``articles`` (the snapshot
    answering) and published by ``until`` (an ISO date) when given."""
    story = stories.story_of.get(article_id)
    own = articles.get(article_id)
    if story is None or own is None:
        return []
    seen = {own.source or own.id}
    out = []
    for aid in stories.members[story]:
        a = articles.get(aid)
        if a is None or aid == article_id:
            continue
        if until is not None and a.date is not None and a.date[:10] > until:
            continue
        outlet = a.source or a.id
        if outlet in seen:
            continue
        seen.add(outlet)
        out.append(AlsoCarried(source=a.source, date=a.date, url=a.url, article_id=aid))
    return out
