"""Conversations, Telegram update ids and rate limits in PostgreSQL: what two replicas on
one database share (each replica here is a store of its own, with its own pool)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from retrieval.answer import Citation
from retrieval.config import DatabaseSettings
from retrieval.sessions import SQLiteConversationStore, Turn

_opened: list = []


def _replicas(url: str, n: int = 2) -> list:
    """``n`` stores on one database, as ``n`` replicas would have (closed after the test)."""
    from retrieval.pg.store import PgStore

    stores = [PgStore(DatabaseSettings(url=url), root=Path(".")) for _ in range(n)]
    _opened.extend(stores)
    return stores


@pytest.fixture(autouse=True)
def _close_stores() -> Iterator[None]:
    yield
    while _opened:
        _opened.pop().close()


TURN = Turn(
    question="Who withdrew the accreditation?",
    standalone="Who withdrew the accreditation?",
    answer="Russia did [1].",
    short_answer="Russia",
    citations=[
        Citation(
            n=1,
            article_id="a",
            title="T",
            date="2021-10-19",
            source=None,
            url=None,
            quote="Russia withdrew it.",
            chunk_id="a#0",
            score=0.8,
        )
    ],
    window=("2021-10-01", None),
    reading="publication",
    articles=("a",),
    entities=("Russia",),
)


@pytest.fixture
def url(new_database: Callable[..., str]) -> str:
    return new_database()


def test_a_conversation_continues_on_another_replica(url: str) -> None:
    from retrieval.pg.sessions import PgConversationStore

    a, b = (PgConversationStore(s, max_turns=3) for s in _replicas(url))
    a.append("tg:1", TURN)
    assert b.history("tg:1") == [TURN]
    local = SQLiteConversationStore(":memory:", 3)
    local.append("tg:1", TURN)
    assert local.history("tg:1") == b.history("tg:1")  # the same turn, read back alike
    for i in range(4):
        b.append("tg:1", Turn(f"q{i}", f"q{i}", f"a{i}"))
    assert [t.question for t in a.history("tg:1")] == ["q1", "q2", "q3"]
    assert a.history("tg:2") == []
    b.reset("tg:1")
    assert a.history("tg:1") == []


def test_an_update_delivered_to_two_replicas_is_answered_once(url: str) -> None:
    from retrieval.pg.sessions import PgUpdateLog

    logs = [PgUpdateLog(s) for s in _replicas(url, 4)]
    answered: list[int] = []
    barrier = threading.Barrier(8)

    def deliver(i: int) -> None:
        barrier.wait()
        if not logs[i % 4].seen(1000001):
            answered.append(i)

    threads = [threading.Thread(target=deliver, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(answered) == 1
    assert logs[0].seen(1000001) and not logs[1].seen(1000002)


def test_a_rate_limit_counts_across_replicas(url: str) -> None:
    from retrieval.pg.sessions import PgRateLimiter

    a, b = (PgRateLimiter(s, per_minute=3, scope="telegram") for s in _replicas(url))
    assert [a.hit(7), b.hit(7), a.hit(7)] == [0.0, 0.0, 0.0]
    wait = b.hit(7)
    assert 0 < wait <= 20.0  # a token every 20 s
    assert 0 < a.wait(7) <= 20.0
    assert a.hit(8) == 0.0 and b.wait(9) == 0.0  # other keys are not limited
    other = PgRateLimiter(_replicas(url, 1)[0], per_minute=3, scope="http")
    assert other.hit(7) == 0.0  # scopes are separate


def test_a_lost_database_is_a_503_problem_for_http_clients() -> None:
    pytest.importorskip("fastapi")
    from bot.http.problems import from_newsbot_error
    from retrieval.errors import DatabaseUnavailableError

    problem = from_newsbot_error(DatabaseUnavailableError("the database is unavailable"))
    assert problem.status == 503 and problem.headers == {"Retry-After": "5"}


@pytest.mark.slow  # two server starts
def test_a_restarted_database_fails_clearly_then_serves_again(tmp_path: Path) -> None:
    pgserver = pytest.importorskip("pgserver")
    import psycopg

    from retrieval.errors import DatabaseUnavailableError
    from retrieval.pg.migrate import upgrade
    from retrieval.pg.sessions import PgConversationStore

    server = pgserver.get_server(tmp_path / "pg", cleanup_mode="stop")
    url = server.get_uri()
    with psycopg.connect(url, autocommit=True) as conn:
        upgrade(conn)
    (store,) = _replicas(url, 1)
    turns = PgConversationStore(store)
    turns.append("s", TURN)
    server.cleanup()  # stopped
    with pytest.raises(DatabaseUnavailableError) as e:
        turns.history("s")
    assert str(tmp_path) not in str(e.value) and "postgresql:" not in str(e.value)
    server = pgserver.get_server(tmp_path / "pg", cleanup_mode="stop")
    try:
        assert server.get_uri() == url
        assert turns.history("s") == [TURN]  # the same store: its pool reconnected
    finally:
        server.cleanup()


def test_the_telegram_bot_on_postgres_shares_limits_and_update_ids(
    url: str, tmp_path: Path
) -> None:
    pytest.importorskip("telegram")
    from bot.telegram.state import BotState
    from retrieval.config import load_settings
    from retrieval.pg.sessions import PgRateLimiter, PgUpdateLog
    from retrieval.service import NewsService

    cfg = tmp_path / "config.yaml"
    cfg.write_text("telegram:\n  rate_limit_per_minute: 2\n", encoding="utf-8")
    settings = load_settings(cfg, store={"backend": "postgres"}, database={"url": url})
    a, b = (BotState.create(NewsService(settings), settings) for _ in range(2))
    assert isinstance(a.limiter, PgRateLimiter) and isinstance(b.dedup, PgUpdateLog)
    assert [a.limiter.hit(5), b.limiter.hit(5)] == [0.0, 0.0] and a.limiter.hit(5) > 0
    assert not a.dedup.seen(77) and b.dedup.seen(77)
    for state in (a, b):
        state.service.store.close()  # type: ignore[attr-defined]


def test_a_retried_request_is_one_turn_answered_without_its_first_attempt(url: str) -> None:
    from retrieval.pg.sessions import PgConversationStore
    from retrieval.sessions import retry_key

    a, b = (PgConversationStore(s) for s in _replicas(url))
    a.append("s", Turn("q0", "q0", "a0"))
    token = retry_key.set("key-1")
    try:
        a.append("s", Turn("q1", "q1", "first attempt"))  # recorded, then the replica died
        assert [t.question for t in b.history("s")] == ["q0"]  # the retry reads as the first
        b.append("s", Turn("q1", "q1", "retried"))
    finally:
        retry_key.reset(token)
    assert [(t.question, t.answer) for t in a.history("s")] == [("q0", "a0"), ("q1", "retried")]
    a.append("s", Turn("q2", "q2", "a2"))  # no key: every turn is recorded
    a.append("s", Turn("q2", "q2", "a2"))
    assert [t.question for t in b.history("s")] == ["q0", "q1", "q2", "q2"]


def _app(url: str, folder: Path, **http: object) -> object:
    """An HTTP app over the database at ``url``, as a replica in ``folder`` would make it."""
    from bot.http import create_app
    from retrieval.config import load_settings
    from retrieval.service import NewsService

    folder.mkdir()
    cfg = folder / "config.yaml"
    cfg.write_text("sessions:\n  path: sessions.sqlite\n", encoding="utf-8")
    settings = load_settings(
        cfg,
        store={"backend": "postgres"},
        database={"url": url},
        http={"api_keys": ["read-key-0123456789abcdef"], **http},
    )
    service = NewsService(settings)
    _opened.append(service.store)
    return create_app(service)


def test_two_http_replicas_share_a_keys_rate_limit_and_identity(url: str, tmp_path: Path) -> None:
    pytest.importorskip("fastapi")
    from fastapi.testclient import TestClient

    from tests.test_http_support import principal

    apps = [_app(url, tmp_path / f"r{i}", rate_limit_per_minute=3) for i in range(2)]
    a, b = (TestClient(app) for app in apps)  # type: ignore[arg-type]
    key = {"Authorization": "Bearer read-key-0123456789abcdef"}
    assert principal(apps[0], "read-key-0123456789abcdef") == principal(
        apps[1], "read-key-0123456789abcdef"
    )  # one caller on both, though each has its own folder: its sessions follow it
    statuses = [c.get("/v1/models", headers=key).status_code for c in (a, b, a, b)]
    assert statuses == [200, 200, 200, 429]  # three a minute, counted across the replicas
    r = a.get("/v1/models", headers=key)
    assert r.status_code == 429 and int(r.headers["retry-after"]) >= 1
    wrong = {"Authorization": "Bearer not-the-key-0123456789"}
    apps = [_app(url, tmp_path / f"w{i}", auth_failures_per_minute=2) for i in range(2)]
    a, b = (TestClient(app) for app in apps)  # type: ignore[arg-type]
    assert [c.get("/v1/models", headers=wrong).status_code for c in (a, b)] == [401, 401]
    r = a.get("/v1/models", headers=key)  # two wrong keys anywhere: this address waits
    assert r.status_code == 429 and r.json()["code"] == "too_many_wrong_keys"


def test_replicas_collapse_the_stories_the_worker_published(url: str, tmp_path: Path) -> None:
    import numpy as np

    from retrieval.backend import publish_stories, shared_stories
    from retrieval.feeds.state import FeedState, StoryMember

    worker, replica = _replicas(url)
    state = FeedState(tmp_path / "feeds.sqlite")
    with state.transaction():
        for article, published in (("copy", "2024-01-02"), ("first", "2024-01-01"), ("lone", None)):
            story = "lone" if article == "lone" else "first"
            sig = np.zeros(4, dtype=np.uint64)
            state.record_member(StoryMember(article, story, None, published, sig, "text"))
    state.close()
    revision, empty = shared_stories(replica, None)  # type: ignore[misc]
    assert not empty and shared_stories(replica, revision) == (revision, None)
    assert publish_stories(worker, tmp_path / "feeds.sqlite")
    new, stories = shared_stories(replica, revision)  # type: ignore[misc]
    assert new != revision
    assert stories.members == {"first": ("first", "copy")}  # earliest first; lone left out
    assert stories.story_of == {"first": "first", "copy": "first"}
    assert shared_stories(replica, new) == (new, None)  # unchanged: nothing read again
