"""A conversation follows its story: follow-ups stay with the article it is about unless
they clearly change subject; the seed questions a new user asked are answered in kind."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace
from typing import cast

import pytest

from retrieval import focus
from retrieval.answer import Answer, Citation
from retrieval.answering.extractive import said_terms
from retrieval.condense import could_be_person, standalone_question
from retrieval.config import Settings
from retrieval.embeddings import Embedder
from retrieval.retriever import Hit
from retrieval.service import NewsService
from retrieval.sessions import SQLiteConversationStore, Turn
from tests.conftest import SEED

SEED_ID = SEED.stem
OTHER = """\
title: Space agency pauses its comet mission
date: 2021-10-18

The European Space Agency suspended its comet mission on Monday after a fault in the \
probe's radio. The mission is based in Darmstadt, where engineers are testing a fix. \
Director Josef Aschbacher said the probe would be back in service within a month.
"""


@pytest.fixture
def two_stories(
    tmp_path: Path, make_settings: Callable[..., Settings], embedder: Embedder
) -> NewsService:
    """A service over the seed article and an unrelated story about another 'mission'."""
    docs = tmp_path / "docs"
    docs.mkdir()
    shutil.copy(SEED, docs / SEED.name)
    (docs / "2021-10-18-comet-mission.txt").write_text(OTHER, encoding="utf-8")
    service = NewsService(make_settings([docs], sessions={"path": ":memory:"}), embedder)
    service.ingest(progress=False)
    return service


@pytest.mark.slow
def test_a_follow_up_stays_with_the_story_until_the_subject_changes(
    two_stories: NewsService,
) -> None:
    first = two_stories.ask("Why did Russia suspend its mission to NATO?", session_id="s")
    assert first.citations[0].article_id == SEED_ID
    where = two_stories.ask("Where is it based?", session_id="s")
    assert not where.abstained
    assert {c.article_id for c in where.citations} == {SEED_ID}
    assert "Brussels" in where.text
    assert where.standalone_question != "Where is it based?"  # shown, made standalone
    # Naming what the story never mentions leaves it.
    other = two_stories.ask("Where is the European Space Agency mission based?", session_id="s")
    assert other.citations[0].article_id == "2021-10-18-comet-mission"
    assert "Darmstadt" in other.text


def test_the_focus_survives_in_the_store(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite"
    cited = [Citation(n=1, article_id="a", title="T", quote="Q.", chunk_id="a#0", score=0.5)]
    turn = Turn("q", "q", "a", None, cited, articles=("a",), entities=("Sergei Lavrov", "NATO"))
    SQLiteConversationStore(path).append("x", turn)
    (back,) = SQLiteConversationStore(path).history("x")
    assert back.articles == ("a",) and back.entities == ("Sergei Lavrov", "NATO")


def test_who_announced_is_the_one_who_announced(seed_service: NewsService) -> None:
    answer = seed_service.ask("Who announced that Russia would suspend its NATO mission?")
    assert answer.short_answer == "Sergei Lavrov"
    assert answer.text.startswith("Sergei Lavrov [1]")


def test_what_happened_never_quotes_the_section_heading(seed_service: NewsService) -> None:
    answer = seed_service.ask("What happened in 2014 between NATO and Russia?")
    assert not answer.abstained
    assert "Russia-NATO relations" not in answer.text
    assert all(c.quote != "Russia-NATO relations" for c in answer.citations)
    assert "2014" in answer.text


def test_how_many_now_is_the_number_it_was_reduced_to(seed_service: NewsService) -> None:
    # The sentence that sets the number ("reducing the overall number of mission personnel
    # to 10", "personnel" near "staff" by meaning) scores below two about the eight expelled
    # diplomats; the question's "now" brings it into the quote.
    answer = seed_service.ask("How many staff can Russia's mission have now?")
    assert answer.short_answer == "10"
    assert any("personnel to 10" in c.quote for c in answer.citations) or (
        "personnel to 10" in answer.text
    )


def test_still_open_is_no_and_the_sentence_that_says_so_comes_first(
    seed_service: NewsService,
) -> None:
    # "NATO did keep the channels open" says "open" of channels; the mission "shall be
    # suspended". The answer is "No", and the suspension is quoted first.
    answer = seed_service.ask("Is Russia's mission to NATO still open?")
    assert answer.short_answer == "No"
    first = answer.text.split("\n\n", 1)[1]
    assert first.index("suspended") < first.index("channels open")


def test_a_question_with_the_roles_reversed_is_answered_no(seed_service: NewsService) -> None:
    # NATO expelled the Russian diplomats, and Russia suspends its mission to NATO.
    for question, short in (
        ("Did Russia expel NATO staff?", "No"),
        ("Did NATO expel Russian diplomats?", "Yes"),
        ("Did NATO suspend the Russian mission?", "No"),
    ):
        answer = seed_service.ask(question)
        assert answer.short_answer == short, question
        assert answer.citations


@pytest.mark.slow
def test_a_yes_no_follow_up_opens_with_yes_or_no(two_stories: NewsService) -> None:
    two_stories.ask("Where is the Russian mission to NATO based?", session_id="y")
    answer = two_stories.ask("Is it based at the alliance's headquarters?", session_id="y")
    assert answer.short_answer == "No"
    assert answer.text.startswith("No [1]")
    assert answer.citations and answer.citations[0].article_id == SEED_ID


def _answer(question: str, quote: str, article: str = "a") -> Answer:
    cited = Citation(
        n=1, article_id=article, title="t", quote=quote, chunk_id=f"{article}#0", score=0.5
    )
    return Answer(
        question=question,
        standalone_question=question,
        text=quote,
        citations=[cited],
        abstained=False,
    )


def test_names_drop_clitics_and_sentence_initial_function_words() -> None:
    assert focus.names_in("From there Rubio's team left. Over the years, Lugo's aides") == [
        "Rubio",
        "Lugo",
    ]


def test_a_question_typed_in_capitals_names_nothing_but_an_acronym_still_names() -> None:
    assert focus.names_in("WHAT IS THE 16 YEAR OLDS NAME?") == []
    assert focus.names_in("NATO") == ["NATO"]
    assert focus.names_in("Did NATO expel eight diplomats?") == ["NATO"]


def test_only_names_the_article_writes_inside_a_sentence_are_kept_and_the_salient_leads() -> None:
    article = (
        "Despite the rumors, Harry danced. The prince met locals. Harry flew to Belize. "
        "Rumors spread. Later Harry went home, his father Prince Charles said."
    )
    answer = _answer("Where did Harry go?", "Despite the rumors, Prince Charles said so.")
    after = focus.after(answer, focus.Focus(), article)
    assert "Despite" not in after.entities and "Rumors" not in after.entities
    assert after.entities[0] == "Harry"  # mentioned most, and recent


def test_a_follow_up_asking_for_a_name_keeps_its_pronoun() -> None:
    turn = Turn("Who threw the shoes?", "Who threw the shoes?", "A man [1]", entities=("Bush",))
    assert "Bush" not in standalone_question("What was his name?", [turn])
    assert standalone_question("Did he run?", [turn]).startswith("Did Bush run?")


def test_he_is_the_person_just_asked_about_not_the_most_mentioned_organisation() -> None:
    # The mission is mentioned most, but an organisation is no one's "he"; and a follow-up
    # to a follow-up means the person its question was read as asking about.
    article = (
        "The Russian Permanent Mission said so. Stoltenberg withdrew the accreditation of the "
        "Russian Permanent Mission. On 6 October Jens Stoltenberg decided. The Mission and "
        "the Kremlin objected; the Russian Permanent Mission closed. Mission staff left."
    )
    first = _answer("Who is Jens Stoltenberg?", article.split(". ")[1] + ".")
    after = focus.after(first, focus.Focus(), article)
    assert after.entities[0] == "Jens Stoltenberg"
    assert not could_be_person("Russian Permanent Mission")
    assert not could_be_person("NATO") and could_be_person("Sergei Lavrov")
    asked = "What did he decide on 6 October?"
    read_as = "What did Jens Stoltenberg decide on 6 October?"
    entities = ("Russian Permanent Mission", "Kremlin", "Jens Stoltenberg")
    turn = Turn(asked, read_as, "On 6 October [1]", entities=entities)
    assert standalone_question(asked, [turn]) == read_as
    # A who-question's answer is the next "he"; an organisation is no one's.
    shot = Turn("Who did he shoot?", "Who did Pennsylvania shoot?", "A driver [1]")
    shot = replace(
        shot, short_answer="Vincent Darbenzio", entities=("Pennsylvania", "Vincent Darbenzio")
    )
    assert standalone_question("What was his job?", [shot]) == "What was Vincent Darbenzio's job?"
    # Only organisations in play: the pronoun is left alone, the topic carried instead.
    lone = Turn("Who objected?", "Who objected?", "The Kremlin [1]", entities=("Kremlin",))
    assert "Kremlin decide" not in standalone_question("What did he decide?", [lone])


def test_short_question_finds_a_word_the_evidence_says_otherwise(
    seed_service: NewsService,
) -> None:
    # With the embedder a question's word counts as found when the evidence says it
    # otherwise ("staff" / "personnel"), not when it is merely related ("population").
    answerer = seed_service._current().answerer
    assert getattr(answerer, "encode", None) is not None
    near = answerer._near_words(
        "How many staff does the mission have?", {"staff"}, "the number of personnel is 10"
    )
    assert near == {"staff"}
    assert not answerer._near_words(
        "What is the population of Brussels?", {"popul"}, "the embassy in Brussels opened"
    )


def test_words_for_the_text_itself_are_no_topic_the_evidence_must_share(
    service_over: Callable[[str, str], NewsService],
) -> None:
    service = service_over(
        "2013-01-01-cab.txt",
        "title: Teen charged in cab driver's death\ndate: 2013-01-01\n\n"
        "A 16-year-old Pennsylvania boy is facing murder charges, accused of shooting a cab "
        "driver. Police said the man was arrested on Friday in Allentown.\n",
    )
    answer = service.ask("What charge is the man in the story facing?")
    assert not answer.abstained and "murder charges" in answer.text
    # A short question about what the story never says is still not answered.
    assert service.ask("What is the population of Allentown?").abstained


def test_a_question_about_the_article_itself_is_answered_from_the_story(
    service_over: Callable[[str, str], NewsService],
) -> None:
    service = service_over(
        "2014-01-01-ncaa.txt",
        "title: Pressure grows on college sports\ndate: 2014-01-01\n\n"
        "Momentum is mounting against the NCAA, the century-old body that governs college "
        "sports. A federal judge heard a case calling for revenue from TV deals to be shared "
        "with student athletes.\n",
    )
    # "main", "character", "focus": words for the text itself, no topic the evidence must
    # share.
    answer = service.ask("What sports body is the focus of the article?")
    assert not answer.abstained and "NCAA" in answer.text
    assert service.ask("What is the population of Ohio?").abstained


def test_she_is_never_a_man_the_article_calls_he_nor_a_place() -> None:
    article = (
        "Justin Bieber's newest friend is Malala Yousafzai, a schoolgirl from Pakistan. "
        "Bieber, 20, made sure his fans knew. Yousafzai has said she was a fan, and her "
        "story moved him. Bieber said he would meet her in Pakistan."
    )
    asked = "Where is she from?"
    turn = Turn(
        "How old is he?",
        "How old is Bieber?",
        "20 [1]",
        articles=("a",),
        entities=("Bieber", "Pakistan", "Malala Yousafzai"),
    )
    texts = {"a": article}.get
    assert standalone_question(asked, [turn], texts) == "Where is Malala Yousafzai from?"
    assert standalone_question("What did he say?", [turn], texts) == "What did Bieber say?"
    # Without the article the earlier reading stands.
    assert standalone_question(asked, [turn]) == "Where is Bieber from?"


def test_the_class_a_what_question_asks_for_is_no_topic_the_evidence_must_share(
    service_over: Callable[[str, str], NewsService],
) -> None:
    service = service_over(
        "2014-01-01-rodman.txt",
        "title: Rodman in rehab\ndate: 2014-01-01\n\n"
        "Dennis Rodman says he is not a diplomat, just a former basketball star fighting "
        "addiction. Rodman spoke to CNN on Friday from a treatment center in New Jersey.\n",
    )
    assert not service.ask("What sport was Rodman in?").abstained
    assert service.ask("What is the population of New Jersey?").abstained


def test_a_pronoun_after_a_name_in_the_question_is_that_name() -> None:
    turn = Turn("Who is running?", "Who is running?", "Rubio [1]", entities=("Rubio", "Romney"))
    asked = "When's Romney considering making his own bid?"
    read_as = standalone_question(asked, [turn])
    assert read_as.startswith(asked) and "Rubio" not in read_as
    # A question typed in capitals names no one by its capitals.
    shouted = standalone_question("WHERE IS HE FROM?", [turn])
    assert shouted == "Where is Rubio from?"


def test_a_people_s_adjective_is_no_new_subject() -> None:
    assert focus._demonym("European", "Are those European nations?")
    assert not focus._demonym("Janet", "What was Janet doing then?")


def test_a_sentence_that_says_she_counts_the_name_the_sentence_before_gave() -> None:
    before = "Natasha Richardson, a stage actress, died Wednesday after a fall in Quebec."
    assert {"natasha", "richardson"} <= said_terms("She was 45.", before)
    assert "richardson" not in said_terms("The resort was closed.", before)


def test_an_object_pronoun_after_a_name_means_someone_else() -> None:
    from retrieval.referents import can_mean, gender

    text = (
        "Caroline Ellison, the former head of Alameda Research, testified that Sam "
        "Bankman-Fried directed her to commit fraud. Ellison said she took customer money."
    )
    # "directed her to": her is the one directed, not Bankman-Fried.
    assert gender("Sam Bankman-Fried", text) is None
    assert gender("Caroline Ellison", text) == "she"
    assert can_mean("she", "Caroline Ellison", text)
    # A possessive "her" still tells: "Boyle said her album".
    assert gender("Susan Boyle", "Susan Boyle said her album sold well.") == "she"


def test_she_is_the_person_the_reader_asked_about() -> None:
    from retrieval.condense import standalone_question

    text = (
        "Caroline Ellison, the former head of Alameda Research, testified that Sam "
        "Bankman-Fried directed her to commit fraud. Ellison said she took customer money."
    )
    last = Turn(
        question="Who is Caroline Ellison?",
        standalone="Who is Caroline Ellison?",
        answer=text,
        entities=("Alameda Research", "Sam Bankman-Fried"),
        articles=("ftx",),
    )
    asked = standalone_question("What did she say?", [last], lambda _: text)
    assert asked == "What did Caroline Ellison say?"


def test_she_is_never_the_title_of_a_film_or_a_show() -> None:
    from retrieval.referents import can_mean, titled

    text = (
        "Kenyan actress Lupita Nyong'o has become a critics' darling after her breakout role "
        "in last year's hit movie \"12 Years A Slave.\" Nyong'o said she grew up in Nairobi. "
        "Former 'Scandal' actor Columbus Short was arrested. Short said he was sorry."
    )
    assert titled("Years", text) and titled("Scandal", text)
    assert not can_mean("she", "Years", text)
    assert not can_mean("he", "Scandal", text)
    assert can_mean("she", "Lupita Nyong'o", text) and not titled("Lupita Nyong'o", text)
    assert can_mean("he", "Columbus Short", text)
    turn = Turn(
        "Who is the actress?",
        "Who is the actress?",
        "Lupita Nyong'o [1]",
        articles=("a",),
        entities=("Years", "Lupita Nyong'o"),
    )
    asked = standalone_question("What city did she grow up in?", [turn], {"a": text}.get)
    assert asked == "What city did Lupita Nyong'o grow up in?"


def _hit(article: str, sentence: float) -> Hit:
    """A fake hit: only its article and its best sentence's cosine matter to the support."""
    return cast(Hit, SimpleNamespace(article=SimpleNamespace(id=article), sentence=sentence))


def test_follow_ups_that_keep_matching_another_story_take_the_conversation_there() -> None:
    # A vague opener answered from "a", though "b" was nearly as close.
    first = focus.support(focus.Focus(), [_hit("a", 0.45), _hit("b", 0.40)])
    opened = focus.Focus(("a",), ("Susan Boyle",), first)
    assert opened.support[0][0] == "a"
    assert focus.leader(opened, opened.support) is None
    # Each follow-up matches "b" a little better: no one question settles it ...
    now = focus.support(opened, [_hit("b", 0.50), _hit("a", 0.40)])
    assert focus.leader(opened, now) is None
    now = focus.support(replace(opened, support=now), [_hit("b", 0.50), _hit("a", 0.40)])
    assert focus.leader(opened, now) is None
    # ... but together they do.
    now = focus.support(replace(opened, support=now), [_hit("b", 0.50), _hit("a", 0.40)])
    assert focus.leader(opened, now) == "b"


def test_a_story_the_hits_miss_gains_only_their_lowest_score() -> None:
    before = focus.Focus(("a",), (), (("a", 1.0), ("c", 0.9)))
    now = dict(focus.support(before, [_hit("a", 0.5), _hit("b", 0.3)]))
    assert now["a"] == pytest.approx(0.9 * 1.0 + 0.5)
    assert now["c"] == pytest.approx(0.9 * 0.9 + 0.3)  # missed: the hits' lowest
    assert now["b"] == pytest.approx(0.3)


def test_a_question_of_too_few_words_of_its_own_leaves_the_support_as_it_was() -> None:
    before = focus.Focus(("a",), (), (("a", 1.0), ("b", 0.9)))
    hits = [_hit("b", 0.9), _hit("a", 0.1)]
    for vague in ("Who?", "What happened to him?", "and then?"):
        assert focus.support(before, hits, vague) == before.support
    assert focus.support(before, hits, "Where did the fire start?") != before.support


def test_a_focus_article_the_support_never_counted_stands_as_its_least() -> None:
    # The first answer came from "a", found deeper than its question's hits.
    opened = focus.Focus(("a",), (), (("b", 0.40), ("c", 0.35), ("d", 0.30)))
    assert focus.leader(opened, opened.support) is None  # .40 - .30 < margin
    assert focus.leader(opened, (("b", 0.60), ("c", 0.35), ("d", 0.30))) == "b"


def test_a_takeover_reads_the_follow_up_without_the_old_story_s_names() -> None:
    wrong = Turn(
        "Who was found guilty?",
        "Who was found guilty?",
        "A jury found banker Tom Reed guilty.",
        "Tom Reed",
        [],
        articles=("fraud",),
        entities=("Tom Reed",),
    )
    assert standalone_question("Where did he pour petrol?", [wrong]) == (
        "Where did Tom Reed pour petrol?"
    )
    (handed,) = focus.handed_over([wrong], "fire")
    assert handed.articles == ("fire",) and handed.entities == ()
    assert handed.standalone == handed.question == "Who was found guilty?"
    assert "Reed" not in standalone_question("Where did he pour petrol?", [handed])
    assert focus.handed_over([], "fire") == []


def test_the_support_survives_in_the_store(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite"
    turn = Turn("q", "q", "a", None, [], articles=("a",), support=(("a", 1.25), ("b", 0.5)))
    SQLiteConversationStore(path).append("x", turn)
    (back,) = SQLiteConversationStore(path).history("x")
    assert back.support == (("a", 1.25), ("b", 0.5))


def test_when_after_an_answer_asks_about_the_sentence_just_quoted(
    seed_service: NewsService,
) -> None:
    first = seed_service.ask(
        "Who announced that Russia would suspend its NATO mission?", session_id="when-said"
    )
    assert "Lavrov" in first.citations[0].quote
    when = seed_service.ask("When?", session_id="when-said")
    # The announcement's own date, not the 2014 event the article recounts further on.
    assert "18 October" in when.citations[0].quote
    assert when.short_answer != "1 April 2014"


FOCUS_DATA = Path(__file__).parent / "data" / "focus"


@pytest.mark.slow
def test_follow_ups_recover_the_story_a_vague_opener_missed(
    tmp_path: Path, make_settings: Callable[..., Settings], embedder: Embedder
) -> None:
    """ "Who was found guilty?" fits both verdicts and is answered from the banker's; the
    follow-ups are about the fire, and the conversation goes there without carrying the
    banker's name into them."""
    settings = make_settings([FOCUS_DATA], sessions={"path": ":memory:"})
    service = NewsService(settings, embedder)
    service.ingest(progress=False)
    first = service.ask("Who was found guilty?", session_id="v")
    assert first.citations[0].article_id == "2022-05-06-fraud-verdict"
    petrol = service.ask("Where did he pour petrol?", session_id="v")
    assert "Reed" not in petrol.standalone_question
    assert all(c.article_id != "2022-05-06-fraud-verdict" for c in petrol.citations)
    burned = service.ask("How long did it burn?", session_id="v")
    assert burned.citations[0].article_id == "2022-05-07-harbor-fire"
    sentenced = service.ask("When will he be sentenced?", session_id="v")
    assert "September" in sentenced.text and "June" not in sentenced.text


def test_the_possessive_of_an_apposition_is_another_s() -> None:
    from retrieval.condense import standalone_question
    from retrieval.referents import gender

    text = (
        "Using Caroline Ellison, his on-again off-again girlfriend and the CEO of Alameda, as "
        "a front, Bankman-Fried had secret access to customer money."
    )
    # "Caroline Ellison, his girlfriend": "his" is Bankman-Fried's, no word on Ellison.
    assert gender("Caroline Ellison", text) is None
    last = Turn(
        question="Who is Caroline Ellison?",
        standalone="Who is Caroline Ellison?",
        answer=text,
        entities=("Caroline Ellison", "Bankman-Fried"),
        articles=("ftx",),
    )
    assert standalone_question("What did she say?", [last], lambda _: text) == (
        "What did Caroline Ellison say?"
    )
    # An object "her" is the person, not their possession.
    assert standalone_question("Who told her to do it?", [last], lambda _: text) == (
        "Who told Caroline Ellison to do it?"
    )


def test_he_may_be_the_one_only_the_headline_names() -> None:
    from retrieval.condense import standalone_question

    headline_and_text = (
        "Tim Sweeney on Epic's victory royale over Google\n"
        "Google could solve this problem today if they wanted to."
    )
    last = Turn(
        question="Who is Tim Sweeney?",
        standalone="Who is Tim Sweeney?",
        answer="Tim Sweeney on Epic's victory royale over Google [1]",
        # The focus's names come from the text, which calls him nothing.
        entities=("Google",),
        articles=("epic",),
    )
    asked = standalone_question(
        "What did he say about Google?", [last], lambda _: headline_and_text
    )
    assert asked == "What did Tim Sweeney say about Google?"


def test_he_after_who_is_x_is_x_not_what_the_answer_called_him() -> None:
    from retrieval.condense import standalone_question

    last = Turn(
        question="Who is Jens Stoltenberg?",
        standalone="Who is Jens Stoltenberg?",
        answer="NATO Secretary-General [1]",
        short_answer="NATO Secretary-General",
        entities=("NATO", "Jens Stoltenberg"),
    )
    asked = standalone_question("What did he decide on 6 October?", [last])
    assert asked == "What did Jens Stoltenberg decide on 6 October?"
    # A role asked about is answered by a name, which "he" then means.
    shooter = Turn(
        question="Who was the shooter?",
        standalone="Who was the shooter?",
        answer="Vincent Darbenzio [1]",
        short_answer="Vincent Darbenzio",
        entities=("Vincent Darbenzio",),
    )
    assert standalone_question("Why did he do it?", [shooter]) == "Why did Vincent Darbenzio do it?"


def test_the_pronoun_that_opens_the_next_sentence_is_the_subject_s() -> None:
    from retrieval.referents import can_mean, gender

    # Every pronoun right after "Boyle" belongs to someone her sentence brought in; the
    # sentence after one she opens starts with "She".
    article = (
        "TV talent show star Susan Boyle will sing for Pope Benedict XVI during his visit "
        "next month, the church said. Boyle will perform at Bellahouston Park in Glasgow, "
        "the Scottish Catholic Media Office said. She will also sing with the choir. Boyle "
        'plans to sing the hymn "How Great Thou Art" as well as her signature song. Boyle '
        "said her late mother was at the same park in 1982. Boyle will sing a farewell song "
        "to the pope as he leaves."
    )
    assert gender("Susan Boyle", article) == "she"
    assert not can_mean("his", "Susan Boyle", article)
    # A sentence the name does not open says nothing of the next one's "He".
    told = "The pope thanked Boyle for the song. He leaves on Friday."
    assert gender("Boyle", told) is None
