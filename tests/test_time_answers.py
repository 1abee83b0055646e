"""Answers that know when: the asked-on date bounds what is cited, windows filter and fail
closed, event years find the articles that recount them, follow-ups keep the window, and
"latest", "which came first" and timelines are answered from the articles' dates."""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from retrieval.answer import Answer, AnswerWindow, time_stamp
from retrieval.answering import timely
from retrieval.answering.kinds import is_prose
from retrieval.config import Settings
from retrieval.embeddings import Embedder
from retrieval.evaluation import Outcome, Question, summarize
from retrieval.service import NewsService
from retrieval.sessions import SQLiteConversationStore, Turn
from tests.conftest import corpus_service

CORPUS = Path(__file__).parent / "data" / "time_corpus.jsonl"
D = dt.date


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> NewsService:
    """A service over the small dated corpus in tests/data/time_corpus.jsonl."""
    return corpus_service(tmp_path_factory.mktemp("time"), CORPUS, embedder)


def cited_dates(answer: Answer) -> list[str]:
    return [c.date[:10] for c in answer.citations if c.date]


def test_nothing_published_after_the_asked_on_date_is_cited(service: NewsService) -> None:
    answer = service.ask("Who is the Vikings' starting quarterback?", as_of=D(2023, 10, 10))
    assert not answer.abstained, answer.text
    assert "Cousins" in answer.text
    assert all(d <= "2023-10-10" for d in cited_dates(answer))
    assert answer.asked_on == "2023-10-10"
    assert answer.as_of == "2023-10-02"


def test_a_relative_window_filters_publication_dates(service: NewsService) -> None:
    answer = service.ask(
        "Who was the Vikings' quarterback in last night's game against the Bears?",
        as_of=D(2023, 11, 28),
    )
    assert answer.window == AnswerWindow(
        since="2023-11-27", until="2023-11-27", reading="publication"
    )
    assert "Dobbs" in answer.text
    assert cited_dates(answer) and all(d == "2023-11-27" for d in cited_dates(answer))
    assert time_stamp(answer) == "As of 27 Nov 2023 · window 27 Nov 2023"


def test_an_empty_window_fails_closed_and_names_the_nearest_coverage(
    service: NewsService,
) -> None:
    answer = service.ask(
        "What did Caroline Ellison testify at the FTX trial yesterday?", as_of=D(2023, 10, 20)
    )
    assert answer.abstained
    assert answer.text.startswith("No articles on 19 October 2023 mention that; the nearest is")
    assert "from 11 Oct 2023" in answer.text
    assert [c.article_id for c in answer.citations] == ["ftx-ellison"]


def test_asked_before_any_article_there_is_nothing_to_answer_from(
    seed_service: NewsService,
) -> None:
    answer = seed_service.ask("When is the accreditation withdrawn?", as_of=D(2021, 10, 18))
    assert answer.abstained and not answer.citations
    assert answer.text == (
        "There is no article published on or before 18 October 2021 to answer from."
    )


def test_an_event_year_finds_the_article_that_recounts_it(seed_service: NewsService) -> None:
    answer = seed_service.ask(
        "What happened in 2014 between NATO and Russia?", as_of=D(2026, 12, 2)
    )
    assert not answer.abstained, answer.text
    assert answer.window is not None and answer.window.reading == "event"
    assert (answer.window.since, answer.window.until) == ("2014-01-01", "2014-12-31")
    assert [c.article_id for c in answer.citations][:1] == ["2021-10-19-russia-nato-mission"]
    assert "2014" in answer.text


def test_days_still_to_come_are_what_is_asked_about_not_a_window(service: NewsService) -> None:
    # No article is published next week: the words stay in the question, nothing filters.
    answer = service.ask(
        "Who will start at quarterback for the Vikings next week?", as_of=D(2023, 12, 12)
    )
    assert answer.standalone_question == (
        "Who will start at quarterback for the Vikings next week?"
    )
    assert answer.window is None
    assert "Mullens" in answer.text


def test_a_follow_up_keeps_and_shifts_the_window(service: NewsService) -> None:
    session = "time-follow-up"
    try:
        first = service.ask(
            "Who testified at the FTX trial this week?", session_id=session, as_of=D(2023, 10, 27)
        )
        assert (first.window.since, first.window.until) == ("2023-10-23", "2023-10-27")  # type: ignore[union-attr]
        assert "Wang" in first.text
        second = service.ask("And the week before?", session_id=session, as_of=D(2023, 10, 27))
        assert second.window is not None
        assert (second.window.since, second.window.until) == ("2023-10-16", "2023-10-22")
        # Nothing was published that week: the answer says so, naming the nearest report.
        assert second.abstained
        assert second.text.startswith("No articles between 16 and 22 October 2023 mention")
        third = service.ask("And two weeks before?", session_id=session, as_of=D(2023, 10, 27))
        assert third.window is not None and third.window.since == "2023-10-02"
        # A question that stands on its own starts without the conversation's window.
        fourth = service.ask(
            "Who is the Vikings' quarterback?", session_id=session, as_of=D(2023, 10, 27)
        )
        assert fourth.window is None
    finally:
        service.reset(session)


def test_latest_prefers_the_newest_report_up_to_the_asked_on_date(service: NewsService) -> None:
    answer = service.ask("Who is the Vikings' quarterback now?", as_of=D(2023, 12, 1))
    assert "Dobbs" in answer.text, answer.text
    assert "Mullens" not in answer.text
    assert answer.as_of == "2023-11-27"


def test_which_came_first_is_answered_from_the_dates(service: NewsService) -> None:
    answer = service.ask(
        "Which came first: Google unveiling the Pixel 8, or Apple's Scary Fast event?",
        as_of=D(2023, 11, 15),
    )
    assert answer.short_answer == "Google unveiling the Pixel 8"
    assert answer.text.startswith("Google unveiling the Pixel 8 came first.")
    assert [c.article_id for c in answer.citations] == ["pixel", "scary-fast"]


def test_a_timeline_lists_dated_bullets_inside_the_window(service: NewsService) -> None:
    answer = service.ask("What happened in the FTX trial this month?", as_of=D(2023, 10, 31))
    lines = answer.text.splitlines()
    assert lines == [
        f"- {day}: {c.quote} [{c.n}]"
        for day, c in zip(
            ["4 Oct 2023", "11 Oct 2023", "26 Oct 2023"], answer.citations, strict=False
        )
    ]
    assert [c.article_id for c in answer.citations] == ["ftx-jury", "ftx-ellison", "ftx-wang"]
    assert answer.as_of == "2023-10-26"


def test_an_empty_timeline_says_there_is_no_coverage(service: NewsService) -> None:
    answer = service.ask("What happened with the FTX trial this week?", as_of=D(2023, 10, 20))
    assert answer.abstained
    assert answer.text.startswith("No coverage of the FTX trial this week")


def test_without_time_awareness_nothing_is_filtered(service: NewsService) -> None:
    answer = service.ask(
        "Who was named the Vikings' starting quarterback against the Bengals?",
        as_of=D(2023, 10, 1),
        time_aware=False,
    )
    assert "Mullens" in answer.text
    assert answer.window is None and answer.asked_on is None


def test_an_old_sessions_database_stays_readable(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    con = sqlite3.connect(path)
    con.executescript(
        "CREATE TABLE turns (id INTEGER PRIMARY KEY AUTOINCREMENT, session_id TEXT NOT NULL, "
        "created REAL NOT NULL, question TEXT NOT NULL, standalone TEXT NOT NULL, answer TEXT "
        "NOT NULL, short_answer TEXT, citations TEXT NOT NULL);"
        "INSERT INTO turns (session_id, created, question, standalone, answer, short_answer, "
        "citations) VALUES ('s', 0, 'q?', 'q?', 'a.', NULL, '[]');"
    )
    con.commit()
    con.close()
    store = SQLiteConversationStore(path)
    assert store.history("s") == [Turn("q?", "q?", "a.", None, [])]
    store.append(
        "s", Turn("r?", "r?", "b.", window=("2023-10-16", "2023-10-22"), reading="publication")
    )
    assert store.history("s")[-1].window == ("2023-10-16", "2023-10-22")
    assert store.history("s")[-1].reading == "publication"
    store.close()


def _outcome(q: Question, answer: Answer) -> Outcome:
    return Outcome(q, [], answer)


def test_eval_reports_window_accuracy_citations_and_kinds(
    make_settings: Callable[..., Settings],
) -> None:
    from retrieval.answer import Citation

    def cite(date: str) -> Citation:
        return Citation(n=1, article_id="a", title="t", date=date, quote="q", chunk_id="c", score=1)

    q1 = Question(
        "1", "q", ["x"], ["a"], True, D(2023, 10, 27), ("2023-10-23", "2023-10-27"), "window"
    )
    q2 = Question("2", "q", [], [], False, D(2023, 10, 27), ("2023-10-16", "2023-10-22"), "window")
    q3 = Question("3", "q", ["Pixel"], ["a"], True, D(2023, 11, 15), None, "order")
    w1 = AnswerWindow(since="2023-10-23", until="2023-10-27")
    a1 = Answer(
        question="q",
        standalone_question="q",
        text="x [1]",
        citations=[cite("2023-10-26"), cite("2023-10-20")],
        confidence=9,
        window=w1,
    )
    a2 = Answer(
        question="q",
        standalone_question="q",
        text="No articles",
        citations=[cite("2023-10-24")],
        abstained=True,
        window=AnswerWindow(since="2023-10-16", until="2023-10-23"),
    )
    a3 = Answer(
        question="q",
        standalone_question="q",
        text="Pixel and Mac",
        short_answer="the Mac",
        citations=[cite("2023-11-20")],
    )
    s = summarize([_outcome(q1, a1), _outcome(q2, a2), _outcome(q3, a3)], threshold=5.0)
    assert s["window_accuracy"] == 0.5
    assert s["in_window_citations"] == 0.5  # the abstention's nearest coverage is not counted
    assert s["future_citations"] == 1
    assert s["by_kind"]["window"] == {"n": 2, "containment": 1.0, "abstention": 1.0}
    assert s["by_kind"]["order"]["containment"] == 0.0  # scored on the short answer
    assert s["empty_window_nearest_named"] == 1.0


@pytest.mark.parametrize(
    "question",
    ["What is the latest news about NATO?", "What's the latest on Russia and NATO?"],
)
def test_the_latest_report_never_quotes_a_heading(seed_service: NewsService, question: str) -> None:
    answer = seed_service.ask(question, as_of=D(2026, 12, 2))
    assert answer.citations, answer.text
    quotes = [c.quote for c in answer.citations]
    assert "Russia-NATO relations" not in quotes
    assert all(is_prose(q) for q in quotes), quotes


def test_a_named_topic_is_on_topic_only_where_it_is_named() -> None:
    # "trial" is rarer than "FTX" in this index: without the name it holds most of the
    # topic's weight, yet an antitrust trial is no part of the FTX trial's story.
    idf = {"ftx": 3.1, "trial": 3.8}
    index = SimpleNamespace(idf=lambda t: idf.get(t, 1.0))

    def hit(title: str, text: str) -> Any:
        return SimpleNamespace(dense=0.3, article=SimpleNamespace(title=title, url="", text=text))

    topic = timely.topic_terms("the FTX trial")
    google = hit("5 things we learned about the Google antitrust case", "The trial went on.")
    ftx = hit("Bankman-Fried takes the stand", "The FTX founder testified at his trial.")
    assert not timely.on_topic(index, google, topic)  # type: ignore[arg-type]
    assert timely.on_topic(index, ftx, topic)  # type: ignore[arg-type]


def test_a_word_of_a_name_written_otherwise_is_no_mention_of_it() -> None:
    # "the All Blacks" is a name: "black and white binaries" (or "black-and-white" in a URL)
    # does not name it; its capitalised words do.
    index = SimpleNamespace(idf=lambda t: 2.0)

    def hit(title: str, url: str, text: str) -> Any:
        return SimpleNamespace(dense=0.2, article=SimpleNamespace(title=title, url=url, text=text))

    topic = timely.topic_terms("the All Blacks")
    binaries = hit(
        "An author on playing with black and white binaries",
        "https://paper.example/author-on-black-and-white-binaries",
        "She writes about identity.",
    )
    rugby = hit("All Blacks defend their centre", "", "The All Blacks trained on Monday.")
    assert not timely.on_topic(index, binaries, topic)  # type: ignore[arg-type]
    assert timely.on_topic(index, rugby, topic)  # type: ignore[arg-type]


def test_what_happened_without_a_topic_is_the_window_s_news(service: NewsService) -> None:
    answer = service.ask("What happened last week?", as_of=D(2023, 10, 9))
    # 2-8 October: a game, the jury story and the phone launch, whatever their topic.
    assert [c.article_id for c in answer.citations] == ["vikings-oct", "ftx-jury", "pixel"]
    assert answer.text.startswith("- 2 Oct 2023: ")
    empty = service.ask("What happened last week?", as_of=D(2023, 9, 20))
    assert empty.text.startswith("No coverage last week")
