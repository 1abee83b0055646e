"""Per-key rate limiting: a token bucket per principal, refilled continuously."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class _Bucket:
    tokens: float
    updated: float


class RateLimiter:
    """``per_minute`` requests a minute per identity, with bursts up to ``per_minute``.

    Single-threaded by design: it is only called on the event loop. Memory is bounded: when
    more than ``max_identities`` buckets exist, the full (idle) ones are dropped.
    """

    def __init__(
        self,
        per_minute: int,
        *,
        clock: Callable[[], float] = time.monotonic,
        max_identities: int = 10_000,
    ) -> None:
        self.capacity = float(per_minute)
        self.rate = per_minute / 60.0  # tokens per second
        self.clock = clock
        self.max_identities = max_identities
        self._buckets: dict[str, _Bucket] = {}

    def take(self, identity: str) -> float | None:
        """Spend one token; None when allowed, else the seconds until one is available."""
        now = self.clock()
        bucket = self._buckets.get(identity)
        if bucket is None:
            if len(self._buckets) >= self.max_identities:
                self._prune(now)
            bucket = self._buckets[identity] = _Bucket(self.capacity, now)
        bucket.tokens = min(self.capacity, bucket.tokens + (now - bucket.updated) * self.rate)
        bucket.updated = now
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return None
        return (1.0 - bucket.tokens) / self.rate

    def _prune(self, now: float) -> None:
        for identity, b in list(self._buckets.items()):
            if b.tokens + (now - b.updated) * self.rate >= self.capacity:
                del self._buckets[identity]
        if len(self._buckets) >= self.max_identities:  # all busy: forget the oldest
            oldest = sorted(self._buckets, key=lambda i: self._buckets[i].updated)
            for identity in oldest[: len(oldest) // 2]:
                del self._buckets[identity]


def retry_after(seconds: float) -> str:
    """A Retry-After header value: whole seconds, rounded up, at least 1."""
    return str(max(1, math.ceil(seconds)))
