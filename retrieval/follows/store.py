"""Follows, their alerts and briefing schedules in SQLite, beside the conversations.

The ``alerts`` table is both the outbox (rows not yet ``delivered``) and the record of what a
chat was told: one row per chat and story, so that a copy of a story, a re-scan after a
restart or an updated article never alerts a chat twice. The scan's cursor over the feed
state advances in the same transaction as the alerts it produced.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from retrieval.errors import InputError, SessionStoreError
from retrieval.follows.alerts import Alert

_SCHEMA = """
CREATE TABLE IF NOT EXISTS follows (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    chat TEXT NOT NULL,
    topic TEXT NOT NULL,
    created REAL NOT NULL,
    model TEXT NOT NULL,
    vector BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS follows_by_chat ON follows (chat, id);
CREATE TABLE IF NOT EXISTS alerts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    chat TEXT NOT NULL,
    follow_id INTEGER NOT NULL,
    story_id TEXT,
    kind TEXT NOT NULL,
    created REAL NOT NULL,
    body TEXT NOT NULL,
    delivered REAL,
    folded_into INTEGER
);
CREATE UNIQUE INDEX IF NOT EXISTS alerts_once ON alerts (chat, story_id)
    WHERE story_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS alerts_pending ON alerts (delivered, id);
CREATE INDEX IF NOT EXISTS alerts_by_follow ON alerts (follow_id, created);
CREATE TABLE IF NOT EXISTS briefings (
    chat TEXT PRIMARY KEY,
    at TEXT NOT NULL,
    tz TEXT NOT NULL,
    last_day TEXT
);
CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
"""
HOUR_S = 3600.0
_SENT_KINDS = ("alert", "more")  # what counts toward a follow's alerts per hour


class FollowLimitError(InputError):
    """A chat already follows as many topics as it may."""


@dataclass(frozen=True)
class Follow:
    """A topic a chat follows, with its embedding (computed once, when followed)."""

    id: int
    chat: str
    topic: str
    created: float
    model: str
    vector: np.ndarray


@dataclass(frozen=True)
class Match:
    """A new article that passed a chat's follow: alert once per chat and story."""

    chat: str
    follow_id: int
    story_id: str
    alert: Alert


@dataclass(frozen=True)
class Briefing:
    """A chat's daily briefing: local time ``at`` (HH:MM) in time zone ``tz``."""

    chat: str
    at: str
    tz: str
    last_day: str | None


class FollowStore:
    """The follows database (one file; each change is one transaction)."""

    # False: one machine's file, scanned by whichever front end ticks. True (PostgreSQL):
    # every replica's; its tables come from the migrations, and only the feed poller scans.
    shared = False

    def __init__(self, path: Path | str) -> None:
        self.path = str(path)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        with self._translated():
            self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
            self._db.execute("PRAGMA busy_timeout=5000")
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.executescript(_SCHEMA)

    def close(self) -> None:
        """Close the database."""
        with self._lock:
            self._db.close()

    @contextmanager
    def _translated(self) -> Iterator[None]:
        try:
            yield
        except sqlite3.Error as e:
            raise SessionStoreError(
                f"the follows store {self.path} cannot be used: {e} (sessions.path in config.yaml)"
            ) from e

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction, under the lock (taken before anything else is read)."""
        with self._lock, self._translated():
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def _read(self, sql: str, args: Sequence[object] = ()) -> list[tuple]:
        with self._lock, self._translated():
            return self._db.execute(sql, args).fetchall()

    def transaction(self) -> contextlib.AbstractContextManager[sqlite3.Connection]:
        """One write transaction on the follows database (for the modules beside this one
        that keep their tables in it)."""
        return self._write()

    def query(self, sql: str, args: Sequence[object] = ()) -> list[tuple]:
        """Rows of one read."""
        return self._read(sql, args)

    def claim_delivery(self, name: str) -> bool:
        """Whether this process may deliver the ``name`` outbox now (always, in one file's
        store: its front ends deliver chats of their own)."""
        return True

    def release_delivery(self, name: str) -> None:
        """End a delivery round :meth:`claim_delivery` allowed."""

    # --- counters ----------------------------------------------------------------------

    def counter(self, name: str) -> int | None:
        """A stored counter (the scan cursor, the follows revision), or None."""
        rows = self._read("SELECT value FROM counters WHERE name = ?", (name,))
        return int(rows[0][0]) if rows else None

    @staticmethod
    def _set(db: sqlite3.Connection, name: str, value: int) -> None:
        db.execute(
            "INSERT INTO counters VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = ?",
            (name, value, value),
        )

    def set_counter(self, name: str, value: int) -> None:
        """Set a counter."""
        with self._write() as db:
            self._set(db, name, value)

    def revision(self) -> int:
        """Changes whenever a follow is added or removed (in any process)."""
        return self.counter("follows") or 0

    @staticmethod
    def _bump(db: sqlite3.Connection) -> None:
        db.execute(
            "INSERT INTO counters VALUES ('follows', 1) "
            "ON CONFLICT (name) DO UPDATE SET value = counters.value + 1"
        )

    # --- follows -----------------------------------------------------------------------

    def add(self, chat: str, topic: str, model: str, vector: np.ndarray, limit: int) -> Follow:
        """Follow a topic (the same topic again returns the existing follow).

        Raises:
            FollowLimitError: the chat follows ``limit`` topics already.
        """
        blob = np.ascontiguousarray(vector, dtype=np.float32).tobytes()
        now = time.time()
        with self._write() as db:
            same = db.execute(
                "SELECT id, created FROM follows WHERE chat = ? AND lower(topic) = lower(?)",
                (chat, topic),
            ).fetchone()
            if same is not None:
                return Follow(same[0], chat, topic, same[1], model, vector)
            (n,) = db.execute("SELECT COUNT(*) FROM follows WHERE chat = ?", (chat,)).fetchone()
            if n >= limit:
                raise FollowLimitError(
                    f"this chat follows {n} topics, the most it may; unfollow one first"
                )
            (follow_id,) = db.execute(
                "INSERT INTO follows (chat, topic, created, model, vector) VALUES (?,?,?,?,?) "
                "RETURNING id",
                (chat, topic, now, model, blob),
            ).fetchone()
            self._bump(db)
        return Follow(int(follow_id), chat, topic, now, model, vector)

    def follows(self, chat: str | None = None) -> list[Follow]:
        """A chat's follows (every chat's when None), oldest first."""
        sql = "SELECT id, chat, topic, created, model, vector FROM follows"
        rows = self._read(
            sql + (" WHERE chat = ?" if chat else "") + " ORDER BY id", (chat,) if chat else ()
        )
        return [
            Follow(r[0], r[1], r[2], r[3], r[4], np.frombuffer(r[5], dtype=np.float32))
            for r in rows
        ]

    def remove(self, chat: str, follow_id: int) -> Follow | None:
        """Unfollow (its undelivered alerts are dropped); None when the chat has no such id."""
        found = [f for f in self.follows(chat) if f.id == follow_id]
        if not found:
            return None
        with self._write() as db:
            db.execute("DELETE FROM follows WHERE id = ? AND chat = ?", (follow_id, chat))
            db.execute("DELETE FROM alerts WHERE follow_id = ? AND delivered IS NULL", (follow_id,))
            self._bump(db)
        return found[0]

    def forget_chat(self, chat: str) -> int:
        """Drop a chat's follows, briefing and undelivered alerts (it blocked the bot);
        returns how many follows it had."""
        with self._write() as db:
            n = db.execute("DELETE FROM follows WHERE chat = ?", (chat,)).rowcount
            db.execute("DELETE FROM briefings WHERE chat = ?", (chat,))
            db.execute("DELETE FROM alerts WHERE chat = ? AND delivered IS NULL", (chat,))
            self._bump(db)
        return n

    # --- alerts ------------------------------------------------------------------------

    def record(self, matches: Sequence[Match], cursor: int, per_hour: int, now: float) -> int:
        """Put new matches in the outbox and move the scan cursor, in one transaction.

        A chat is told of a story once; past ``per_hour`` alerts in the last hour a follow's
        matches are held ("folded") for :meth:`roll_up`. Returns the rows added.
        """
        added = 0
        with self._write() as db:
            for m in matches:
                seen = db.execute(
                    "SELECT 1 FROM alerts WHERE chat = ? AND story_id = ?", (m.chat, m.story_id)
                ).fetchone()
                if seen is not None:
                    continue
                kind = "alert" if self._sent(db, m.follow_id, now) < per_hour else "folded"
                db.execute(
                    "INSERT INTO alerts (chat, follow_id, story_id, kind, created, body) "
                    "VALUES (?,?,?,?,?,?)",
                    (m.chat, m.follow_id, m.story_id, kind, now, m.alert.model_dump_json()),
                )
                added += 1
            # Never backwards: another process's scan may have gone further meanwhile.
            db.execute(
                "INSERT INTO counters VALUES ('cursor', ?) "
                "ON CONFLICT (name) DO UPDATE SET value = "
                "CASE WHEN excluded.value > counters.value THEN excluded.value "
                "ELSE counters.value END",
                (cursor,),
            )
        return added

    @staticmethod
    def _sent(db: sqlite3.Connection, follow_id: int, now: float) -> int:
        (n,) = db.execute(
            "SELECT COUNT(*) FROM alerts WHERE follow_id = ? AND kind IN (?, ?) AND created > ?",
            (follow_id, *_SENT_KINDS, now - HOUR_S),
        ).fetchone()
        return int(n)

    def roll_up(self, per_hour: int, now: float) -> int:
        """Fold each follow's held matches into one "and N more" alert once its hour has
        room again; returns how many were made."""
        made = 0
        with self._write() as db:
            held: dict[int, list[tuple[int, str, str]]] = {}
            for row_id, follow_id, chat, body in db.execute(
                "SELECT id, follow_id, chat, body FROM alerts "
                "WHERE kind = 'folded' AND folded_into IS NULL ORDER BY id"
            ).fetchall():
                held.setdefault(follow_id, []).append((row_id, chat, body))
            for follow_id, rows in held.items():
                if self._sent(db, follow_id, now) >= per_hour:
                    continue
                first = Alert.model_validate_json(rows[0][2])
                more = Alert(
                    chat=rows[0][1],
                    kind="more",
                    follow_id=follow_id,
                    topic=first.topic,
                    more=[c for _, _, b in rows if (c := Alert.model_validate_json(b).citation)],
                )
                (more_id,) = db.execute(
                    "INSERT INTO alerts (chat, follow_id, kind, created, body) VALUES (?,?,?,?,?) "
                    "RETURNING id",
                    (more.chat, follow_id, "more", now, more.model_dump_json()),
                ).fetchone()
                for r in rows:
                    db.execute(
                        "UPDATE alerts SET folded_into = ?, delivered = ? WHERE id = ?",
                        (more_id, now, r[0]),
                    )
                made += 1
        return made

    def add_alert(self, alert: Alert, now: float) -> None:
        """Put an alert with no story (a briefing) in the outbox."""
        with self._write() as db:
            db.execute(
                "INSERT INTO alerts (chat, follow_id, kind, created, body) VALUES (?,?,?,?,?)",
                (alert.chat, alert.follow_id, alert.kind, now, alert.model_dump_json()),
            )

    def pending(self, prefix: str = "", limit: int = 100) -> list[Alert]:
        """Undelivered alerts of chats whose name starts with ``prefix``, oldest first."""
        rows = self._read(
            "SELECT id, body FROM alerts WHERE delivered IS NULL AND kind != 'folded' "
            "AND substr(chat, 1, ?) = ? ORDER BY id LIMIT ?",
            (len(prefix), prefix, limit),
        )
        return [Alert.model_validate_json(body).model_copy(update={"id": i}) for i, body in rows]

    def delivered(self, alert_id: int, now: float | None = None) -> None:
        """Mark an alert delivered: it leaves the outbox."""
        with self._write() as db:
            db.execute(
                "UPDATE alerts SET delivered = ? WHERE id = ?", (now or time.time(), alert_id)
            )

    def acknowledge(self, chat: str, upto: int, now: float | None = None) -> None:
        """Mark a chat's alerts up to id ``upto`` delivered (a polling client kept them)."""
        with self._write() as db:
            db.execute(
                "UPDATE alerts SET delivered = ? WHERE chat = ? AND id <= ? AND delivered IS NULL "
                "AND kind != 'folded'",
                (now or time.time(), chat, upto),
            )

    def last_alert(self, follow_id: int) -> float | None:
        """When a follow last alerted (None: never)."""
        rows = self._read(
            "SELECT MAX(created) FROM alerts WHERE follow_id = ? AND kind IN (?, ?)",
            (follow_id, *_SENT_KINDS),
        )
        return rows[0][0] if rows else None

    # --- briefings ---------------------------------------------------------------------

    def set_briefing(self, chat: str, at: str | None, tz: str = "UTC") -> None:
        """Schedule a chat's daily briefing at local time ``at`` (None: no briefing)."""
        with self._write() as db:
            if at is None:
                db.execute("DELETE FROM briefings WHERE chat = ?", (chat,))
            else:
                db.execute(
                    "INSERT INTO briefings (chat, at, tz) VALUES (?, ?, ?) ON CONFLICT (chat) "
                    "DO UPDATE SET at = excluded.at, tz = excluded.tz",
                    (chat, at, tz),
                )

    def briefings(self) -> list[Briefing]:
        """Every scheduled briefing."""
        rows = self._read("SELECT chat, at, tz, last_day FROM briefings ORDER BY chat")
        return [Briefing(*r) for r in rows]

    def briefing(self, chat: str) -> Briefing | None:
        """A chat's briefing schedule, or None."""
        return next((b for b in self.briefings() if b.chat == chat), None)

    def briefed(self, chat: str, day: str, alerts: Sequence[Alert], now: float) -> bool:
        """Record a chat's briefing of ``day`` and put its messages in the outbox, at once;
        False (nothing added) when another process recorded that day's briefing first."""
        with self._write() as db:
            n = db.execute(
                "UPDATE briefings SET last_day = ? WHERE chat = ? "
                "AND (last_day IS NULL OR last_day <> ?)",
                (day, chat, day),
            ).rowcount
            if not n:
                return False
            for a in alerts:
                db.execute(
                    "INSERT INTO alerts (chat, follow_id, kind, created, body) VALUES (?,?,?,?,?)",
                    (a.chat, a.follow_id, a.kind, now, a.model_dump_json()),
                )
        return True
