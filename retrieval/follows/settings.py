"""The ``follows`` config section: topics a chat follows, and how alerts are matched and capped."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class FollowsSettings(BaseModel):
    """Following topics: cited alerts when a new feed article is on one (`/follow`)."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    max_per_chat: int = Field(default=20, ge=1, le=1000, description="Follows a chat may keep.")
    max_topic_chars: int = Field(
        default=200, ge=10, le=2000, description="Longest topic a follow may name."
    )
    threshold: float = Field(
        default=0.47,
        ge=0,
        le=1,
        description="Relevance (dense and lexical combined) a new article needs to alert; "
        "calibrated by `bench/follows.py` for precision.",
    )
    dense_weight: float = Field(
        default=0.6,
        ge=0,
        le=1,
        description="Share of the dense cosine in the relevance; the rest is the share of the "
        "topic's words (IDF-weighted) the article contains.",
    )
    per_hour: int = Field(
        default=3,
        ge=1,
        le=100,
        description="Alerts per follow per hour; more are folded into one 'and N more on X'.",
    )
    check_every_s: float = Field(
        default=2.0,
        gt=0,
        le=600,
        description="How often a front end looks for new feed articles and delivers alerts.",
    )
    webhook_timeout_s: float = Field(
        default=10.0,
        gt=0,
        le=120,
        description="Seconds a webhook receiver has to answer an alert's POST before the try "
        "counts as failed.",
    )
    webhook_retry_s: float = Field(
        default=5.0,
        gt=0,
        le=3600,
        description="Wait before retrying a failed webhook delivery; it doubles with each "
        "failure, up to `webhook_retry_max_s`.",
    )
    webhook_retry_max_s: float = Field(
        default=900.0,
        gt=0,
        le=86400,
        description="Longest wait between two tries of a webhook delivery (alerts are kept "
        "until delivered, acknowledged by `GET /v1/alerts`, or unfollowed).",
    )
    webhook_allow_private: bool = Field(
        default=False,
        description="Deliver webhooks to loopback, private and link-local addresses (off: "
        "a key owner cannot make the server call its own network).",
    )
