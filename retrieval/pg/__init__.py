"""The PostgreSQL backend (``store.backend: postgres``): the index in PostgreSQL with pgvector.

psycopg and pgvector are imported here only, when this backend is chosen: the local backend
never needs them (``pip install 'newsbot[postgres]'``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from retrieval.errors import ConfigError, DatabaseUnavailableError

if TYPE_CHECKING:
    from psycopg_pool import ConnectionPool

    from retrieval.config import DatabaseSettings

# pg_advisory_lock keys: the one index writer, and whoever applies migrations.
WRITER_LOCK = 0x6E657773_0001
MIGRATE_LOCK = 0x6E657773_0002


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

    def configure(conn: Any) -> None:
        register_vector(conn)
        conn.execute(f"SET hnsw.ef_search = {ef_search}")
        conn.commit()

    return ConnectionPool(
        url_of(settings),
        min_size=1,
        max_size=settings.pool_size,
        configure=configure,
        # A connection broken by a database restart is replaced, not handed out.
        check=ConnectionPool.check_connection,
        open=True,
        timeout=10.0,
        name="newsbot",
    )


def unavailable(e: Exception) -> DatabaseUnavailableError:
    """A database failure as an error safe to show (no URL, no query)."""
    kind = type(e).__name__
    return DatabaseUnavailableError(f"the database is unavailable ({kind}); try again shortly")
