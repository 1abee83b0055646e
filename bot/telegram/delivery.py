"""Getting text to a chat: HTML with a plain-text fallback, streaming edits, typing."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable, Sequence

from telegram import InlineKeyboardMarkup, Message, ReplyParameters
from telegram.constants import ChatAction
from telegram.error import BadRequest, TelegramError

from bot.telegram import render

logger = logging.getLogger(__name__)

TYPING_EVERY_S = 4.5  # Telegram shows "typing…" for about five seconds


def is_parse_error(error: BadRequest) -> bool:
    """Telegram could not parse the message's HTML."""
    return "can't parse entities" in error.message.lower()


def _not_modified(error: BadRequest) -> bool:
    return "message is not modified" in error.message.lower()


class Replier:
    """Sends and edits messages in the chat of one incoming message.

    In groups the first message replies to the question, so the thread stays readable.
    HTML that Telegram cannot parse is sent again as plain text.
    """

    def __init__(self, message: Message, *, quote: bool = False) -> None:
        self.message = message
        self.quote = quote
        self._quoted = False

    def _reply_parameters(self) -> ReplyParameters | None:
        if not self.quote or self._quoted:
            return None
        self._quoted = True
        return ReplyParameters(self.message.message_id, allow_sending_without_reply=True)

    async def send_plain(
        self, text: str, markup: InlineKeyboardMarkup | None = None
    ) -> Message | None:
        """Send plain text (no parse mode), split to fit; the markup goes on the last part."""
        parts = [p for p in render.split_text(text) if p.strip()]
        sent = None
        for i, part in enumerate(parts):
            sent = await self.message.reply_text(
                part,
                parse_mode=None,
                reply_markup=markup if i == len(parts) - 1 else None,
                reply_parameters=self._reply_parameters(),
            )
        return sent

    async def send(self, html: str, markup: InlineKeyboardMarkup | None = None) -> Message | None:
        """Send one HTML message (at most 4,096 units), or its plain text if unparseable."""
        reply = self._reply_parameters()
        try:
            return await self.message.reply_text(html, reply_markup=markup, reply_parameters=reply)
        except BadRequest as e:
            if not is_parse_error(e):
                raise
            logger.warning("Telegram could not parse our HTML (%s); sending plain text", e)
            if reply is not None:
                self._quoted = False  # the plain-text message carries the reply instead
            return await self.send_plain(render.html_to_plain(html), markup)

    async def send_all(
        self, parts: Sequence[str], markup: InlineKeyboardMarkup | None = None
    ) -> Message | None:
        """Send several HTML messages in order; the markup goes under the last one."""
        sent = None
        for i, part in enumerate(parts):
            sent = await self.send(part, markup if i == len(parts) - 1 else None)
        return sent

    async def edit(
        self, target: Message, html: str, markup: InlineKeyboardMarkup | None = None
    ) -> None:
        """Replace a message's text with HTML, or its plain text if unparseable."""
        try:
            await target.edit_text(html, reply_markup=markup)
        except BadRequest as e:
            if _not_modified(e):
                return
            if not is_parse_error(e):
                raise
            logger.warning("Telegram could not parse our HTML (%s); editing as plain text", e)
            plain = render.plain_parts(html) or ["…"]
            await self.edit_plain(target, plain[0], None if plain[1:] else markup)
            for i, part in enumerate(plain[1:], start=2):
                await self.send_plain(part, markup if i == len(plain) else None)

    async def edit_plain(
        self, target: Message, text: str, markup: InlineKeyboardMarkup | None = None
    ) -> None:
        """Replace a message's text with plain text (no parse mode)."""
        try:
            await target.edit_text(text, parse_mode=None, reply_markup=markup)
        except BadRequest as e:
            if not _not_modified(e):
                raise


class StreamingReply:
    """Shows an answer while it is written, editing one message at most once per interval.

    Tokens are previewed as plain text (they are not verified yet); :meth:`finish` replaces
    the preview with the final rendered answer.
    """

    def __init__(
        self,
        replier: Replier,
        interval_s: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.replier = replier
        self.interval_s = interval_s
        self._clock = clock
        self._text = ""
        self._shown = ""
        self._message: Message | None = None
        self._last = float("-inf")

    async def token(self, text: str) -> None:
        """Add streamed text; update the preview if the interval has passed."""
        self._text += text
        if self._clock() - self._last >= self.interval_s:
            await self._update()

    async def _update(self) -> None:
        preview = render.preview_text(self._text)
        if not preview or preview == self._shown:
            return
        if self._message is None:
            self._message = await self.replier.send_plain(preview)
        else:
            await self.replier.edit_plain(self._message, preview)
        self._shown = preview
        self._last = self._clock()

    async def finish(self, parts: Sequence[str], markup: InlineKeyboardMarkup | None) -> None:
        """Deliver the final answer: the preview becomes its first part."""
        if not parts:
            return
        if self._message is None:
            await self.replier.send_all(parts, markup)
            return
        wait = self._last + self.interval_s - self._clock()
        if wait > 0:
            await asyncio.sleep(wait)
        first, rest = parts[0], parts[1:]
        await self.replier.edit(self._message, first, None if rest else markup)
        self._last = self._clock()
        await self.replier.send_all(rest, markup)


@contextlib.asynccontextmanager
async def typing(message: Message) -> AsyncIterator[None]:
    """Show "typing…" in the message's chat until the block ends."""

    async def keep_typing() -> None:
        while True:
            try:
                await message.reply_chat_action(ChatAction.TYPING)
            except TelegramError as e:  # cosmetic: never fail an answer for it
                logger.debug("typing action failed: %s", e)
            await asyncio.sleep(TYPING_EVERY_S)

    task = asyncio.create_task(keep_typing())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
