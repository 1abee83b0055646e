"""Schema migrations: plain numbered SQL files (``migrations/NNNN_name.sql``) applied in
order, each in its own transaction with its row in ``schema_version``; `newsbot db upgrade`
runs them. An advisory lock keeps two processes from applying them at once."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from retrieval.errors import IndexMissingError
from retrieval.pg import MIGRATE_LOCK, unavailable, url_of

if TYPE_CHECKING:
    from retrieval.config import DatabaseSettings

FOLDER = Path(__file__).resolve().parent / "migrations"
_NAME = re.compile(r"(\d{4})_([a-z0-9_]+)\.sql")
_VERSION_TABLE = """
CREATE TABLE IF NOT EXISTS schema_version (
    version integer PRIMARY KEY,
    name text NOT NULL,
    applied timestamptz NOT NULL DEFAULT now()
)"""


@dataclass(frozen=True)
class Migration:
    """One numbered SQL file."""

    version: int
    name: str
    path: Path


def migrations(folder: Path = FOLDER) -> list[Migration]:
    """The migrations shipped, in order."""
    found = []
    for p in sorted(folder.iterdir()):
        m = _NAME.fullmatch(p.name)
        if m:
            found.append(Migration(int(m.group(1)), m.group(2), p))
    versions = [m.version for m in found]
    if versions != list(range(1, len(found) + 1)):
        raise RuntimeError(f"migrations are not numbered 1..n: {versions}")
    return found


def latest() -> int:
    """The schema version this code expects."""
    return len(migrations())


def current_version(conn: Any) -> int:
    """The schema version of the database (0: never upgraded)."""
    row = conn.execute("SELECT to_regclass('schema_version') IS NOT NULL").fetchone()
    if not row[0]:
        return 0
    row = conn.execute("SELECT coalesce(max(version), 0) FROM schema_version").fetchone()
    return int(row[0])


def upgrade(conn: Any) -> list[str]:
    """Apply the migrations the database lacks (autocommit connection); their names."""
    applied = []
    conn.execute("SELECT pg_advisory_lock(%s)", (MIGRATE_LOCK,))
    try:
        conn.execute(_VERSION_TABLE)
        have = current_version(conn)
        for m in migrations():
            if m.version <= have:
                continue
            with conn.transaction():
                conn.execute(m.path.read_text(encoding="utf-8"))
                conn.execute(
                    "INSERT INTO schema_version (version, name) VALUES (%s, %s)",
                    (m.version, m.name),
                )
            applied.append(f"{m.version:04d}_{m.name}")
    finally:
        conn.execute("SELECT pg_advisory_unlock(%s)", (MIGRATE_LOCK,))
    return applied


def check(conn: Any) -> None:
    """Refuse a database whose schema is older (or newer) than this code's.

    Raises:
        IndexMissingError: the schema is missing or behind; says to run `newsbot db upgrade`.
    """
    have, want = current_version(conn), latest()
    if have < want:
        raise IndexMissingError(
            f"the database schema is at version {have}, this newsbot needs {want}: "
            "run `newsbot db upgrade`"
        )
    if have > want:
        raise IndexMissingError(
            f"the database schema is at version {have}, newer than this newsbot's {want}: "
            "upgrade newsbot"
        )


def upgrade_database(settings: DatabaseSettings) -> tuple[list[str], int]:
    """Apply the missing migrations to the configured database: (applied, version now).

    Raises:
        DatabaseUnavailableError: the database cannot be reached.
    """
    import psycopg

    try:
        with psycopg.connect(url_of(settings), autocommit=True, connect_timeout=10) as conn:
            applied = upgrade(conn)
            return applied, current_version(conn)
    except psycopg.OperationalError as e:
        raise unavailable(e) from None
