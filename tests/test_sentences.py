"""The sentence splitter: the unit of citation quotes and of citation checks."""

from __future__ import annotations

import pytest

from retrieval.sentences import split_sentences


def sentences(text: str) -> list[str]:
    return [text[a:b] for a, b in split_sentences(text)]


@pytest.mark.parametrize(
    "text",
    [
        "Jacksonville Consolidation, led by J.J. Daniel and Claude Yates, began to win support.",
        "Jacksonville Consolidation, led by J. J. Daniel and Claude Yates, began to win support.",
        "Dr. Smith met Gen. Jones in the U.S. Senate on Oct. 3.",
        "Immune cells, e.g. melanocytes, are shown.",
    ],
)
def test_initials_and_abbreviations_end_no_sentence(text: str) -> None:
    assert sentences(text) == [text]


@pytest.mark.parametrize(
    "first",
    ["By 1979, Saudi arms purchases exceeded five times Israel's.", "\u201cWe don\u2019t.\u201d"],
)
def test_a_word_with_an_apostrophe_is_no_initial(first: str) -> None:
    assert sentences(f"{first} Another motive was the Shah.") == [
        first,
        "Another motive was the Shah.",
    ]


def test_sentences_and_their_offsets() -> None:
    text = (
        'Russia suspended its mission. "NATO isn\u2019t interested," he said.\nNew line\n\n'
        "More? Yes!"
    )
    assert sentences(text) == [
        "Russia suspended its mission.",
        '"NATO isn\u2019t interested," he said.',
        "New line",
        "More?",
        "Yes!",
    ]


def test_a_line_that_goes_on_in_lower_case_is_the_same_sentence() -> None:
    # Hard-wrapped text files, and SQuAD's subscripts ("O\n2" for O₂).
    wrapped = "Russia has suspended its mission\nin response to the expulsion of eight members."
    assert sentences(f"{wrapped} Moscow reacted.") == [wrapped, "Moscow reacted."]
    formula = "In the triplet form, O\n2 molecules are paramagnetic."
    assert sentences(formula) == [formula]
    # A line that starts with a capital is a new one: a heading, a title.
    assert sentences("Russia-NATO relations\nNotably, the mission is in Brussels.") == [
        "Russia-NATO relations",
        "Notably, the mission is in Brussels.",
    ]


def test_no_sentence_ends_inside_parentheses() -> None:
    text = "Moreover, the Doctor of Pharmacy (Pharm. D.) degree is now required."
    assert sentences(f"{text} Some pharmacists train for two years.") == [
        text,
        "Some pharmacists train for two years.",
    ]
    assert sentences("He left (it was late). Then he came.") == [
        "He left (it was late).",
        "Then he came.",
    ]
