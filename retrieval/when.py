"""The time side of answering a question: the asked-on date and the question's window as
retrieval filters, and the re-ranking an event date or "the latest" asks for.

Pure functions over hits and dates; the service calls them between retrieving and answering.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, replace

from retrieval.retriever import Hit
from retrieval.search_index import Filters
from retrieval.timeparse import TimeIntent, Window, dates_mentioned, follow_up, mentions_window
from retrieval.timeparse.questions import _COVERAGE  # the resolver's own coverage words

# "Latest"/"now": the newest retrieved candidate's fused score is raised by at most this
# share, older ones proportionally less (a bounded boost: a much better match still wins).
LATEST_BOOST = 0.5
# An event window: candidates that mention (or were published in) the window are raised by
# this share, so that an article recounting 2014 outranks one that only shares its words.
EVENT_BOOST = 1.0
# How many more candidates than k are fetched when a re-ranking will choose among them.
RERANK_DEPTH = 3

_TIMELINE = re.compile(
    r"^\s*(?:and\s+)?(?:what(?:'s|\s+has|\s+have)?\s+(?:happened|been\s+happening|went\s+on"
    r"|gone\s+on)\b|what\s+(?:was|were|has\s+been|have\s+been)\s+reported\b"
    r"|what\s+did\s+the\s+news\s+say\b|(?:give\s+me\s+a\s+|show\s+me\s+a\s+)?timeline\s+(?:of|for)\b"
    r"|brief\s+me\s+on\b|(?:give\s+me\s+a\s+)?briefing\s+on\b|catch\s+me\s+up\s+on\b)",
    re.IGNORECASE,
)
# Words that make a time expression relative to the asked-on day; without any, it names a
# calendar date ("on 6 October", "in October 2023").
_RELATIVE = re.compile(
    r"\b(?:today|tonight|yesterday|last|this|past|previous|since|ago|weekend|week|month"
    r"|year|recent\w*|monday|tuesday|wednesday|thursday|friday|saturday|sunday)\b",
    re.IGNORECASE,
)
_NO_WINDOW_TIMELINE = re.compile(
    r"^\s*(?:(?:give\s+me\s+a\s+|show\s+me\s+a\s+)?timeline\s+(?:of|for)|brief\s+me\s+on"
    r"|(?:give\s+me\s+a\s+)?briefing\s+on|catch\s+me\s+up\s+on)\b",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class TimePlan:
    """How time shapes one question: its asked-on day, intent and the filters searched with.

    Attributes:
        asked_on: The day the question is asked; nothing published after it is used.
        intent: The resolved time expression (window, reading, latest/order flags).
        filters: The hard filters: the caller's, cut at asked_on and, for a publication
            window, at the window.
        timeline: The question asks what happened in a period ("What happened with X
            this week?", "Brief me on X").
    """

    asked_on: dt.date
    intent: TimeIntent
    filters: Filters
    timeline: bool

    @property
    def window(self) -> Window | None:
        """The question's window, or None."""
        return self.intent.window

    @property
    def publication(self) -> bool:
        """The window filters on publication dates (and fails closed)."""
        return self.intent.window is not None and self.intent.reading == "publication"

    @property
    def event(self) -> bool:
        """The window names when something happened, not when it was reported."""
        return self.intent.window is not None and self.intent.reading == "event"

    @property
    def words_kept(self) -> bool:
        """The time expression stays in the words searched: an event's date ("in 2014"), or
        days still to come, which no article was published on ("What did Check Point say
        about next year?" asks what the articles say of it)."""
        return self.event or self.intent.future

    def widened(self) -> Filters:
        """The filters without the window (still cut at asked_on): where to look for the
        nearest coverage outside it."""
        return Filters(until=self.filters.until, sources=self.filters.sources)


def plan(
    question: str,
    asked_on: dt.date,
    previous: TimeIntent | None = None,
    filters: Filters | None = None,
) -> TimePlan:
    """Resolve the question's time expression (keeping or shifting a previous window) and
    turn it into filters.

    Args:
        question: The question as asked (a follow-up such as "And the week before?" too).
        asked_on: The day it is asked.
        previous: The previous turn's intent in the conversation, or None.
        filters: Restrictions the caller asked for (``--since``/``--until``/sources).

    Returns:
        The plan; its filters never reach past asked_on.
    """
    intent = follow_up(question, previous, asked_on)
    if (
        intent.reading == "publication"
        and intent.window is not None
        and intent.window.since is not None
        and intent.expression
        and not _RELATIVE.search(intent.expression)
        and not _COVERAGE.search(question)
    ):
        # "What did he decide on 6 October?" names the day of the event, not of the report
        # (which is often the day after, or years later): the window ranks, it does not filter.
        intent = replace(intent, reading="event")
    caller = filters or Filters()
    until = min(d for d in (caller.until, asked_on) if d is not None)
    since = caller.since
    window = intent.window
    if window is not None and intent.reading == "publication":
        if window.until is not None:
            until = min(until, window.until)
        if window.since is not None:
            since = max(since, window.since) if since else window.since
    timeline = bool(
        (_TIMELINE.match(question) and intent.reading == "publication")
        or _NO_WINDOW_TIMELINE.match(question)
    )
    # Only the asked-on cut bounds the dates: undated articles stay (see Filters.undated).
    undated = caller.since is None and caller.until is None and since is None and until == asked_on
    undated = undated and not (window is not None and intent.reading == "publication")
    filters = Filters(since, until, caller.sources, undated=undated)
    return TimePlan(asked_on, intent, filters, timeline)


def in_window(date: str | None, window: Window) -> bool:
    """Whether an ISO date lies inside the window (an undated article never does)."""
    if not date:
        return False
    day = dt.date.fromisoformat(date[:10])
    return (window.since is None or window.since <= day) and (
        window.until is None or day <= window.until
    )


def _ranked(scored: list[tuple[float, Hit]]) -> list[Hit]:
    scored.sort(key=lambda sh: (-sh[0], sh[1].rank))
    return [replace(h, rank=r, score=s) for r, (s, h) in enumerate(scored, start=1)]


def boost_event(hits: list[Hit], window: Window) -> list[Hit]:
    """Hits whose chunk mentions a date in the window (relative dates resolved against the
    article's date), or whose article was published in it, raised by EVENT_BOOST."""
    scored = []
    for h in hits:
        published = dt.date.fromisoformat(h.article.date[:10]) if h.article.date else None
        mentions = dates_mentioned(h.chunk.text, published)
        hit_window = in_window(h.article.date, window) or mentions_window(mentions, window)
        scored.append((h.score * (1 + EVENT_BOOST) if hit_window else h.score, h))
    return _ranked(scored)


def boost_latest(hits: list[Hit]) -> list[Hit]:
    """Hits re-ranked with newer articles raised by up to LATEST_BOOST of their score."""
    days = [dt.date.fromisoformat(h.article.date[:10]) for h in hits if h.article.date]
    if len(set(days)) < 2:
        return hits
    oldest, newest = min(days), max(days)
    span = (newest - oldest).days
    scored = []
    for h in hits:
        newness = 0.0
        if h.article.date:
            newness = (dt.date.fromisoformat(h.article.date[:10]) - oldest).days / span
        scored.append((h.score * (1 + LATEST_BOOST * newness), h))
    return _ranked(scored)


def rerank(hits: list[Hit], p: TimePlan) -> list[Hit]:
    """The hits in the order the plan asks for: event windows first, then newest first
    among close matches when the question wants the latest."""
    if p.event and p.window is not None:
        hits = boost_event(hits, p.window)
    if p.intent.latest:
        hits = boost_latest(hits)
    return hits


def depth(k: int, p: TimePlan) -> int:
    """How many hits to fetch for a plan: more when a re-ranking chooses among them."""
    return k * RERANK_DEPTH if (p.event or p.intent.latest) else k


def window_phrase(window: Window) -> str:
    """'on 3 October 2023', 'between 16 and 22 October 2023', 'up to 10 October 2023'."""

    def full(d: dt.date) -> str:
        return f"{d.day} {d:%B %Y}"

    s, u = window.since, window.until
    if s and u:
        if s == u:
            return f"on {full(s)}"
        if s.year != u.year:
            return f"between {full(s)} and {full(u)}"
        if s.month != u.month:
            return f"between {s.day} {s:%B} and {full(u)}"
        return f"between {s.day} and {full(u)}"
    if u:
        return f"up to {full(u)}"
    return f"since {full(s)}" if s else ""
