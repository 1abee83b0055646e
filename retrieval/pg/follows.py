"""Follows, their outbox, briefings and webhooks in PostgreSQL (migrations/0004_follows.sql),
so that a follow made through any replica is matched by the worker's scan, and its alerts are
delivered once by whichever replica delivers.

The SQL is follows/store.py's and follows/webhooks.py's (written to run on both databases);
only the connection differs. Each write transaction first takes one advisory lock, so that
writes are serialised as SQLite's ``BEGIN IMMEDIATE`` serialises them: two processes
recording the same story's alert, or the same day's briefing, record it once. A delivery
round holds a session advisory lock per outbox (e.g. "telegram") on a connection of its own
(not the pool's, which never closes it): one replica at a time sends that outbox's alerts, in
order, and the lock goes with the connection if the replica dies.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any, cast

from retrieval.follows.store import FollowStore
from retrieval.pg import FOLLOWS_LOCK, unavailable, url_of

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
        self._held: set[str] = set()  # the outboxes whose delivery lock this process holds
        self._locks: Any = None  # the connection holding them (none from the pool)
        self._locks_guard = threading.Lock()

    def close(self) -> None:
        """Release the delivery locks this process holds, at once (closing the connection
        alone releases them a moment later); the pool is the PgStore's."""
        import psycopg

        with self._locks_guard:
            if self._locks is not None and self._held:
                with contextlib.suppress(psycopg.Error):
                    self._locks.execute("SELECT pg_advisory_unlock_all()")
            self._drop_locks()

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
        outbox's advisory lock (until :meth:`release_delivery`), False while another replica
        (or another round of this process) does."""
        import psycopg

        with self._locks_guard:
            if name in self._held:
                return False
            try:
                if self._locks is None or self._locks.closed:
                    self._locks = psycopg.connect(
                        url_of(self.pg.settings), autocommit=True, connect_timeout=10
                    )
                row = self._locks.execute(
                    "SELECT pg_try_advisory_lock(%s, hashtext(%s))", (_DELIVERY_LOCKS, name)
                ).fetchone()
            except psycopg.OperationalError as e:
                self._drop_locks()
                raise unavailable(e) from None
            if row and row[0]:
                self._held.add(name)
                return True
            return False

    def release_delivery(self, name: str) -> None:
        """Let another replica deliver the ``name`` outbox."""
        import psycopg

        with self._locks_guard:
            if name not in self._held:
                return
            self._held.discard(name)
            try:
                self._locks.execute(
                    "SELECT pg_advisory_unlock(%s, hashtext(%s))", (_DELIVERY_LOCKS, name)
                )
            except psycopg.OperationalError:  # the lost connection released it already
                self._drop_locks()

    def _drop_locks(self) -> None:
        """Forget a broken lock connection (its locks went with it)."""
        self._held.clear()
        if self._locks is not None:
            self._locks.close()
            self._locks = None
