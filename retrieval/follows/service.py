"""The follows facade every front end uses: follow, list, unfollow, and the scan that turns
new feed articles into alerts in the outbox the front ends drain.

New articles are read from the feed state (``feeds/.state/feeds.sqlite``, which the poller
writes only after their snapshot is published) past a cursor kept with the follows; the
cursor advances in the same transaction as the alerts, so a scan interrupted anywhere, in
this process or another (``newsbot watch``), is done again and never twice.

With a store every replica shares (PostgreSQL), only the feed poller scans (the one worker,
which holds the feed state; see Poller._scan_follows), and each outbox is delivered by one
replica at a time (:meth:`Follows.claim_delivery`).
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from retrieval.errors import InputError
from retrieval.feeds.collapse import state_file
from retrieval.follows import briefing
from retrieval.follows.alerts import Alert
from retrieval.follows.matcher import ArticleView, TopicMatcher, article_view, what_happened
from retrieval.follows.settings import FollowsSettings
from retrieval.follows.store import Follow, FollowStore, Match
from retrieval.follows.webhooks import WebhookStore
from retrieval.search_index import SearchIndex

if TYPE_CHECKING:
    from retrieval.service import NewsService

log = logging.getLogger("newsbot.follows")

CURSOR = "cursor"
_BATCH = 500  # feed articles read per scan step


@dataclass(frozen=True)
class _Matching:
    """The follows as a matrix, for one revision of them and one snapshot."""

    key: tuple[int, str]
    follows: list[Follow]
    matcher: TopicMatcher
    chunks_of: dict[str, list[int]]


class Follows:
    """Topics chats follow, and their alerts."""

    def __init__(self, service: NewsService, store: FollowStore, settings: FollowsSettings) -> None:
        self.service = service
        self.store = store
        self.settings = settings
        self.webhooks = WebhookStore(store)
        self._matching: _Matching | None = None
        self._scan_lock = threading.Lock()

    # --- what a chat follows -----------------------------------------------------------

    def follow(self, chat: str, topic: str) -> Follow:
        """Follow a topic; its embedding is computed once, now.

        Raises:
            InputError: the topic is empty or too long.
            FollowLimitError: the chat follows ``max_per_chat`` topics already.
        """
        topic = " ".join(topic.split())
        if not topic:
            raise InputError("name a topic to follow, e.g. /follow NATO and Russia")
        limit = self.settings.max_topic_chars
        if len(topic) > limit:
            raise InputError(f"the topic is {len(topic)} characters; the limit is {limit}")
        vector = self.service.embedder.encode([topic])[0]
        model = self.service.settings.embedding.model
        return self.store.add(chat, topic, model, vector, self.settings.max_per_chat)

    def following(self, chat: str) -> list[Follow]:
        """A chat's follows, oldest first."""
        return self.store.follows(chat)

    def unfollow(self, chat: str, follow_id: int) -> Follow | None:
        """Stop following; None when the chat has no follow with that id."""
        return self.store.remove(chat, follow_id)

    def forget_chat(self, chat: str) -> int:
        """Drop everything a chat follows (it blocked the bot)."""
        return self.store.forget_chat(chat)

    # --- the outbox ----------------------------------------------------------------------

    def pending(self, prefix: str = "", limit: int = 100) -> list[Alert]:
        """Alerts not yet delivered to chats named with ``prefix``, oldest first."""
        return self.store.pending(prefix, limit)

    def delivered(self, alert: Alert) -> None:
        """The alert reached its chat: it leaves the outbox."""
        self.store.delivered(alert.id)

    def claim_delivery(self, name: str) -> bool:
        """Whether this process delivers the ``name`` outbox (e.g. "telegram") this round:
        False while another replica does; call :meth:`release_delivery` after a True."""
        return self.store.claim_delivery(name)

    def release_delivery(self, name: str) -> None:
        """End the delivery round :meth:`claim_delivery` allowed."""
        self.store.release_delivery(name)

    # --- what a front end runs every few seconds ------------------------------------------

    def tick(self, now: float | None = None) -> int:
        """Scan for new articles (unless the feed poller does: a shared store), then make
        the briefings that are due; returns the messages added to the outbox."""
        now = time.time() if now is None else now
        return (0 if self.store.shared else self.scan(now)) + self.brief(now)

    def brief(self, now: float | None = None) -> int:
        """Put every briefing whose local time has come today, and that was not made yet,
        in the outbox; returns the messages added."""
        now = time.time() if now is None else now
        due = [(b, day) for b in self.store.briefings() if (day := briefing.due(b, now))]
        if not due or self.service.store.current_name() is None:
            return 0
        added = 0
        for b, day in due:
            follows = self.store.follows(b.chat)
            found = [briefing.timeline_bullets(self.service, f.topic, day) for f in follows]
            alerts = briefing.messages(b.chat, follows, found, day)
            if self.store.briefed(b.chat, day, alerts, now):  # else another process did
                added += len(alerts)
        return added

    # --- scanning new articles -------------------------------------------------------------

    def scan(self, now: float | None = None) -> int:
        """Match the feed articles published since the last scan against every follow and
        put the alerts in the outbox; returns how many were added."""
        now = time.time() if now is None else now
        with self._scan_lock:
            added = 0
            while True:
                n, more = self._scan_batch(now)
                added += n
                if not more:
                    break
            self.store.roll_up(self.settings.per_hour, now)
        return added

    def _new_rows(self, cursor: int) -> list[tuple[int, str, str]] | None:
        """Feed articles past the cursor as (row, article id, story id); None when there is
        no feed state yet."""
        path = state_file(self.service.settings.docs_paths)
        if path is None or not path.is_file():
            return None
        db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=5)
        try:
            return db.execute(
                "SELECT rowid, article_id, story_id FROM stories WHERE rowid > ? "
                "ORDER BY rowid LIMIT ?",
                (cursor, _BATCH),
            ).fetchall()
        except sqlite3.OperationalError:  # the poller has not created its tables yet
            return None
        finally:
            db.close()

    def _last_row(self) -> int:
        """The feed state's newest article row (0: none yet)."""
        path = state_file(self.service.settings.docs_paths)
        if path is None or not path.is_file():
            return 0
        db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=5)
        try:
            return int(db.execute("SELECT COALESCE(MAX(rowid), 0) FROM stories").fetchone()[0])
        except sqlite3.OperationalError:
            return 0
        finally:
            db.close()

    def _scan_batch(self, now: float) -> tuple[int, bool]:
        cursor = self.store.counter(CURSOR)
        if cursor is None:
            # The first scan starts from now: followers hear of what comes next.
            self.store.set_counter(CURSOR, self._last_row())
            return 0, False
        rows = self._new_rows(cursor)
        if not rows:
            return 0, False
        index = self.service.retriever.index
        matching = self._matching_for(index)
        matches: list[Match] = []
        last = cursor
        for row, article_id, story_id in rows:
            if article_id not in index.articles:
                if self.service.store.current_name() != index.name:
                    break  # a newer snapshot holds it: the next scan takes it from here
                last = row  # purged, or never indexed: nothing to alert
                continue
            matches += self._match(index, matching, article_id, story_id)
            last = row
        if last == cursor:
            return 0, False
        added = self.store.record(matches, last, self.settings.per_hour, now)
        return added, last == rows[-1][0] and len(rows) == _BATCH

    def _matching_for(self, index: SearchIndex) -> _Matching:
        key = (self.store.revision(), index.name)
        if self._matching is not None and self._matching.key == key:
            return self._matching
        follows = self._current_vectors(self.store.follows())
        dim = self.service.embedder.dim
        vectors = np.stack([f.vector for f in follows]) if follows else np.zeros((0, dim))
        matcher = TopicMatcher(
            vectors, [f.topic for f in follows], index.idf, self.settings.dense_weight
        )
        chunks_of: dict[str, list[int]] = {}
        for c in index.chunks:
            chunks_of.setdefault(c.article_id, []).append(c.row)
        self._matching = _Matching(key, follows, matcher, chunks_of)
        return self._matching

    def _current_vectors(self, follows: list[Follow]) -> list[Follow]:
        """Follows embedded by another model (the config changed) are embedded again."""
        model = self.service.settings.embedding.model
        stale = [i for i, f in enumerate(follows) if f.model != model]
        if stale:
            vecs = self.service.embedder.encode([follows[i].topic for i in stale])
            for i, v in zip(stale, vecs, strict=True):
                f = follows[i]
                follows[i] = Follow(f.id, f.chat, f.topic, f.created, model, v)
        return follows

    def _match(
        self, index: SearchIndex, matching: _Matching, article_id: str, story_id: str
    ) -> list[Match]:
        """The best follow of each chat the article passes, as alerts."""
        if not len(matching.matcher):
            return []
        view = article_view(index, article_id, matching.chunks_of.get(article_id, []))
        scores = matching.matcher.scores(view)
        best: dict[str, int] = {}
        for i in np.flatnonzero(scores >= self.settings.threshold):
            chat = matching.follows[i].chat
            if chat not in best or scores[i] > scores[best[chat]]:
                best[chat] = int(i)
        return [
            self._alert(index, matching, view, i, story_id, float(scores[i])) for i in best.values()
        ]

    def _alert(
        self,
        index: SearchIndex,
        matching: _Matching,
        view: ArticleView,
        i: int,
        story_id: str,
        score: float,
    ) -> Match:
        f = matching.follows[i]
        citation = what_happened(index, view, matching.matcher.vectors[i], score)
        alert = Alert(chat=f.chat, follow_id=f.id, topic=f.topic, citation=citation)
        return Match(f.chat, f.id, story_id, alert)
