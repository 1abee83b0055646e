"""What a parser reads in a sentence (tokens with their heads and dependency labels, named
entities, noun chunks), as plain data, behind one small seam: the short-answer code works on
these and never imports the parser library (retrieval/answering/spacy_reader.py is the one
that does)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Token:
    """One token: its text and character offset in the sentence, lemma, coarse part of speech,
    dependency label and the index of its head (itself for the root)."""

    text: str
    start: int
    lemma: str
    pos: str
    dep: str
    head: int

    @property
    def end(self) -> int:
        return self.start + len(self.text)


@dataclass(frozen=True)
class Span:
    """Tokens ``start``..``end`` (exclusive) of a sentence with a label (an entity type, or
    "NP" for a noun chunk) and the index of their head token."""

    start: int
    end: int
    label: str
    head: int


@dataclass(frozen=True)
class Parsed:
    """A sentence as the parser reads it."""

    text: str
    tokens: tuple[Token, ...]
    entities: tuple[Span, ...]
    chunks: tuple[Span, ...]

    def span_text(self, span: Span) -> str:
        """The sentence's text covered by ``span``."""
        return self.text[self.tokens[span.start].start : self.tokens[span.end - 1].end]

    def path_length(self, a: int, b: int) -> int:
        """Dependency arcs between tokens ``a`` and ``b`` (through their lowest common head)."""
        up_a = self._ancestors(a)
        for steps_b, t in enumerate(self._ancestors(b)):
            if t in up_a:
                return up_a[t] + steps_b
        return len(self.tokens)

    def subtree(self, root: int) -> Span:
        """The tokens from the first to the last that ``root`` heads (itself included)."""
        under = [j for j in range(len(self.tokens)) if root in self._ancestors(j)]
        return Span(min(under), max(under) + 1, "NP", root)

    def _ancestors(self, i: int) -> dict[int, int]:
        out: dict[int, int] = {}
        steps = 0
        while i not in out:
            out[i] = steps
            i = self.tokens[i].head
            steps += 1
        return out


class SentenceReader(Protocol):
    """Parses sentences (the same text always gives the same parse)."""

    def parse(self, texts: Sequence[str]) -> list[Parsed]:
        """The parse of each text, in order."""
        ...


_lock = threading.Lock()
_reader: SentenceReader | None = None
_tried = False


def default_reader() -> SentenceReader | None:
    """The process's parser, loaded on first use; None when spaCy or its verified model is
    missing (both are core dependencies), in which case short answers fall back to the rules
    over the sentence text. Any other error propagates, and the next call tries again: one
    raised on a loading thread (``NewsService.read_ahead``) is raised again to the caller
    that needs the parser, instead of leaving it to answer without one."""
    global _reader, _tried
    with _lock:
        if not _tried:
            from retrieval.answering.spacy_reader import ParserUnavailableError, SpacyReader

            try:
                _reader = SpacyReader.load()
            except ParserUnavailableError as e:
                log.warning("%s; short answers fall back to rules over the text", e)
            _tried = True
        return _reader
