"""Synonym tolerance for the claim judge: a content word of a claim that its chunk sentence
lacks still counts as held when the embedding model puts it close to a word of that sentence
("constructed" for "built", "bought" for "purchased").

Word vectors do not tell antonyms from synonyms ("sold" is close to "bought"), so a soft
match only lets a rephrasing reach the word-share threshold; names, numbers, dates,
denials, quantifiers and roles are still held to the sentence exactly.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

import numpy as np

from retrieval.lexical import terms

Embed = Callable[[Sequence[str]], np.ndarray]
_WORD = re.compile(r"[A-Za-z][a-z'’\-]+")


def surface_words(text: str) -> dict[str, str]:
    """Each lower-case content term of ``text`` (stemmed, as :func:`terms` gives it) with a
    word that stands for it; capitalised words (names, held exactly) are left out."""
    out: dict[str, str] = {}
    for m in _WORD.finditer(text):
        word = m.group()
        if word[0].isupper() and m.start() > 0:
            continue
        found = terms(word)
        if len(found) == 1:
            out.setdefault(found[0], word.casefold())
    return out


class WordMatcher:
    """Word similarities by the embedding model, each word embedded once per matcher."""

    def __init__(self, embed: Embed, min_similarity: float) -> None:
        self.embed = embed
        self.min_similarity = min_similarity
        self._vectors: dict[str, np.ndarray] = {}

    def matched(self, missing: dict[str, str], present: dict[str, str]) -> set[str]:
        """The terms of ``missing`` (term -> word) whose word is at least
        ``min_similarity`` close to one of ``present``'s words."""
        if not missing or not present:
            return set()
        words = list(dict.fromkeys([*missing.values(), *present.values()]))
        new = [w for w in words if w not in self._vectors]
        if new:
            self._vectors.update(zip(new, self.embed(new), strict=True))
        theirs = np.stack([self._vectors[w] for w in present.values()])
        return {
            t
            for t, w in missing.items()
            if float((theirs @ self._vectors[w]).max()) >= self.min_similarity
        }
