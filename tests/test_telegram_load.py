"""Many chats at once, with the Bot API refusing requests: nothing lost, doubled, reordered
or mixed between chats."""

from __future__ import annotations

import asyncio
import random
import re
from collections.abc import Callable

import pytest

pytest.importorskip("telegram")

from retrieval.config import Settings
from retrieval.service import NewsService
from tests.fake_bot_api import EchoService, FakeBotApi, run_bot

SENDING = ["sendMessage", "sendChatAction", "editMessageText", "answerCallbackQuery"]


# PTB's RetryAfter warns about its own future API change when it is raised; not ours to fix.
@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")
def test_200_questions_in_20_chats_with_429s_are_answered_once_and_in_order(
    make_settings: Callable[..., Settings],
) -> None:
    service = EchoService(latency_s=(0.02, 0.05))
    chats = [20_000 + i for i in range(20)]
    per_chat = 10

    async def scenario() -> FakeBotApi:
        async with FakeBotApi(seed=5) as api:
            settings = make_settings(
                telegram={
                    "base_url": api.base_url,
                    "allow_all": True,
                    "rate_limit_per_minute": 10_000,
                }
            )
            async with run_bot(service, settings):
                too_many = api.inject(SENDING, "429", rate=0.05, retry_after=1)
                stalled = api.inject("getUpdates", "timeout", count=1, hang_s=10)
                rng = random.Random(7)
                todo = {
                    c: [f"c{c}-q{i} When is it withdrawn?" for i in range(per_chat)] for c in chats
                }
                pushed = 0
                while any(todo.values()):
                    chat = rng.choice([c for c in chats if todo[c]])
                    api.push_text(chat, todo[chat].pop(0))
                    pushed += 1
                    if pushed % 20 == 0:  # questions arrive in bursts
                        await asyncio.sleep(rng.uniform(0.0, 0.3))
                total = len(chats) * per_chat
                await api.wait_for(
                    lambda: sum(len(api.bot_messages(c)) for c in chats) >= total,
                    timeout=300,
                    what=f"{total} answers",
                )
                await api.settle(quiet_s=2.0)
                assert too_many.fired >= 5 and stalled.fired == 1
        return api

    api = asyncio.run(scenario())
    for chat in chats:
        answered = []
        for m in api.bot_messages(chat):
            found = re.match(r"You asked: (c\d+-q\d+) ", m.text)
            assert found, m.text  # no error messages, no strays
            answered.append(found.group(1))
        assert answered == [f"c{chat}-q{i}" for i in range(per_chat)]
    assert len(service.calls) == len(chats) * per_chat
    assert any(c.outcome == "429" for c in api.calls if c.method == "sendMessage")


@pytest.mark.slow
def test_50_chats_at_once_never_see_each_others_history(
    seed_service: NewsService, make_settings: Callable[..., Settings]
) -> None:
    chats = [50_000 + i for i in range(50)]
    tag = {c: f"zq{c}x" for c in chats}

    async def scenario() -> FakeBotApi:
        async with FakeBotApi() as api:
            settings = make_settings(
                telegram={
                    "base_url": api.base_url,
                    "allow_all": True,
                    "rate_limit_per_minute": 10_000,
                }
            )
            async with run_bot(seed_service, settings):
                for c in chats:  # every chat asks, and follows up, all at the same time
                    api.push_text(c, f"Who is Jens Stoltenberg? {tag[c]}")
                for c in chats:
                    api.push_text(c, "What did he decide on 6 October?")
                await api.wait_for(
                    lambda: all(len(api.bot_messages(c)) >= 2 for c in chats),
                    timeout=300,
                    what="two answers in each of 50 chats",
                )
                await api.settle()
        return api

    api = asyncio.run(scenario())
    for c in chats:
        first, second = api.bot_messages(c)
        assert re.search(r"Secretary[- ]General", first.text)
        assert re.search(r"withdraw|accreditation|eight", second.text)
        turns = seed_service.sessions.history(f"tg:{c}")
        assert len(turns) == 2
        assert tag[c] in turns[0].question
        seen = set(re.findall(r"zq\d+x", " ".join(t.question + t.standalone for t in turns)))
        seen |= set(re.findall(r"zq\d+x", first.text + second.text))
        assert seen == {tag[c]}, (c, seen)
        assert "Stoltenberg" in turns[1].standalone
