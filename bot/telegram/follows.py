"""/follow, /following, /unfollow, /briefing, and the loop that delivers alerts.

Alerts wait in the follows outbox (SQLite) until Telegram accepted them, so a restart loses
none; a chat that blocked the bot (403) is unsubscribed. The loop is an asyncio task the
Application owns (python-telegram-bot's JobQueue needs the ``job-queue`` extra, which newsbot
does not install); each round scans for new feed articles off the event loop, then sends.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from telegram import Bot, Message, Update
from telegram.error import BadRequest, Forbidden, TelegramError
from telegram.ext import Application, ContextTypes

from bot.telegram import render, texts
from bot.telegram.delivery import Replier, is_parse_error
from bot.telegram.state import STATE_KEY, BotState, get_state, session_id
from retrieval.answer import Citation
from retrieval.errors import InputError
from retrieval.follows.alerts import Alert, alert_text
from retrieval.follows.service import Follows

logger = logging.getLogger(__name__)

CHAT_PREFIX = "tg:"
TASK_KEY = "newsbot.alerts"
_TIME = re.compile(r"([01]?[0-9]|2[0-3]):([0-5][0-9])")


def _follows(state: BotState) -> Follows | None:
    follows = getattr(state.service, "follows", None)
    return follows if isinstance(follows, Follows) else None


def _argument(message: Message) -> str:
    return re.sub(r"^/\S*\s*", "", message.text or "", count=1).strip()


async def _reply(update: Update, html: str) -> None:
    message = update.effective_message
    assert isinstance(message, Message)
    chat = update.effective_chat
    await Replier(message, quote=chat is not None and chat.type != chat.PRIVATE).send(html)


# --- commands --------------------------------------------------------------------------


async def follow(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Follow the topic written after /follow."""
    follows = _follows(get_state(context))
    message, chat = update.effective_message, update.effective_chat
    assert isinstance(message, Message) and chat is not None
    if follows is None:
        await _reply(update, texts.FOLLOWS_OFF)
        return
    topic = _argument(message)
    if not topic:
        await _reply(update, texts.FOLLOW_WHAT)
        return
    try:
        f = await asyncio.to_thread(follows.follow, session_id(chat.id), topic)
    except InputError as e:
        await _reply(update, texts.FOLLOW_ERROR.format(reason=render.esc(str(e))))
        return
    await _reply(update, texts.FOLLOWED.format(topic=render.esc(f.topic), id=f.id))


async def following(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """List the topics this chat follows, with their ids."""
    follows = _follows(get_state(context))
    chat = update.effective_chat
    assert chat is not None
    if follows is None:
        await _reply(update, texts.FOLLOWS_OFF)
        return
    listed = await asyncio.to_thread(follows.following, session_id(chat.id))
    if not listed:
        await _reply(update, texts.FOLLOWING_NONE)
        return
    lines = "\n".join(f"{f.id}. {render.esc(f.topic)}" for f in listed)
    await _reply(update, texts.FOLLOWING.format(lines=lines))


async def unfollow(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Stop following the topic whose id is written after /unfollow."""
    follows = _follows(get_state(context))
    message, chat = update.effective_message, update.effective_chat
    assert isinstance(message, Message) and chat is not None
    if follows is None:
        await _reply(update, texts.FOLLOWS_OFF)
        return
    arg = _argument(message).lstrip("#")
    if not arg.isdigit():
        await _reply(update, texts.UNFOLLOW_WHAT)
        return
    gone = await asyncio.to_thread(follows.unfollow, session_id(chat.id), int(arg))
    if gone is None:
        await _reply(update, texts.NO_SUCH_FOLLOW.format(id=int(arg)))
        return
    await _reply(update, texts.UNFOLLOWED.format(topic=render.esc(gone.topic)))


async def briefing(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Schedule this chat's daily briefing (HH:MM [time zone]), or stop it (off)."""
    follows = _follows(get_state(context))
    message, chat = update.effective_message, update.effective_chat
    assert isinstance(message, Message) and chat is not None
    if follows is None:
        await _reply(update, texts.FOLLOWS_OFF)
        return
    words = _argument(message).split()
    if words[:1] == ["off"]:
        await asyncio.to_thread(follows.store.set_briefing, session_id(chat.id), None)
        await _reply(update, texts.BRIEFING_OFF)
        return
    m = _TIME.fullmatch(words[0]) if words else None
    tz = words[1] if len(words) > 1 else "UTC"
    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        m = None
    if m is None or len(words) > 2:
        await _reply(update, texts.BRIEFING_WHAT)
        return
    at = f"{int(m.group(1)):02d}:{m.group(2)}"
    await asyncio.to_thread(follows.store.set_briefing, session_id(chat.id), at, tz)
    await _reply(update, texts.BRIEFING_SET.format(at=at, tz=render.esc(tz)))


# --- alerts ----------------------------------------------------------------------------


def _headline(c: Citation) -> str:
    meta = " · ".join(render.esc(x) for x in (c.source, (c.date or "")[:10]) if x)
    title = f"<b>{render.esc(c.title)}</b>"
    return f"{title}\n{meta}" if meta else title


def _link(c: Citation, text: str = "Read the article") -> str:
    url = render.safe_url(c.url)
    return f'<a href="{render.esc(url).replace(chr(34), "&quot;")}">{text}</a>' if url else ""


def alert_html(alert: Alert) -> str:
    """An alert as one Telegram HTML message: topic, headline, outlet and date, the cited
    sentence, the link."""
    topic = render.esc(alert.topic)
    if alert.kind == "more":
        lines = [f"… and {len(alert.more)} more on <b>{topic}</b>:"]
        for c in alert.more:
            link = _link(c, "link")
            lines.append(f"• {render.esc(c.title)} ({render.esc(c.source or '')}) {link}".strip())
        return "\n".join(lines)
    if alert.kind == "briefing":
        lines = [f"<b>Briefing: {topic}</b> ({render.esc(alert.day or '')})"]
        for c in alert.more:
            lines.append(
                f"• {render.esc((c.date or '')[:10])} {render.esc(c.quote)} {_link(c, 'link')}"
            )
        if not alert.more:
            lines.append(f"Nothing new on {topic}.")
        return "\n".join(lines)
    cited = alert.citation
    assert cited is not None
    parts = [
        f"🔔 New on <b>{topic}</b>",
        _headline(cited),
        f"<blockquote>{render.esc(cited.quote)}</blockquote>[1] {_link(cited)}".rstrip(),
        f"<i>/unfollow {alert.follow_id} to stop</i>",
    ]
    return "\n".join(parts)


def _chat_id(alert: Alert) -> int | None:
    rest = alert.chat[len(CHAT_PREFIX) :]
    return int(rest) if alert.chat.startswith(CHAT_PREFIX) and rest.lstrip("-").isdigit() else None


async def send_alert(bot: Bot, state: BotState, follows: Follows, alert: Alert) -> bool:
    """Send one alert and take it out of the outbox; False when it must wait (Telegram did
    not accept it: a network error, or 429s past the limiter's retries)."""
    chat_id = _chat_id(alert)
    if chat_id is None or not state.access.allows(chat_id if chat_id > 0 else None, chat_id):
        logger.info("alert %d dropped: chat %s is not allowed", alert.id, alert.chat)
        await asyncio.to_thread(follows.delivered, alert)
        return True
    html = alert_html(alert)
    try:
        try:
            await bot.send_message(chat_id, html)
        except BadRequest as e:
            if not is_parse_error(e):
                raise
            await bot.send_message(
                chat_id, render.split_text(alert_text(alert))[0], parse_mode=None
            )
    except Forbidden as e:
        n = await asyncio.to_thread(follows.forget_chat, alert.chat)
        logger.info("chat %s blocked the bot (%s): %d follows dropped", chat_id, e, n)
        return True
    except BadRequest as e:
        logger.warning("alert %d to chat %s refused (%s); dropped", alert.id, chat_id, e)
    except TelegramError as e:
        logger.warning("alert %d to chat %s not sent yet: %s", alert.id, chat_id, e)
        return False
    await asyncio.to_thread(follows.delivered, alert)
    return True


async def deliver_once(bot: Bot, state: BotState, follows: Follows) -> int:
    """One round: scan for new articles and make the due briefings, then send every pending
    alert in order (stopping at the first that must wait, so that none overtakes another)."""
    if not await asyncio.to_thread(follows.claim_delivery, "telegram"):
        return 0  # another replica delivers this round (a shared database)
    try:
        try:
            await asyncio.to_thread(follows.tick)
        except Exception:  # a failed scan must not hold back what is queued already
            logger.exception("scanning for alerts failed; sending those queued")
        sent = 0
        for alert in await asyncio.to_thread(follows.pending, CHAT_PREFIX):
            if not await send_alert(bot, state, follows, alert):
                break
            sent += 1
        return sent
    finally:
        await asyncio.to_thread(follows.release_delivery, "telegram")


async def _loop(application: Application[Any, Any, Any, Any, Any, Any]) -> None:
    state: BotState = application.bot_data[STATE_KEY]
    follows = _follows(state)
    if follows is None:
        return
    every = follows.settings.check_every_s
    while True:
        try:
            await deliver_once(application.bot, state, follows)
        except Exception:  # a bad round must not end alerts for good
            logger.exception("alert delivery failed; retrying in %.0f s", every)
        await asyncio.sleep(every)


def start_alerts(application: Application[Any, Any, Any, Any, Any, Any]) -> None:
    """Start delivering alerts (in post_init; tests call it after start)."""
    if TASK_KEY not in application.bot_data:
        application.bot_data[TASK_KEY] = asyncio.get_running_loop().create_task(
            _loop(application), name="newsbot-alerts"
        )


async def stop_alerts(application: Application[Any, Any, Any, Any, Any, Any]) -> None:
    """Stop the alert loop (an alert being sent stays in the outbox unless it was sent)."""
    task = application.bot_data.pop(TASK_KEY, None)
    if task is not None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
