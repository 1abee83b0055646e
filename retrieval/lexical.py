"""Word-level text handling shared by BM25 and the extractive answerer."""

from __future__ import annotations

import re
from functools import lru_cache

import Stemmer

_WORD = re.compile(r"\w+")
STOPWORDS = frozenset(
    """a about above after again against all am an and any are as at be because been before
    being below between both but by can could did do does doing down during each few for
    from further had has have having he her here hers herself him himself his how i if in
    into is it its itself just me more most my myself no nor not now of off on once only or
    other our ours ourselves out over own s same she should so some such t than that the
    their theirs them themselves then there these they this those through to too under until
    up very was we were what when where which while who whom why will with would you your
    yours yourself yourselves also said says did does according one""".split()
)
_stemmer = Stemmer.Stemmer("english")


@lru_cache(maxsize=65536)
def _stem(word: str) -> str:
    return str(_stemmer.stemWord(word))


def words(text: str) -> list[str]:
    """Lower-cased word tokens."""
    return _WORD.findall(text.lower())


def terms(text: str) -> list[str]:
    """Stemmed content terms: no stop words, no one-letter words (digits are kept)."""
    return [_stem(w) for w in words(text) if _content(w)]


def term_spans(text: str) -> list[tuple[str, int]]:
    """Like :func:`terms`, each with the offset where its word starts."""
    return [(_stem(w), m.start()) for m in _WORD.finditer(text) if _content(w := m.group().lower())]


def _content(word: str) -> bool:
    return word not in STOPWORDS and (len(word) > 1 or word.isdigit())
