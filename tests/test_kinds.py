"""Questions answered in kind: yes/no by polarity, who by role, how many by the qualifier's
value, why by the reason clause; headings and bylines are never quoted."""

from __future__ import annotations

import pytest

from retrieval.answering.kinds import (
    answer_in_kind,
    ask_kind,
    is_prose,
    number_answer,
    who_answer,
)
from retrieval.answering.yesno import polarity

LAVROV = (
    "In a statement published on the official website, Russian Foreign Minister Sergei "
    "Lavrov said on 18 October that the country's staff at NATO’s mission in Moscow would "
    "be stripped of their accreditation from 1 November."
)
OPENING = (
    "Russia has suspended its North Atlantic Treaty Organization (NATO) mission in response "
    'to the "expulsion" of eight members of its military alliance last week.'
)
STOLTENBERG = (
    "What the Kremlin referred to as “unfriendly actions” is NATO Secretary-General Jens "
    "Stoltenberg’s decision of 6 October, withdrawing the accreditation of eight members of "
    "the Russian Permanent Mission to NATO from 1 November while also reducing the overall "
    "number of mission personnel to 10."
)


@pytest.mark.parametrize(
    ("question", "kind"),
    [
        ("Does he feel confident about it?", "yesno"),
        ("were any commanders retained?", "yesno"),
        ("Is it Paris or London?", "other"),
        ("Why did Russia suspend its mission?", "why"),
        ("Who announced it?", "who"),
        ("How many staff can Russia's mission have now?", "how_many"),
        ("What happened in 2014?", "other"),
        ("Any other diseases?", "yesno"),
        ("Anything else?", "yesno"),
        # A "when" clause or a "when" inside a question about a thing asks no date.
        ("When UPT bought ABC, what was the merged company called?", "other"),
        ("What kind of network was ABC when it first began?", "other"),
        ("When he arrived, who met him?", "who"),
        ("In what year did the FCC publish its report?", "when"),
    ],
)
def test_question_kinds(question: str, kind: str) -> None:
    assert ask_kind(question) == kind


@pytest.mark.parametrize(
    ("sentence", "prose"),
    [
        ("Russia-NATO relations", False),
        ("By Jane Smith, CNN", False),
        ("Photo: Getty Images", False),
        ("Read more: the full statement", False),
        (OPENING, True),
        ("He said no.", True),
    ],
)
def test_headings_bylines_and_captions_are_no_prose(sentence: str, prose: bool) -> None:
    assert is_prose(sentence) is prose


def test_who_is_the_one_who_acts_not_the_thing_acted_on() -> None:
    question = "Who announced that Russia would suspend its NATO mission?"
    # The opening names only the organisation the mission is to: no one announces there.
    assert who_answer([OPENING], question) is None
    assert who_answer([OPENING, LAVROV], question) == "Sergei Lavrov"


def test_who_is_asks_for_an_identity_not_for_whoever_acts_in_the_sentence() -> None:
    question = "Who is Jens Stoltenberg?"
    kremlin = (
        "What the Kremlin referred to as “unfriendly actions” is NATO Secretary-General Jens "
        "Stoltenberg’s decision on 6 October to expel eight Russian diplomats."
    )
    assert answer_in_kind("who", [kremlin], question) != "the Kremlin"
    assert answer_in_kind("who", [LAVROV], "Who announced the withdrawal?") == "Sergei Lavrov"


def test_how_many_now_takes_the_value_the_number_was_reduced_to() -> None:
    question = "How many staff can Russia's mission have now?"
    assert number_answer([STOLTENBERG], question, "how_many") == "10"


def test_two_equally_attached_values_give_no_short_answer() -> None:
    assert number_answer(["It happened in 2014 and again in 2015."], "When?", "when") is None


def test_why_is_answered_by_the_reason_clause() -> None:
    why = answer_in_kind("why", [OPENING], "Why did Russia suspend its mission to NATO?")
    assert why == (
        'in response to the "expulsion" of eight members of its military alliance last week'
    )


@pytest.mark.parametrize(
    ("question", "evidence", "expected"),
    [
        ("Did he plead guilty?", "Dzhokhar has pleaded not guilty to 30 charges.", "No"),
        ("Was he caught?", "Dzhokhar has pleaded not guilty to 30 charges.", "Yes"),
        (
            "Is the mission based at NATO headquarters?",
            "The Russian mission to NATO is not based on the alliance's headquarters.",
            "No",
        ),
        ("Was this the only time this happened?", "It happened in 1970.", "No"),
        ("Didn't he resign?", "He did not resign.", "Yes"),
        # "only" / "all" / "whole" hold only when the evidence says so itself.
        ("Did he serve the whole year?", "He was serving a one-year sentence.", "No"),
        ("Was he just big in America?", "He was as big in Asia as in America.", "No"),
        ("Did he sing it all in English?", "He sang it in Spanish and English.", "No"),
        ("Did the whole town vote?", "The whole town voted on Sunday.", "Yes"),
        # Whole words: the "all" asked about is not in "ballad".
        ("Was it sung all in English?", "It was sung in Spanish and English as a ballad.", "No"),
        # "still" against a title that was.
        ("Is he still president?", "He threw his shoes at then-President Bush.", "No"),
        # Another value for the slot the question fills.
        (
            "Was it his 2nd match since Wimbledon?",
            "It is his first tournament since Wimbledon.",
            "No",
        ),
        ("Are those European nations?", "The two Central American nations came to blows.", "No"),
        ("Are those Central American nations?", "The two Central American nations fought.", "Yes"),
        # "the 2" are people in play, not a number asked about.
        ("Did the 2 meet in the first round?", "They met in the first round.", "Yes"),
        # The denial that counts is in the sentence that says most of the question.
        ("Does he consider himself a hero?", "He was freed. 'I am not a hero,' he said.", "No"),
    ],
)
def test_yes_no_follows_the_evidence_polarity(question: str, evidence: str, expected: str) -> None:
    assert polarity(question, [evidence]) == expected


def test_a_measure_keeps_its_unit_and_a_range_both_ends() -> None:
    assert number_answer(["It would take 10 years to build."], "How long?", "how_many") == (
        "10 years"
    )
    taken = number_answer(["Output takes five to ten years."], "How long does it take?", "how_many")
    assert taken == "five to ten years"
    # "How many" counts: the thing counted is no part of the answer.
    assert number_answer(["ABC had nine affiliates."], "How many affiliates?", "how_many") == "nine"


def test_without_a_parser_the_rules_over_the_text_answer(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import retrieval.answering.kinds as kinds

    monkeypatch.setattr(kinds, "default_reader", lambda: None)
    assert answer_in_kind("who", [LAVROV], "Who announced the withdrawal?") == "Sergei Lavrov"
    assert answer_in_kind("other", [LAVROV], "What was announced?") is None


def test_a_model_that_fails_its_check_gives_no_parser(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from retrieval.answering import parse, spacy_reader

    changed = {**spacy_reader.MODEL_SHA256, "ner/model": "0" * 64}
    monkeypatch.setattr(spacy_reader, "MODEL_SHA256", changed)
    monkeypatch.setattr(parse, "_tried", False)
    monkeypatch.setattr(parse, "_reader", None)
    assert parse.default_reader() is None
    assert "sha256 mismatch" in caplog.text
