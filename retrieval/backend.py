"""The one seam between newsbot and where its index lives (``store.backend``).

``local``: snapshot files under ``paths.index_dir`` (store.py); ``postgres``: tables in
PostgreSQL with pgvector (retrieval/pg/). Ingest writes through a :class:`Store`; answering
reads through what :func:`open_index` returns, which offers SearchIndex's interface on
either backend, so that the retriever, the answerers and the front ends never know which
one runs.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any, Protocol, cast

from retrieval.config import Settings
from retrieval.follows.store import FollowStore
from retrieval.manifest import Catalog, Change
from retrieval.search_index import SearchIndex
from retrieval.sessions import ConversationStore, SQLiteConversationStore
from retrieval.store import IndexStore


class Store(Protocol):
    """What ingest and the service need of an index store."""

    root: Path

    @property
    def readings_dir(self) -> Path | None:
        """Where exports' readings are kept (readings.py); None: nowhere (every export is
        parsed on every ingest)."""
        ...

    def writer_lock(self) -> contextlib.AbstractContextManager[None]:
        """Hold the one-writer lock (IngestLockedError when another writer holds it)."""
        ...

    def upgrade(self) -> str | None:
        """Convert an index of an older format, if the backend has one."""
        ...

    def catalog(self, *, deep: bool = False) -> Catalog:
        """The writer's view of the current index."""
        ...

    def commit(self, change: Change, *, compact: bool = False) -> str:
        """Publish a change; the new snapshot's name."""
        ...

    def read_manifest(self, name: str | None = None) -> dict[str, Any]:
        """The current index's manifest (signature, counts, files)."""
        ...

    def current_name(self) -> str | None:
        """The current snapshot's name, or None when there is none."""
        ...


def make_store(settings: Settings) -> Store:
    """The configured backend's store (psycopg is imported only for ``postgres``)."""
    match settings.store.backend:
        case "local":
            return IndexStore(
                settings.index_dir, settings.index.kind, settings.index.ann_min_chunks
            )
        case "postgres":
            from retrieval.pg.store import PgStore

            return PgStore(settings.database, settings.index_dir)
    raise AssertionError(settings.store.backend)


def open_index(store: Store, name: str | None = None) -> SearchIndex:
    """A snapshot ready to search: a SearchIndex, or the PostgreSQL reader offering its
    interface (rankers, rows, vectors, idf; see retrieval/pg/search.py)."""
    if isinstance(store, IndexStore):
        return SearchIndex(store.open(name))
    from retrieval.pg.store import PgStore

    assert isinstance(store, PgStore)
    return cast(SearchIndex, store.open_index(name))


def make_conversation_store(settings: Settings, store: Store) -> ConversationStore:
    """Where conversations live: SQLite (sessions.path) beside a local index, the index's
    database with postgres (then any replica can answer any turn)."""
    cfg = settings.sessions
    if isinstance(store, IndexStore):
        path = ":memory:" if cfg.path == ":memory:" else settings.resolve(cfg.path)
        return SQLiteConversationStore(path, cfg.max_turns)
    from retrieval.pg.sessions import PgConversationStore
    from retrieval.pg.store import PgStore

    assert isinstance(store, PgStore)
    return PgConversationStore(store, cfg.max_turns)


def make_follow_store(settings: Settings, store: Store) -> FollowStore:
    """Where follows and their alerts live: SQLite beside the conversations (sessions.path)
    with a local index, the index's database with postgres (then a follow made through any
    replica is alerted by the worker, and delivered by one replica)."""
    if isinstance(store, IndexStore):
        path = settings.sessions.path
        return FollowStore(":memory:" if path == ":memory:" else settings.resolve(path))
    from retrieval.pg.follows import PgFollowStore
    from retrieval.pg.store import PgStore

    assert isinstance(store, PgStore)
    return PgFollowStore(store)


def shared_limits(store: Store, per_minute: int, scope: str) -> Any:
    """With postgres, a rate limiter (``hit``/``wait`` as bot/ratelimit.py's) and a Telegram
    update log (``seen``) shared by every replica; None, None with the local backend (each
    process keeps its own)."""
    limiter = shared_limiter(store, per_minute, scope)
    if limiter is None:
        return None, None
    from retrieval.pg.sessions import PgUpdateLog

    return limiter, PgUpdateLog(cast(Any, store))


def shared_limiter(store: Store, per_minute: int, scope: str) -> Any:
    """With postgres, a rate limiter whose buckets (one per key, in ``scope``) every replica
    shares; None with the local backend (each process keeps its own)."""
    from retrieval.pg.store import PgStore

    if not isinstance(store, PgStore):
        return None
    from retrieval.pg.sessions import PgRateLimiter

    return PgRateLimiter(store, per_minute, scope)


def shared_secret(store: Store, name: str, n_bytes: int) -> bytes | None:
    """With postgres, the secret ``name`` every replica shares (made on first use, kept in
    the database); None with the local backend (the caller keeps its own)."""
    from retrieval.pg.store import PgStore

    if not isinstance(store, PgStore):
        return None
    from retrieval.pg.sessions import shared_secret as in_database

    return in_database(store, name, n_bytes)


def shared_stories(store: Store, known: object) -> tuple[object, Any] | None:
    """With postgres, the story map every replica shares: ``(revision, StoryMap)`` when its
    revision is not ``known`` any more, ``(known, None)`` when unchanged; None with the local
    backend (the story map is read from the feed state beside the articles)."""
    from retrieval.pg.store import PgStore

    if not isinstance(store, PgStore):
        return None
    from retrieval.pg import stories

    if stories.revision(store) == known:
        return known, None
    return stories.load(store)


def publish_stories(store: Store, state: Path | None) -> bool:
    """With postgres, publish the story map of the feed state at ``state`` for every replica
    (the one worker's poller calls it); False with the local backend (nothing to do)."""
    from retrieval.pg.store import PgStore

    if not isinstance(store, PgStore):
        return False
    from retrieval.feeds.collapse import StoryMap
    from retrieval.pg import stories

    stories.publish(store, StoryMap.load(state))
    return True
