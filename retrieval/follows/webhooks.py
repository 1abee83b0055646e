"""Webhooks: the URL a key owner registers for its alerts, the secret they are signed with,
and each alert's delivery tries, kept in the follows database beside the outbox.

An alert leaves the outbox only when the receiver answered 2xx, so a restart loses none;
one that reached the receiver just before a crash is sent again, under the same id (at least
once: the receiver de-duplicates by ``id``). A chat's alerts go in outbox order, and one that
must wait holds back those after it.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import sqlite3
import time
from dataclasses import dataclass

from retrieval.errors import InputError
from retrieval.follows.alerts import Alert
from retrieval.follows.store import FollowStore

MAX_URL_CHARS = 2048
SIGNATURE_HEADER = "Newsbot-Signature"
ALERT_ID_HEADER = "Newsbot-Alert-Id"
_PORT = r"6553[0-5]|655[0-2][0-9]|65[0-4][0-9]{2}|6[0-4][0-9]{3}|[1-5][0-9]{4}|[1-9][0-9]{0,3}"
# Exactly what is accepted (published as the request's pattern): http(s), a host name or
# IPv4 address, an optional port, then a path or query of visible ASCII. No user:password@.
URL_PATTERN = rf"^https?://[A-Za-z0-9.-]+(:({_PORT}))?([/?][!-~]*)?$"
_URL = re.compile(URL_PATTERN)
_SECRET_PREFIX = "whsec_"

_SCHEMA = [
    """CREATE TABLE IF NOT EXISTS webhooks (
        chat TEXT PRIMARY KEY,
        url TEXT NOT NULL,
        secret TEXT NOT NULL,
        created REAL NOT NULL,
        last_success REAL,
        last_error TEXT
    )""",
    """CREATE TABLE IF NOT EXISTS webhook_tries (
        alert_id INTEGER PRIMARY KEY,
        attempts INTEGER NOT NULL,
        next_try REAL NOT NULL,
        last_error TEXT
    )""",
]


@dataclass(frozen=True)
class Webhook:
    """A chat's webhook: where its alerts go, and how the last try went."""

    chat: str
    url: str
    secret: str
    created: float
    last_success: float | None = None
    last_error: str | None = None


def check_url(url: str) -> str:
    """The URL, when newsbot may POST alerts to it.

    Raises:
        InputError: not http(s), credentials in it, too long, or not a plain URL.
    """
    if len(url) > MAX_URL_CHARS:
        raise InputError(f"the URL is {len(url)} characters; the limit is {MAX_URL_CHARS}")
    if not url.startswith(("http://", "https://")):
        raise InputError("a webhook URL must start with http:// or https://")
    if "@" in url.split("/", 3)[2].split("?", 1)[0]:
        raise InputError("a webhook URL must not hold credentials (user:password@)")
    if not _URL.fullmatch(url):
        raise InputError(
            "not a webhook URL newsbot can call: http(s)://host[:port][/path][?query], "
            "a host name or IPv4 address, visible ASCII only"
        )
    return url


def sign(secret: str, body: bytes) -> str:
    """The signature header's value: ``sha256=`` and the hex HMAC-SHA256 of the body."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def backoff(attempts: int, first_s: float, max_s: float) -> float:
    """Seconds before try ``attempts + 1``: doubling from ``first_s``, at most ``max_s``."""
    return float(min(first_s * 2 ** max(attempts - 1, 0), max_s))


class WebhookStore:
    """The webhooks and their tries, in the follows database (its SQL is also
    PostgreSQL's: retrieval/pg/follows.py runs it there)."""

    def __init__(self, store: FollowStore) -> None:
        self.store = store
        if store.shared:  # the database's migrations made the tables
            return
        with store.transaction() as db:
            for sql in _SCHEMA:
                db.execute(sql)

    def register(self, chat: str, url: str, now: float | None = None) -> Webhook:
        """Register (or replace) a chat's webhook with a new secret; returns it with the
        secret, which is shown only now.

        Raises:
            InputError: the URL is refused (see :func:`check_url`).
        """
        url = check_url(url)
        secret = _SECRET_PREFIX + secrets.token_urlsafe(32)
        now = time.time() if now is None else now
        with self.store.transaction() as db:
            db.execute(
                "INSERT INTO webhooks (chat, url, secret, created) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (chat) DO UPDATE SET url = excluded.url, secret = excluded.secret, "
                "created = excluded.created, last_success = NULL, last_error = NULL",
                (chat, url, secret, now),
            )
            self._forget_tries(db, chat)  # a new receiver gets the waiting alerts at once
        return Webhook(chat, url, secret, now)

    def get(self, chat: str) -> Webhook | None:
        """A chat's webhook, or None."""
        rows = self.store.query(
            "SELECT chat, url, secret, created, last_success, last_error FROM webhooks "
            "WHERE chat = ?",
            (chat,),
        )
        return Webhook(*rows[0]) if rows else None

    def all(self) -> list[Webhook]:
        """Every registered webhook."""
        rows = self.store.query(
            "SELECT chat, url, secret, created, last_success, last_error FROM webhooks "
            "ORDER BY chat"
        )
        return [Webhook(*r) for r in rows]

    def remove(self, chat: str) -> bool:
        """Stop delivering a chat's alerts by webhook (they stay in the outbox for polling);
        False when it had none."""
        with self.store.transaction() as db:
            gone = db.execute("DELETE FROM webhooks WHERE chat = ?", (chat,)).rowcount
            self._forget_tries(db, chat)
        return bool(gone)

    @staticmethod
    def _forget_tries(db: sqlite3.Connection, chat: str) -> None:
        db.execute(
            "DELETE FROM webhook_tries WHERE alert_id IN (SELECT id FROM alerts WHERE chat = ?)",
            (chat,),
        )

    def due(self, chat: str, now: float, limit: int = 50) -> list[Alert]:
        """A chat's undelivered alerts in outbox order, up to the first that must wait."""
        rows = self.store.query(
            "SELECT a.id, a.body, t.next_try FROM alerts a "
            "LEFT JOIN webhook_tries t ON t.alert_id = a.id "
            "WHERE a.chat = ? AND a.delivered IS NULL AND a.kind != 'folded' "
            "ORDER BY a.id LIMIT ?",
            (chat, limit),
        )
        out = []
        for alert_id, body, next_try in rows:
            if next_try is not None and next_try > now:
                break
            out.append(Alert.model_validate_json(body).model_copy(update={"id": alert_id}))
        return out

    def waiting(self, chat: str) -> int:
        """How many of a chat's alerts are not delivered yet."""
        (n,) = self.store.query(
            "SELECT COUNT(*) FROM alerts WHERE chat = ? AND delivered IS NULL AND kind != 'folded'",
            (chat,),
        )[0]
        return int(n)

    def succeeded(self, chat: str, alert_id: int, now: float | None = None) -> None:
        """The receiver took the alert (2xx): it leaves the outbox."""
        now = time.time() if now is None else now
        with self.store.transaction() as db:
            db.execute("UPDATE alerts SET delivered = ? WHERE id = ?", (now, alert_id))
            db.execute("DELETE FROM webhook_tries WHERE alert_id = ?", (alert_id,))
            db.execute(
                "UPDATE webhooks SET last_success = ?, last_error = NULL WHERE chat = ?",
                (now, chat),
            )

    def failed(
        self, chat: str, alert_id: int, error: str, first_s: float, max_s: float, now: float
    ) -> float:
        """A try failed: the alert waits (doubling each time); returns when it is due."""
        with self.store.transaction() as db:
            row = db.execute(
                "SELECT attempts FROM webhook_tries WHERE alert_id = ?", (alert_id,)
            ).fetchone()
            attempts = (row[0] if row else 0) + 1
            due = now + backoff(attempts, first_s, max_s)
            db.execute(
                "INSERT INTO webhook_tries (alert_id, attempts, next_try, last_error) "
                "VALUES (?, ?, ?, ?) ON CONFLICT (alert_id) DO UPDATE SET "
                "attempts = excluded.attempts, next_try = excluded.next_try, "
                "last_error = excluded.last_error",
                (alert_id, attempts, due, error[:500]),
            )
            db.execute("UPDATE webhooks SET last_error = ? WHERE chat = ?", (error[:500], chat))
        return due

    def attempts(self, alert_id: int) -> int:
        """Failed tries of an alert so far."""
        rows = self.store.query(
            "SELECT attempts FROM webhook_tries WHERE alert_id = ?", (alert_id,)
        )
        return int(rows[0][0]) if rows else 0
