"""The story map in PostgreSQL: the worker's feed poller publishes it (the stories with two
or more articles, from its feed state) after a pass that changed it; every replica reloads it
when its revision moves, so that all of them collapse copies of one story alike."""

from __future__ import annotations

from typing import TYPE_CHECKING

from retrieval.feeds.collapse import StoryMap

if TYPE_CHECKING:
    from retrieval.pg.store import PgStore


def publish(store: PgStore, stories: StoryMap) -> None:
    """Replace the published story map (one transaction: readers see the old or the new)."""
    with store.connection() as conn, conn.transaction():
        conn.execute("DELETE FROM stories")
        sql = "COPY stories (story_id, position, article_id) FROM STDIN"
        with conn.cursor().copy(sql) as copy:
            for story, members in sorted(stories.members.items()):
                for position, article in enumerate(members):
                    copy.write_row((story, position, article))
        conn.execute("UPDATE stories_state SET revision = revision + 1")


def revision(store: PgStore) -> int:
    """The published map's revision (0: never published)."""
    with store.connection() as conn:
        return int(conn.execute("SELECT revision FROM stories_state").fetchone()[0])


def load(store: PgStore) -> tuple[int, StoryMap]:
    """The published map and its revision, read in one snapshot."""
    with store.connection() as conn, conn.transaction():
        conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        rev = int(conn.execute("SELECT revision FROM stories_state").fetchone()[0])
        rows = conn.execute(
            "SELECT story_id, article_id FROM stories ORDER BY story_id, position"
        ).fetchall()
    stories: dict[str, list[str]] = {}
    for story, article in rows:
        stories.setdefault(story, []).append(article)
    return rev, StoryMap.of(stories)
