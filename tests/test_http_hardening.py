"""HTTP hardening (issue 14 items 3, 8, 9, 11; issue 13 item 6): conversations follow the key,
not its place in the list; keys no client could send are refused at start-up; a client that
leaves mid-body is not a server error; wrong keys back off; one rate limiter, checked keys
once."""

from __future__ import annotations

import logging
import socket
import sqlite3
import stat
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from test_http_support import READ, READ_KEY, LiveServer, with_http

from bot.http import create_app
from bot.http.auth import session_key
from retrieval.config import SessionSettings, Settings
from retrieval.embeddings import Embedder
from retrieval.errors import ConfigError, IndexCorruptError
from retrieval.service import NewsService

KEY_A = "alpha-key-0123456789abcdef"
KEY_B = "bravo-key-0123456789abcdef"
FIRST = "Who is Jens Stoltenberg?"
FOLLOW = "What did he decide on 6 October?"
RESOLVED = "What did Jens Stoltenberg decide on 6 October?"


def _own_sessions(settings: Settings, db: Path, **http: Any) -> Settings:
    """The seed settings with a sessions database of the test's own, and these http.*."""
    moved = settings.model_copy(update={"sessions": SessionSettings(path=str(db))})
    return with_http(moved, **http)


def _keys(*keys: str) -> list[SecretStr]:
    return [SecretStr(k) for k in keys]


# --- item 3: a conversation belongs to the key, not to the key's position -------------------


def test_conversations_follow_the_key_across_restarts_and_reordering(
    seed_service: NewsService, embedder: Embedder, tmp_path: Path
) -> None:
    db = tmp_path / "state" / "sessions.sqlite"

    def restart(*api_keys: str) -> TestClient:
        settings = _own_sessions(seed_service.settings, db, api_keys=_keys(*api_keys))
        app = create_app(NewsService(settings, embedder), settings)
        return TestClient(app, raise_server_exceptions=False)

    def ask(client: TestClient, key: str, question: str) -> dict[str, Any]:
        body = {"question": question, "session_id": "conv"}
        r = client.post("/v1/answer", json=body, headers={"Authorization": f"Bearer {key}"})
        assert r.status_code == 200, r.text
        return dict(r.json())

    with restart(KEY_A, KEY_B) as c:
        ask(c, KEY_A, FIRST)
    # A is removed: B moves to A's old place, and must not inherit A's conversation.
    with restart(KEY_B) as c:
        assert ask(c, KEY_B, FOLLOW)["standalone_question"] == FOLLOW
    # A comes back, in another place: its conversation is still its own.
    with restart(KEY_B, KEY_A) as c:
        assert ask(c, KEY_A, FOLLOW)["standalone_question"] == RESOLVED

    # Neither key is stored in clear: the owner is a keyed hash.
    with sqlite3.connect(db) as con:
        owners = {row[0] for row in con.execute("SELECT session_id FROM turns")}
    assert len(owners) == 2
    assert not any(KEY_A in o or KEY_B in o for o in owners)
    secret = db.with_name(db.name + ".owner-key")
    assert stat.S_IMODE(secret.stat().st_mode) == 0o600
    assert secret.read_text(encoding="ascii").strip() not in "".join(owners)


def test_a_key_keeps_its_identity_when_promoted_and_differs_per_server(
    seed_service: NewsService, tmp_path: Path
) -> None:
    def who(db: Path, **http: Any) -> str:
        app = create_app(seed_service, _own_sessions(seed_service.settings, db, **http))
        principal = app.state.newsbot.keys.authenticate(KEY_A)
        assert principal is not None
        assert KEY_A not in principal.id
        return session_key(principal, "s")

    first = tmp_path / "one" / "sessions.sqlite"
    reader = who(first, api_keys=_keys(KEY_A), admin_keys=[])
    assert who(first, api_keys=_keys(KEY_B), admin_keys=_keys(KEY_A)) == reader
    # Another server (another secret): the same key has an identity unrelated to this one.
    assert who(tmp_path / "two" / "sessions.sqlite", api_keys=_keys(KEY_A)) != reader


def test_a_damaged_identity_secret_is_refused_not_replaced(
    seed_service: NewsService, tmp_path: Path
) -> None:
    db = tmp_path / "sessions.sqlite"
    secret = db.with_name(db.name + ".owner-key")
    secret.write_text("not a secret\n", encoding="ascii")
    with pytest.raises(ConfigError, match="delete it") as e:
        create_app(seed_service, _own_sessions(seed_service.settings, db))
    assert READ_KEY not in str(e.value)
    assert secret.read_text(encoding="ascii") == "not a secret\n"


# --- item 8: keys no client could send are refused at start-up ------------------------------


@pytest.mark.parametrize(
    ("key", "reason"),
    [
        (" lead-space-key-0123456789", "whitespace"),
        ("trailing-newline-0123456789\n", "whitespace"),
        ("clé-non-ascii-0123456789abcdef", "ASCII"),
        ("tab\tinside-0123456789abcdef", "ASCII"),
        ("x" * 4097, "longer than 4096"),
    ],
)
def test_keys_no_client_could_send_are_refused(
    seed_service: NewsService, key: str, reason: str
) -> None:
    for field, name in (("api_keys", "http.api_keys[1]"), ("admin_keys", "http.admin_keys[0]")):
        keys = _keys(key) if field == "admin_keys" else _keys(READ_KEY, key)
        settings = with_http(seed_service.settings, **{field: keys})
        with pytest.raises(ConfigError, match=reason) as e:
            create_app(seed_service, settings)
        assert name in str(e.value)
        assert key.strip() not in str(e.value)  # the message never shows the key


# --- item 9: a client that leaves mid-body is not a server error ----------------------------


def _cut_off(port: int, path: str, headers: str = "") -> None:
    """Send the headers and part of a 1,000-byte body, then close the connection."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(
            f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{headers}"
            "Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n"
            '{"question": "When'.encode()
        )
        time.sleep(0.2)  # let the server start reading the body


def test_a_body_cut_off_by_the_client_is_not_counted_as_a_500(
    seed_service: NewsService,
) -> None:
    app = create_app(seed_service, with_http(seed_service.settings))
    with LiveServer(app) as server:
        _cut_off(server.port, "/v1/answer", f"Authorization: Bearer {READ_KEY}\r\n")
        _cut_off(server.port, "/healthz")  # a public path reads the body the same way
        deadline = time.monotonic() + 30
        while True:
            text = httpx.get(f"{server.url}/metrics", headers=READ).text
            counted = [
                line
                for line in text.splitlines()
                if line.startswith("newsbot_http_requests_total{")
                and 'method="POST"' in line
                and ('route="/v1/answer"' in line or 'route="/healthz"' in line)
            ]
            if len(counted) >= 2 or time.monotonic() > deadline:
                break
            time.sleep(0.1)
    assert 'status="500"' not in text
    assert sorted(line.split(" ")[0] for line in counted) == [
        'newsbot_http_requests_total{method="POST",route="/healthz",status="499"}',
        'newsbot_http_requests_total{method="POST",route="/v1/answer",status="499"}',
    ]


# --- item 11: wrong keys back off, per client address ---------------------------------------


def test_wrong_keys_back_off_per_client_address(seed_service: NewsService) -> None:
    app = create_app(seed_service, with_http(seed_service.settings))
    guesser = TestClient(app, client=("203.0.113.7", 50000))
    neighbour = TestClient(app, client=("198.51.100.4", 50000))
    wrong = {"Authorization": "Bearer wrong-key-0123456789abcdef"}

    # Forgetting the key is not guessing: no back-off, however often.
    assert {guesser.get("/v1/models").status_code for _ in range(30)} == {401}

    start = time.monotonic()
    statuses = [guesser.get("/v1/models", headers=wrong).status_code for _ in range(300)]
    elapsed = time.monotonic() - start
    refilled = int(elapsed / 6) + 1  # one more guess every 6 s
    assert statuses[:10] == [401] * 10
    assert 10 <= statuses.count(401) <= 10 + refilled
    assert statuses.count(429) == 300 - statuses.count(401)

    # Wait for a moment well before the next refill (Retry-After >= 2: over 1 s away).
    for _ in range(20):
        sent = time.monotonic()
        r = guesser.get("/v1/models", headers=wrong)
        if r.status_code == 429 and int(r.headers["retry-after"]) >= 2:
            break
        time.sleep(0.5)
    assert r.status_code == 429
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["code"] == "too_many_wrong_keys"
    assert 2 <= int(r.headers["retry-after"]) <= 6
    # While backing off, a correct key gets no further: else 200-or-429 would tell a guesser
    # when it guessed right.
    status = guesser.get("/v1/models", headers=READ).status_code
    if time.monotonic() - sent < 1.0:  # (on a machine slow enough to pass the refill: 200)
        assert status == 429
    assert guesser.get("/healthz").status_code == 200  # probes need no key
    # Other addresses are not affected.
    assert neighbour.get("/v1/models", headers=READ).status_code == 200
    assert neighbour.get("/v1/models", headers=wrong).status_code == 401


# --- issue 13 item 6: one rate limiter; the keys checked once -------------------------------


def test_one_rate_limiter_with_one_contract_for_both_front_ends(
    seed_service: NewsService,
) -> None:
    pytest.importorskip("telegram")
    from bot.ratelimit import RateLimiter
    from bot.telegram.state import BotState

    app = create_app(seed_service, with_http(seed_service.settings, rate_limit_per_minute=2))
    assert type(app.state.newsbot.limiter) is RateLimiter
    assert type(BotState.create(seed_service, seed_service.settings).limiter) is RateLimiter

    now = [0.0]
    limiter = RateLimiter(2, clock=lambda: now[0])  # bursts of 2, then one every 30 s
    assert limiter.wait("k") == 0.0
    assert [limiter.hit("k"), limiter.hit("k")] == [0.0, 0.0]
    assert limiter.wait("k") == pytest.approx(30.0)  # waiting spends nothing
    assert limiter.hit("k") == pytest.approx(30.0)  # nor does a refused hit
    now[0] = 30.0
    assert limiter.hit("k") == 0.0
    assert limiter.hit(42) == 0.0  # any hashable key: an API key's id, a Telegram user


def test_serve_checks_the_keys_once(
    tmp_path: Path, seed_docs: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from bot.http.server import serve
    from retrieval.config import load_settings

    index = tmp_path / "index"
    index.mkdir()
    (index / "CURRENT").write_text("../elsewhere\n", encoding="utf-8")  # fails at start-up
    cfg = tmp_path / "config.yaml"
    cfg.write_text("{}\n", encoding="utf-8")
    settings = load_settings(
        cfg,
        paths={"docs": [str(seed_docs)], "index_dir": str(index)},
        http={"api_keys": ["short-key"]},
    )
    caplog.set_level(logging.WARNING, logger="newsbot.http")
    newsbot_log = logging.getLogger("newsbot")
    saved = newsbot_log.handlers[:], newsbot_log.level, newsbot_log.propagate
    try:
        with pytest.raises(IndexCorruptError):
            serve(settings, port=0)
    finally:  # uvicorn's logging configuration gives it a handler of its own
        newsbot_log.handlers[:], newsbot_log.level, newsbot_log.propagate = saved
    warnings = [r for r in caplog.records if "shorter than 16" in r.getMessage()]
    assert len(warnings) == 1
