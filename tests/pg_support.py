"""A real PostgreSQL with pgvector for the store.backend: postgres tests: the pgserver
wheel starts a private server in a temp folder once per session (conftest.py makes these
fixtures visible to every module, so that they share it); each test that asks gets a
database of its own, migrated."""

from __future__ import annotations

import contextlib
import itertools
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest

_counter = itertools.count()
_servers: dict[str, Any] = {}  # the session's server by its URL, for stopped()


@pytest.fixture(scope="session")
def pg_server() -> Iterator[str]:
    """The URL of the session's PostgreSQL server (its ``postgres`` database)."""
    # The test command installs the postgres extra: a missing one fails here, never skips.
    import pgserver
    import psycopg  # noqa: F401

    # Not under pytest's temp folder: run as root, the server runs as another user, who
    # loses its way in when a concurrent pytest session makes that folder private again.
    data = Path(tempfile.mkdtemp(prefix="newsbot-pg-"))
    server = pgserver.get_server(data, cleanup_mode="delete")
    url = server.get_uri()
    _servers[url] = server
    yield url
    server.cleanup()


@contextlib.contextmanager
def stopped(url: str) -> Iterator[None]:
    """The session's server stopped (fast: every connection cut) until the block ends, then
    started again on the same socket and data: what clients see of a database restart."""
    from pgserver._commands import pg_ctl

    server = _servers[url]
    pg_ctl(["-w", "-m", "fast", "stop"], pgdata=server.pgdata, user=server.system_user)
    try:
        yield
    finally:
        with server._lock:
            server.ensure_postgres_running()


def with_database(url: str, name: str) -> str:
    """The same server's URL with another database."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


@pytest.fixture(scope="session")
def new_database(pg_server: str) -> Callable[[], str]:
    """Make an empty database on the session's server, with the schema migrated: its URL."""
    import psycopg

    from retrieval.pg.migrate import upgrade

    def make(migrated: bool = True) -> str:
        name = f"t{next(_counter)}"
        with psycopg.connect(pg_server, autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {name}")
        url = with_database(pg_server, name)
        if migrated:
            with psycopg.connect(url, autocommit=True) as conn:
                upgrade(conn)
        return url

    return make


def pg_sections(url: str) -> dict[str, Any]:
    """The settings sections that choose the postgres backend on ``url``."""
    return {"store": {"backend": "postgres"}, "database": {"url": url}}
