"""The real PTB Application against the local fake Bot API: conversations, groups, sources,
buttons, access control, limits, fallbacks, streaming, errors, and what reaches the logs."""

from __future__ import annotations

import asyncio
import itertools
import logging
import re
from collections.abc import Callable
from typing import Any

import pytest

pytest.importorskip("telegram")

from bot.telegram import texts
from retrieval.answer import Answer
from retrieval.config import Settings
from retrieval.service import NewsService
from tests.fake_bot_api import (
    BOT_USERNAME,
    TOKEN,
    EchoService,
    FakeBotApi,
    FakeMessage,
    echo_answer,
    run_bot,
)

MENTION = f"@{BOT_USERNAME}"


def tg_settings(
    make_settings: Callable[..., Settings], api: FakeBotApi, **telegram: Any
) -> Settings:
    """Settings for the bot under test: the fake server, everyone allowed unless overridden."""
    return make_settings(telegram={"base_url": api.base_url, "allow_all": True, **telegram})


def assert_sent_properly(api: FakeBotApi) -> None:
    """Every message the bot sent or edited had link previews off (the fake checked HTML)."""
    for call in api.ok("sendMessage") + api.ok("editMessageText"):
        assert call.params.get("link_preview_options") == {"is_disabled": True}, call.params


def test_two_turn_conversation_sources_and_quote_button(
    seed_service: NewsService, make_settings: Callable[..., Settings]
) -> None:
    chat = 710_001

    async def scenario() -> None:
        async with FakeBotApi() as api, run_bot(seed_service, tg_settings(make_settings, api)):
            api.push_text(chat, "Who is Jens Stoltenberg?")
            first = (await api.wait_messages(chat, 1))[0]
            assert re.search(r"Secretary[- ]General", first.text)
            assert first.parse_mode == "HTML" and "\nSources\n1. " in first.text
            assert [b["text"] for b in first.buttons()] == ["Quote [1]"]

            api.push_text(chat, "What did he decide on 6 October?")
            second = (await api.wait_messages(chat, 2))[1]
            assert re.search(r"withdraw|accreditation|eight", second.text)
            assert "[1]" in second.text

            api.push_text(chat, "/sources")
            listing = (await api.wait_messages(chat, 3))[2]
            assert listing.text.startswith("Sources of my last answer")
            assert "<blockquote>" in listing.raw and "accreditation" in listing.text

            # The seed quote is longer than an alert allows: it comes as a reply.
            data = second.buttons()[0]["callback_data"]
            qid = api.push_callback(chat, second.message_id, data)
            quote = (await api.wait_messages(chat, 4))[3]
            await api.wait_for(lambda: api.callback_answers[qid] is not None)
            assert quote.reply_to == second.message_id
            assert "<blockquote>" in quote.raw and "Stoltenberg" in quote.text

            assert api.ok("sendChatAction"), "a typing action while answering"
            assert_sent_properly(api)
            turns = seed_service.sessions.history(f"tg:{chat}")
            assert [t.question for t in turns] == [
                "Who is Jens Stoltenberg?",
                "What did he decide on 6 October?",
            ]
            assert "Stoltenberg" in turns[1].standalone

    asyncio.run(scenario())


def test_groups_answer_only_commands_mentions_and_replies(
    seed_service: NewsService, make_settings: Callable[..., Settings]
) -> None:
    group = -710_002

    async def scenario() -> None:
        async with FakeBotApi() as api, run_bot(seed_service, tg_settings(make_settings, api)):
            api.push_text(group, "Who is Jens Stoltenberg?", user_id=1)  # ignored
            asked = api.push_text(group, f"{MENTION} Who is Jens Stoltenberg?", user_id=2)
            answer = (await api.wait_messages(group, 1))[0]
            assert answer.reply_to == asked.message_id
            assert re.search(r"Secretary[- ]General", answer.text)

            human = api.push_text(group, "@someone_else what do you think?", user_id=3)  # ignored
            api.push_text(group, "I agree", user_id=4, reply_to=human.message_id)  # ignored
            api.push_text(
                group, "What did he decide on 6 October?", user_id=2, reply_to=answer.message_id
            )
            follow_up = (await api.wait_messages(group, 2))[1]
            assert re.search(r"withdraw|accreditation|eight", follow_up.text)

            api.push_text(group, "/unknown_cmd", user_id=5)  # ignored in groups
            api.push_text(group, f"/ask@{BOT_USERNAME} When is the accreditation withdrawn?")
            third = (await api.wait_messages(group, 3))[2]
            assert "November" in third.text
            api.push_text(group, "/help")
            help_text = (await api.wait_messages(group, 4))[3].text
            assert MENTION in help_text
            await api.settle()
            assert len(api.bot_messages(group)) == 4
            questions = [t.question for t in seed_service.sessions.history(f"tg:{group}")]
            assert questions == [
                "Who is Jens Stoltenberg?",
                "What did he decide on 6 October?",
                "When is the accreditation withdrawn?",
            ]

    asyncio.run(scenario())


def test_quote_button_alerts_and_validates_its_data(
    make_settings: Callable[..., Settings],
) -> None:
    service = EchoService()

    async def scenario() -> None:
        async with FakeBotApi() as api, run_bot(service, tg_settings(make_settings, api)):
            api.push_text(11, "Short?")
            answer = (await api.wait_messages(11, 1))[0]
            data = answer.buttons()[0]["callback_data"]
            assert re.fullmatch(r"q:[0-9a-f]{10}:1", data)

            ok = api.push_callback(11, answer.message_id, data)
            await api.wait_for(lambda: api.callback_answers[ok] is not None)
            assert api.callback_answers[ok] == {
                "text": "[1] The quoted sentence about Short?.",
                "show_alert": True,
            }
            api.push_text(12, "Other chat")
            other = (await api.wait_messages(12, 1))[0]
            forged = [
                "q:0000000000:1",  # unknown answer
                data[:-1] + "7",  # no such source
                "q:../../etc:1",  # malformed
                "x" * 64,
            ]
            queries = [api.push_callback(11, answer.message_id, d) for d in forged]
            # a button from chat 11 pressed in chat 12 is refused too
            queries.append(api.push_callback(12, other.message_id, data))
            await api.wait_for(lambda: all(api.callback_answers[q] for q in queries))
            for q in queries:
                assert api.callback_answers[q] == {"text": texts.QUOTE_GONE, "show_alert": True}

    asyncio.run(scenario())


def test_allow_list_is_checked_before_any_retrieval(
    make_settings: Callable[..., Settings],
) -> None:
    service = EchoService()

    async def scenario() -> None:
        async with FakeBotApi() as api:
            settings = tg_settings(
                make_settings, api, allow_all=False, allowed_user_ids=[21], allowed_chat_ids=[-22]
            )
            async with run_bot(service, settings):
                api.push_text(23, "Who are you?")  # stranger, private: one polite refusal
                api.push_text(23, "Hello?")  # ...and then silence
                api.push_text(-24, f"{MENTION} hi", user_id=23)  # stranger's group: silence
                api.push_text(21, "Allowed user?")
                api.push_text(-22, f"{MENTION} Allowed group?", user_id=99)
                await api.wait_messages(21, 1)
                await api.wait_messages(-22, 1)
                await api.settle()
                refusals = api.bot_messages(23)
                assert len(refusals) == 1
                assert "private" in refusals[0].text and "23" in refusals[0].text
                assert api.bot_messages(-24) == []
                assert sorted(q for _, q in service.calls) == ["Allowed group?", "Allowed user?"]

    asyncio.run(scenario())


def test_rate_limit_and_question_length(make_settings: Callable[..., Settings]) -> None:
    service = EchoService(max_question_chars=40)

    async def scenario() -> None:
        async with FakeBotApi() as api:
            settings = make_settings(
                telegram={"base_url": api.base_url, "allow_all": True, "rate_limit_per_minute": 2},
                answer={"max_question_chars": 40},
            )
            async with run_bot(service, settings):
                api.push_text(31, "x" * 41)  # too long: refused before retrieval (counts)
                for i in range(4):
                    api.push_text(31, f"question {i}")
                await api.wait_messages(31, 3)
                await api.settle()
                sent = [m.text for m in api.bot_messages(31)]
                assert sent[0].startswith("That question is too long (41 characters")
                assert sent[1].startswith("You asked: question 0")
                assert sent[2].startswith("You are asking faster than I can keep up (2 questions")
                assert len(sent) == 3  # the warning is not repeated
                api.push_text(32, "another user is not limited")
                await api.wait_messages(32, 1)
                assert [q for _, q in service.calls] == [
                    "question 0",
                    "another user is not limited",
                ]

    asyncio.run(scenario())


def test_repeated_update_ids_are_answered_once(make_settings: Callable[..., Settings]) -> None:
    service = EchoService()

    async def scenario() -> None:
        async with FakeBotApi() as api, run_bot(service, tg_settings(make_settings, api)) as app:
            api.push_text(41, "once")
            update = api.pending[-1]
            api.push_update(dict(update))  # Telegram resends the same update_id
            await api.wait_messages(41, 1)
            # and again, after it was confirmed (e.g. a webhook retry)
            from telegram import Update

            await app.update_queue.put(Update.de_json(update, app.bot))
            api.push_text(41, "twice")
            await api.wait_messages(41, 2)
            await api.settle()
            assert [q for _, q in service.calls] == ["once", "twice"]

    asyncio.run(scenario())


def test_unparseable_html_is_resent_as_plain_text(make_settings: Callable[..., Settings]) -> None:
    service = EchoService()

    async def scenario() -> None:
        async with FakeBotApi() as api, run_bot(service, tg_settings(make_settings, api)):
            api.inject("sendMessage", "parse_error", count=1)
            api.push_text(51, "a <b> & c")
            msg = (await api.wait_messages(51, 1))[0]
            assert msg.parse_mode is None
            assert msg.text.startswith("You asked: a <b> & c [1]")
            assert "A fake article (https://example.org/a1)" in msg.text
            assert msg.buttons(), "the buttons survive the fallback"

    asyncio.run(scenario())


def test_streamed_answers_edit_at_most_once_per_interval(
    make_settings: Callable[..., Settings],
) -> None:
    tokens = [f"word{i} " for i in range(40)]
    service = EchoService(tokens=tokens, token_delay_s=0.05)

    async def scenario() -> None:
        async with FakeBotApi() as api:
            settings = tg_settings(make_settings, api, stream_edit_interval_s=0.5)
            async with run_bot(service, settings):
                api.push_text(61, "stream please")
                await api.wait_for(
                    lambda: any(m.buttons() for m in api.bot_messages(61)), what="final answer"
                )
                await api.settle()
        messages = api.bot_messages(61)
        assert len(messages) == 1
        msg = messages[0]
        assert msg.parse_mode == "HTML" and msg.text.startswith("You asked: stream please")
        times = [msg.sent_at, *msg.edits]
        assert len(msg.edits) >= 2
        gaps = [b - a for a, b in itertools.pairwise(times)]
        assert min(gaps) >= 0.5, gaps
        previews = [c.params["text"] for c in api.ok("editMessageText")][:-1]
        assert all(p.startswith("word0 word1") for p in previews)
        assert_sent_properly(api)

    asyncio.run(scenario())


def test_errors_are_logged_and_answered_politely(
    make_settings: Callable[..., Settings], caplog: pytest.LogCaptureFixture
) -> None:
    def explode(question: str) -> Answer:
        if "boom" in question:
            raise RuntimeError("the answerer broke")
        return echo_answer(question)

    service = EchoService(make_answer=explode)

    async def scenario() -> None:
        async with FakeBotApi() as api, run_bot(service, tg_settings(make_settings, api)):
            api.push_text(71, "boom")
            assert (await api.wait_messages(71, 1))[0].text == texts.ERROR
            # a send that times out (PTB's read timeout is 5 s) is not retried blindly
            api.inject("sendMessage", "timeout", count=1, hang_s=8)
            api.push_text(71, "slow network")
            assert (await api.wait_messages(71, 2))[1].text == texts.ERROR
            api.push_text(71, "fine again")
            assert (await api.wait_messages(71, 3))[2].text.startswith("You asked: fine again")

    with caplog.at_level(logging.ERROR, logger="bot.telegram"):
        asyncio.run(scenario())
    errors = [r for r in caplog.records if r.name == "bot.telegram.handlers"]
    assert len(errors) == 2 and all(r.exc_info for r in errors)
    assert "RuntimeError: the answerer broke" in caplog.text


def test_help_reset_unknown_commands_and_non_text(make_settings: Callable[..., Settings]) -> None:
    service = EchoService()

    async def scenario() -> None:
        async with FakeBotApi() as api, run_bot(service, tg_settings(make_settings, api)):
            api.push_text(81, "/start")
            welcome = (await api.wait_messages(81, 1))[0]
            assert "I know 2 articles from 2024-01-02 to 2024-03-04" in welcome.text
            assert "<b>Bold & Co</b>" in welcome.text  # a source name shown, not interpreted
            api.push_text(81, "/sources")
            assert (await api.wait_messages(81, 2))[1].text == texts.NO_SOURCES
            api.push_text(81, "remember me")
            await api.wait_messages(81, 3)
            assert service.last_turn("tg:81") is not None
            api.push_text(81, "/reset")
            assert (await api.wait_messages(81, 4))[3].text == texts.RESET
            assert service.last_turn("tg:81") is None
            api.push_text(81, "/frobnicate")
            assert (await api.wait_messages(81, 5))[4].text == texts.UNKNOWN_COMMAND
            api.chat(81)
            api.push_update(
                {
                    "message": {
                        "message_id": 99,
                        "date": 0,
                        "chat": api.chat(81),
                        "from": api.user(81),
                        "location": {"latitude": 50.85, "longitude": 4.35},
                    }
                }
            )
            assert (await api.wait_messages(81, 6))[5].text == texts.ONLY_TEXT
            api.push_text(81, "/ask")
            assert (await api.wait_messages(81, 7))[6].text.startswith("What would you like")
            assert_sent_properly(api)

    asyncio.run(scenario())


# PTB's RetryAfter warns about its own future API change when it is raised; not ours to fix.
@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")
def test_the_token_never_reaches_a_log_line(
    make_settings: Callable[..., Settings], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)  # every logger, at DEBUG
    service = EchoService(tokens=["streamed "], token_delay_s=0.01)

    async def scenario() -> None:
        async with FakeBotApi() as api:
            settings = tg_settings(make_settings, api, stream_edit_interval_s=0.1)
            async with run_bot(service, settings):
                api.inject("sendChatAction", "429", count=1, retry_after=1)
                api.inject("getUpdates", "timeout", count=1, hang_s=10)
                api.push_text(91, "first question")
                answer = (await api.wait_messages(91, 1))[0]
                await api.wait_for(lambda: bool(api.bot_messages(91)[0].buttons()))
                api.push_callback(91, answer.message_id, answer.buttons()[0]["callback_data"])
                api.push_text(91, "/sources")
                await api.wait_messages(91, 2)
                await api.settle()

    asyncio.run(scenario())
    lines = [r.getMessage() for r in caplog.records]
    assert any("Calling Bot API endpoint `sendMessage`" in line for line in lines), "DEBUG is on"
    assert any(r.name == "telegram.ext.AIORateLimiter" for r in caplog.records), "a 429 was hit"
    # PTB logs the Bot API URL (token included) when the bot is built: it is redacted
    assert "Set Bot API URL: http://127.0.0.1:" in caplog.text
    assert "/bot[redacted]" in caplog.text
    assert not [line for line in lines if TOKEN in line]
    assert TOKEN not in caplog.text
    assert TOKEN.split(":")[1] not in caplog.text
    assert logging.getLogger("httpx").level == logging.WARNING
    assert logging.getLogger("httpcore").level == logging.WARNING


def test_a_group_member_reply_to_someone_else_is_ignored(
    make_settings: Callable[..., Settings],
) -> None:
    service = EchoService()

    async def scenario() -> None:
        async with FakeBotApi() as api, run_bot(service, tg_settings(make_settings, api)):
            other: FakeMessage = api.push_text(-101, "hello all", user_id=5)
            api.push_text(-101, f"nice one {MENTION.upper()}", user_id=6, reply_to=other.message_id)
            reply = (await api.wait_messages(-101, 1))[0]
            assert reply.text.startswith("You asked: nice one [1]")
            assert [q for _, q in service.calls] == ["nice one"]

    asyncio.run(scenario())
