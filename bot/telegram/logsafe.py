"""Keep the bot token (and the webhook secret) out of every log line.

httpx logs each request URL at INFO, and Bot API URLs contain the token, so the ``httpx``
and ``httpcore`` loggers are set to WARNING. python-telegram-bot itself logs the Bot API URL
at DEBUG when a bot is created; a filter on its loggers replaces secrets with ``[redacted]``.
"""

from __future__ import annotations

import logging

QUIET = ("httpx", "httpcore")
REDACTED = "[redacted]"
# Loggers whose records may carry a URL with the token in it.
_FILTERED_PREFIXES = ("telegram", "httpx", "httpcore", "tornado", "bot.telegram")


class RedactingFilter(logging.Filter):
    """Replaces known secrets in a record's message and traceback text."""

    def __init__(self) -> None:
        super().__init__()
        self._secrets: set[str] = set()

    def add(self, secret: str | None) -> None:
        """Redact this value from now on (values shorter than 8 characters are ignored)."""
        if secret and len(secret) >= 8:
            self._secrets.add(secret)

    def _clean(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, REDACTED)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        if not self._secrets:
            return True
        try:
            message = record.getMessage()
        except Exception:  # a malformed record: leave it to the handler to report
            return True
        clean = self._clean(message)
        if clean != message:
            record.msg, record.args = clean, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self._clean(record.exc_text)
        return True


REDACTOR = RedactingFilter()


def protect(*secrets: str | None) -> None:
    """Quiet httpx/httpcore and redact ``secrets`` from the bot's and its libraries' logs.

    Filters on a logger apply only to records created on that very logger, so the filter is
    put on every existing logger of the libraries that talk to the Bot API (python-telegram-bot
    creates its loggers at import time).
    """
    for name in QUIET:
        logger = logging.getLogger(name)
        if logger.level < logging.WARNING:  # NOTSET too: the root's level must not apply
            logger.setLevel(logging.WARNING)
    for secret in secrets:
        REDACTOR.add(secret)
    names = [n for n in logging.root.manager.loggerDict if n.startswith(_FILTERED_PREFIXES)]
    for name in {*names, *_FILTERED_PREFIXES}:
        logger = logging.getLogger(name)
        if REDACTOR not in logger.filters:
            logger.addFilter(REDACTOR)
