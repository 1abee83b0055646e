"""Whether the reader's span is of the type its question asks for (a measuring tool for
`bench/reader_curve.py --fit`; the answerer does not use it): a who question's span names a
person, organisation or group, a when question's a date or time, a where question's a place,
a how-many question's a number (the entity types of typed.KIND_TYPES, read by the project's
parser). Other questions ask for any type."""

from __future__ import annotations

import re
from collections.abc import Sequence

from retrieval.answering.parse import SentenceReader
from retrieval.answering.typed import KIND_TYPES

# How well an entity type must fit the kind (typed.KIND_TYPES) to count.
MIN_FIT = 0.5
_NUMBER = re.compile(
    r"\d|\b(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|thirty|"
    r"forty|fifty|hundred|thousand|million|billion|dozen)s?\b",
    re.IGNORECASE,
)
_YEAR = re.compile(r"\b1\d{3}\b|\b20\d{2}\b|\b\d{1,2}(?:st|nd|rd|th)?\b century", re.I)


def span_fits(
    kind: str, span: str, sentences: Sequence[str], reader: SentenceReader | None
) -> bool:
    """Whether ``span`` (a substring of one of ``sentences``) is an answer of the kind's
    type: it overlaps an entity of a fitting type in its sentence's parse; numbers and
    years count by their digits too. Without a parser, or for other kinds, every span fits."""
    types = KIND_TYPES.get(kind)
    if types is None:
        return True
    if kind == "how_many" and _NUMBER.search(span):
        return True
    if kind == "when" and _YEAR.search(span):
        return True
    if reader is None:
        return True
    sentence = next((s for s in sentences if span in s), None)
    if sentence is None:
        return False
    parsed = reader.parse([sentence])[0]
    a = sentence.find(span)
    b = a + len(span)
    for ent in parsed.entities:
        x = parsed.tokens[ent.start].start
        y = parsed.tokens[ent.end - 1].end
        if x < b and a < y and types.get(ent.label, 0.0) >= MIN_FIT:
            return True
    return False
