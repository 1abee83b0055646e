"""Conversations, Telegram update de-duplication and rate limits in PostgreSQL, so that N
replicas behave as one: a conversation's turns may land on any replica, an update delivered
twice is answered once, and a user's questions are counted across replicas."""

from __future__ import annotations

import json
from collections.abc import Hashable
from typing import TYPE_CHECKING, Any

from retrieval.sessions import Turn, focus_json, retry_key, stored_turn

if TYPE_CHECKING:
    from retrieval.pg.store import PgStore

# Update ids are forgotten after this long (Telegram re-delivers for at most a day).
SEEN_KEEP_S = 2 * 24 * 3600
# A rate limiter forgets refilled buckets once in this many hits.
_PRUNE_EVERY = 1000


class PgConversationStore:
    """A ConversationStore in the ``turns`` table (see migrations/0002_sessions.sql)."""

    def __init__(self, store: PgStore, max_turns: int = 10) -> None:
        self.store = store
        self.max_turns = max_turns

    def history(self, session_id: str) -> list[Turn]:
        """The session's last turns, oldest first (without the turn of the request being
        retried, if it was recorded: see ``retry_key``)."""
        with self.store.connection() as conn:
            rows = conn.execute(
                "SELECT question, standalone, answer, short_answer, citations, time, focus "
                "FROM turns WHERE session_id = %s AND coalesce(request_id <> %s, true) "
                "ORDER BY id DESC LIMIT %s",
                (session_id, retry_key.get(), self.max_turns),
            ).fetchall()
        return [stored_turn(*row) for row in reversed(rows)]

    def append(self, session_id: str, turn: Turn) -> None:
        """Record a turn, forgetting the oldest beyond the limit (one transaction); a retried
        request's turn replaces the one its first attempt recorded."""
        window = (
            json.dumps({"window": list(turn.window), "reading": turn.reading})
            if turn.window is not None
            else None
        )
        focus = focus_json(turn)
        citations = json.dumps([c.model_dump() for c in turn.citations])
        with self.store.connection() as conn, conn.transaction():
            conn.execute(
                "INSERT INTO turns (session_id, question, standalone, answer, short_answer, "
                "citations, time, focus, request_id) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s) "
                "ON CONFLICT (session_id, request_id) WHERE request_id IS NOT NULL DO UPDATE SET "
                "question = excluded.question, standalone = excluded.standalone, "
                "answer = excluded.answer, short_answer = excluded.short_answer, "
                "citations = excluded.citations, time = excluded.time, focus = excluded.focus",
                (session_id, turn.question, turn.standalone, turn.answer, turn.short_answer,
                 citations, window, focus, retry_key.get()),
            )  # fmt: skip
            conn.execute(
                "DELETE FROM turns WHERE session_id = %s AND id NOT IN "
                "(SELECT id FROM turns WHERE session_id = %s ORDER BY id DESC LIMIT %s)",
                (session_id, session_id, self.max_turns),
            )

    def reset(self, session_id: str) -> None:
        """Forget the session."""
        with self.store.connection() as conn:
            conn.execute("DELETE FROM turns WHERE session_id = %s", (session_id,))

    def close(self) -> None:
        """Nothing of its own to close: the store's pool serves it."""


class PgUpdateLog:
    """Telegram update ids handled by any replica: the first to record one answers it."""

    def __init__(self, store: PgStore) -> None:
        self.store = store

    def seen(self, update_id: int) -> bool:
        """True when ``update_id`` was recorded before (by any replica); otherwise record it."""
        with self.store.connection() as conn:
            row = conn.execute(
                "INSERT INTO seen_updates (update_id) VALUES (%s) "
                "ON CONFLICT (update_id) DO NOTHING RETURNING update_id",
                (update_id,),
            ).fetchone()
            if row is not None and update_id % 1000 == 0:  # now and then, forget old ids
                conn.execute(
                    "DELETE FROM seen_updates WHERE seen < now() - make_interval(secs => %s)",
                    (SEEN_KEEP_S,),
                )
        return row is None


class PgRateLimiter:
    """bot/ratelimit.py's token bucket per key, kept in the database: ``per_minute`` events
    a minute per key across all replicas, refilled continuously by the database's clock."""

    # Each call is a database round trip: the HTTP guard runs it off the event loop.
    shared = True

    def __init__(self, store: PgStore, per_minute: int, scope: str = "default") -> None:
        if per_minute < 1:
            raise ValueError("per_minute must be at least 1")
        self.store = store
        self.scope = scope
        self.per_minute = per_minute
        self.capacity = float(per_minute)
        self.rate = per_minute / 60.0
        self._hits = 0

    def hit(self, key: Hashable) -> float:
        """Spend one token: 0.0 when allowed, else the seconds until one is (nothing spent)."""
        # One statement: the row lock serialises replicas hitting the same key.
        avail = "least(%(cap)s, b.tokens + (excluded.updated - b.updated) * %(rate)s)"
        sql = f"""
            INSERT INTO rate_buckets AS b (scope, key, tokens, updated, spent)
            VALUES (%(scope)s, %(key)s, %(cap)s - 1, extract(epoch FROM clock_timestamp()), true)
            ON CONFLICT (scope, key) DO UPDATE SET
              tokens = CASE WHEN {avail} >= 1 THEN {avail} - 1 ELSE {avail} END,
              spent = {avail} >= 1,
              updated = excluded.updated
            RETURNING spent, tokens"""
        params = {"scope": self.scope, "key": str(key), "cap": self.capacity, "rate": self.rate}
        with self.store.connection() as conn:
            spent, tokens = conn.execute(sql, params).fetchone()
            self._hits += 1
            if self._hits % _PRUNE_EVERY == 0:
                self._prune(conn)
        return 0.0 if spent else (1.0 - float(tokens)) / self.rate

    def _prune(self, conn: Any) -> None:
        """Forget buckets idle long enough to have refilled: a new one starts full, so
        nothing changes (as bot/ratelimit.py forgets them), and the table stays small."""
        conn.execute(
            "DELETE FROM rate_buckets WHERE scope = %s "
            "AND updated < extract(epoch FROM clock_timestamp()) - %s",
            (self.scope, self.capacity / self.rate),
        )

    def wait(self, key: Hashable) -> float:
        """Seconds until ``hit`` would be allowed (0.0: now); spends nothing."""
        with self.store.connection() as conn:
            row = conn.execute(
                "SELECT least(%s, tokens + (extract(epoch FROM clock_timestamp()) - updated) "
                "* %s) FROM rate_buckets WHERE scope = %s AND key = %s",
                (self.capacity, self.rate, self.scope, str(key)),
            ).fetchone()
        if row is None or row[0] >= 1.0:
            return 0.0
        return (1.0 - float(row[0])) / self.rate


def shared_secret(store: PgStore, name: str, n_bytes: int) -> bytes:
    """The secret called ``name`` that every replica shares, made by whichever asks first."""
    import secrets

    with store.connection() as conn:
        conn.execute(
            "INSERT INTO server_secrets (name, secret) VALUES (%s, %s) "
            "ON CONFLICT (name) DO NOTHING",
            (name, secrets.token_bytes(n_bytes)),
        )
        row = conn.execute("SELECT secret FROM server_secrets WHERE name = %s", (name,)).fetchone()
    return bytes(row[0])
