"""Qualified values in sentence choice: a "now" / "overall" question quotes the close
sentence that sets the value of what it counts (by its own word or a word near it)."""

from __future__ import annotations

from retrieval.answering.qualified import with_qualified

EXPELLED = "NATO expelled eight Russian diplomats from the country's mission."
STATEMENT = "Lavrov said the country's staff at the mission would lose their accreditation."
REDUCED = "NATO also reduced the overall number of mission personnel to 10."
QUESTION = "How many staff can Russia's mission have now?"


def _near(question: str, missing: set[str], sentence: str) -> set[str]:
    # A stand-in for the embedding model: "personnel" means nearly "staff".
    return {"staff"} & missing if "personnel" in sentence else set()


def _choose(question: str, chosen: list[str], runners: list[str], near=_near) -> list[str]:
    return with_qualified(question, chosen, runners, lambda s: s, near, most=2)


def test_the_sentence_that_sets_the_value_replaces_the_last_quoted() -> None:
    assert _choose(QUESTION, [EXPELLED, STATEMENT], [REDUCED]) == [EXPELLED, REDUCED]


def test_it_is_added_when_there_is_room() -> None:
    assert _choose(QUESTION, [EXPELLED], [REDUCED]) == [EXPELLED, REDUCED]


def test_without_a_qualifier_the_choice_stands() -> None:
    question = "How many staff can Russia's mission have?"
    assert _choose(question, [EXPELLED, STATEMENT], [REDUCED]) == [EXPELLED, STATEMENT]


def test_a_sentence_about_something_else_is_not_brought_in() -> None:
    assert _choose(QUESTION, [EXPELLED, STATEMENT], [REDUCED], near=None) == [
        EXPELLED,
        STATEMENT,
    ]
