"""The bot's bounded memory: allow-list, rate limit, de-duplication, quote buttons, per-chat
ordering, and log redaction."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import random

import pytest

pytest.importorskip("telegram")

from telegram import Chat, Message, Update, User

from bot.ratelimit import RateLimiter
from bot.telegram import logsafe
from bot.telegram.access import AccessPolicy, Once, UpdateDeduplicator
from bot.telegram.ordering import ChatOrderedProcessor
from bot.telegram.state import QuoteStore
from retrieval.answer import Citation


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_allow_list_users_chats_and_allow_all() -> None:
    nobody = AccessPolicy()
    assert not nobody.allows(1, 1) and not nobody.allows(None, None)
    policy = AccessPolicy(user_ids=[1], chat_ids=[-5])
    assert policy.allows(1, 1)  # an allowed user, in private
    assert policy.allows(1, -9)  # ... and in any group
    assert policy.allows(2, -5)  # anyone in an allowed group
    assert not policy.allows(2, 2) and not policy.allows(2, -9) and not policy.allows(None, 3)
    assert AccessPolicy(allow_all=True).allows(None, None)


def test_rate_limiter_refills_per_user_and_stays_bounded() -> None:
    clock = Clock()
    limiter = RateLimiter(3, clock=clock, max_keys=100)  # bursts of 3, then one every 20 s
    assert [limiter.hit(7) for _ in range(3)] == [0.0, 0.0, 0.0]
    assert limiter.hit(7) == pytest.approx(20.0)
    clock.now += 10
    assert limiter.hit(7) == pytest.approx(10.0)
    assert limiter.hit(8) == 0.0  # per user
    clock.now += 10.5
    assert limiter.hit(7) == 0.0
    for user in range(1000):
        limiter.hit(user)
    assert len(limiter) <= 100
    clock.now += 61
    limiter.hit(1)
    assert len(limiter) == 1  # idle users are forgotten


def test_once_per_period() -> None:
    clock = Clock()
    once = Once(600, max_keys=10, clock=clock)
    assert once.first(1) and not once.first(1)
    clock.now += 601
    assert once.first(1)
    for k in range(100):
        once.first(k)
    assert len(once._until) == 10


def test_deduplicator_is_bounded() -> None:
    dedup = UpdateDeduplicator(capacity=100)
    assert not dedup.seen(1) and dedup.seen(1)
    for i in range(2, 1000):
        assert not dedup.seen(i)
    assert len(dedup) == 100 and dedup.seen(999) and not dedup.seen(1)


def _cite(n: int) -> Citation:
    return Citation(n=n, article_id="a", title="T", quote=f"q{n}", chunk_id="a#0", score=1.0)


def test_quote_store_validates_callback_data() -> None:
    store = QuoteStore(capacity=3)
    key = store.add(10, [_cite(1), _cite(2)])
    data = QuoteStore.callback_data(key, 2)
    assert len(data.encode()) <= 64
    assert store.lookup(data, 10) == _cite(2)
    for bad in [None, "", data + "0", data.upper(), f"q:{key}:3", f"q:{key}:-1", f"x:{key}:1"]:
        assert store.lookup(bad, 10) is None
    assert store.lookup(data, 11) is None  # another chat
    for _ in range(3):
        store.add(10, [_cite(1)])
    assert len(store) == 3 and store.lookup(data, 10) is None  # the oldest was forgotten


def _update(update_id: int, chat_id: int) -> Update:
    chat = Chat(chat_id, Chat.PRIVATE)
    user = User(chat_id, "U", False)
    message = Message(update_id, dt.datetime.now(dt.UTC), chat, from_user=user, text="x")
    return Update(update_id, message=message)


def test_ordered_processor_keeps_each_chats_order_and_forgets_idle_chats() -> None:
    done: dict[int, list[int]] = {}

    async def handle(update: Update, delay: float) -> None:
        await asyncio.sleep(delay)
        assert update.effective_chat is not None
        done.setdefault(update.effective_chat.id, []).append(update.update_id)

    async def scenario() -> ChatOrderedProcessor:
        rng = random.Random(3)
        processor = ChatOrderedProcessor(max_concurrent_updates=8)
        updates = [_update(i, rng.randint(1, 5)) for i in range(200)]
        tasks = [
            asyncio.create_task(processor.process_update(u, handle(u, rng.uniform(0, 0.01))))
            for u in updates
        ]
        await asyncio.gather(*tasks)
        expected: dict[int, list[int]] = {}
        for u in updates:
            assert u.effective_chat is not None
            expected.setdefault(u.effective_chat.id, []).append(u.update_id)
        assert done == expected
        return processor

    assert len(asyncio.run(scenario())) == 0


def test_redaction_covers_messages_args_and_tracebacks(caplog: pytest.LogCaptureFixture) -> None:
    secret = "987654:SECRET-token-value-for-redaction"
    logsafe.protect(secret)
    log = logging.getLogger("telegram.ext.ExtBot")
    caplog.set_level(logging.DEBUG)
    log.debug("url https://api.telegram.org/bot%s/getMe", secret)
    try:
        raise ValueError(f"bad url .../bot{secret}/x")
    except ValueError:
        log.exception("failed")
    assert secret not in caplog.text
    assert caplog.text.count(logsafe.REDACTED) == 2
    assert logging.getLogger("httpx").level == logging.WARNING
