"""A story's headline is quoted when it says what is asked and the text does not: a feed
item or an abstract often keeps a few sentences that never name the buyer or the sum the
headline gives. A headline that only labels the story, or asks, answers nothing. A short
yes/no question is "Yes" only when the evidence (headlines included) says what it asks."""

from __future__ import annotations

import pytest

from retrieval.answering.headlines import headline
from retrieval.answering.yesno import NOT_SAID
from retrieval.embeddings import Embedder
from retrieval.service import NewsService
from tests.conftest import REPO, corpus_service

CORPUS = REPO / "tests" / "data" / "headlines" / "corpus.jsonl"


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> NewsService:
    """Five stories whose texts are a few sentences each, as feed items often are."""
    return corpus_service(tmp_path_factory.mktemp("headlines"), CORPUS, embedder)


@pytest.mark.slow
def test_the_headline_names_the_buyer_the_text_does_not(service: NewsService) -> None:
    a = service.ask("Who is buying Contoso?")
    assert a.text.startswith("“Sources: Northwind in advanced talks to buy Contoso")
    # The citation quotes the headline, word for word, and names its story.
    [c] = a.citations
    assert c.article_id == "northwind-contoso"
    assert c.quote == "Sources: Northwind in advanced talks to buy Contoso in a $2B security deal"


@pytest.mark.slow
def test_the_headline_gives_the_sum(service: NewsService) -> None:
    a = service.ask("How much did Fabrikam raise?")
    assert a.short_answer == "$4.5M"
    assert a.citations[0].article_id == "fabrikam-seed"


@pytest.mark.slow
def test_a_label_headline_does_not_displace_the_sentence_that_tells(
    service: NewsService,
) -> None:
    a = service.ask("What happened in the Falcons semifinal against the Hawks?")
    assert "Jordan Reyes curled a free kick" in a.text
    assert "live score" not in a.text


@pytest.mark.slow
def test_an_explainer_headline_is_not_its_own_answer(service: NewsService) -> None:
    a = service.ask("Why is Globex betting on a decentralized social network?")
    assert "trust and safety come first" in a.text
    assert "Why Globex" not in a.text


def test_what_reads_as_a_headline() -> None:
    text = "The company reported results on Thursday."
    assert headline("Northwind in advanced talks to buy Contoso", text) is not None
    # Labels state nothing: too short, or no lower-case word but function words.
    assert headline("1973 oil crisis", text) is None
    assert headline("Intergovernmental Panel on Climate Change", text) is None
    # A question or an explainer's title promises what the text tells.
    assert headline("Why Globex is betting on a decentralized network", text) is None
    assert headline("Is Google Search better than the rest?", text) is None
    assert headline("Receiver rankings for Week 14: Who to start, best sleepers", text) is None
    # A newsletter's roundup of several stories says nothing of how its parts relate.
    roundup = "Initech hosts a dev day, we review the new laptop, and Umbrella gets a new CEO"
    assert headline(roundup, text) is None
    # A live blog's or a tracker's label lists what it holds: common nouns between commas.
    live = "Bears vs. Vikings live score, updates, highlights from NFL 'Monday Night Football' game"
    assert headline(live, text) is None
    assert headline("Tracker: Live updates on news, rumors, signings and trades", text) is None
    # Names between commas are who the story is about, and a list of what it is about
    # is no page's label.
    assert headline("Initech, Globex, Umbrella face an antitrust probe in Brussels", text)
    assert headline("Initech faces a probe over content risks, moderation, transparency", text)
    # An HTML-escaped title is read as the outlet wrote it.
    escaped = "&#039;Massive intel failure&#039;: Hamas&#039; surprise attack shocks the internet"
    assert (
        headline(escaped, text)
        == "'Massive intel failure': Hamas' surprise attack shocks the internet"
    )
    # A title taken from the text's first words (shortened) or said by the text adds nothing.
    story = "Russia has suspended its NATO mission in response to the expulsion of eight staff."
    assert headline("Russia has suspended its NATO mission in response to the…", story) is None


@pytest.mark.slow
def test_a_yes_no_question_whose_act_no_evidence_says_is_not_settled(
    service: NewsService,
) -> None:
    # The story is found, but nothing in it says anything of losing the trial.
    a = service.ask("Did Umbrella lose the Initech trial?")
    assert a.short_answer == NOT_SAID
    assert a.text.startswith("The articles don't say")
    assert a.citations[0].article_id == "initech-trial"
    # What it does say settles what is asked of it (the headline says the trial opened).
    assert service.ask("Did the Initech trial open?").short_answer == "Yes"


@pytest.mark.slow
def test_the_headline_says_what_a_yes_no_question_asks(service: NewsService) -> None:
    # The text never says Fabrikam raised anything; its headline does, and is quoted first.
    a = service.ask("Did Fabrikam raise a seed round?")
    assert a.short_answer == "Yes"
    assert a.citations[0].article_id == "fabrikam-seed"
    assert a.text.startswith("Yes [1]\n\n“Fabrikam raises a $4.5M seed round")


@pytest.mark.slow
def test_a_headline_answers_what_the_text_never_says_rather_than_nothing(
    service: NewsService,
) -> None:
    # The text never says what he tried to delete; the headline names him and says it.
    a = service.ask("What did Dana Whitlock try to delete?")
    assert not a.abstained
    assert "“Quarterback Dana Whitlock says he tried to delete his old tweets" in a.text
    assert [c.article_id for c in a.citations] == ["whitlock-tweets"]
    # A headline that does not name the one asked about answers nothing.
    assert service.ask("What did Mia Chen try to delete?").abstained
