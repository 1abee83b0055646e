"""What the handlers share: the answer service, the settings and the bot's bounded memory."""

from __future__ import annotations

import re
import secrets
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import cast

from telegram.ext import ContextTypes

from bot.ratelimit import RateLimiter
from bot.telegram.access import AccessPolicy, Once, UpdateDeduplicator
from retrieval.answer import Citation
from retrieval.backend import shared_limits
from retrieval.config import Settings
from retrieval.service import ChatService

STATE_KEY = "newsbot"


_CALLBACK = re.compile(r"q:([0-9a-f]{10}):([0-9]{1,3})")


class QuoteStore:
    """The citations behind the quote buttons of recent answers (bounded, newest kept)."""

    def __init__(self, capacity: int = 5_000) -> None:
        self.capacity = capacity
        self._answers: OrderedDict[str, tuple[int, tuple[Citation, ...]]] = OrderedDict()

    def add(self, chat_id: int, citations: Sequence[Citation]) -> str:
        """Remember an answer's citations; returns the key its buttons carry."""
        key = secrets.token_hex(5)
        self._answers[key] = (chat_id, tuple(citations))
        while len(self._answers) > self.capacity:
            self._answers.popitem(last=False)
        return key

    @staticmethod
    def callback_data(key: str, n: int) -> str:
        """The button payload for citation ``n`` (well under Telegram's 64 bytes)."""
        return f"q:{key}:{n}"

    def lookup(self, data: str | None, chat_id: int | None) -> Citation | None:
        """The citation a button payload names, if it is well formed, known and from this
        chat; None otherwise."""
        m = _CALLBACK.fullmatch(data or "")
        if m is None or (entry := self._answers.get(m.group(1))) is None:
            return None
        owner, citations = entry
        if owner != chat_id:
            return None
        n = int(m.group(2))
        return next((c for c in citations if c.n == n), None)

    def __len__(self) -> int:
        return len(self._answers)


@dataclass
class BotState:
    """Everything the handlers need, kept in ``application.bot_data``."""

    service: ChatService
    settings: Settings
    access: AccessPolicy
    limiter: RateLimiter
    dedup: UpdateDeduplicator = field(default_factory=UpdateDeduplicator)
    quotes: QuoteStore = field(default_factory=QuoteStore)
    refusals: Once = field(default_factory=lambda: Once(600.0))
    warnings: Once = field(default_factory=lambda: Once(60.0))

    @classmethod
    def create(cls, service: ChatService, settings: Settings) -> BotState:
        """State for one application, from the configuration."""
        tg = settings.telegram
        state = cls(
            service=service,
            settings=settings,
            access=AccessPolicy.from_settings(tg),
            limiter=RateLimiter(tg.rate_limit_per_minute),
        )
        store = getattr(service, "store", None)
        if store is not None:  # with postgres, limits and update ids are shared by replicas
            limiter, updates = shared_limits(store, tg.rate_limit_per_minute, "telegram")
            if limiter is not None:
                state.limiter, state.dedup = limiter, updates
        return state


def get_state(context: ContextTypes.DEFAULT_TYPE) -> BotState:
    """The bot's shared state from a handler's context."""
    return cast(BotState, context.bot_data[STATE_KEY])


def session_id(chat_id: int) -> str:
    """Each chat is one conversation."""
    return f"tg:{chat_id}"
