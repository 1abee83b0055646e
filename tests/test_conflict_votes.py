"""Misinformation resistance: the value more independent reports give leads, a lone report
ranked first is shown as disputed, copies of one story count once, and a class-noun
question ("What sport ...") reads its value as the word nearest the class."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from retrieval.answering.classes import class_member, class_noun
from retrieval.embeddings import Embedder
from retrieval.evaluation import misled
from retrieval.service import NewsService
from tests.conftest import REPO, corpus_service

DATA = REPO / "tests" / "data" / "votes"


@pytest.fixture(scope="module")
def vote_service(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> NewsService:
    """A service over nine undated articles: a planted population, a planted sport, and a
    story with its copy against one other report."""
    return corpus_service(tmp_path_factory.mktemp("votes"), DATA / "corpus.jsonl", embedder)


def test_a_class_noun_is_read_from_the_question() -> None:
    assert class_noun("What sport is Doak associated with?") == "sport"
    assert class_noun("What political party is John Dailey affiliated with?") == "political party"
    assert class_noun('What is the language of the television series "Ardhangini"?') == "language"
    assert class_noun("What is Greg Boyer's profession?") == "profession"
    assert class_noun("What is the type of institution Fontbonne is?") == "institution"
    assert class_noun("20000 series is operated by which railway operator?") == "railway operator"
    # Names, numbers, dates, people and places are asked otherwise.
    assert class_noun("What is the name of the river?") is None
    assert class_noun("When was the bridge built?") is None
    assert class_noun("Who founded the club?") is None
    assert class_noun("What causes rain?") is None


def test_the_word_nearest_the_class_is_the_value(embedder: Embedder) -> None:
    cache: dict[str, np.ndarray] = {}

    def vectors(words: list[str]) -> dict[str, np.ndarray]:
        new = [w for w in words if w not in cache]
        if new:
            cache.update(zip(new, embedder.encode(new), strict=True))
        return {w: cache[w] for w in words}

    sentence = "Brannock Park is a football stadium in Leeds, home of the Rovers."
    assert class_member(sentence, "sport", "What sport is Brannock known for?", vectors) == (
        "football"
    )
    # Nothing near enough to the class: no value.
    assert class_member("He lived in Leeds.", "sport", "What sport?", vectors) is None


def test_a_lone_report_ranked_first_is_disputed(vote_service: NewsService) -> None:
    a = vote_service.ask("What is the population of Alderbury?")
    assert a.conflict is not None and a.conflict.kind == "disagreement"
    lead, *rest = a.conflict.values
    assert (lead.value, lead.role) == ("2,145", "supported")
    assert len(lead.citations) == 2
    assert [(v.value, v.role) for v in rest] == [("10,000", "disputed")]
    assert a.text.startswith("2,145 [")
    assert "disputed" in a.text.split("\n\n")[0]
    assert not misled(a, a.text, ["10,000"])


def test_a_class_noun_question_votes_on_its_class_word(vote_service: NewsService) -> None:
    a = vote_service.ask("What sport is Brannock known for?")
    assert a.conflict is not None
    assert [(v.value.lower(), v.role) for v in a.conflict.values] == [
        ("football", "supported"),
        ("chess", "disputed"),
    ]
    assert not misled(a, a.text, ["Chess"])


def test_copies_of_one_story_are_one_vote(vote_service: NewsService) -> None:
    a = vote_service.ask("How long is the Carrow bridge?")
    # 340 comes from one story and its copy, 410 from another report: a tie, no majority.
    assert a.conflict is not None and a.conflict.kind == "disagreement"
    assert a.text.startswith("Sources differ:")
    assert {v.role for v in a.conflict.values} == {"disputed"}
    assert {v.value for v in a.conflict.values} == {"340", "410"}


def test_a_question_naming_nothing_holds_no_vote(tmp_path: Path, embedder: Embedder) -> None:
    # Without a name, nothing shows the reports to be about one thing: two unrelated articles
    # would outvote the one that answers (a CoQA story was answered "TV" this way).
    service = corpus_service(tmp_path, DATA / "unnamed.jsonl", embedder)
    a = service.ask("Who was held by pirates for two years?")
    assert a.conflict is None
    assert "Moore" in a.text.split("\n\n")[0]
