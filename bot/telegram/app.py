"""`newsbot telegram`: the python-telegram-bot Application and how it runs.

The token comes only from $TELEGRAM_BOT_TOKEN. Long polling by default; with
``telegram.mode: webhook`` the same process serves the webhook (see ``webhook.py``).
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import signal
from typing import Any

from telegram import BotCommand, LinkPreviewOptions, Update
from telegram.constants import ParseMode
from telegram.error import InvalidToken, NetworkError, TelegramError
from telegram.ext import (
    AIORateLimiter,
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    Defaults,
    MessageHandler,
    TypeHandler,
    filters,
)

from bot.telegram import follows, handlers, logsafe
from bot.telegram.ordering import ChatOrderedProcessor
from bot.telegram.state import STATE_KEY, BotState
from bot.telegram.webhook import serve_webhook, webhook_config
from retrieval.config import Settings, TelegramSettings
from retrieval.errors import ConfigError
from retrieval.service import ChatService

logger = logging.getLogger(__name__)

TOKEN_ENV = "TELEGRAM_BOT_TOKEN"
_TOKEN_SHAPE = re.compile(r"[0-9]{1,20}:[A-Za-z0-9_-]{1,200}")  # Telegram checks the rest
RETRY_AFTER_RETRIES = 4  # a request refused with 429 is retried after the time Telegram asks
COMMANDS = [
    BotCommand("help", "what I know and how to ask"),
    BotCommand("sources", "the sources of my last answer, with quotes"),
    BotCommand("reset", "forget our conversation"),
    BotCommand("ask", "ask a question (in groups)"),
    BotCommand("follow", "follow a topic: I message you when news on it arrives"),
    BotCommand("following", "the topics you follow"),
    BotCommand("unfollow", "stop following a topic"),
    BotCommand("briefing", "a daily briefing at HH:MM, or off"),
]


def _file_url(base_url: str) -> str:
    """The file download URL that goes with a Bot API URL (``…/bot`` → ``…/file/bot``)."""
    i = base_url.rfind("/bot")
    return f"{base_url[:i]}/file{base_url[i:]}" if i >= 0 else base_url


async def _post_init(application: Application[Any, Any, Any, Any, Any, Any]) -> None:
    logger.info("connected to the Bot API as @%s", application.bot.username)
    try:
        await application.bot.set_my_commands(COMMANDS)
    except TelegramError as e:  # the menu is a convenience; the bot works without it
        logger.warning("could not set the command menu: %s", e)
    follows.start_alerts(application)


def build_application(
    service: ChatService, settings: Settings, token: str
) -> Application[Any, Any, Any, Any, Any, Any]:
    """The bot: handlers over ``service``, HTML without link previews, 429s retried,
    chats answered concurrently but each in order.

    Args:
        service: answers questions (a ``NewsService``, or anything with its stream API).
        settings: the configuration (``telegram`` and ``answer.max_question_chars``).
        token: the bot token; it never reaches a log line.

    Returns:
        The Application, not yet initialized.
    """
    logsafe.protect(token)
    tg = settings.telegram
    defaults = Defaults(
        parse_mode=ParseMode.HTML, link_preview_options=LinkPreviewOptions(is_disabled=True)
    )
    application = (
        ApplicationBuilder()
        .token(token)
        .base_url(tg.base_url)
        .base_file_url(_file_url(tg.base_url))
        .defaults(defaults)
        .rate_limiter(AIORateLimiter(max_retries=RETRY_AFTER_RETRIES))
        .concurrent_updates(ChatOrderedProcessor())
        .post_init(_post_init)
        .post_stop(follows.stop_alerts)
        .build()
    )
    application.bot_data[STATE_KEY] = BotState.create(service, settings)

    message = filters.UpdateType.MESSAGE
    private, groups = filters.ChatType.PRIVATE, filters.ChatType.GROUPS
    question = message & filters.TEXT & ~filters.COMMAND
    application.add_handler(TypeHandler(Update, handlers.gate), group=-1)
    application.add_handler(CommandHandler(["start", "help"], handlers.help_command, message))
    application.add_handler(CommandHandler("reset", handlers.reset, message))
    application.add_handler(CommandHandler("sources", handlers.sources, message))
    application.add_handler(CommandHandler("ask", handlers.ask_command, message))
    application.add_handler(CommandHandler("follow", follows.follow, message))
    application.add_handler(CommandHandler("following", follows.following, message))
    application.add_handler(CommandHandler("unfollow", follows.unfollow, message))
    application.add_handler(CommandHandler("briefing", follows.briefing, message))
    application.add_handler(CallbackQueryHandler(handlers.show_quote))
    application.add_handler(MessageHandler(question & private, handlers.ask))
    application.add_handler(
        MessageHandler(question & groups & handlers.ADDRESSED_TO_BOT, handlers.ask)
    )
    application.add_handler(
        MessageHandler(message & filters.COMMAND & private, handlers.unknown_command)
    )
    application.add_handler(MessageHandler(message & private, handlers.only_text))
    application.add_error_handler(handlers.on_error)
    return application


def read_token() -> str:
    """The bot token from $TELEGRAM_BOT_TOKEN; ConfigError when missing or malformed."""
    token = os.environ.get(TOKEN_ENV, "").strip()
    if not token:
        raise ConfigError(
            f"${TOKEN_ENV} is not set: create a bot with @BotFather and run "
            f"`{TOKEN_ENV}=<token> newsbot telegram` (the token is never read from config.yaml)"
        )
    if not _TOKEN_SHAPE.fullmatch(token):
        raise ConfigError(f"${TOKEN_ENV} does not look like a bot token (digits:letters)")
    return token


def _configure_logging() -> None:
    if not logging.root.handlers:
        logging.basicConfig(
            level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
        )


async def _run_webhook(
    application: Application[Any, Any, Any, Any, Any, Any], settings: TelegramSettings
) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await serve_webhook(application, settings, stop)


def run(settings: Settings) -> int:
    """Run the bot until interrupted (Ctrl-C or SIGTERM); returns the exit code.

    Raises:
        ConfigError: no or malformed token, bad webhook settings, token rejected by
            Telegram, or the Bot API unreachable at start.
    """
    from retrieval.service import NewsService

    token = read_token()
    tg = settings.telegram
    secret = webhook_config(tg)[1] if tg.mode == "webhook" else None
    _configure_logging()
    logsafe.protect(token, secret)
    service = NewsService(settings)
    service.ensure_index(progress=False)
    service.warm_up()
    application = build_application(service, settings, token)
    logger.info("starting the Telegram bot (%s)", tg.mode)
    try:
        if tg.mode == "webhook":
            asyncio.run(_run_webhook(application, tg))
        else:
            application.run_polling(allowed_updates=handlers.ALLOWED_UPDATES)
    except InvalidToken:
        raise ConfigError(f"Telegram rejected ${TOKEN_ENV}; check it with @BotFather") from None
    except NetworkError as e:
        raise ConfigError(f"cannot reach the Telegram Bot API (telegram.base_url): {e}") from None
    logger.info("the Telegram bot stopped")
    return 0
