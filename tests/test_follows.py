"""Follows and alerts: the store (limits, one alert per chat and story, the hourly cap folded
into "and N more"), and the real bot against the fake Bot API and a local feed server:
follow, poll, exactly one cited alert; a syndicated copy adds none; restarts lose nothing
and repeat nothing; a chat that blocked the bot is unsubscribed; 429 storms deliver every
alert once, in order."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from retrieval.answer import Citation
from retrieval.config import Settings
from retrieval.embeddings import Embedder
from retrieval.errors import InputError
from retrieval.feeds.poller import Poller
from retrieval.feeds.settings import FeedsSettings
from retrieval.follows.alerts import Alert, alert_text
from retrieval.follows.store import HOUR_S, FollowLimitError, FollowStore, Match
from retrieval.service import NewsService
from tests.test_feeds import FeedServer, Route

DATA = Path(__file__).parent / "data" / "follows"
FEEDS = FeedsSettings(per_host_delay_s=0, timeout_s=2, fetch_pages=False)
STRIKE_QUOTE = "Ferry crews walked out at dawn on Tuesday"


def _alert(chat: str, follow_id: int, title: str) -> Alert:
    c = Citation(
        n=1,
        article_id=title,
        title=title,
        quote=f"{title} happened.",
        chunk_id=f"{title}#0",
        score=1,
    )
    return Alert(chat=chat, follow_id=follow_id, topic="ferries", citation=c)


# --- the store ---------------------------------------------------------------------------


def test_follows_are_limited_per_chat_and_a_repeated_topic_is_one_follow(tmp_path: Path) -> None:
    store = FollowStore(tmp_path / "s.sqlite")
    v = np.ones(4, dtype=np.float32)
    a = store.add("tg:1", "NATO and Russia", "m", v, limit=2)
    assert store.add("tg:1", "nato and  russia".replace("  ", " "), "m", v, limit=2).id == a.id
    store.add("tg:1", "Ferries", "m", v, limit=2)
    with pytest.raises(FollowLimitError):
        store.add("tg:1", "Comets", "m", v, limit=2)
    store.add("tg:2", "Comets", "m", v, limit=2)  # another chat's limit
    assert store.remove("tg:2", a.id) is None  # not that chat's follow
    assert store.remove("tg:1", a.id) is not None
    assert [f.topic for f in store.follows("tg:1")] == ["Ferries"]
    np.testing.assert_array_equal(store.follows("tg:1")[0].vector, v)


def test_one_alert_per_chat_and_story_and_the_hourly_cap_folds_the_rest(tmp_path: Path) -> None:
    store = FollowStore(tmp_path / "s.sqlite")
    now = 1_000_000.0
    matches = [Match("tg:1", 7, f"story{i}", _alert("tg:1", 7, f"Report {i}")) for i in range(5)]
    again = Match("tg:1", 8, "story0", _alert("tg:1", 8, "Report 0 copy"))  # another follow
    assert store.record([*matches, again], cursor=5, per_hour=2, now=now) == 5
    assert store.counter("cursor") == 5
    assert [a.citation.title for a in store.pending("tg:")] == ["Report 0", "Report 1"]
    assert store.roll_up(per_hour=2, now=now + 60) == 0  # the hour is full
    for a in store.pending("tg:"):
        store.delivered(a.id, now)
    assert store.roll_up(per_hour=2, now=now + HOUR_S + 1) == 1
    (more,) = store.pending("tg:")
    assert more.kind == "more" and [c.title for c in more.more] == [
        f"Report {i}" for i in (2, 3, 4)
    ]
    assert alert_text(more).startswith("… and 3 more on ferries:")
    # Re-scanning the same stories after a restart adds nothing.
    assert store.record(matches, cursor=5, per_hour=2, now=now + 2 * HOUR_S) == 0


def test_a_blocked_chat_is_forgotten(tmp_path: Path) -> None:
    store = FollowStore(tmp_path / "s.sqlite")
    f = store.add("tg:3", "Ferries", "m", np.ones(4, dtype=np.float32), limit=5)
    store.set_briefing("tg:3", "07:30", "Europe/Oslo")
    store.record([Match("tg:3", f.id, "s", _alert("tg:3", f.id, "R"))], 1, 3, 0.0)
    assert store.forget_chat("tg:3") == 1
    assert store.follows("tg:3") == [] and store.pending() == [] and store.briefings() == []


# --- against a feed server ---------------------------------------------------------------


@contextlib.contextmanager
def feed_server() -> Iterator[FeedServer]:
    s = FeedServer()
    thread = threading.Thread(target=s.httpd.serve_forever, daemon=True)
    thread.start()
    for name in ("news.xml", "wire.xml"):
        body = (DATA / name).read_bytes().replace(b"http://HOST", s.base.encode())
        s.put(f"/{name}", Route(body, "application/xml"))
    try:
        yield s
    finally:
        s.httpd.shutdown()
        s.httpd.server_close()


@pytest.fixture
def server() -> Iterator[FeedServer]:
    with feed_server() as s:
        yield s


@pytest.fixture
def settings(make_settings: Callable[..., Settings], tmp_path: Path) -> Settings:
    (tmp_path / "docs").mkdir(exist_ok=True)
    return make_settings(follows={"check_every_s": 0.1})


def _poll(settings: Settings, embedder: Embedder, *urls: str) -> None:
    poller = Poller(NewsService(settings, embedder), FEEDS)
    try:
        for url in urls:
            poller.add(url)
        poller.poll()
    finally:
        poller.close()


@pytest.mark.slow
def test_a_new_article_alerts_its_follower_once_with_a_cited_sentence(
    settings: Settings, embedder: Embedder, server: FeedServer
) -> None:
    service = NewsService(settings, embedder)
    follows = service.follows
    assert follows.scan() == 0  # the first scan starts from now
    with pytest.raises(InputError):
        follows.follow("repl:me", "   ")
    ferry = follows.follow("repl:me", "ferry strike")
    follows.follow("repl:me", "Sam Bankman-Fried trial")
    _poll(settings, embedder, server.url("/news.xml"))
    assert follows.scan() == 1
    (alert,) = follows.pending("repl:")
    c = alert.citation
    assert alert.follow_id == ferry.id and c is not None
    assert c.title == "Ferry strike halts island crossings" and c.source == "Island Courier"
    assert c.quote.startswith(STRIKE_QUOTE) and c.date == "2026-12-01"
    assert c.url == server.url("/courier/ferry-strike.html")
    follows.delivered(alert)
    _poll(settings, embedder, server.url("/wire.xml"))  # a copy of the same story
    assert follows.scan() == 0 and follows.pending() == []


# --- the bot ---------------------------------------------------------------------------


def _tg(settings: Settings, api: Any, **telegram: Any) -> Settings:
    tg = {"base_url": api.base_url, "allow_all": True, **telegram}
    return settings.model_copy(update={"telegram": settings.telegram.model_copy(update=tg)})


@contextlib.asynccontextmanager
async def bot(service: NewsService, settings: Settings) -> Any:
    from bot.telegram.follows import start_alerts, stop_alerts
    from tests.fake_bot_api import run_bot

    async with run_bot(service, settings) as app:
        start_alerts(app)
        try:
            yield app
        finally:
            await stop_alerts(app)


@pytest.mark.slow
def test_telegram_follow_poll_alert_copy_and_restart(
    settings: Settings, embedder: Embedder, server: FeedServer
) -> None:
    pytest.importorskip("telegram")
    from tests.fake_bot_api import FakeBotApi

    chat = 820_001

    async def scenario() -> None:
        async with FakeBotApi() as api:
            cfg = _tg(settings, api)
            async with bot(NewsService(cfg, embedder), cfg):
                api.push_text(chat, "/follow ferry strike")
                api.push_text(chat, "/follow Sam Bankman-Fried trial")
                api.push_text(chat, "/following")
                replies = await api.wait_messages(chat, 3)
                assert "Following ferry strike (id 1)" in replies[0].text
                assert "1. ferry strike\n2. Sam Bankman-Fried trial" in replies[2].text
            # Restart between the poll and the delivery: the new bot sends it, once.
            await asyncio.to_thread(_poll, cfg, embedder, server.url("/news.xml"))
            async with bot(NewsService(cfg, embedder), cfg):
                alert = (await api.wait_messages(chat, 4))[3]
                assert alert.text.startswith("🔔 New on ferry strike")
                assert (
                    "Ferry strike halts island crossings\nIsland Courier · 2026-12-01" in alert.text
                )
                assert STRIKE_QUOTE in alert.text and "/unfollow 1" in alert.text
                assert server.url("/courier/ferry-strike.html") in alert.raw
                await asyncio.to_thread(_poll, cfg, embedder, server.url("/wire.xml"))
                await asyncio.sleep(1.0)
                await api.settle(0.5)
            async with bot(NewsService(cfg, embedder), cfg):
                await asyncio.sleep(1.0)
                await api.settle(0.5)
            texts = [m.text for m in api.bot_messages(chat)]
            assert sum(t.startswith("🔔") for t in texts) == 1, texts

    asyncio.run(scenario())


def _queue(service: NewsService, chat: str, n: int) -> None:
    follows = service.follows
    f = follows.follow(chat, "ferry strike")
    matches = [Match(chat, f.id, f"s{i}", _alert(chat, f.id, f"Report {i}")) for i in range(n)]
    follows.store.record(matches, cursor=0, per_hour=100, now=0.0)


@pytest.mark.slow
def test_telegram_blocked_chat_is_unsubscribed_and_429s_deliver_in_order(
    settings: Settings, embedder: Embedder
) -> None:
    pytest.importorskip("telegram")
    from tests.fake_bot_api import FakeBotApi

    async def scenario() -> None:
        async with FakeBotApi() as api:
            cfg = _tg(settings, api)
            service = NewsService(cfg, embedder)
            api.chat(830_001)
            api.chat(830_002)
            service.follows.store.set_counter("cursor", 0)
            _queue(service, "tg:830001", 1)
            _queue(service, "tg:830002", 6)
            api.inject("sendMessage", "forbidden", count=1)  # chat 830001 blocked the bot
            api.inject("sendMessage", "429", rate=0.5, retry_after=1)
            async with bot(service, cfg):
                await api.wait_messages(830_002, 6, timeout=120)
                await api.settle(0.5)
            texts = [m.text for m in api.bot_messages(830_002)]
            assert [t.split("\n")[1] for t in texts] == [f"Report {i}" for i in range(6)]
            assert api.bot_messages(830_001) == []
            assert service.follows.following("tg:830001") == []
            assert service.follows.pending() == []

    asyncio.run(scenario())


@pytest.mark.slow
def test_the_daily_briefing_comes_once_at_the_chats_local_time(
    settings: Settings, embedder: Embedder, server: FeedServer
) -> None:
    import datetime as dt
    from zoneinfo import ZoneInfo

    service = NewsService(settings, embedder)
    follows = service.follows
    follows.scan()
    follows.follow("repl:me", "ferry strike")
    follows.follow("repl:me", "Sam Bankman-Fried trial")
    follows.store.set_briefing("repl:me", "07:30", "Europe/Oslo")
    _poll(settings, embedder, server.url("/news.xml"), server.url("/wire.xml"))
    oslo = ZoneInfo("Europe/Oslo")
    early = dt.datetime(2026, 12, 2, 7, 29, tzinfo=oslo).timestamp()
    on_time = dt.datetime(2026, 12, 2, 7, 30, tzinfo=oslo).timestamp()
    assert follows.brief(early) == 0
    assert follows.brief(on_time) == 2
    assert follows.brief(on_time + 3600) == 0  # once a day
    strike, trial = [a for a in follows.pending("repl:") if a.kind == "briefing"]
    assert strike.day == "2026-12-02" and strike.topic == "ferry strike"
    # The time-aware timeline answer, asked on the chat's local day: dated, cited bullets.
    timeline = service.ask(
        "What happened with ferry strike since yesterday?",
        as_of=dt.date(2026, 12, 2),
        record=False,
    )
    assert not timeline.abstained and timeline.text.startswith("- 1 Dec 2026: ")
    assert strike.more == timeline.citations
    # The strike and its wire copy are one story: one bullet, from the earliest report.
    assert [c.title for c in strike.more] == ["Ferry strike halts island crossings"]
    assert strike.more[0].date == "2026-12-01" and strike.more[0].quote in timeline.text
    assert alert_text(strike).startswith("Briefing on ferry strike (2026-12-02):\n- ")
    assert trial.more == [] and alert_text(trial).endswith(
        "Nothing new on Sam Bankman-Fried trial."
    )
    for a in (strike, trial):
        follows.delivered(a)
    next_day = dt.datetime(2026, 12, 3, 7, 30, tzinfo=oslo).timestamp()
    assert follows.brief(next_day) == 2
    # A day later the strike (reported on 1 December) is no longer new.
    assert [a.more for a in follows.pending("repl:") if a.kind == "briefing"] == [[], []]
    follows.store.set_briefing("repl:me", None)
    assert follows.brief(next_day + 86_400) == 0


def test_alert_messages_are_valid_telegram_html_with_hostile_text() -> None:
    pytest.importorskip("telegram")
    from bot.telegram.follows import alert_html
    from tests.fake_bot_api import parse_telegram_html

    c = Citation(
        n=1,
        article_id="a",
        title="<b>Ferries</b> & co",
        date="2026-12-01",
        source="Wire <x>",
        url='https://example.org/a?x=1&y="2"',
        quote="Crews <walked> out & stayed.",
        chunk_id="a#0",
        score=0.9,
    )
    bad = c.model_copy(update={"url": "javascript:alert(1)"})
    kinds = [
        Alert(chat="tg:1", follow_id=4, topic="ferry <strike>", citation=c),
        Alert(chat="tg:1", kind="more", follow_id=4, topic="ferries", more=[c, bad]),
        Alert(
            chat="tg:1", kind="briefing", follow_id=4, topic="ferries", more=[c], day="2026-12-02"
        ),
        Alert(chat="tg:1", kind="briefing", follow_id=4, topic="ferries", day="2026-12-02"),
    ]
    shown = [parse_telegram_html(alert_html(a)) for a in kinds]
    assert shown[0].startswith(
        "🔔 New on ferry <strike>\n<b>Ferries</b> & co\nWire <x> · 2026-12-01"
    )
    assert "Crews <walked> out & stayed." in shown[0] and "/unfollow 4" in shown[0]
    assert "javascript" not in alert_html(kinds[1])
    assert shown[3].endswith("Nothing new on ferries.")


@pytest.mark.slow
def test_http_follows_and_polled_alerts(
    settings: Settings, embedder: Embedder, server: FeedServer
) -> None:
    import time

    from tests.test_http_api import client_for
    from tests.test_http_support import READ

    service = NewsService(settings, embedder)
    _poll(settings, embedder)  # an index to serve (no feeds yet)
    with client_for(service, settings) as client:
        r = client.post("/v1/follows", json={"topic": "ferry strike"}, headers=READ)
        assert r.status_code == 201 and r.json()["topic"] == "ferry strike"
        follow_id = r.json()["id"]
        assert [f["id"] for f in client.get("/v1/follows", headers=READ).json()] == [follow_id]
        assert client.get("/v1/alerts", headers=READ).json() == {"alerts": []}
        _poll(settings, embedder, server.url("/news.xml"))
        deadline = time.monotonic() + 30
        while not (got := client.get("/v1/alerts", headers=READ).json()["alerts"]):
            assert time.monotonic() < deadline, "no alert"
            time.sleep(0.3)
        (one,) = got
        assert one["alert"]["citation"]["title"] == "Ferry strike halts island crossings"
        assert one["text"].startswith("New on ferry strike")
        again = client.get("/v1/alerts", headers=READ).json()["alerts"]
        assert [a["alert"]["id"] for a in again] == [one["alert"]["id"]]  # not acknowledged yet
        acked = client.get(f"/v1/alerts?after={one['alert']['id']}", headers=READ).json()
        assert acked == {"alerts": []}
        assert client.delete(f"/v1/follows/{follow_id}", headers=READ).status_code == 204
        assert client.delete(f"/v1/follows/{follow_id}", headers=READ).status_code == 404
        assert client.post("/v1/follows", json={"topic": " "}, headers=READ).status_code in (
            400,
            422,
        )


@pytest.mark.slow
def test_repl_follow_and_alerts_between_prompts(
    settings: Settings, embedder: Embedder, server: FeedServer
) -> None:
    pytest.importorskip("rich")
    import io

    from rich.console import Console

    from bot.repl.chat import Chat

    out = io.StringIO()
    service = NewsService(settings, embedder)
    chat = Chat(service, Console(file=out, width=200, color_system=None), "repl-test")

    async def scenario() -> None:
        await chat.handle("/follow ferry strike")
        await chat.handle("/following")
        chat.prompting()  # the first scan starts from now
        await asyncio.to_thread(_poll, settings, embedder, server.url("/news.xml"))
        chat.prompting()
        chat.prompting()  # shown once

    asyncio.run(scenario())
    chat.close()
    text = out.getvalue()
    assert "Following ferry strike (id 1)" in text and "1. ferry strike" in text
    assert text.count("New on ferry strike (follow 1):") == 1
    assert "Ferry strike halts island crossings — Island Courier, 2026-12-01" in text
    assert STRIKE_QUOTE in text


def test_a_briefing_asks_the_timeline_question_on_the_chats_day() -> None:
    import datetime as dt

    from retrieval.answer import Answer
    from retrieval.errors import QuestionTooLongError
    from retrieval.follows import briefing
    from retrieval.follows.store import Follow

    asked: list[tuple[str, Any]] = []

    class Service:
        def ask(self, question: str, **kw: Any) -> Answer:
            asked.append((question, kw["as_of"]))
            if len(question) > 100:
                raise QuestionTooLongError(len(question), 100)
            cited = _alert("tg:1", 1, "Report").citation
            assert cited is not None
            text = "- 1 Dec 2026: x [1]"
            return Answer(
                question=question, standalone_question=question, text=text, citations=[cited]
            )

    service: Any = Service()
    assert [c.title for c in briefing.timeline_bullets(service, "ferries", "2026-12-02") or []] == [
        "Report"
    ]
    assert asked == [("What happened with ferries since yesterday?", dt.date(2026, 12, 2))]
    assert briefing.timeline_bullets(service, "x" * 100, "2026-12-02") is None
    v = np.ones(2, dtype=np.float32)
    follows = [Follow(1, "tg:1", "ferries", 0.0, "m", v), Follow(2, "tg:1", "x", 0.0, "m", v)]
    (one,) = briefing.messages("tg:1", follows, [[], None], "2026-12-02")
    assert one.topic == "ferries" and alert_text(one).endswith("Nothing new on ferries.")
