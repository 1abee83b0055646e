"""One rate limiter for every front end: a token bucket per key, refilled continuously.

HTTP limits each API key (and, separately, wrong keys per client address); Telegram limits
each user. The contract is the same everywhere: ``hit`` spends one token and says how long
to wait when there is none; ``wait`` says the same without spending. With
``store.backend: postgres`` the buckets live in the database instead, shared by every
replica (retrieval/pg/sessions.py ``PgRateLimiter``, made by ``retrieval.backend``).
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Protocol


class Limiter(Protocol):
    """A token bucket per key: this module's, or one shared by replicas in a database."""

    per_minute: int

    def hit(self, key: Hashable) -> float:
        """Spend one token: 0.0 when allowed, else the seconds until one is."""
        ...

    def wait(self, key: Hashable) -> float:
        """Seconds until ``hit`` would be allowed (0.0: now); spends nothing."""
        ...


@dataclass
class _Bucket:
    tokens: float
    updated: float


class RateLimiter:
    """``per_minute`` events a minute per key, in bursts of up to ``per_minute``.

    A key starts with a full bucket; each event spends a token; tokens come back at
    ``per_minute / 60`` a second. Single-threaded by design (HTTP's event loop, PTB's
    handlers). Memory stays bounded: a bucket that has refilled is forgotten (a new one
    would start full, so nothing changes), and beyond ``max_keys`` the least recently used
    are forgotten too.
    """

    def __init__(
        self,
        per_minute: int,
        *,
        max_keys: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if per_minute < 1:
            raise ValueError("per_minute must be at least 1")
        self.per_minute = per_minute
        self.capacity = float(per_minute)
        self.rate = per_minute / 60.0  # tokens per second
        self.max_keys = max_keys
        self._clock = clock
        self._buckets: OrderedDict[Hashable, _Bucket] = OrderedDict()  # least recent first

    def hit(self, key: Hashable) -> float:
        """Spend one token: 0.0 when allowed, else the seconds until one is (nothing spent)."""
        now = self._clock()
        bucket = self._refilled(key, now)
        self._prune(now)
        self._buckets[key] = bucket  # most recently used last
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return 0.0
        return self._until_one(bucket)

    def wait(self, key: Hashable) -> float:
        """Seconds until ``hit`` would be allowed (0.0: now); spends nothing."""
        bucket = self._buckets.get(key)
        if bucket is None:
            return 0.0
        tokens = min(self.capacity, bucket.tokens + (self._clock() - bucket.updated) * self.rate)
        return self._until_one(_Bucket(tokens, bucket.updated))

    def _refilled(self, key: Hashable, now: float) -> _Bucket:
        bucket = self._buckets.pop(key, None)
        if bucket is None:
            return _Bucket(self.capacity, now)
        bucket.tokens = min(self.capacity, bucket.tokens + (now - bucket.updated) * self.rate)
        bucket.updated = now
        return bucket

    def _until_one(self, bucket: _Bucket) -> float:
        return 0.0 if bucket.tokens >= 1.0 else (1.0 - bucket.tokens) / self.rate

    def _prune(self, now: float) -> None:
        # From the least recently used: drop refilled buckets, and any beyond the cap (room
        # is left for the key being hit, which is out of the dict meanwhile).
        while self._buckets:
            key, b = next(iter(self._buckets.items()))
            full = b.tokens + (now - b.updated) * self.rate >= self.capacity
            if not full and len(self._buckets) < self.max_keys:
                break
            del self._buckets[key]

    def __len__(self) -> int:
        return len(self._buckets)
