"""The short answer of an extractive answer: the rules' answer in kind
(retrieval/answering/kinds.py), else the trained reader's span of the quoted sentences when
it is confident (retrieval/answering/reader.py). Yes/no and why questions keep the rules'."""

from __future__ import annotations

import threading
from collections.abc import Sequence

from retrieval.answering.kinds import Kind, answer_in_kind, ask_kind
from retrieval.answering.reader import SpanReader

# The kinds the reader answers; a yes/no question is answered by its polarity, a why
# question by its reason clause and a when question by the rules that read "now" first.
READ_KINDS: frozenset[str] = frozenset({"who", "how_many", "where", "other", "when"})
# The reader's span is the short answer at this confidence or more (its probability
# against every other span and "no answer"), when the rules give none: chosen on the
# validation articles 42-46 (bench/train_reader.py) for a rate a little above half the
# questions at exact match .70 (t=0.49: rate .505, EM .701; reader first, rules below it:
# .505 / .683), see retrieval/answering/reader/README.md.
MIN_CONFIDENCE = 0.49


def short_answer(
    kind: Kind,
    sentences: Sequence[str],
    question: str,
    reader: SpanReader | None,
    headlines: Sequence[str] = (),
) -> str | None:
    """The short answer from the quoted sentences (best first), or None: the rules' answer
    in kind when they give one (on the validation articles they are right more often than
    the reader at any confidence), else the reader's span when it is confident.
    ``headlines``: the quoted articles' titles (see :func:`answer_in_kind`)."""
    short = answer_in_kind(kind, sentences, question, headlines)
    if short or reader is None or kind not in READ_KINDS or not sentences:
        return short
    span, confidence = reader.read(question, sentences)
    return span if span and confidence >= MIN_CONFIDENCE else None


def reads_span(question: str) -> bool:
    """Whether the question's short answer is read by the reader (when it is on)."""
    return ask_kind(question) in READ_KINDS


_readers: dict[str, SpanReader] = {}
_lock = threading.Lock()


def default_span_reader() -> SpanReader:
    """The process's reader (its model loads on the first question it reads)."""
    from retrieval.embeddings import DEFAULT_MODEL, resolve_model_path

    with _lock:
        if "default" not in _readers:
            _readers["default"] = SpanReader(resolve_model_path(DEFAULT_MODEL))
        return _readers["default"]
