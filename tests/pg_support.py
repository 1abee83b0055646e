"""A real PostgreSQL with pgvector for the store.backend: postgres tests: the pgserver
wheel starts a private server in a temp folder once per session; each test that asks gets
a database of its own, migrated."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest

_counter = itertools.count()


@pytest.fixture(scope="session")
def pg_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The URL of the session's PostgreSQL server (its ``postgres`` database)."""
    # The test command installs the postgres extra: a missing one fails here, never skips.
    import pgserver
    import psycopg  # noqa: F401

    server = pgserver.get_server(tmp_path_factory.mktemp("pg"), cleanup_mode="stop")
    yield server.get_uri()
    server.cleanup()


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
