"""One hit per story: copies of a story collapse to its earliest retrieved copy, whose
citation can then name the other outlets ("also: AP, Yahoo News").

Not yet wired into retrieval (the retriever and citations are edited elsewhere); the
service would call :func:`collapse` on the fused hits, before cutting to ``k``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Generic, Protocol, TypeVar

from retrieval.feeds.state import FeedState


class _Article(Protocol):
    @property
    def id(self) -> str: ...

    @property
    def date(self) -> str | None: ...


class _Hit(Protocol):
    @property
    def article(self) -> _Article: ...


H = TypeVar("H", bound=_Hit)


@dataclass(frozen=True)
class StoryMap:
    """Which story each copied article belongs to, and each story's outlets."""

    story_of: dict[str, str] = field(default_factory=dict)
    outlets: dict[str, list[tuple[str, str | None]]] = field(default_factory=dict)

    @classmethod
    def from_state(cls, state: FeedState) -> StoryMap:
        """The stories with more than one article, from the feed state."""
        story_of = state.stories()
        outlets = {
            story: [(aid, source) for aid, source, _ in state.story_sources(story)]
            for story in set(story_of.values())
        }
        for story in outlets:
            story_of.setdefault(story, story)
        return cls(story_of, outlets)


@dataclass
class StoryHit(Generic[H]):
    """The hit kept for a story and the other outlets that carried it."""

    hit: H
    also: list[str]


def collapse(hits: Sequence[H], stories: StoryMap) -> list[StoryHit[H]]:
    """Keep one hit per story, at the rank of the story's best hit: its earliest copy
    among the hits (by date, undated last). Articles in no story pass through alone."""
    groups: dict[str, list[H]] = {}
    order: list[str] = []
    for h in hits:
        story = stories.story_of.get(h.article.id, h.article.id)
        if story not in groups:
            groups[story] = []
            order.append(story)
        groups[story].append(h)
    out: list[StoryHit[H]] = []
    for story in order:
        members = groups[story]
        kept = min(members, key=lambda h: (h.article.date or "9999", members.index(h)))
        kept_source = dict(stories.outlets.get(story, [])).get(kept.article.id)
        also: list[str] = []
        for aid, source in stories.outlets.get(story, []):
            if aid != kept.article.id and source and source != kept_source and source not in also:
                also.append(source)
        out.append(StoryHit(kept, also))
    return out
