"""Conversation history per session, in SQLite: the last N turns of each session."""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from pydantic import ValidationError

from retrieval.answer import Citation
from retrieval.errors import SessionStoreError

log = logging.getLogger(__name__)

# The retry key (HTTP ``Idempotency-Key``) of the request being answered, set by the front
# end for the request's duration. A store shared by replicas (postgres) records one turn per
# session and key, and leaves that turn out of the history it gives, so that a request a load
# balancer retried on another replica is answered as the first attempt was and recorded once.
# The local store ignores it: one process, no retries across replicas.
retry_key: ContextVar[str | None] = ContextVar("newsbot_retry_key", default=None)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS turns (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    session_id TEXT NOT NULL,
    created REAL NOT NULL,
    question TEXT NOT NULL,
    standalone TEXT NOT NULL,
    answer TEXT NOT NULL,
    short_answer TEXT,
    citations TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS turns_by_session ON turns(session_id, id);
"""
# Columns added after the first release: a database made before them gains them on open.
_ADDED_COLUMNS = {"time": "TEXT", "focus": "TEXT"}


@dataclass(frozen=True)
class Turn:
    """One question and its answer, with the citations the answer gave.

    ``standalone`` may be empty for a turn that came from a client (an OpenAI-style
    ``messages`` list): the service makes it standalone in its own context.
    """

    question: str
    standalone: str
    answer: str
    short_answer: str | None = None
    citations: list[Citation] = field(default_factory=list)
    # The turn's time window as ISO dates (None: open) with its reading ("publication" or
    # "event"), so that a follow-up keeps or shifts it; None when the question named none.
    window: tuple[str | None, str | None] | None = None
    reading: str | None = None
    # The conversation's focus after this turn: the articles it is about and the names in
    # play (most recent first), so that a follow-up stays with the story.
    articles: tuple[str, ...] = ()
    entities: tuple[str, ...] = ()
    # How well each article has matched the conversation's questions so far (article id,
    # accumulated best-sentence cosine), best first: a story the first turn missed takes
    # over once the follow-ups keep matching it better (retrieval/focus.py).
    support: tuple[tuple[str, float], ...] = ()
    # The outlets the conversation asks about ("What did The Verge say ...?"): a follow-up
    # keeps them unless it names others.
    outlets: tuple[str, ...] = ()


class ConversationStore(Protocol):
    """Where sessions keep their turns."""

    def history(self, session_id: str) -> list[Turn]:
        """The session's last turns, oldest first."""
        ...

    def append(self, session_id: str, turn: Turn) -> None:
        """Record a turn, forgetting the oldest beyond the limit."""
        ...

    def reset(self, session_id: str) -> None:
        """Forget the session."""
        ...


class SQLiteConversationStore:
    """A ConversationStore in one SQLite file, safe to share between threads."""

    def __init__(self, path: Path | str, max_turns: int = 10) -> None:
        self.path = str(path)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self.max_turns = max_turns
        self._lock = threading.Lock()
        with self._translated():
            self._con = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
            self._con.execute("PRAGMA busy_timeout=5000")
            self._set_up()

    def _set_up(self) -> None:
        """WAL, the schema and its added columns. Stores opening one new file at once get
        "database is locked" at once (no busy wait) while another switches it to WAL or
        creates its table: they retry, for up to the busy timeout."""
        deadline = time.monotonic() + 5.0
        while True:
            try:
                self._con.execute("PRAGMA journal_mode=WAL")
                self._con.executescript(_SCHEMA)
                self._migrate()
                return
            except sqlite3.OperationalError as e:
                if "locked" not in str(e) or time.monotonic() > deadline:
                    raise
                time.sleep(0.02)

    def _migrate(self) -> None:
        """Add the columns an older database lacks (its turns read as having no window).

        Under a write lock, reading the columns again inside it: two stores opening one new
        file at once would otherwise both add a column, and the second fail."""
        self._con.execute("BEGIN IMMEDIATE")
        try:
            have = {row[1] for row in self._con.execute("PRAGMA table_info(turns)")}
            for name, kind in _ADDED_COLUMNS.items():
                if name not in have:
                    self._con.execute(f"ALTER TABLE turns ADD COLUMN {name} {kind}")
        except BaseException:
            self._con.execute("ROLLBACK")
            raise
        self._con.execute("COMMIT")

    @contextmanager
    def _translated(self) -> Iterator[None]:
        """SQLite's errors as a SessionStoreError that names the file (safe to show)."""
        try:
            yield
        except sqlite3.Error as e:
            raise SessionStoreError(
                f"the conversation store {self.path} cannot be used: {e} "
                "(sessions.path in config.yaml)"
            ) from e

    def history(self, session_id: str) -> list[Turn]:
        """The session's last turns, oldest first."""
        with self._lock, self._translated():
            rows = self._con.execute(
                "SELECT question, standalone, answer, short_answer, citations, time, focus "
                "FROM turns WHERE session_id = ? ORDER BY id DESC LIMIT ?",
                (session_id, self.max_turns),
            ).fetchall()
        return [stored_turn(*row) for row in reversed(rows)]

    def append(self, session_id: str, turn: Turn) -> None:
        """Record a turn, forgetting the oldest beyond the limit."""
        with self._lock, self._translated():
            self._con.execute("BEGIN IMMEDIATE")  # outside the try: nothing to roll back yet
            try:
                self._con.execute(
                    "INSERT INTO turns (session_id, created, question, standalone, answer, "
                    "short_answer, citations, time, focus) VALUES (?,?,?,?,?,?,?,?,?)",
                    (
                        session_id,
                        time.time(),
                        turn.question,
                        turn.standalone,
                        turn.answer,
                        turn.short_answer,
                        json.dumps([c.model_dump() for c in turn.citations]),
                        json.dumps({"window": list(turn.window), "reading": turn.reading})
                        if turn.window is not None
                        else None,
                        focus_json(turn),
                    ),
                )
                self._con.execute(
                    "DELETE FROM turns WHERE session_id = ? AND id NOT IN "
                    "(SELECT id FROM turns WHERE session_id = ? ORDER BY id DESC LIMIT ?)",
                    (session_id, session_id, self.max_turns),
                )
                self._con.execute("COMMIT")
            except BaseException:
                self._con.execute("ROLLBACK")
                raise

    def reset(self, session_id: str) -> None:
        """Forget the session."""
        with self._lock, self._translated():
            self._con.execute("DELETE FROM turns WHERE session_id = ?", (session_id,))

    def close(self) -> None:
        """Close the database."""
        with self._lock:
            self._con.close()


def _citations(stored: str) -> list[Citation]:
    """The stored citations that still validate; a damaged one is logged and left out."""
    try:
        raw = json.loads(stored)
    except json.JSONDecodeError:
        log.warning("a stored turn's citations are not JSON; shown without sources")
        return []
    out = []
    for item in raw if isinstance(raw, list) else []:
        try:
            out.append(Citation.model_validate(item))
        except ValidationError:
            log.warning("left out a stored citation that no longer validates")
    return out


def _time(stored: str | None) -> tuple[tuple[str | None, str | None] | None, str | None]:
    """A stored turn's window and reading; (None, None) when it had none or is damaged."""
    if not stored:
        return None, None
    try:
        raw = json.loads(stored)
        since, until = raw["window"]
        reading = raw.get("reading")
    except (json.JSONDecodeError, KeyError, TypeError, ValueError):
        log.warning("a stored turn's window is unreadable; the follow-up starts without one")
        return None, None
    return (since, until), reading if isinstance(reading, str) else None


def stored_turn(
    question: str,
    standalone: str,
    answer: str,
    short_answer: str | None,
    citations: str,
    time: str | None,
    focus: str | None,
) -> Turn:
    """A turn from its stored columns (damaged citations, window or focus left out)."""
    window, reading = _time(time)
    articles, entities, support, outlets = _focus(focus)
    return Turn(
        question,
        standalone,
        answer,
        short_answer,
        _citations(citations),
        window,
        reading,
        articles,
        entities,
        support,
        outlets,
    )


def focus_json(turn: Turn) -> str:
    """A turn's focus as stored: its articles, entities, article support and outlets."""
    support = [[a, round(v, 4)] for a, v in turn.support]
    return json.dumps(
        {
            "articles": list(turn.articles),
            "entities": list(turn.entities),
            "support": support,
            "outlets": list(turn.outlets),
        }
    )


_Focus = tuple[tuple[str, ...], tuple[str, ...], tuple[tuple[str, float], ...], tuple[str, ...]]


def _focus(stored: str | None) -> _Focus:
    """A stored turn's focus articles, entities, article support and outlets; empty when it
    had none or is damaged (a turn stored before support or outlets were kept has none)."""
    if not stored:
        return (), (), (), ()
    try:
        raw = json.loads(stored)
        articles = tuple(str(a) for a in raw["articles"])
        entities = tuple(str(e) for e in raw["entities"])
        support = tuple((str(a), float(v)) for a, v in raw.get("support") or [])
        outlets = tuple(str(o) for o in raw.get("outlets") or [])
    except (json.JSONDecodeError, KeyError, TypeError, ValueError):
        log.warning("a stored turn's focus is unreadable; the follow-up starts without one")
        return (), (), (), ()
    return articles, entities, support, outlets
