"""Follows on the postgres backend: the store's behaviour on both databases, and what N
replicas and one worker share: a follow made through one replica is listed by another and
alerted by the worker once; two processes recording or delivering one alert do it once."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest

from retrieval.config import DatabaseSettings, Settings
from retrieval.embeddings import Embedder
from retrieval.follows.store import HOUR_S, FollowLimitError, FollowStore, Match
from retrieval.follows.webhooks import WebhookStore
from retrieval.service import NewsService
from tests.pg_support import pg_sections
from tests.test_follows import STRIKE_QUOTE, _poll, feed_server
from tests.test_follows_webhooks import FAST_RETRY, Receiver, _alert

_opened: list[Any] = []


@pytest.fixture(autouse=True)
def _close_opened() -> Iterator[None]:
    yield
    while _opened:
        _opened.pop().close()


@pytest.fixture(params=["sqlite", "postgres"])
def open_store(
    request: pytest.FixtureRequest, tmp_path: Path, new_database: Callable[..., str]
) -> Callable[[], FollowStore]:
    """Open the follows store again, as another process would (one database per test)."""
    if request.param == "sqlite":

        def sqlite() -> FollowStore:
            store = FollowStore(tmp_path / "s.sqlite")
            _opened.append(store)
            return store

        return sqlite
    from retrieval.pg.follows import PgFollowStore
    from retrieval.pg.store import PgStore

    url = new_database()

    def postgres() -> FollowStore:
        pg = PgStore(DatabaseSettings(url=url), root=tmp_path)
        _opened.append(pg)
        store = PgFollowStore(pg)
        _opened.append(store)
        return store

    return postgres


def _matches(chat: str, follow_id: int, n: int) -> list[Match]:
    return [Match(chat, follow_id, f"story{i}", _alert(chat, follow_id, f"R{i}")) for i in range(n)]


# --- the store, on both databases ---------------------------------------------------------


def test_follows_limits_and_removal_seen_by_another_process(
    open_store: Callable[[], FollowStore],
) -> None:
    a, b = open_store(), open_store()
    v = np.arange(4, dtype=np.float32)
    first = a.add("tg:1", "NATO and Russia", "m", v, limit=2)
    assert b.add("tg:1", "nato and russia", "m", v, limit=2).id == first.id
    b.add("tg:1", "Ferries", "m", v, limit=2)
    with pytest.raises(FollowLimitError):
        a.add("tg:1", "Comets", "m", v, limit=2)
    revision = a.revision()
    assert b.remove("tg:2", first.id) is None and b.remove("tg:1", first.id) is not None
    assert a.revision() > revision  # the worker's matcher reloads
    (left,) = a.follows("tg:1")
    assert left.topic == "Ferries" and left.chat == "tg:1"
    np.testing.assert_array_equal(left.vector, v)


def test_one_alert_per_chat_and_story_the_cap_folds_and_a_blocked_chat_goes(
    open_store: Callable[[], FollowStore],
) -> None:
    store = open_store()
    now = 1_000_000.0
    f = store.add("tg:1", "ferries", "m", np.ones(4, dtype=np.float32), limit=5)
    assert store.record(_matches("tg:1", f.id, 5), cursor=5, per_hour=2, now=now) == 5
    assert store.record(_matches("tg:1", f.id, 5), cursor=3, per_hour=2, now=now) == 0
    assert store.counter("cursor") == 5  # never backwards
    sent = store.pending("tg:")
    assert [a.citation.title for a in sent] == ["R0", "R1"]  # type: ignore[union-attr]
    for a in sent:
        store.delivered(a.id, now)
    assert store.last_alert(f.id) == now
    assert store.roll_up(per_hour=2, now=now + 60) == 0  # the hour is full
    assert store.roll_up(per_hour=2, now=now + HOUR_S + 1) == 1
    (more,) = store.pending("tg:")
    assert more.kind == "more" and [c.title for c in more.more] == ["R2", "R3", "R4"]
    store.acknowledge("tg:1", more.id)
    assert store.pending() == []
    store.set_briefing("tg:1", "07:30", "Europe/Oslo")
    assert store.briefing("tg:1").tz == "Europe/Oslo"  # type: ignore[union-attr]
    assert store.briefed("tg:1", "2026-12-01", [], now)
    assert not store.briefed("tg:1", "2026-12-01", [], now)  # that day's was made already
    assert store.forget_chat("tg:1") == 1
    assert store.follows() == [] and store.briefings() == []


def test_webhook_tries_on_both_databases(open_store: Callable[[], FollowStore]) -> None:
    store = open_store()
    hooks = WebhookStore(store)
    first = hooks.register("http:k1", "https://example.org/a", now=10)
    again = hooks.register("http:k1", "https://example.org/b", now=20)
    assert first.secret != again.secret and hooks.all() == [again]
    store.record(_matches("http:k1", 1, 2), cursor=0, per_hour=100, now=25)
    a, b = hooks.due("http:k1", now=30)
    assert hooks.failed("http:k1", a.id, "HTTP 503", 5, 60, now=30) == 35
    assert hooks.due("http:k1", now=34) == []  # b waits behind a
    assert hooks.attempts(a.id) == 1 and hooks.get("http:k1").last_error == "HTTP 503"  # type: ignore[union-attr]
    hooks.succeeded("http:k1", a.id, now=46)
    assert [x.id for x in hooks.due("http:k1", now=46)] == [b.id] and hooks.waiting("http:k1") == 1
    assert hooks.remove("http:k1") and not hooks.remove("http:k1")


def test_two_processes_recording_one_story_record_it_once(
    open_store: Callable[[], FollowStore],
) -> None:
    stores = [open_store() for _ in range(4)]
    f = stores[0].add("tg:1", "ferries", "m", np.ones(4, dtype=np.float32), limit=5)
    start = threading.Barrier(len(stores))
    added: list[int] = []

    def scan(store: FollowStore) -> None:
        start.wait()
        added.append(store.record(_matches("tg:1", f.id, 6), cursor=6, per_hour=3, now=1e6))

    threads = [threading.Thread(target=scan, args=(s,)) for s in stores]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(added) == 6
    assert [a.citation.title for a in stores[1].pending()] == ["R0", "R1", "R2"]  # type: ignore[union-attr]


# --- replicas and the worker ----------------------------------------------------------------


@pytest.fixture
def url(new_database: Callable[..., str]) -> str:
    return new_database()


def _replica(make_settings: Callable[..., Settings], tmp_path: Path, url: str, **kw: Any) -> Any:
    """A replica's settings: the shared database, no articles of its own."""
    return make_settings([tmp_path / "nowhere"], **pg_sections(url), **kw)


def test_one_replica_delivers_an_outbox_at_a_time(
    make_settings: Callable[..., Settings], tmp_path: Path, url: str
) -> None:
    a, b = (NewsService(_replica(make_settings, tmp_path, url)) for _ in range(2))
    _opened.extend([a.store, b.store, a.follows.store, b.follows.store])
    assert a.follows.claim_delivery("telegram")
    assert not b.follows.claim_delivery("telegram") and not a.follows.claim_delivery("telegram")
    assert b.follows.claim_delivery("webhooks")  # another outbox
    a.follows.release_delivery("telegram")
    assert b.follows.claim_delivery("telegram")
    b.follows.release_delivery("telegram")
    b.follows.release_delivery("webhooks")
    b.follows.release_delivery("webhooks")  # twice is harmless
    assert b.follows.claim_delivery("telegram")
    b.follows.store.close()  # the replica stops mid-round: its locks go with it
    assert a.follows.claim_delivery("telegram")
    a.follows.release_delivery("telegram")


def test_two_replicas_racing_to_deliver_post_each_alert_once(
    make_settings: Callable[..., Settings], tmp_path: Path, url: str, receiver: Receiver
) -> None:
    from bot.http.webhooks import deliver_once

    replicas = [
        NewsService(_replica(make_settings, tmp_path, url, follows=FAST_RETRY)) for _ in range(3)
    ]
    _opened.extend(x for r in replicas for x in (r.store, r.follows.store))
    replicas[0].follows.webhooks.register("http:k1", receiver.url)
    replicas[1].follows.store.record(_matches("http:k1", 1, 8), 0, 100, time.time())
    receiver.delay_s = 0.05
    start = threading.Barrier(len(replicas))

    def rounds(service: NewsService) -> None:
        async def go() -> None:
            async with httpx.AsyncClient(timeout=5, follow_redirects=False) as client:
                start.wait()
                for _ in range(6):
                    await deliver_once(client, service.follows)

        asyncio.run(go())

    threads = [threading.Thread(target=rounds, args=(r,)) for r in replicas]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    titles = [e["alert"]["citation"]["title"] for e in receiver.events()]
    assert titles == [f"R{i}" for i in range(8)]  # each once, in order
    assert replicas[2].follows.pending("http:") == []


@pytest.mark.slow
def test_a_follow_made_on_one_replica_is_alerted_by_the_worker_once(
    make_settings: Callable[..., Settings],
    tmp_path: Path,
    url: str,
    embedder: Embedder,
    receiver: Receiver,
) -> None:
    from bot.http.webhooks import deliver_once

    (tmp_path / "docs").mkdir()
    worker = make_settings(**pg_sections(url))
    a, b = (
        NewsService(_replica(make_settings, tmp_path, url, follows=FAST_RETRY), embedder)
        for _ in range(2)
    )
    _opened.extend([a.store, b.store, a.follows.store, b.follows.store])
    ferry = a.follows.follow("http:k1", "ferry strike")
    assert [f.topic for f in b.follows.following("http:k1")] == ["ferry strike"]
    with feed_server() as server:
        _poll(worker, embedder, server.url("/news.xml"))  # the worker polls and scans
        assert b.follows.tick() == 0  # a replica does not scan: it has no feed state
        (alert,) = b.follows.pending("http:")
        assert alert.follow_id == ferry.id and alert.citation is not None
        assert alert.citation.title == "Ferry strike halts island crossings"
        assert alert.citation.quote.startswith(STRIKE_QUOTE)
        _poll(worker, embedder, server.url("/wire.xml"))  # a copy of the same story
    assert len(a.follows.pending("http:")) == 1
    b.follows.webhooks.register("http:k1", receiver.url)

    async def deliver() -> None:
        async with httpx.AsyncClient(timeout=5) as client:
            for _ in range(3):
                await asyncio.gather(*(deliver_once(client, r.follows) for r in (a, b)))

    asyncio.run(deliver())
    (event,) = receiver.events()
    assert event["id"] == alert.id and a.follows.pending() == []


_HOLDER = """
import sys, time
from pathlib import Path
from retrieval.config import DatabaseSettings
from retrieval.pg.follows import PgFollowStore
from retrieval.pg.store import PgStore

store = PgFollowStore(PgStore(DatabaseSettings(url=sys.argv[1]), root=Path(".")))
print("held" if store.claim_delivery("telegram") else "refused", flush=True)
time.sleep(600)
"""


def test_a_replica_killed_mid_round_frees_its_outbox(
    make_settings: Callable[..., Settings], tmp_path: Path, url: str
) -> None:
    repo = Path(__file__).resolve().parent.parent
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLDER, url],
        stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": str(repo)},
    )  # fmt: skip
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        a = NewsService(_replica(make_settings, tmp_path, url))
        _opened.extend([a.store, a.follows.store])
        assert not a.follows.claim_delivery("telegram")
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait(timeout=30)
    # The server frees a dead session's locks as soon as it sees the connection gone.
    deadline = time.monotonic() + 30
    while not a.follows.claim_delivery("telegram"):
        assert time.monotonic() < deadline, "the killed replica's lock was never freed"
        time.sleep(0.1)
    a.follows.release_delivery("telegram")
