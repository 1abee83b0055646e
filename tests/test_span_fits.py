"""bench/span_fits.py: the reader's span must be of the type its question asks for (who: a
person or group, when: a date, where: a place, how many: a number); other questions take
any span. A measuring tool (`bench/reader_curve.py --fit`), not used by the answerer."""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence
from pathlib import Path

from retrieval.answering.parse import Parsed, Span, Token

BENCH = Path(__file__).resolve().parent.parent / "bench" / "span_fits.py"
spec = importlib.util.spec_from_file_location("span_fits", BENCH)
assert spec is not None and spec.loader is not None
fits = importlib.util.module_from_spec(spec)
spec.loader.exec_module(fits)
span_fits = fits.span_fits


class FakeParser:
    """Parses by a table: each sentence's entities given as (text, label)."""

    def __init__(self, entities: dict[str, list[tuple[str, str]]]) -> None:
        self.entities = entities

    def parse(self, texts: Sequence[str]) -> list[Parsed]:
        out = []
        for text in texts:
            tokens, at = [], 0
            for word in text.split(" "):
                tokens.append(Token(word, at, word, "X", "dep", 0))
                at += len(word) + 1
            spans = []
            for name, label in self.entities.get(text, []):
                a = text.find(name)
                first = next(i for i, t in enumerate(tokens) if t.start == a)
                n = len(name.split(" "))
                spans.append(Span(first, first + n, label, first))
            out.append(Parsed(text, tuple(tokens), tuple(spans), ()))
        return out


SENTENCE = "Jane Smith opened the bridge in Leeds last spring ."
PARSER = FakeParser(
    {SENTENCE: [("Jane Smith", "PERSON"), ("Leeds", "GPE"), ("last spring", "DATE")]}
)


def test_a_span_of_the_asked_type_fits() -> None:
    assert span_fits("who", "Jane Smith", [SENTENCE], PARSER)
    assert span_fits("where", "Leeds", [SENTENCE], PARSER)
    assert span_fits("when", "last spring", [SENTENCE], PARSER)


def test_a_span_of_another_type_is_refused() -> None:
    assert not span_fits("who", "the bridge", [SENTENCE], PARSER)
    assert not span_fits("where", "Jane Smith", [SENTENCE], PARSER)
    assert not span_fits("when", "Leeds", [SENTENCE], PARSER)
    assert not span_fits("how_many", "the bridge", [SENTENCE], PARSER)


def test_numbers_and_years_fit_by_their_digits() -> None:
    assert span_fits("how_many", "about 40", ["It cost about 40 ."], FakeParser({}))
    assert span_fits("how_many", "three", ["It has three doors ."], FakeParser({}))
    assert span_fits("when", "in 1976", ["Founded in 1976 ."], FakeParser({}))


def test_other_questions_and_a_missing_parser_accept_any_span() -> None:
    assert span_fits("other", "the bridge", [SENTENCE], PARSER)
    assert span_fits("who", "the bridge", [SENTENCE], None)
