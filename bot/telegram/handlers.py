"""The bot's handlers, in the shape of python-telegram-bot's examples.

Private chats: every text message is a question. Groups: commands, messages that mention
the bot, and replies to the bot's own messages; everything else is ignored. Retrieval runs
off the event loop (the service streams from a worker thread).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from typing import Any

from telegram import (
    Chat,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    MessageEntity,
    Update,
)
from telegram.error import NetworkError, TelegramError
from telegram.ext import ApplicationHandlerStop, ContextTypes, filters

from bot.telegram import render, texts
from bot.telegram.delivery import Replier, StreamingReply, typing
from bot.telegram.state import BotState, QuoteStore, get_state, session_id
from retrieval.answer import Answer, FinalEvent, TokenEvent
from retrieval.errors import EmptyQuestionError, InputError, QuestionTooLongError

logger = logging.getLogger(__name__)

ALLOWED_UPDATES = [Update.MESSAGE, Update.CALLBACK_QUERY]  # all the handlers below need
ALERT_MAX = 200  # Telegram's limit for a callback query alert
BUTTONS_PER_ROW = 4


class AddressedToBot(filters.MessageFilter):
    """Messages that mention the bot (@username) or reply to one of its messages."""

    def filter(self, message: Message) -> bool:
        bot = message.get_bot()
        reply = message.reply_to_message
        if reply is not None and reply.from_user is not None and reply.from_user.id == bot.id:
            return True
        mention = f"@{bot.username}".lower()
        entities = message.parse_entities([MessageEntity.MENTION])
        return any(text.lower() == mention for text in entities.values())


ADDRESSED_TO_BOT = AddressedToBot(name="AddressedToBot")


def _is_group(chat: Chat | None) -> bool:
    return chat is not None and chat.type in (Chat.GROUP, Chat.SUPERGROUP)


def _replier(update: Update) -> Replier:
    message = update.effective_message
    assert isinstance(message, Message)
    return Replier(message, quote=_is_group(update.effective_chat))


# --- before any other handler ----------------------------------------------------------


async def gate(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Drop repeated updates and anyone not on the allow-list, before any work is done."""
    state = get_state(context)
    if state.dedup.seen(update.update_id):
        logger.info("dropped repeated update %d", update.update_id)
        raise ApplicationHandlerStop
    user, chat = update.effective_user, update.effective_chat
    if state.access.allows(user.id if user else None, chat.id if chat else None):
        return
    private = chat is not None and chat.type == Chat.PRIVATE
    logger.log(
        logging.INFO if private else logging.DEBUG,  # groups can be busy: keep logs readable
        "refused update %d: user %s in chat %s is not on the allow-list",
        update.update_id,
        user.id if user else None,
        chat.id if chat else None,
    )
    await _refuse(update, state)
    raise ApplicationHandlerStop


async def _refuse(update: Update, state: BotState) -> None:
    """A polite refusal in private chats (at most once per 10 minutes); silence in groups."""
    user, chat, message = update.effective_user, update.effective_chat, update.effective_message
    if update.callback_query is not None:
        await update.callback_query.answer(texts.REFUSED_SHORT)
        return
    if user is None or chat is None or chat.type != Chat.PRIVATE:
        return
    if isinstance(message, Message) and state.refusals.first(user.id):
        await message.reply_text(texts.REFUSED.format(user_id=user.id))


# --- commands --------------------------------------------------------------------------


def help_html(stats: dict[str, Any] | None, username: str | None, group: bool) -> str:
    """The /help text: what the index holds, and how to ask."""
    if stats is None:
        articles, dates, sources = texts.NO_INDEX, "", ""
    else:
        n = int(stats.get("articles", 0))
        articles = f"{n} article{'s' if n != 1 else ''}"
        span = stats.get("date_range") or []
        dates = ""
        if len(span) == 2:
            first, last = span
            dates = f" published on {first}" if first == last else f" from {first} to {last}"
        names = [s for s in (stats.get("sources") or {}) if s and s != "(unknown)"]
        shown = ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
        sources = f", from {shown}" if names else ""
    hint = texts.GROUP_HINT.format(mention=f"@{username}") if group and username else ""
    return texts.HELP.format(
        articles=render.esc(articles),
        dates=render.esc(dates),
        sources=render.esc(sources),
        group_hint=render.esc(hint),
    )


async def help_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Say what the bot knows (articles, dates, sources) and how to ask."""
    state = get_state(context)
    try:
        stats: dict[str, Any] | None = await asyncio.to_thread(state.service.stats)
    except Exception as e:  # the index may be missing: help still helps
        logger.warning("could not read index stats for /help: %s", e)
        stats = None
    group = _is_group(update.effective_chat)
    await _replier(update).send(help_html(stats, context.bot.username, group))


async def reset(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Forget this chat's conversation."""
    state = get_state(context)
    chat = update.effective_chat
    assert chat is not None
    await asyncio.to_thread(state.service.reset, session_id(chat.id))
    await _replier(update).send(texts.RESET)


async def sources(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """List the sources of this chat's last answer, with their quotes."""
    state = get_state(context)
    chat = update.effective_chat
    assert chat is not None
    turn = await asyncio.to_thread(state.service.last_turn, session_id(chat.id))
    replier = _replier(update)
    if turn is None:
        await replier.send(texts.NO_SOURCES)
        return
    citations = turn.citations
    if not citations:
        await replier.send(texts.ABSTAINED_SOURCES)
        return
    await replier.send_all(render.sources_html(citations))


async def unknown_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Point to /help (private chats only)."""
    await _replier(update).send(texts.UNKNOWN_COMMAND)


async def only_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Explain that only text is understood (private chats only)."""
    await _replier(update).send(texts.ONLY_TEXT)


# --- questions -------------------------------------------------------------------------


def _without_mention(text: str, username: str | None) -> str:
    if username:
        text = re.sub(rf"@{re.escape(username)}\b", " ", text, flags=re.IGNORECASE)
    return text.strip()


async def ask(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Answer a text message as a question (a mention of the bot is removed from it)."""
    message = update.effective_message
    assert isinstance(message, Message)
    await answer_question(
        update, context, _without_mention(message.text or "", context.bot.username)
    )


async def ask_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Answer the question written after /ask."""
    message = update.effective_message
    assert isinstance(message, Message)
    question = re.sub(r"^/\S*\s*", "", message.text or "", count=1)
    await answer_question(update, context, _without_mention(question, context.bot.username))


def quote_keyboard(state: BotState, chat_id: int, answer: Answer) -> InlineKeyboardMarkup | None:
    """One button per source; pressing it shows the quoted sentence."""
    if answer.abstained or not answer.citations:
        return None
    key = state.quotes.add(chat_id, answer.citations)
    buttons = [
        InlineKeyboardButton(
            texts.QUOTE_BUTTON.format(n=c.n), callback_data=QuoteStore.callback_data(key, c.n)
        )
        for c in answer.citations
    ]
    rows = [buttons[i : i + BUTTONS_PER_ROW] for i in range(0, len(buttons), BUTTONS_PER_ROW)]
    return InlineKeyboardMarkup(rows)


async def answer_question(
    update: Update, context: ContextTypes.DEFAULT_TYPE, question: str
) -> None:
    """Check limits, then stream the answer into the chat with its source buttons."""
    state = get_state(context)
    chat, user = update.effective_chat, update.effective_user
    assert chat is not None and user is not None
    replier = _replier(update)
    if not question:
        await replier.send(texts.ASK_WHAT)
        return
    wait = state.limiter.hit(user.id)
    if wait:
        if state.warnings.first(user.id):
            limit = state.settings.telegram.rate_limit_per_minute
            await replier.send(texts.RATE_LIMITED.format(limit=limit, seconds=round(wait + 0.5)))
        return
    stream = StreamingReply(replier, state.settings.telegram.stream_edit_interval_s)
    answer = None
    message = update.effective_message
    assert isinstance(message, Message)
    try:
        async with typing(message):
            # The message's date (UTC) is the day the question is asked: "yesterday" is
            # read from it, and a delayed update still answers as of when it was sent.
            events = state.service.astream(
                question, session_id=session_id(chat.id), as_of=message.date.date()
            )
            async for event in events:
                if isinstance(event, TokenEvent):
                    await stream.token(event.text)
                elif isinstance(event, FinalEvent):
                    answer = event.answer
    except QuestionTooLongError as e:
        await replier.send(texts.TOO_LONG.format(length=e.length, limit=e.limit))
        return
    except EmptyQuestionError:
        await replier.send(texts.ASK_WHAT)
        return
    except InputError as e:
        await replier.send(texts.INPUT_ERROR.format(reason=render.esc(str(e))))
        return
    if answer is None:
        raise RuntimeError("the answer stream ended without a final answer")
    await stream.finish(render.answer_html(answer), quote_keyboard(state, chat.id, answer))


async def show_quote(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Show the quote behind a source button: as an alert if it fits, else as a message."""
    state = get_state(context)
    query = update.callback_query
    assert query is not None
    message = query.message if isinstance(query.message, Message) else None
    wait = state.limiter.hit(query.from_user.id)
    if wait:
        limit = state.settings.telegram.rate_limit_per_minute
        await query.answer(texts.RATE_LIMITED.format(limit=limit, seconds=round(wait + 0.5)))
        return
    citation = state.quotes.lookup(query.data, message.chat.id if message else None)
    if citation is None:
        await query.answer(texts.QUOTE_GONE, show_alert=True)
        return
    alert = f"[{citation.n}] {citation.quote.strip()}"
    if render.utf16_len(alert) <= ALERT_MAX:
        await query.answer(alert, show_alert=True)
        return
    if message is None:  # too old to reply to: the start of the quote will do
        await query.answer(render.split_text(alert, ALERT_MAX - 2)[0] + " …", show_alert=True)
        return
    await query.answer()
    await Replier(message, quote=True).send_all(render.quote_html(citation))


# --- errors ----------------------------------------------------------------------------


async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Log the error with its update id, and apologise in the chat it came from."""
    error = context.error
    if not isinstance(update, Update):
        if isinstance(error, NetworkError):
            logger.warning("Bot API request failed: %s", error)
        else:
            logger.error("error outside of an update", exc_info=error)
        return
    chat = update.effective_chat
    logger.error(
        "error while handling update %d (chat %s)",
        update.update_id,
        chat.id if chat else None,
        exc_info=error,
    )
    if chat is None:
        return
    if update.callback_query is not None:
        # already answered, or too old: the message below still explains
        with contextlib.suppress(TelegramError):
            await update.callback_query.answer()
    try:
        message = update.effective_message
        if isinstance(message, Message):
            await message.reply_text(texts.ERROR)
        else:
            await context.bot.send_message(chat.id, texts.ERROR)
    except TelegramError as e:
        logger.warning("could not tell chat %s about the error: %s", chat.id, e)
