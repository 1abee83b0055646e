"""The daily briefing: at a chat's chosen local time, for each topic it follows, the answer
to "What happened with TOPIC since yesterday?" asked on that day (the time-aware timeline:
dated, cited bullets), or "nothing new on X"."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from retrieval.answer import Citation
from retrieval.errors import InputError
from retrieval.follows.alerts import Alert
from retrieval.follows.store import Briefing, Follow

if TYPE_CHECKING:
    from retrieval.service import NewsService

# The time issue's timeline question: its window is a hard filter on publication dates, and
# copies of one story are collapsed before the timeline picks one bullet per story.
QUESTION = "What happened with {topic} since yesterday?"
log = logging.getLogger("newsbot.follows")


def local_now(briefing: Briefing, now: float) -> dt.datetime:
    """``now`` in the briefing's time zone (UTC when the zone is unknown)."""
    try:
        zone = ZoneInfo(briefing.tz)
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("UTC")
    return dt.datetime.fromtimestamp(now, zone)


def due(briefing: Briefing, now: float) -> str | None:
    """The local day whose briefing is due now (its time has come, and it was not sent),
    or None."""
    local = local_now(briefing, now)
    day = local.date().isoformat()
    if briefing.last_day == day or local.strftime("%H:%M") < briefing.at:
        return None
    return day


def question(topic: str) -> str:
    """The question a topic's briefing answers."""
    return QUESTION.format(topic=topic)


def timeline_bullets(service: NewsService, topic: str, day: str) -> list[Citation] | None:
    """The time-aware answer to "What happened with TOPIC since yesterday?" asked on
    ``day``: the timeline's dated, cited bullets (one per story, oldest first, only articles
    published yesterday or today), [] when it finds nothing new on the topic, and None when
    the question is refused (longer than ``answer.max_question_chars``)."""
    try:
        answer = service.ask(question(topic), record=False, as_of=dt.date.fromisoformat(day))
    except InputError as e:
        log.warning("no briefing on %r: %s", topic, e)
        return None
    return [] if answer.abstained else list(answer.citations)


def messages(
    chat: str, follows: Iterable[Follow], found: list[list[Citation] | None], day: str
) -> list[Alert]:
    """One briefing message per followed topic (none for a topic whose question was
    refused)."""
    return [
        Alert(chat=chat, kind="briefing", follow_id=f.id, topic=f.topic, more=cites, day=day)
        for f, cites in zip(follows, found, strict=True)
        if cites is not None
    ]
