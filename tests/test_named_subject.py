"""A question that names something is answered from the articles that name it: other
stories that merely share its other words ("revenue") are no rival reports. A yes/no
question is settled only by what the evidence asserts ("to determine whether she is
guilty" settles nothing), and an article's headline names what its text calls "the
company"."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace
from typing import Any

import pytest

from retrieval.answer import Citation
from retrieval.answering import entities, timely
from retrieval.answering.slots import slot_value
from retrieval.answering.yesno import NOT_SAID, polarity
from retrieval.embeddings import Embedder
from retrieval.service import NewsService
from tests.conftest import REPO, corpus_service

CORPUS = REPO / "tests" / "data" / "named" / "corpus.jsonl"


@pytest.fixture(scope="module")
def named_service(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> NewsService:
    """Five short business and court stories; three of them report a revenue figure."""
    return corpus_service(tmp_path_factory.mktemp("named"), CORPUS, embedder)


@pytest.mark.slow
def test_other_companies_revenue_is_no_rival_report(named_service: NewsService) -> None:
    a = named_service.ask("What happened to Acme's revenue?")
    assert not a.abstained
    assert a.conflict is None
    assert {c.article_id for c in a.citations} == {"acme-q3"}


@pytest.mark.slow
def test_a_whether_clause_settles_no_yes_no_question(named_service: NewsService) -> None:
    a = named_service.ask("Is Dana Harwick guilty?")
    assert a.short_answer == NOT_SAID
    assert a.text.startswith("The articles don't say")
    # The evidence that leaves it open is still quoted and cited.
    assert "whether she is guilty" in a.text
    assert [c.article_id for c in a.citations] == ["trial-vote"]


@pytest.mark.slow
def test_the_headline_names_the_company_its_text_calls_the_carmaker(
    named_service: NewsService,
) -> None:
    a = named_service.ask("Did Bolt Motors beat earnings expectations?")
    assert a.short_answer == "Yes"


def test_what_is_asked_only_inside_whether_or_if_is_not_said() -> None:
    trial = "The trial started Tuesday to determine whether she is guilty of seven counts of fraud."
    assert polarity("Is Dana Harwick guilty?", [trial]) == NOT_SAID
    assert polarity("Will he go to prison?", ["If convicted, he could go to prison."]) == NOT_SAID
    unknown = "Nobody knows if she won the vote, officials said."
    assert polarity("Did she win the vote?", [unknown]) == NOT_SAID
    # Said outside the clause too: the evidence asserts it.
    found = "The jury had to decide whether she lied, and it found her guilty on all counts."
    assert polarity("Is Dana Harwick guilty?", [found]) == "Yes"
    # A denial outside the clause still answers "No".
    denied = "He was not guilty, the jury said, after weeks of asking whether he lied."
    assert polarity("Was he guilty?", [denied]) == "No"
    # Evidence that shares no word with what is asked is read as before.
    assert polarity("Was it a happy day?", ["Everyone smiled and danced all night."]) == "Yes"


def test_a_name_the_headline_gives_is_no_missing_name() -> None:
    q = "Did Bolt Motors beat earnings expectations?"
    said = ["The carmaker reported earnings above what analysts at Redline Research expected."]
    # Without the headline the sentence names another company and none of the asked one.
    assert polarity(q, said) == "No"
    assert polarity(q, said, named=["Bolt Motors beats on earnings, misses on sales"]) == "Yes"


def test_an_owner_whose_title_a_name_holds_is_not_who_is_meant() -> None:
    sentence = (
        "The standout testimony came from Alameda Research’s former CEO Caroline Ellison, "
        "who said she took customer money."
    )
    value = slot_value(sentence, "Who testified at the trial?", "who")
    assert value is not None and value.endswith("Caroline Ellison")
    # An owner with no name after it is still a name of the sentence.
    assert slot_value("It was Acme's plan all along.", "Who made the plan?", "who") == "Acme's"


@pytest.mark.slow
def test_the_latest_on_a_story_is_its_newest_report_not_a_passing_mention(
    named_service: NewsService,
) -> None:
    a = named_service.ask("What's the latest on the Harwick trial?", as_of=dt.date(2023, 12, 1))
    assert [c.article_id for c in a.citations] == ["harwick-rests"]


def test_an_article_is_about_what_its_headline_names_or_its_text_names_again() -> None:
    topic = timely.topic_terms("the Harwick trial")

    def hit(title: str, text: str) -> Any:
        return SimpleNamespace(article=SimpleNamespace(title=title, url="", text=text))

    assert timely.about(hit("Harwick's lawyers rest their case", "They rested."), topic)
    assert timely.about(hit("Day 9", "Harwick wept. Later Harwick spoke."), topic)
    passing = hit("Crypto is back", "Investors paused during the Harwick trial.")
    assert not timely.about(passing, topic)
    # A name is said whole somewhere: another Hill in the headline is no story of this one.
    tyreek = timely.topic_terms("Tyreek Hill")
    assert not timely.about(hit("Faith Hill on marriage", "The singer spoke."), tyreek)
    assert timely.about(hit("Hill torches the Commanders", "Tyreek Hill caught two."), tyreek)


def test_the_articles_naming_what_is_asked_answer_it() -> None:
    def cand(aid: str, title: str, text: str, source: str = "Wire") -> Any:
        article = SimpleNamespace(id=aid, title=title, url=None, source=source, text=text)
        return SimpleNamespace(hit=SimpleNamespace(article=article))

    # Rarer words weigh more: a name's rarest word is the one an article about it says.
    def idf(term: str) -> float:
        return {"quarri": 5.0, "capit": 2.0, "game": 1.0, "epic": 6.0}.get(term, 3.0)

    def naming_first(question: str, cands: list[Any]) -> list[Any]:
        return entities.naming_first(question, cands, idf)

    market = cand("m", "Stocks rally", "Stocks surged on hopes the Fed is done raising rates.")
    acme = cand("a", "Acme misses revenue expectations", "The company's sales fell 3%.")
    quarry = cand("q", "Crypto is back", "Quarry Exchange customers returned.")
    # Acme's article names Acme (in its headline): the market report that never does is out.
    assert naming_first("Why did Acme's stock rise?", [market, acme]) == [acme]
    # Where no article says the whole name, nothing is set aside.
    assert naming_first("Why did Initech's stock rise?", [market, acme]) == [market, acme]
    # One that says its rarest word may be about another thing of that name; a common word
    # of it ("games") is in many stories.
    assert naming_first("What did Quarry Capital buy?", [quarry, acme]) == [quarry, acme]
    both = cand("c", "Quarry Capital buys Acme", "The deal closed.")
    assert naming_first("What did Quarry Capital buy?", [quarry, acme, both]) == [quarry, both]
    epic = cand("e", "Epic Games sues Google", "The trial began.")
    games = cand("g", "Layoffs hit games", "More than 9,000 in video games were laid off.")
    assert naming_first("How many were laid off at Epic Games?", [games, epic]) == [epic]
    # An acronym the text writes out is said; so is a name another part of the story says.
    eu = cand("u", "Treaties", "The European Union adopted it.")
    tour = cand("x", "Tourism", "The EU counts visitors.")
    assert naming_first("When did the EU adopt it?", [eu, tour]) == [eu, tour]
    part = cand("p2", "Super Bowl 50", "The team won.")
    other = cand("p1", "Super Bowl 50", "The Broncos beat the Panthers.")
    assert naming_first("Who led the Broncos?", [part, market, other]) == [part, other]
    # The outlet counts as named: "the TechCrunch article".
    tc = cand("t", "Layoffs", "Firms cut jobs.", source="TechCrunch")
    assert naming_first("What did the TechCrunch article say?", [market, tc]) == [tc]


@pytest.mark.slow
def test_a_story_its_url_names_is_about_the_person_its_text_calls_by_surname(
    named_service: NewsService,
) -> None:
    a = named_service.ask("What did Eddy Cue say?")
    assert not a.abstained
    assert [c.article_id for c in a.citations] == ["cue-court"]
    assert "Cue said" in a.text


def test_a_question_naming_several_things_keeps_every_article() -> None:
    def cand(aid: str, title: str, source: str) -> Any:
        article = SimpleNamespace(id=aid, title=title, url=None, source=source, text="Text.")
        return SimpleNamespace(hit=SimpleNamespace(article=article))

    tc = cand("t", "Google antitrust trial", "TechCrunch")
    verge = cand("v", "Apple defends the deal", "The Verge")
    q = "Which company did TechCrunch and The Verge both cover?"
    assert entities.naming_first(q, [tc, verge], lambda term: 1.0) == [tc, verge]


def test_the_latest_report_quotes_a_sentence_once_when_two_chunks_cut_it_twice() -> None:
    import numpy as np

    text = "152.67 -- After missing the game, Tyreek Hill needs 153 yards a game to reach 2,000."
    cut = text.index("--")
    article = SimpleNamespace(
        id="hill", title="Hill", date="2023-12-12", source="Wire", url=None, text=text
    )
    index = SimpleNamespace(
        sentences_of={0: [0], 1: [1]},
        sentences=[
            SimpleNamespace(start=0, end=len(text)),
            SimpleNamespace(start=cut, end=len(text)),
        ],
        sentence_vectors=np.array([[0.9, 0.1], [1.0, 0.0]], dtype=np.float32),
    )

    def hit(row: int) -> Any:
        chunk = SimpleNamespace(row=row, id=f"hill:{row}")
        h = SimpleNamespace(chunk=chunk, article=article)
        h.citation = lambda n, quote, score: Citation(
            n=n, article_id="hill", title="Hill", quote=quote, chunk_id=chunk.id, score=score
        )
        return h

    qvec = np.array([1.0, 0.0], dtype=np.float32)
    hits = [hit(0), hit(1)]
    a = timely.newest_report(index, "What's the latest on Tyreek Hill?", qvec, hits)  # type: ignore[arg-type]
    assert a.text.count("After missing the game") == 1
