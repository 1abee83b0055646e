"""An outlet named as the reporter ("What did The Verge say about ...?", "according to
TechCrunch") filters the articles to its own; named as a topic, it filters nothing."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from retrieval.answer import time_stamp
from retrieval.answering import timely
from retrieval.embeddings import Embedder
from retrieval.outlets import Named, named
from retrieval.service import NewsService
from tests.conftest import corpus_service

CORPUS = Path(__file__).parent / "data" / "outlets_corpus.jsonl"
SOURCES = [
    "Sporting News",
    "The Verge",
    "TechCrunch",
    "The Age",
    "The Guardian",
    "Fortune",
    "Cnbc | World Business News Leader",
    "The Independent - Life and Style",
    "The New York Times",
    "Wired",
]


@pytest.mark.parametrize(
    ("question", "sources", "text"),
    [
        (
            "What did Sporting News say about the Chiefs?",
            ("Sporting News",),
            "What was said about the Chiefs?",
        ),
        ("According to The Verge, what did Apple say?", ("The Verge",), "What did Apple say?"),
        ("What's the latest from TechCrunch?", ("TechCrunch",), "What's the latest?"),
        (
            "Did The Guardian report that the Fed raised rates?",
            ("The Guardian",),
            "Was it reported that the Fed raised rates?",
        ),
        ("What has Fortune written about FTX?", ("Fortune",), "What has been written about FTX?"),
        (
            "What do The Verge and TechCrunch say about OpenAI?",
            ("TechCrunch", "The Verge"),
            "What is said about OpenAI?",
        ),
        (
            "Does 'The Verge' article suggest deals are needless, while 'The Age' and "
            "'TechCrunch' articles imply profit?",
            ("TechCrunch", "The Age", "The Verge"),
            "Does the article suggest deals are needless, while the articles imply profit?",
        ),
        (
            "Does the article from Cnbc | World Business News Leader suggest X?",
            ("Cnbc | World Business News Leader",),
            "Does the article suggest X?",
        ),
        (
            "What did CNBC report about FTX?",
            ("Cnbc | World Business News Leader",),
            "What was reported about FTX?",
        ),
        (
            "Is the Independent's coverage of the royals positive?",
            ("The Independent - Life and Style",),
            "Is the coverage of the royals positive?",
        ),
        # Typed in lower case: only in a strict frame.
        ("what did the verge say about apple?", ("The Verge",), "What was said about apple?"),
        ("according to techcrunch, who won?", ("TechCrunch",), "Who won?"),
        (
            "Which company, reported by TechCrunch, faces antitrust cases?",
            ("TechCrunch",),
            "Which company, faces antitrust cases?",
        ),
    ],
)
def test_an_outlet_named_as_the_reporter_is_found_and_taken_out(
    question: str, sources: tuple[str, ...], text: str
) -> None:
    assert named(question, SOURCES) == Named(sources, text)


@pytest.mark.parametrize(
    "question",
    [
        "Who owns The Guardian?",  # the outlet is the topic
        "What happened in the age of AI?",  # not capitalised as the source is
        "What happened in The Age?",  # no reporting frame
        "He made a fortune from Fortune 500 stocks, did he?",
        "What did Engadget say about the phone?",  # not a source of the index
        "Who has wired money to him?",  # lower case outside a strict frame
    ],
)
def test_an_outlet_that_is_not_the_reporter_filters_nothing(question: str) -> None:
    assert named(question, SOURCES) is None


def test_a_follow_up_names_an_outlet_in_lower_case_only_in_a_strict_frame() -> None:
    assert named("And TechCrunch?", SOURCES, framed=False) == Named(("TechCrunch",), "And?")
    assert named("What about his age?", SOURCES, framed=False) is None


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> NewsService:
    """Two outlets that disagree on one vote, a later story, and a third outlet's report
    about one of them (tests/data/outlets_corpus.jsonl)."""
    return corpus_service(tmp_path_factory.mktemp("outlets"), CORPUS, embedder)


ASKED_ON = dt.date(2023, 6, 1)


@pytest.mark.parametrize(
    ("question", "source", "said"),
    [
        ("What did The Valley Times say about the council vote?", "The Valley Times", "6-3"),
        ("According to the Harbor Gazette, how did the council vote?", "Harbor Gazette", "7-2"),
    ],
)
def test_the_answer_cites_only_the_outlet_asked_about(
    service: NewsService, question: str, source: str, said: str
) -> None:
    answer = service.ask(question, as_of=ASKED_ON)
    assert not answer.abstained, answer.text
    assert {c.source for c in answer.citations} == {source}
    assert said in answer.text


def test_an_outlet_asked_about_is_not_a_filter(service: NewsService) -> None:
    answer = service.ask("Who owns the Harbor Gazette?", as_of=ASKED_ON)
    assert "Coastline Media" in answer.text, answer.text
    assert [c.source for c in answer.citations][:1] == ["Daily Ledger"]


def test_the_latest_from_an_outlet_lists_its_newest_stories(service: NewsService) -> None:
    answer = service.ask("What's the latest from Harbor Gazette?", as_of=ASKED_ON)
    assert [c.article_id for c in answer.citations] == ["gazette-ferry", "gazette-vote"]
    assert answer.text.splitlines() == [
        "- 20 May 2023: The island ferry will resume its daily crossings on June 3 after "
        "repairs to the landing. [1]",
        "- 2 May 2023: The city council approved the harbour budget by a vote of 7-2 on "
        "Monday night. [2]",
    ]
    earlier = service.ask("What's the latest from Harbor Gazette?", as_of=dt.date(2023, 5, 10))
    assert [c.article_id for c in earlier.citations] == ["gazette-vote"]
    reported = service.ask("What did the Harbor Gazette report?", as_of=ASKED_ON)
    assert [c.article_id for c in reported.citations] == ["gazette-ferry", "gazette-vote"]
    # Every outlet: the three newest stories, newest first (two of them of one day).
    news = service.ask("What's the latest?", as_of=ASKED_ON)
    ids = [c.article_id for c in news.citations]
    assert ids[0] == "gazette-ferry" and set(ids[1:]) == {"times-vote", "gazette-vote"}


@pytest.mark.parametrize(
    ("question", "news"),
    [
        ("What's the latest?", True),
        ("What is the latest news?", True),
        ("Any news?", True),
        ("What's new?", True),
        ("What is he now?", False),  # a follow-up about someone
        ("What's the latest on the vote?", False),  # a topic
        ("Who is the latest coach?", False),
    ],
)
def test_a_request_for_the_news_itself(question: str, news: bool) -> None:
    assert timely.is_news_request(question) is news


def test_a_follow_up_switches_or_keeps_the_outlet(service: NewsService) -> None:
    session = "outlets-follow-up"
    try:
        first = service.ask(
            "What did The Valley Times say about the council vote?",
            session_id=session,
            as_of=ASKED_ON,
        )
        assert first.outlets == ["The Valley Times"]
        assert time_stamp(first).endswith("· from The Valley Times")
        # Naming another outlet asks the last question of it.
        second = service.ask("And the Harbor Gazette?", session_id=session, as_of=ASKED_ON)
        assert second.outlets == ["Harbor Gazette"]
        assert second.standalone_question == first.standalone_question
        assert "7-2" in second.text and {c.source for c in second.citations} == {"Harbor Gazette"}
        # A follow-up that names none stays with it.
        third = service.ask("What did it say about the mayor?", session_id=session, as_of=ASKED_ON)
        assert third.outlets == ["Harbor Gazette"]
        assert "sign it this week" in third.text
        assert [t.outlets for t in service.sessions.history(session)] == [
            ("The Valley Times",),
            ("Harbor Gazette",),
            ("Harbor Gazette",),
        ]
        # A question that stands on its own searches every outlet again.
        fourth = service.ask("Who bought the Harbor Gazette?", session_id=session, as_of=ASKED_ON)
        assert fourth.outlets == []
        assert "Coastline Media" in fourth.text
    finally:
        service.reset(session)


def test_outlets_that_disagree_on_a_tally_are_shown_side_by_side(service: NewsService) -> None:
    answer = service.ask("How did the council vote on the harbour budget?", as_of=ASKED_ON)
    assert answer.conflict is not None and answer.conflict.kind == "disagreement"
    assert {v.value for v in answer.conflict.values} == {"7-2", "6-3"}
    assert "Harbor Gazette (2 May 2023) says 7-2" in answer.text
    assert "The Valley Times (2 May 2023) says 6-3" in answer.text
