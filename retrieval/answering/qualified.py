"""Qualified values in sentence choice: "How many staff can the mission have now?" asks for
the value a qualifier selects ("reducing the overall number of mission personnel to 10"),
which the sentence score may rank just below the sentences that repeat more of the question
("the expulsion of eight diplomats"). A close sentence of the same article that holds the
qualifier's cue next to a number and what the question counts (its own word, or a word the
embedding model puts near it: "staff" ~ "personnel") is quoted in place of the last
chosen one."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import TypeVar

from retrieval.answering.picking import _counted
from retrieval.lexical import terms

# The question asks for the value as it stands now, or in all.
QUALIFIED = re.compile(
    r"\b(?:now|currently|today|still|overall|in total|total|altogether|in all)\b", re.I
)
# A sentence sets a value the way such a question selects it: "to 10", "overall number",
# "now 10", "a total of 12".
_CUE = re.compile(
    r"\b(?:overall|total|altogether|in all|combined|currently|now)\b"
    r"|\b(?:to|down to|up to)\s+(?:\d[\d,.]*|one|two|three|four|five|six|seven|eight|nine|"
    r"ten|eleven|twelve|twenty|thirty|forty|fifty|hundred)\b",
    re.IGNORECASE,
)

T = TypeVar("T")


def with_qualified(
    question: str,
    chosen: list[T],
    runners_up: Sequence[T],
    text: Callable[[T], str],
    near: Callable[[str, set[str], str], set[str]] | None,
    most: int,
) -> list[T]:
    """``chosen`` with the first of ``runners_up`` (close sentences of the same article, best
    first) that sets the qualified value of what the question counts, in place of the last
    chosen sentence; ``chosen`` itself when the question has no qualifier, a chosen sentence
    already sets such a value, or no runner-up does. ``near(question, missing, sentence)``
    gives the question's terms in ``missing`` that a word of the sentence nearly means."""
    if not QUALIFIED.search(question):
        return chosen
    counted = _counted(question)
    if not counted:
        return chosen

    def sets_value(sentence: str) -> bool:
        if not _CUE.search(sentence):
            return False
        missing = counted - set(terms(sentence))
        return not missing or (near is not None and near(question, missing, sentence) == missing)

    if any(sets_value(text(c)) for c in chosen):
        return chosen
    for c in runners_up:
        if c not in chosen and sets_value(text(c)):
            return [*chosen[:-1], c] if len(chosen) >= most else [*chosen, c]
    return chosen
