"""Webhook mode: Telegram POSTs updates to us; the secret header is checked in constant time.

PTB's own webhook server compares the ``X-Telegram-Bot-Api-Secret-Token`` header with ``!=``
and logs the value it received, so this small tornado server (tornado comes with
``python-telegram-bot[webhooks]``) takes its place and feeds ``application.update_queue``.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import re
from collections.abc import Callable
from http import HTTPStatus
from typing import Any
from urllib.parse import urlsplit

import tornado.web
from telegram import Update
from telegram.ext import Application
from tornado.httpserver import HTTPServer
from tornado.netutil import bind_sockets

from bot.telegram import logsafe
from bot.telegram.handlers import ALLOWED_UPDATES
from retrieval.config import TelegramSettings
from retrieval.errors import ConfigError

logger = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
MAX_BODY = 1_048_576  # an update is a few kilobytes
_SECRET_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")


def webhook_config(settings: TelegramSettings) -> tuple[str, str, str]:
    """The public URL, the secret and the local path, checked; ConfigError names the key."""
    url = (settings.webhook_url or "").strip()
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(
            "telegram.webhook_url: webhook mode needs the public http(s) URL Telegram posts to"
        )
    secret = settings.webhook_secret.get_secret_value() if settings.webhook_secret else ""
    if not 1 <= len(secret) <= 256 or not set(secret) <= _SECRET_CHARS:
        raise ConfigError(
            "telegram.webhook_secret: webhook mode needs a secret of 1-256 characters "
            "A-Z a-z 0-9 _ - (write ${TELEGRAM_WEBHOOK_SECRET} in config.yaml)"
        )
    return url, secret, parts.path or "/"


class TelegramWebhookHandler(tornado.web.RequestHandler):
    """Accepts a POSTed update only with the right secret header."""

    SUPPORTED_METHODS = ("POST",)

    def initialize(self, bot_app: Application[Any, Any, Any, Any, Any, Any], secret: str) -> None:
        self.bot_app = bot_app
        self.secret = secret.encode()

    async def post(self) -> None:
        presented = self.request.headers.get(SECRET_HEADER, "").encode("utf-8", "replace")
        if not hmac.compare_digest(presented, self.secret):
            logger.warning("webhook: refused a request without the right secret token")
            self.set_status(HTTPStatus.FORBIDDEN)
            return
        try:
            data = json.loads(self.request.body)
            update = Update.de_json(data, self.bot_app.bot)
        except Exception:  # any malformed body: Telegram never sends one
            logger.warning("webhook: refused a body that is not an update")
            self.set_status(HTTPStatus.BAD_REQUEST)
            return
        if update is not None:
            await self.bot_app.update_queue.put(update)
        self.set_status(HTTPStatus.OK)

    def log_exception(self, *args: Any) -> None:
        logger.warning("webhook: error while reading a request", exc_info=args[1] if args else None)


class WebhookServer:
    """The HTTP server Telegram posts to; serves only ``path``."""

    def __init__(
        self,
        application: Application[Any, Any, Any, Any, Any, Any],
        secret: str,
        path: str = "/",
        listen: str = "127.0.0.1",
        port: int = 8443,
    ) -> None:
        routes = [
            (
                rf"{_route(path)}/?",
                TelegramWebhookHandler,
                {"bot_app": application, "secret": secret},
            )
        ]
        app = tornado.web.Application(routes, log_function=lambda handler: None)
        self._server = HTTPServer(app, max_body_size=MAX_BODY, xheaders=False)
        self.listen, self.port = listen, port

    async def start(self) -> int:
        """Listen; returns the port (useful when ``port`` is 0)."""
        sockets = bind_sockets(self.port, self.listen)
        self._server.add_sockets(sockets)
        self.port = sockets[0].getsockname()[1]
        logger.info("webhook server listening on %s:%d", self.listen, self.port)
        return self.port

    async def stop(self) -> None:
        """Stop accepting requests and close open connections."""
        self._server.stop()
        await self._server.close_all_connections()


def _route(path: str) -> str:
    return re.escape(path.rstrip("/"))


async def serve_webhook(
    application: Application[Any, Any, Any, Any, Any, Any],
    settings: TelegramSettings,
    stop: asyncio.Event,
    ready: Callable[[int], None] | None = None,
) -> None:
    """Register the webhook with Telegram and handle updates until ``stop`` is set.

    Args:
        application: the bot, not yet initialized.
        settings: ``telegram.*``: webhook_url, webhook_secret, webhook_listen, webhook_port.
        stop: set it to shut down.
        ready: called with the port once the server listens (port 0 picks a free one).
    """
    url, secret, path = webhook_config(settings)
    logsafe.protect(secret)
    server = WebhookServer(
        application, secret, path, settings.webhook_listen, settings.webhook_port
    )
    async with application:
        if application.post_init is not None:  # run_polling/run_webhook would call it
            await application.post_init(application)
        await application.bot.set_webhook(
            url=url, secret_token=secret, allowed_updates=ALLOWED_UPDATES
        )
        port = await server.start()
        await application.start()
        if ready is not None:
            ready(port)
        try:
            await stop.wait()
        finally:
            await server.stop()
            await application.stop()
