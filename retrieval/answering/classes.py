"""Class-noun questions ("What sport is Doak associated with?", "What is the language of
Ardhangini?"): the question names a class, and a report's value is the word of its sentence
that the embedding model puts nearest that class ("football" for "sport", "Finnish-language"
for "language"). No list of classes or members: the model's word vectors are the link."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

import numpy as np

from retrieval.lexical import terms
from retrieval.spans import question_type

# Word vectors of a list of words (the answerer embeds each word once).
WordVectors = Callable[[list[str]], dict[str, np.ndarray]]


class WordVectorCache:
    """Word vectors by the embedding model, each word embedded once per cache (kept apart
    from the answerer's own word vectors, so that reading class words changes none of
    those)."""

    def __init__(self, encode: Callable[[Sequence[str]], np.ndarray], most: int = 50_000) -> None:
        self.encode = encode
        self.most = most
        self._vectors: dict[str, np.ndarray] = {}

    def __call__(self, words: list[str]) -> dict[str, np.ndarray]:
        new = [w for w in dict.fromkeys(words) if w not in self._vectors]
        if new:
            if len(self._vectors) > self.most:
                self._vectors.clear()
            self._vectors.update(zip(new, self.encode(new), strict=True))
        return {w: self._vectors[w] for w in words}


# A word is a member of the asked class when its cosine to the class noun is at least this,
# and clearly the nearest: the runner-up of another stem is at least MARGIN further away.
NEAR = 0.5
MARGIN = 0.05
# "What sport is ...", "Which private railway operator ...", "... by which operator?"
_WHICH = re.compile(
    r"\b(?:what|which)\s+((?:[a-z][\w-]*\s+){0,2}?[a-z][\w-]*)\s+"
    r"(?:is|are|was|were|does|do|did|has|have|had|can|could|will|would)\b",
    re.IGNORECASE,
)
_WHICH_END = re.compile(r"\bwhich\s+((?:[a-z][\w-]*\s+){0,2}[a-z][\w-]*)\s*\?*\s*$", re.IGNORECASE)
# "What is the language of ...", "What is Greg Boyer's profession?"
_THE_OF = re.compile(
    r"\bwhat\s+(?:is|was|are|were)\s+the\s+((?:[a-z][\w-]*\s+){0,2}?[a-z][\w-]*)\s+of\b",
    re.IGNORECASE,
)
_POSSESSIVE = re.compile(
    r"\bwhat\s+(?:is|was|are|were)\s+[\w .'-]+?['’]s\s+([a-z][\w-]*)\s*\?*\s*$", re.IGNORECASE
)
# Nouns that ask for no class member (a name, a reason, a number), and nouns of a kind
# whose class follows them ("the type of institution").
_NO_CLASS = frozenset(
    "name names title way reason purpose role thing things one ones number amount "
    "percentage age date year day time".split()
)
_KIND = re.compile(r"^(?:kind|type|sort|form|category)s?(?:\s+of)?(?:\s+(?:the|a|an))?\s*")
_WORD = re.compile(r"[A-Za-z][A-Za-z'’-]*[A-Za-z]")


def class_noun(question: str) -> str | None:
    """The class a question asks a member of ("political party" of "What political party is
    John Dailey affiliated with?"), or None when it asks a date, number, person or place,
    or names no class."""
    if question_type(question) != "other":
        return None
    q = question.strip()
    for pattern in (_WHICH, _THE_OF, _POSSESSIVE, _WHICH_END):
        m = pattern.search(q)
        if m:
            phrase = m.group(1).lower()
            if _KIND.fullmatch(phrase):
                # "the type of institution": the class is what the kind is of.
                rest = re.match(r"\s+of\s+(?:the\s+|an?\s+)?([a-z][\w-]*)", q[m.end(1) :], re.I)
                phrase = rest.group(1).lower() if rest else ""
            phrase = _KIND.sub("", phrase)
            if not phrase or phrase.split()[-1] in _NO_CLASS:
                return None
            return phrase
    return None


def class_member(sentence: str, noun: str, asked: str, vectors: WordVectors) -> str | None:
    """The word of ``sentence`` nearest the class ``noun`` when it is near enough and clearly
    nearest (words of the question ``asked`` and the class noun's own aside); None else."""
    known = set(terms(asked)) | set(terms(noun))
    words = list(
        dict.fromkeys(
            w
            for w in _WORD.findall(sentence)
            if len(w) > 2 and terms(w) and not set(terms(w)) <= known
        )
    )
    if not words:
        return None
    found = vectors([noun, *words])
    target = found[noun]
    ranked = sorted(words, key=lambda w: -float(found[w] @ target))
    best = float(found[ranked[0]] @ target)
    if best < NEAR:
        return None
    stem = terms(ranked[0])
    rival = next((w for w in ranked[1:] if terms(w) != stem), None)
    if rival is not None and float(found[rival] @ target) > best - MARGIN:
        return None
    return ranked[0]
