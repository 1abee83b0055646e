"""Yes/no questions answered by what the evidence asserts: "No" when it says the opposite
of the question's words, not "Yes" by default."""

from __future__ import annotations

import pytest

from retrieval.answering.yesno import asked, deciding_sentence, polarity

PROVOCATION = '"This is a real provocation," Russian Foreign Minister Sergei Lavrov said.'
NOT_FIRST = '"It is not the first time that such things have happened," he added.'


@pytest.mark.parametrize(
    ("question", "evidence", "expected"),
    [
        # A word of the opposite side, and none of the question's.
        ("Is Robin Williams still living?", ["And yet, today he is dead."], "No"),
        ("Is he still alive?", ["He is alive and well, his family said."], "Yes"),
        ("Did the team win?", ["The team won 2-1 and their rivals lost."], "Yes"),
        ("Was the meeting public?", ["The talks were held in secret in Geneva."], "No"),
        # The question's word with a negative prefix.
        (
            "Are the people satisfied with President Ahmadinejad?",
            ["It is a symptom of the general dissatisfaction with President Ahmadinejad."],
            "No",
        ),
        ("Was he aware of the brawl?", ["He was unaware of the brawl in the lobby."], "No"),
        ("Was he aware of the brawl?", ["He was aware of the brawl in the lobby."], "Yes"),
        # The other comparative about the same word.
        (
            "Is this Holmes less physical than usual?",
            ["This Holmes is more likely to get physical than his predecessors."],
            "No",
        ),
        ("Is this Holmes more physical than usual?", ["He is more physical than ever."], "Yes"),
        # "all the time" is asked as a whole: "it all" is not it.
        ("Did it affect him all the time?", ["He seemed to have it all."], "No"),
        # A denial of the question's words counts in any quoted sentence, not only in the
        # one that repeats most of the question.
        (
            "Does the Russian Foreign Minister believe this is the first time?",
            [PROVOCATION, NOT_FIRST],
            "No",
        ),
    ],
)
def test_yes_no_answers_no_when_the_evidence_says_the_opposite(
    question: str, evidence: list[str], expected: str
) -> None:
    assert polarity(question, evidence) == expected


@pytest.mark.parametrize(
    ("question", "evidence", "expected"),
    [
        # "another one" stands for a thing already named: no number the evidence must give.
        (
            "Did Sandra Bullock get another one earlier?",
            ["Last year, Sandra Bullock won Best Actress, days after taking home a Razzie."],
            "Yes",
        ),
        # A number is still a value the evidence must give.
        ("Did he win one medal?", ["He won three medals in Sochi."], "No"),
    ],
)
def test_the_pronoun_one_is_no_value_to_fill(
    question: str, evidence: list[str], expected: str
) -> None:
    assert polarity(question, evidence) == expected


@pytest.mark.parametrize(
    ("question", "evidence", "expected"),
    [
        # A denial counts before what the question asks, not before its subject's name ...
        (
            "Did Heather Neroy change her opinion?",
            ["The pinboard didn't pique Neroy's interest at first, but she changed her mind."],
            "Yes",
        ),
        ("Did he plead guilty?", ["He has pleaded not guilty to 30 charges."], "No"),
        # ... nor before a word that only frames the question.
        (
            "Is anyone else appealing?",
            ['"If I don\'t defend myself, no one else will," he said.', "Others will appeal."],
            "Yes",
        ),
    ],
)
def test_a_denial_counts_before_what_is_asked(
    question: str, evidence: list[str], expected: str
) -> None:
    assert polarity(question, evidence) == expected


@pytest.mark.parametrize(
    ("question", "evidence", "expected"),
    [
        # "one of those men" is any of them, no count the evidence must give.
        ("Was one of those men a teacher?", ["The victims included a California educator."], "Yes"),
        # "hardly" denies what follows it.
        (
            "Does he look like the iconic Sherlock?",
            ["He hardly looks like the iconic Sherlock."],
            "No",
        ),
        # A name the asker misspelled is the evidence's name, not another one.
        (
            "Did Saakashvili travel with Kaczynksi?",
            ["Saakashvili travelled with Polish President Lech Kaczynski."],
            "Yes",
        ),
        ("Did Saakashvili travel with Tusk?", ["Saakashvili travelled with Kaczynski."], "No"),
        # The question's word said of another thing ("the channels open") does not outweigh
        # its opposite said of what is asked about (the mission "suspended").
        (
            "Is Russia's mission to NATO still open?",
            [
                "While NATO did keep the channels open for senior-level meetings.",
                "The functioning of the Russian Permanent Mission to NATO shall be suspended.",
            ],
            "No",
        ),
        (
            "Was Zhao still running the exchange?",
            ["The exchange is still standing, without Zhao, who agreed to step down as CEO."],
            "No",
        ),
        (
            "Is the office still open?",
            ["The office opened in May.", "Its branch in Lyon was suspended."],
            "Yes",
        ),
    ],
)
def test_values_and_opposites(question: str, evidence: list[str], expected: str) -> None:
    assert polarity(question, evidence) == expected


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        # The parser types "china" as a place, though written in lower case: the evidence
        # names other places where the question's one would be.
        ("is Susan Boyle due to visit china?", "No"),
        ("is Susan Boyle due to visit Scotland?", "Yes"),
        # A name the parser reads with a word too many ("Will Cheney") is still Cheney.
        ("Will Susan Boyle sing for the Pope?", "Yes"),
    ],
)
def test_a_named_thing_of_another_kind_is_no_other_value(question: str, expected: str) -> None:
    evidence = [
        "TV talent show star Susan Boyle will sing for the Pope during his visit to Scotland.",
        "The Pope is due to visit England and Scotland from September 16-19.",
    ]
    assert polarity(question, evidence) == expected


def test_the_sentence_that_settles_the_question_otherwise_is_quoted() -> None:
    question = "Did Russia accept responsibility for the shooting? (motorcade)"
    quoted = ["The shots were fired from Russian-controlled territory, the ministry said."]
    denial = "Russia's deputy foreign minister denied the gunfire came from its army."
    more = ["The motorcade was passing a checkpoint.", denial]
    assert polarity(asked(question), quoted) == "Yes"
    assert deciding_sentence(question, quoted, more, room=3) == denial
    # With room for one sentence only, the denial must settle it alone: it does.
    assert deciding_sentence(question, quoted, more, room=1) == denial
    # Nothing said otherwise: nothing to add.
    assert deciding_sentence(question, quoted, more[:1], room=3) is None


def test_a_relative_date_is_not_contradicted_by_a_day() -> None:
    assert polarity("Did he win the race this year?", ["He won the race in March."]) == "Yes"


EXPELLED = (
    "Moscow's reaction came in the backdrop of NATO expelling eight Russian diplomats from "
    "the country's mission."
)


@pytest.mark.parametrize(
    ("question", "evidence", "expected"),
    [
        # The one asked about as the doer is the one the evidence has done to, and the
        # other way round: the evidence says something else with the same words.
        ("Did Russia expel NATO staff?", [EXPELLED], "No"),
        ("Did NATO expel Russian diplomats?", [EXPELLED], "Yes"),
        ("Were NATO diplomats expelled by Russia?", [EXPELLED], "No"),
        ("Did Spain beat England?", ["England beat Spain 2-1 in the final."], "No"),
        ("Did England beat Spain?", ["England beat Spain 2-1 in the final."], "Yes"),
        ("Did Spain beat England?", ["Spain was beaten by England in the final."], "No"),
        # A pronoun's doer is no other one.
        ("Did Rubio criticise Bush?", ["He criticised Bush on Tuesday."], "Yes"),
    ],
)
def test_a_question_that_swaps_the_doer_and_the_done_to_is_no(
    question: str, evidence: list[str], expected: str
) -> None:
    assert polarity(question, evidence) == expected
