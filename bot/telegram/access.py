"""Who may use the bot, and which updates were already handled (how often: the rate
limiter shared with HTTP, ``bot.ratelimit.RateLimiter``).

All of them keep bounded state in memory: a bot restart forgets them, which is safe (the
allow-list comes from config; Telegram does not resend updates confirmed by getUpdates).
"""

from __future__ import annotations

import time
from collections import OrderedDict, deque
from collections.abc import Callable, Iterable

from retrieval.config import TelegramSettings


class AccessPolicy:
    """The allow-list: a user id or a chat id on the list, or ``allow_all``."""

    def __init__(
        self, user_ids: Iterable[int] = (), chat_ids: Iterable[int] = (), allow_all: bool = False
    ) -> None:
        self.user_ids = frozenset(user_ids)
        self.chat_ids = frozenset(chat_ids)
        self.allow_all = allow_all

    @classmethod
    def from_settings(cls, settings: TelegramSettings) -> AccessPolicy:
        """The policy configured in ``telegram.*``."""
        return cls(settings.allowed_user_ids, settings.allowed_chat_ids, settings.allow_all)

    def allows(self, user_id: int | None, chat_id: int | None) -> bool:
        """True when the user, or the chat they write in, is allowed (empty lists: nobody)."""
        if self.allow_all:
            return True
        return (user_id is not None and user_id in self.user_ids) or (
            chat_id is not None and chat_id in self.chat_ids
        )


class Once:
    """Remembers keys for a while, to say something at most once per period per key."""

    def __init__(
        self, period_s: float, max_keys: int = 10_000, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.period_s = period_s
        self.max_keys = max_keys
        self._clock = clock
        self._until: OrderedDict[int, float] = OrderedDict()

    def first(self, key: int) -> bool:
        """True when ``key`` was not seen in the last period (and remember it now)."""
        now = self._clock()
        until = self._until.pop(key, None)
        if until is not None and until > now:
            self._until[key] = until
            return False
        self._until[key] = now + self.period_s
        while len(self._until) > self.max_keys:
            self._until.popitem(last=False)
        return True


class UpdateDeduplicator:
    """The last ``capacity`` update ids seen; a repeated id is a duplicate."""

    def __init__(self, capacity: int = 10_000) -> None:
        self.capacity = capacity
        self._seen: set[int] = set()
        self._order: deque[int] = deque()

    def seen(self, update_id: int) -> bool:
        """True when ``update_id`` was seen before; otherwise remember it."""
        if update_id in self._seen:
            return True
        self._seen.add(update_id)
        self._order.append(update_id)
        if len(self._order) > self.capacity:
            self._seen.discard(self._order.popleft())
        return False

    def __len__(self) -> int:
        return len(self._seen)
