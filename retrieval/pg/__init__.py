"""The PostgreSQL backend (``store.backend: postgres``): the index in PostgreSQL with pgvector.

psycopg and pgvector are imported here only, when this backend is chosen: the local backend
never needs them (``pip install 'newsbot[postgres]'``).
"""

from __future__ import annotations

import time
import weakref
from typing import TYPE_CHECKING, Any

from retrieval.errors import ConfigError, DatabaseUnavailableError

if TYPE_CHECKING:
    from psycopg_pool import ConnectionPool

    from retrieval.config import DatabaseSettings

# pg_advisory_lock keys: the one index writer, whoever applies migrations, and the follows'
# writes (serialised as SQLite serialises them; see pg/follows.py).
WRITER_LOCK = 0x6E657773_0001
MIGRATE_LOCK = 0x6E657773_0002
FOLLOWS_LOCK = 0x6E657773_0003
# A pooled connection returned this recently is handed out again without a check.
FRESH_S = 1.0


def url_of(settings: DatabaseSettings) -> str:
    """The database URL (a secret: never logged nor put in an error message)."""
    if settings.url is None:
        raise ConfigError("database.url is not set: set NEWSBOT_DATABASE_URL")
    return settings.url.get_secret_value()


def make_pool(settings: DatabaseSettings) -> ConnectionPool:
    """A connection pool whose connections know the vector type and the HNSW search breadth.

    Raises:
        ConfigError: psycopg or pgvector is not installed.
    """
    try:
        from pgvector.psycopg import register_vector
        from psycopg_pool import ConnectionPool
    except ImportError:
        raise ConfigError(
            "store.backend postgres needs psycopg and pgvector: pip install 'newsbot[postgres]'"
        ) from None
    ef_search = int(settings.hnsw_ef_search)

    returned: weakref.WeakKeyDictionary[Any, float] = weakref.WeakKeyDictionary()

    def configure(conn: Any) -> None:
        register_vector(conn)
        conn.execute(f"SET hnsw.ef_search = {ef_search}")

    def check(conn: Any) -> None:
        # A connection broken by a database restart is replaced, not handed out; one in use
        # a moment ago is spared the round trip (a busy replica would pay it per query).
        if time.monotonic() - returned.get(conn, float("-inf")) > FRESH_S:
            ConnectionPool.check_connection(conn)

    def reset(conn: Any) -> None:
        returned[conn] = time.monotonic()

    return ConnectionPool(
        url_of(settings),
        # Each read is one statement (its own snapshot, as it would be under READ COMMITTED
        # anyway); writes open their transaction explicitly. No COMMIT round trip per read.
        kwargs={"autocommit": True},
        min_size=1,
        max_size=settings.pool_size,
        configure=configure,
        check=check,
        reset=reset,
        open=True,
        timeout=10.0,
        name="newsbot",
    )


def unavailable(e: Exception) -> DatabaseUnavailableError:
    """A database failure as an error safe to show (no URL, no query)."""
    kind = type(e).__name__
    return DatabaseUnavailableError(f"the database is unavailable ({kind}); try again shortly")
