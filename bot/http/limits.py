"""HTTP's limits: the token-bucket ``RateLimiter`` (per process, or shared by replicas in
PostgreSQL), and the Retry-After it answers with."""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable, Hashable
from typing import Any

from bot.ratelimit import Limiter, RateLimiter
from retrieval.backend import shared_limiter

__all__ = ["Limiter", "RateLimiter", "make_limiter", "off_loop", "retry_after"]


def make_limiter(store: Any, per_minute: int, scope: str) -> Limiter:
    """``per_minute`` a minute per key: shared by every replica when the service's store is
    a database (postgres), else counted in this process."""
    shared = shared_limiter(store, per_minute, scope) if store is not None else None
    return shared if shared is not None else RateLimiter(per_minute)


async def off_loop(limiter: Limiter, call: Callable[[Hashable], float], key: Hashable) -> float:
    """Run one of ``limiter``'s calls: in a worker thread when it is a database round trip,
    in place when it is in memory (RateLimiter is single-threaded by design)."""
    if getattr(limiter, "shared", False):
        return await asyncio.to_thread(call, key)
    return call(key)


def retry_after(seconds: float) -> str:
    """A Retry-After header value: whole seconds, rounded up, at least 1."""
    return str(max(1, math.ceil(seconds)))
