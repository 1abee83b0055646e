"""The ``feeds`` config section: which feeds to follow and how politely to fetch them."""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict, Field, field_validator

_EVERY = re.compile(r"(\d+(?:\.\d+)?)\s*([smhd]?)")
_UNIT = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_every(value: str) -> float:
    """Seconds in an interval such as ``15m``, ``2h``, ``90s`` or ``600``.

    Raises:
        ValueError: not a positive interval.
    """
    m = _EVERY.fullmatch(value.strip().lower())
    if m is None or float(m[1]) <= 0:
        raise ValueError(f"not an interval like 15m, 2h or 90s: {value!r}")
    return float(m[1]) * _UNIT[m[2]]


class FeedsSettings(BaseModel):
    """Following RSS/Atom feeds and web pages."""

    model_config = ConfigDict(extra="forbid")

    urls: list[str] = Field(
        default_factory=list,
        description="Feeds (or pages whose feed is discovered) followed besides those added "
        "with `newsbot feeds add`.",
    )
    every: str = Field(
        default="15m", description="How often `newsbot watch` polls a feed (15m, 2h, 90s)."
    )
    user_agent: str = Field(
        default="newsbot/0.1 (+https://github.com/newsbot/newsbot)",
        description="The User-Agent sent with every request, and matched against robots.txt.",
    )
    timeout_s: float = Field(default=20.0, gt=0, description="Timeout of each request, seconds.")
    max_bytes: int = Field(
        default=5 * 1024 * 1024,
        gt=0,
        description="Largest body read, counted on the bytes received; a larger one is refused.",
    )
    per_host_delay_s: float = Field(
        default=1.0, ge=0, description="Pause between two requests to the same host, seconds."
    )
    fetch_pages: bool = Field(
        default=True,
        description="Fetch each new entry's article page; when false, index the entry's "
        "summary only.",
    )
    respect_robots: bool = Field(
        default=True, description="Honour robots.txt (a disallowed URL is reported, not fetched)."
    )

    @field_validator("every")
    @classmethod
    def _interval(cls, value: str) -> str:
        parse_every(value)
        return value

    @property
    def every_s(self) -> float:
        """The poll interval in seconds."""
        return parse_every(self.every)
