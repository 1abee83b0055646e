"""Copies of one story are one story in retrieval: one article per story among the hits (its
earliest copy), whose citation lists the other outlets, in every front end."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from rich.console import Console

from bot import render
from bot.repl.view import answer_view
from bot.telegram.render import answer_html
from retrieval.answer import AlsoCarried, Answer, Citation
from retrieval.config import Settings
from retrieval.embeddings import Embedder
from retrieval.feeds.poller import Poller
from retrieval.service import NewsService
from tests.test_feeds import FEEDS, FeedServer, running_server

QUESTION = "How many dolphins did the ferry captain count?"


@pytest.fixture
def server() -> Iterator[FeedServer]:
    """The feed server on 127.0.0.1."""
    with running_server() as s:
        yield s


@pytest.fixture
def poller(
    make_settings: Callable[..., Settings], embedder: Embedder, tmp_path: Path
) -> Iterator[Poller]:
    """A poller over an empty docs folder and its own index."""
    (tmp_path / "docs").mkdir()
    p = Poller(NewsService(make_settings(), embedder), FEEDS)
    yield p
    p.close()


@pytest.mark.slow
def test_a_question_answered_from_a_copied_story_cites_one_story_with_the_other_outlet(
    server: FeedServer, poller: Poller
) -> None:
    poller.add(server.url("/rss.xml"), "gazette")
    poller.add(server.url("/front.html"), "wire")  # carries an agency copy of the festival
    poller.poll()
    svc = poller.service
    articles = svc._current().index.articles
    original = next(a.id for a in articles.values() if a.title.startswith("Harbour festival"))
    copy = next(a.id for a in articles.values() if a.title.startswith("Record crowd"))
    # Without collapsing, both copies are retrieved for the question.
    raw = {h.article.id for h in svc.retriever.search(QUESTION, k=10)}
    assert {original, copy} <= raw

    answer, hits = svc.ask_with_hits(QUESTION, depth=10)
    ids = [h.article.id for h in hits]
    assert copy not in ids and original in ids  # the earliest copy stands for the story
    assert [h.rank for h in hits] == list(range(1, len(hits) + 1))
    assert not answer.abstained and "forty-two" in answer.text
    assert {c.article_id for c in answer.citations} == {original}
    cited = answer.citations[0]
    assert cited.source == "Harbour Gazette"
    assert [(a.source, a.date, a.article_id) for a in cited.also] == [
        ("Wire Digest", "2023-04-03", copy)
    ]
    assert cited.also[0].url == server.url("/wire/harbour-copy.html")
    assert "    also: Wire Digest (2023-04-03)" in render.answer_text(answer).splitlines()
    # Asked before the copy was published: the copy is neither retrieved nor listed.
    early = svc.ask(QUESTION, as_of=dt.date(2023, 4, 2))
    assert early.citations and all(c.also == [] for c in early.citations)


@pytest.mark.slow
def test_distinct_reports_and_articles_not_from_feeds_are_not_collapsed(
    server: FeedServer, poller: Poller
) -> None:
    poller.add(server.url("/rss.xml"), "gazette")
    poller.add(server.url("/atom.xml"), "wire")
    poller.poll()
    svc = poller.service
    question = "What did hail do to the Riesling vineyards?"
    articles = svc._current().index.articles
    story = {a.id for a in articles.values() if "dolphins" in a.text}
    assert len(story) == 2  # the festival and its agency copy
    # Every chunk of the index (no time filter: undated briefs count too).
    _, hits = svc.ask_with_hits(question, depth=50, time_aware=False)
    raw = svc.retriever.search(question, k=50)
    # Every other article, the vineyard report among them, keeps all its hits in order.
    assert [h.chunk.id for h in hits if h.article.id not in story] == [
        h.chunk.id for h in raw if h.article.id not in story
    ]
    assert any("Riesling" in articles[h.article.id].text for h in hits[:1])
    assert len({h.article.id for h in hits} & story) == 1


def _answer_with_also() -> Answer:
    citation = Citation(
        n=1,
        article_id="a",
        title="Harbour festival",
        date="2023-04-02",
        source="Harbour Gazette",
        quote="Forty-two dolphins.",
        chunk_id="a:0",
        score=0.9,
        also=[
            AlsoCarried(source="Wire <b>Digest</b>", date="2023-04-03", article_id="b"),
            AlsoCarried(source="Yahoo News", date=None, article_id="c"),
        ],
    )
    return Answer(
        question="q", standalone_question="q", text="Forty-two [1].", citations=[citation]
    )


def test_every_front_end_renders_the_other_outlets() -> None:
    answer = _answer_with_also()
    line = "also: Wire <b>Digest</b> (2023-04-03), Yahoo News"
    assert f"    {line}" in render.answer_text(answer)
    html = "\n".join(answer_html(answer))
    assert "<i>\n    also: Wire &lt;b&gt;Digest&lt;/b&gt; (2023-04-03), Yahoo News</i>" in html
    console = Console(width=100, record=True, color_system=None)
    console.print(answer_view(answer))
    assert line in console.export_text()
    assert answer.model_dump()["citations"][0]["also"][1] == {
        "source": "Yahoo News",
        "date": None,
        "url": None,
        "article_id": "c",
    }
