"""Per-feed state in SQLite: subscriptions, conditional-GET validators, failures and
backoff, the entries seen (identity → article), and the story each article belongs to."""

from __future__ import annotations

import sqlite3
import time
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from retrieval.feeds.copies import NUM_PERM

_SCHEMA = """
CREATE TABLE IF NOT EXISTS feeds (
    name TEXT PRIMARY KEY,
    url TEXT NOT NULL UNIQUE,
    feed_url TEXT,
    title TEXT,
    etag TEXT,
    last_modified TEXT,
    last_success REAL,
    last_error TEXT,
    failures INTEGER NOT NULL DEFAULT 0,
    next_poll REAL NOT NULL DEFAULT 0,
    added REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS entries (
    feed TEXT NOT NULL,
    identity TEXT NOT NULL,
    article_id TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    url TEXT,
    published TEXT,
    updated TEXT,
    seen REAL NOT NULL,
    PRIMARY KEY (feed, identity)
);
CREATE TABLE IF NOT EXISTS stories (
    article_id TEXT PRIMARY KEY,
    story_id TEXT NOT NULL,
    source TEXT,
    published TEXT,
    signature BLOB NOT NULL,
    text BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS stories_by_story ON stories (story_id);
CREATE TABLE IF NOT EXISTS revisions (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
"""


@dataclass
class Feed:
    """One subscription and how its last polls went."""

    name: str
    url: str  # as subscribed (a feed, or a page whose feed was discovered)
    feed_url: str | None  # the feed actually polled
    title: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    last_success: float | None = None
    last_error: str | None = None
    failures: int = 0
    next_poll: float = 0.0
    added: float = 0.0


@dataclass
class SeenEntry:
    """An entry already indexed: which article it became and what it looked like."""

    article_id: str
    fingerprint: str
    published: str | None
    updated: str | None


@dataclass
class StoryMember:
    """An article in the copy index: its story, outlet and MinHash signature."""

    article_id: str
    story_id: str
    source: str | None
    published: str | None
    signature: np.ndarray
    text: str


class FeedState:
    """The feed state database (one file; each write is one transaction)."""

    def __init__(self, path: Path | str) -> None:
        if str(path) != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(path), timeout=30, check_same_thread=False)
        self._db.row_factory = sqlite3.Row
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        """Close the database."""
        self._db.close()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Everything inside commits together or not at all."""
        with self._db:
            yield

    # --- subscriptions ---------------------------------------------------------------

    def feeds(self) -> list[Feed]:
        """Every subscription, by name."""
        rows = self._db.execute("SELECT * FROM feeds ORDER BY name").fetchall()
        return [Feed(**dict(r)) for r in rows]

    def find(self, name_or_url: str) -> Feed | None:
        """The feed with this name, subscribed URL or feed URL."""
        row = self._db.execute(
            "SELECT * FROM feeds WHERE name = ? OR url = ? OR feed_url = ?",
            (name_or_url,) * 3,
        ).fetchone()
        return Feed(**dict(row)) if row else None

    def add(self, feed: Feed) -> None:
        """Subscribe (the name and URL must be new)."""
        feed.added = feed.added or time.time()
        with self._db:
            self._db.execute(
                "INSERT INTO feeds (name, url, feed_url, title, added) VALUES (?, ?, ?, ?, ?)",
                (feed.name, feed.url, feed.feed_url, feed.title, feed.added),
            )

    def save(self, feed: Feed) -> None:
        """Record a feed's validators, outcome and next poll (inside :meth:`transaction`)."""
        self._db.execute(
            "UPDATE feeds SET feed_url=?, title=?, etag=?, last_modified=?, last_success=?, "
            "last_error=?, failures=?, next_poll=? WHERE name=?",
            (
                feed.feed_url,
                feed.title,
                feed.etag,
                feed.last_modified,
                feed.last_success,
                feed.last_error,
                feed.failures,
                feed.next_poll,
                feed.name,
            ),
        )

    def remove(self, name: str) -> list[str]:
        """Unsubscribe; returns the article ids its entries became."""
        with self._db:
            ids = [
                r[0]
                for r in self._db.execute("SELECT article_id FROM entries WHERE feed = ?", (name,))
            ]
            self._db.execute("DELETE FROM entries WHERE feed = ?", (name,))
            self._db.execute("DELETE FROM feeds WHERE name = ?", (name,))
        return ids

    # --- entries ---------------------------------------------------------------------

    def seen(self, feed: str) -> dict[str, SeenEntry]:
        """The feed's indexed entries by identity."""
        rows = self._db.execute(
            "SELECT identity, article_id, fingerprint, published, updated FROM entries "
            "WHERE feed = ?",
            (feed,),
        ).fetchall()
        return {r[0]: SeenEntry(r[1], r[2], r[3], r[4]) for r in rows}

    def record_entry(
        self,
        feed: str,
        identity: str,
        entry: SeenEntry,
        url: str | None,
    ) -> None:
        """Remember an indexed entry (call inside :meth:`transaction`)."""
        self._db.execute(
            "INSERT OR REPLACE INTO entries VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                feed,
                identity,
                entry.article_id,
                entry.fingerprint,
                url,
                entry.published,
                entry.updated,
                time.time(),
            ),
        )

    def entry_dates(self, article_id: str) -> tuple[str | None, str | None]:
        """An entry's (published, updated) dates."""
        row = self._db.execute(
            "SELECT published, updated FROM entries WHERE article_id = ?", (article_id,)
        ).fetchone()
        return (row[0], row[1]) if row else (None, None)

    # --- stories ---------------------------------------------------------------------

    def members(self) -> list[StoryMember]:
        """Every article in the copy index."""
        out = []
        for r in self._db.execute("SELECT * FROM stories ORDER BY rowid"):
            sig = np.frombuffer(r["signature"], dtype=np.uint64)
            if sig.shape != (NUM_PERM,):
                continue  # written with another signature size: re-added on its next change
            text = zlib.decompress(r["text"]).decode("utf-8")
            out.append(
                StoryMember(r["article_id"], r["story_id"], r["source"], r["published"], sig, text)
            )
        return out

    def stories_revision(self) -> int:
        """A number that changes whenever the copy index does (in any process), so that a
        poller can keep its detector between passes and rebuild it only after a change."""
        row = self._db.execute("SELECT value FROM revisions WHERE name = 'stories'").fetchone()
        return int(row[0]) if row else 0

    def _bump_stories(self) -> None:
        self._db.execute(
            "INSERT INTO revisions VALUES ('stories', 1) "
            "ON CONFLICT (name) DO UPDATE SET value = value + 1"
        )

    def record_member(self, m: StoryMember) -> None:
        """Remember an article's story (call inside :meth:`transaction`)."""
        self._bump_stories()
        self._db.execute(
            "INSERT OR REPLACE INTO stories VALUES (?, ?, ?, ?, ?, ?)",
            (
                m.article_id,
                m.story_id,
                m.source,
                m.published,
                np.ascontiguousarray(m.signature, dtype=np.uint64).tobytes(),
                zlib.compress(m.text.encode("utf-8")),
            ),
        )

    def forget_members(self, article_ids: list[str]) -> None:
        """Drop articles from the copy index."""
        with self._db:
            self._db.executemany(
                "DELETE FROM stories WHERE article_id = ?", [(a,) for a in article_ids]
            )
            self._bump_stories()

    def stories(self) -> dict[str, str]:
        """Article id → story id, for every article that copies another."""
        rows = self._db.execute(
            "SELECT article_id, story_id FROM stories WHERE article_id != story_id"
        )
        return {r[0]: r[1] for r in rows}

    def story_sources(self, story_id: str) -> list[tuple[str, str | None, str | None]]:
        """A story's articles as (article id, source, published), earliest first."""
        rows = self._db.execute(
            "SELECT article_id, source, published FROM stories WHERE story_id = ? "
            "ORDER BY COALESCE(published, '9999'), article_id",
            (story_id,),
        )
        return [(r[0], r[1], r[2]) for r in rows]
