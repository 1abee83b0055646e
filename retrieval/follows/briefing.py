"""The daily briefing: at a chat's chosen local time, for each topic it follows, the stories
published since yesterday as dated, cited bullets, or "nothing new on X"."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np

from retrieval.answer import Citation
from retrieval.feeds.collapse import StoryMap
from retrieval.follows.alerts import Alert
from retrieval.follows.matcher import TopicMatcher, article_view, what_happened
from retrieval.follows.store import Briefing, Follow
from retrieval.search_index import SearchIndex

MAX_BULLETS = 5  # per topic: the best-matching stories, shown oldest first


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


def bullets(
    index: SearchIndex,
    follows: list[Follow],
    matcher: TopicMatcher,
    threshold: float,
    day: str,
    stories: StoryMap,
    chunks_of: dict[str, list[int]],
) -> list[list[Citation]]:
    """Per follow, the stories dated from the day before ``day`` to ``day`` that pass the
    threshold: one article per story (the earliest), the best ``MAX_BULLETS``, oldest first."""
    since = (dt.date.fromisoformat(day) - dt.timedelta(days=1)).isoformat()
    recent = [a for a in index.articles.values() if a.date and since <= a.date[:10] <= day]
    found: list[dict[str, tuple[float, Citation]]] = [{} for _ in follows]
    for a in sorted(recent, key=lambda a: (a.date or "", a.id)):
        view = article_view(index, a.id, chunks_of.get(a.id, []))
        scores = matcher.scores(view)
        story = stories.story_of.get(a.id, a.id)
        for i in np.flatnonzero(scores >= threshold):
            if story not in found[i]:
                cite = what_happened(index, view, matcher.vectors[i], float(scores[i]))
                found[i][story] = (float(scores[i]), cite)
    out = []
    for per in found:
        top = sorted(per.values(), key=lambda sc: -sc[0])[:MAX_BULLETS]
        out.append(sorted((c for _, c in top), key=lambda c: (c.date or "", c.article_id)))
    return out


def messages(
    chat: str, follows: Iterable[Follow], found: list[list[Citation]], day: str
) -> list[Alert]:
    """One briefing message per followed topic."""
    return [
        Alert(chat=chat, kind="briefing", follow_id=f.id, topic=f.topic, more=cites, day=day)
        for f, cites in zip(follows, found, strict=True)
    ]
