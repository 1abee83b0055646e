"""The answer as data: text with [n] markers, and the citations those markers name."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, Field


class AlsoCarried(BaseModel):
    """Another outlet that carried the cited story: a syndicated or re-published copy."""

    source: str | None = Field(default=None, examples=["Yahoo News"])
    date: str | None = Field(default=None, description="ISO date of the copy, or null.")
    url: str | None = Field(default=None, description="Only ever from the copy's metadata.")
    article_id: str = Field(description="The copy's article id (retrieval skipped it).")


class Citation(BaseModel):
    """One numbered source: the quoted sentence and the article it comes from."""

    n: int = Field(description="The number used as [n] in the answer text.", examples=[1])
    article_id: str = Field(examples=["2021-10-19-russia-nato-mission"])
    title: str = Field(examples=["Russia has suspended its NATO mission"])
    date: str | None = Field(default=None, description="ISO date, or null when unknown.")
    source: str | None = None
    url: str | None = Field(default=None, description="Only ever from the article's metadata.")
    quote: str = Field(description="The cited sentence, verbatim from the article.")
    chunk_id: str
    score: float = Field(description="How strongly the quote answers the question (0-1).")
    also: list[AlsoCarried] = Field(
        default_factory=list,
        description="Other outlets that carried a copy of this story, earliest first: copies "
        "of one story collapse into one citation of its earliest retrieved copy.",
    )


class ConflictValue(BaseModel):
    """One of the values reports give for what was asked, with the reports that give it."""

    value: str = Field(description="The value as the sources word it.", examples=["41"])
    role: Literal["newer", "older", "supported", "disputed", "entity"] = Field(
        description="newer/older: an update replaced it or it replaced another; supported: "
        "more independent reports give it; disputed: one side of a disagreement, or a lone "
        "outlier; entity: the answer for one of several things sharing the question's name."
    )
    entity: str | None = Field(
        default=None, description="Ambiguous names: which of them this value answers for."
    )
    citations: list[int] = Field(default_factory=list, description="The [n] markers giving it.")
    dates: list[str | None] = Field(default_factory=list, description="Their articles' dates.")
    sources: list[str | None] = Field(default_factory=list, description="Their outlets.")


class Conflict(BaseModel):
    """Reports that give different values: an update, a disagreement, or an ambiguous name."""

    kind: Literal["update", "disagreement", "ambiguous"]
    values: list[ConflictValue] = Field(description="Leading value first.")


class AnswerWindow(BaseModel):
    """The publication (or event) dates a question's time expression denotes, inclusive."""

    since: str | None = Field(default=None, description="ISO date; null: open.")
    until: str | None = Field(default=None, description="ISO date; null: open.")
    reading: Literal["publication", "event"] | None = Field(
        default=None,
        description="publication: only articles published in the window are used; event: "
        "the window names when something happened, and articles mentioning it count.",
    )


class Answer(BaseModel):
    """What every front end renders: text, citations, and whether the bot abstained."""

    question: str
    standalone_question: str = Field(
        description="The question as retrieved for, after resolving a follow-up."
    )
    text: str = Field(description="The answer; each claim is followed by its [n] marker.")
    short_answer: str | None = Field(
        default=None, description="A date, number or name that answers the question alone."
    )
    citations: list[Citation] = Field(default_factory=list)
    abstained: bool = False
    confidence: float | None = Field(
        default=None, description="The evidence score abstention is decided on."
    )
    written_by: Literal["extractive", "model"] = Field(
        default="extractive",
        description="Who wrote the text: the extractive answerer (quotes), or the language "
        "model (every sentence verified against the chunk it cites).",
    )
    model_sentences: int = Field(
        default=0, description="LLM backends: sentences the model wrote for this answer."
    )
    dropped: int = Field(
        default=0, description="LLM backends: of those, how many verification kept from the user."
    )
    drop_reasons: list[str] = Field(
        default_factory=list,
        description="LLM backends: per dropped sentence, the first check it failed (the names "
        "of retrieval/answering/checks.py); the sentences themselves are never shown.",
        examples=[["name", "unsupported"]],
    )
    fallback: str | None = Field(
        default=None,
        description="LLM backends: the gate that answered extractively instead of with the "
        "model's text (e.g. stray_answer, model_error), or null.",
        examples=["stray_answer"],
    )
    conflict: Conflict | None = Field(
        default=None,
        description="Set when the evidence gives different values: which kind, and each "
        "value with its citations and dates.",
    )
    timings: dict[str, float] = Field(
        default_factory=dict, description="Milliseconds per stage: embed, retrieve, answer, total."
    )
    as_of: str | None = Field(
        default=None,
        description="ISO date of the newest cited article: the news the answer rests on.",
        examples=["2021-10-19"],
    )
    asked_on: str | None = Field(
        default=None,
        description="ISO date the question was asked on; no article after it is used.",
        examples=["2021-10-20"],
    )
    window: AnswerWindow | None = Field(
        default=None, description="The dates the question's time expression denotes, or null."
    )
    outlets: list[str] = Field(
        default_factory=list,
        description="The outlets the question named as the reporters (or a follow-up kept): "
        "only their articles were searched.",
        examples=[["The Verge"]],
    )


def also_line(c: Citation) -> str:
    """'also: AP (2024-05-01), Yahoo News': the other outlets that carried the cited story
    (empty when none did); each front end escapes it for its medium."""
    names = [
        f"{a.source or a.url or a.article_id}" + (f" ({a.date[:10]})" if a.date else "")
        for a in c.also
    ]
    return f"also: {', '.join(names)}" if names else ""


def long_date(iso: str) -> str:
    """'2021-10-19' as '19 Oct 2021' (the text unchanged when it is not an ISO date)."""
    try:
        day = dt.date.fromisoformat(iso[:10])
    except ValueError:
        return iso
    return f"{day.day} {day:%b %Y}"


def _age(days: int) -> str:
    if days < 14:
        return f"{days} days"
    if days < 60:
        return f"{days // 7} weeks"
    if days < 730:
        return f"{days // 30} months"
    return f"{days // 365} years"


def time_stamp(answer: Answer) -> str:
    """'As of 19 Oct 2021 (4 days before the question) · window 11 Oct 2021 - 17 Oct 2021'.

    The as-of date, how old that coverage is when it is two days or more older than the
    question, the window and the outlets asked about ("from The Verge"); empty when the
    answer has none of them.
    """
    parts = []
    if answer.as_of:
        part = f"As of {long_date(answer.as_of)}"
        if answer.asked_on:
            try:
                days = (
                    dt.date.fromisoformat(answer.asked_on[:10])
                    - dt.date.fromisoformat(answer.as_of[:10])
                ).days
            except ValueError:
                days = 0
            if days >= 2:
                part += f" ({_age(days)} before the question)"
        parts.append(part)
    if answer.window is not None:
        w = answer.window
        if w.since and w.until:
            span = (
                long_date(w.since)
                if w.since == w.until
                else (f"{long_date(w.since)} - {long_date(w.until)}")
            )
        elif w.until:
            span = f"up to {long_date(w.until)}"
        else:
            span = f"from {long_date(w.since or '')}"
        parts.append(f"window {span}")
    if answer.outlets:
        parts.append(f"from {', '.join(answer.outlets)}")
    return " · ".join(parts)


@dataclass(frozen=True)
class TokenEvent:
    """A piece of answer text as the model produces it (not yet verified)."""

    text: str


@dataclass(frozen=True)
class FinalEvent:
    """The final, verified answer; always the last event of a stream."""

    answer: Answer


StreamEvent = TokenEvent | FinalEvent
