"""Follows, their outbox, briefings and webhooks in PostgreSQL (migrations/0004_follows.sql),
so that a follow made through any replica is matched by the worker's scan, and its alerts are
delivered once by whichever replica delivers.

The SQL is follows/store.py's and follows/webhooks.py's (written to run on both databases);
only the connection differs. Each write transaction first takes one advisory lock, so that
writes are serialised as SQLite's ``BEGIN IMMEDIATE`` serialises them: two processes
recording the same story's alert, or the same day's briefing, record it once. A delivery
round holds a session advisory lock per outbox (e.g. "telegram") on a connection of its own:
one replica at a time sends that outbox's alerts, in order, and the lock goes with the
connection if the replica dies.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any, cast

from retrieval.follows.store import FollowStore
from retrieval.pg import FOLLOWS_LOCK, unavailable

if TYPE_CHECKING:
    import sqlite3

    from retrieval.pg.store import PgStore

# The class key of the two-key advisory locks one delivery round per outbox holds (the
# second key is the outbox name's hash); two-key locks never meet the one-key ones.
_DELIVERY_LOCKS = 0x6E77


def _qmark(sql: str) -> str:
    """SQLite's ``?`` placeholders as psycopg's ``%s``."""
    return sql.replace("%", "%%").replace("?", "%s")


class _Connection:
    """A psycopg connection that takes the follows store's SQL (``?`` placeholders)."""

    def __init__(self, conn: Any) -> None:
        self._conn = conn

    def execute(self, sql: str, args: Sequence[object] = ()) -> Any:
        """Run one statement; its cursor (fetchone, fetchall, rowcount)."""
        return self._conn.execute(_qmark(sql), tuple(args))


class PgFollowStore(FollowStore):
    """FollowStore's interface on the index's database (every replica's follows)."""

    shared = True

    def __init__(self, store: PgStore) -> None:
        self.pg = store
        self.path = "postgresql"
        self._held: dict[str, Any] = {}  # outbox name -> the connection holding its lock
        self._held_lock = threading.Lock()

    def close(self) -> None:
        """Release any delivery lock still held (the store's pool is closed with it)."""
        for name in list(self._held):
            self.release_delivery(name)

    @contextlib.contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction, after every other process's follows write."""
        with self.pg.connection() as conn, conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (FOLLOWS_LOCK,))
            yield cast("sqlite3.Connection", _Connection(conn))

    def _read(self, sql: str, args: Sequence[object] = ()) -> list[tuple]:
        with self.pg.connection() as conn:
            return cast(list[tuple], conn.execute(_qmark(sql), tuple(args)).fetchall())

    def claim_delivery(self, name: str) -> bool:
        """Whether this process delivers the ``name`` outbox now: True once it holds that
        outbox's advisory lock (until :meth:`release_delivery`), False while another does."""
        with self._held_lock:
            if name in self._held:
                return False  # another round of this process is delivering it
            self._held[name] = None
        import psycopg
        from psycopg_pool import PoolTimeout

        got, conn, pool = False, None, self.pg.pool
        try:
            conn = pool.getconn()
            row = conn.execute(
                "SELECT pg_try_advisory_lock(%s, hashtext(%s))", (_DELIVERY_LOCKS, name)
            ).fetchone()
            got = bool(row and row[0])
        except (psycopg.OperationalError, PoolTimeout) as e:
            raise unavailable(e) from None
        finally:
            with self._held_lock:
                if got:
                    self._held[name] = conn
                else:
                    del self._held[name]
            if conn is not None and not got:
                pool.putconn(conn)
        return got

    def release_delivery(self, name: str) -> None:
        """Let another replica deliver the ``name`` outbox."""
        with self._held_lock:
            conn = self._held.pop(name, None)
        if conn is None:
            return
        try:
            conn.execute("SELECT pg_advisory_unlock(%s, hashtext(%s))", (_DELIVERY_LOCKS, name))
        except Exception:  # a lost connection released the lock already
            conn.close()
        finally:
            self.pg.pool.putconn(conn)
