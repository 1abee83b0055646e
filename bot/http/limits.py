"""HTTP's limits: the shared token-bucket ``RateLimiter``, and the Retry-After it answers with."""

from __future__ import annotations

import math

from bot.ratelimit import RateLimiter

__all__ = ["RateLimiter", "retry_after"]


def retry_after(seconds: float) -> str:
    """A Retry-After header value: whole seconds, rounded up, at least 1."""
    return str(max(1, math.ceil(seconds)))
