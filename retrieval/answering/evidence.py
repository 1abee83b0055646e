"""One retrieved chunk, prepared for checking model sentences against its sentences."""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from retrieval.answering.checks import ORDER, CheckName
from retrieval.answering.facts import Facts
from retrieval.answering.links import Positions, denial_dropped, linked, positions, share_in_order
from retrieval.answering.links import words as content_words
from retrieval.answering.roles import roles_swapped
from retrieval.answering.similar import WordMatcher, surface_words
from retrieval.config import VerifySettings
from retrieval.retriever import Hit
from retrieval.search_index import SearchIndex
from retrieval.spans import date_parts

# Where a sentence joins clauses that may each come from another sentence of the chunk.
_CLAUSE = re.compile(r",\s+and\s+|;\s+|,\s+while\s+|,\s+but\s+")
# How models introduce what the text says; no claim of its own ("The article says that").
_FRAME = re.compile(
    r"^\s*(?:(?:the|this)\s+(?:article|text|passage|document)\s+(?:says|said|states|stated|"
    r"reports|reported|notes|noted|mentions|mentioned)(?:\s+that)?|according\s+to\s+the\s+"
    r"(?:article|text|passage)|the\s+answer\s+is)\s*[:,]?\s*",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Support:
    """How well one chunk supports one sentence, and the first support check it fails."""

    score: float
    lexical: float
    cosine: float
    row: int  # the chunk's sentence (SearchIndex row) that supports it best
    failed: CheckName | None  # the first failing check of the table; None: it holds
    verbatim: float = 1.0  # share of its words that follow the chunk sentence in order

    @property
    def ok(self) -> bool:
        return self.failed is None

    def with_verbatim(self, min_verbatim: float) -> CheckName | None:
        """The first check failed once near-quotes are asked for (``llm.min_verbatim``)."""
        if self.failed is None and self.verbatim < min_verbatim:
            return "rephrased"
        return self.failed

    @property
    def rank(self) -> int:
        """How far down the table of checks it got (the higher, the closer to holding)."""
        return ORDER[self.failed] if self.failed else len(ORDER)


class Evidence:
    """One numbered hit, prepared for checking sentences against it.

    A sentence is checked against one sentence of the chunk (with the article's title), not
    the chunk as a whole: a small model recombines the words and numbers of different
    sentences into claims that no sentence makes.
    """

    def __init__(
        self,
        index: SearchIndex,
        hit: Hit,
        settings: VerifySettings,
        matcher: WordMatcher | None = None,
    ) -> None:
        self.index = index
        self.matcher = matcher if settings.judge == "claim" else None
        self.hit = hit
        self.settings = settings
        a = hit.article
        self.rows = index.sentences_of[hit.chunk.row]
        self.texts = [a.text[index.sentences[r].start : index.sentences[r].end] for r in self.rows]
        self.vectors = index.sentence_vectors[self.rows] if self.rows else None
        title = content_words(a.title)
        self.sentence_terms = [title | content_words(t) for t in self.texts]
        self.title_positions = positions(a.title)
        self.published = date_parts(a.date) if a.date else frozenset()
        self._facts: dict[int, Facts] = {}
        self._positions: dict[int, Positions] = {}
        self.best: Support | None = None

    def support(
        self, sentence: str, vec: np.ndarray, asked: frozenset[str] = frozenset()
    ) -> Support:
        """How well this chunk supports ``sentence`` (whose embedding is ``vec``): by its
        best sentence, which must also hold the sentence's facts, links and the words it
        takes from the question (``asked``)."""
        words = content_words(sentence)
        sterms = words - asked or words
        idf = self.index.idf
        weight = sum(idf(t) for t in sterms)
        if self.vectors is None or not self.rows:
            return Support(0.0, 0.0, 0.0, -1, "unsupported")
        cosines = self.vectors @ vec
        local = [self._share(sterms, st) if weight else 0.0 for st in self.sentence_terms]
        per_sentence = [0.5 * float(c) + 0.5 * lex for c, lex in zip(cosines, local, strict=True)]
        best = int(np.argmax(per_sentence))
        cosine = max(0.0, float(cosines.max()))
        lexical = self._soft_share(sentence, sterms, best) if weight else 0.0
        score = round(0.5 * lexical + 0.5 * cosine, 4)
        failed = self._failure(sentence, best, score, lexical, words & asked, asked)
        if failed is not None and self.settings.judge == "claim":
            failed = self._clauses_failure(sentence, asked) and failed
        verbatim = share_in_order(re_frame(sentence), self.texts[best])
        return Support(score, lexical, cosine, self.rows[best], failed, verbatim)

    def _failure(
        self,
        sentence: str,
        best: int,
        score: float,
        lexical: float,
        premise_words: set[str],
        asked: frozenset[str],
    ) -> CheckName | None:
        """The first support-stage check ``sentence`` fails against sentence ``best``."""
        s = self.settings
        min_lexical = s.claim_min_lexical if s.judge == "claim" else s.min_lexical
        if score < s.support_threshold or lexical < min_lexical:
            return "unsupported"
        facts = self._sentence_facts(best)
        if fact := facts.failure(sentence):
            return fact
        texts = [self.title_positions, self._sentence_positions(best)]
        share, denials_placed = linked(sentence, asked, texts, s.link_distance)
        if not denials_placed or denial_dropped(sentence, self.texts[best], s.link_distance):
            return "negation"
        # links: names in the opposite order; claim: roles around the verb (roles.py).
        if s.judge == "links" and facts.roles_swapped(sentence):
            return "role"
        if s.judge == "claim" and roles_swapped(sentence, self.texts[best]):
            return "role"
        if s.judge == "links" and share < s.min_linked:
            return "unlinked"
        if self._share(premise_words, self.sentence_terms[best]) < s.min_premise:
            return "premise"
        return None

    def _clauses_failure(self, sentence: str, asked: frozenset[str]) -> CheckName | None:
        """claim: a sentence joining clauses ("..., and ..."; "...; ...") holds when each
        clause holds in one sentence of the chunk (its words, facts, denials and roles):
        a summary of two sentences, where no one sentence holds the whole."""
        clauses = [c for c in _CLAUSE.split(sentence) if c.strip()]
        if len(clauses) < 2:
            return "unsupported"
        s = self.settings
        for k, clause in enumerate(clauses):
            words = content_words(clause)
            sterms = words - asked or words
            local = [self._share(sterms, st) for st in self.sentence_terms]
            best = int(np.argmax(local))
            if self._soft_share(clause, sterms, best) < s.claim_min_lexical:
                return "unsupported"
            if fact := self._sentence_facts(best).failure(clause, opens=k == 0):
                return fact
            texts = [self.title_positions, self._sentence_positions(best)]
            _, denials_placed = linked(clause, asked, texts, s.link_distance)
            if not denials_placed or denial_dropped(clause, self.texts[best], s.link_distance):
                return "negation"
            if roles_swapped(clause, self.texts[best]):
                return "role"
        return None

    def _soft_share(self, sentence: str, sterms: set[str], best: int) -> float:
        """The idf-weighted share of ``sterms`` that sentence ``best`` (with the title) holds;
        claim: a word it lacks counts when the embedding model puts it close to one of its
        words (a synonym)."""
        held = sterms & self.sentence_terms[best]
        if self.matcher is not None and held != sterms:
            mine = surface_words(sentence)
            missing = {t: w for t, w in mine.items() if t in sterms and t not in held}
            theirs = surface_words(self.texts[best])
            present = {t: w for t, w in theirs.items() if t not in mine}
            held |= self.matcher.matched(missing, present)
        return self._share(sterms, held)

    def _share(self, part: set[str], whole: set[str]) -> float:
        """The idf-weighted share of ``part`` that ``whole`` holds (1.0 for nothing)."""
        weight = sum(self.index.idf(t) for t in part)
        return sum(self.index.idf(t) for t in part & whole) / weight if weight else 1.0

    def _sentence_positions(self, i: int) -> Positions:
        """Where the terms of sentence ``i`` stand, computed once."""
        if i not in self._positions:
            self._positions[i] = positions(self.texts[i])
        return self._positions[i]

    def _sentence_facts(self, i: int) -> Facts:
        """The facts of sentence ``i`` (and the title): a claim's names, numbers and dates
        must come from one sentence, since a small model pairs one sentence's date with
        another's event ("oil dropped to $10 in 1979")."""
        if i not in self._facts:
            self._facts[i] = Facts(self.texts[i], self.hit.article.title, self.published)
        return self._facts[i]

    def text_of(self, row: int) -> str:
        """The text of this chunk's sentence at SearchIndex row ``row``."""
        return self.texts[self.rows.index(row)]

    def note(self, s: Support) -> None:
        """Remember the best support this chunk gave to a kept sentence."""
        if self.best is None or s.score > self.best.score:
            self.best = s

    def quote(self) -> str:
        """The chunk's sentence that best supports what was said, verbatim."""
        if self.best is None or self.best.row < 0:
            return self.texts[0] if self.texts else self.hit.chunk.text
        return self.text_of(self.best.row)


def re_frame(sentence: str) -> str:
    """The sentence without a frame like "The article says that"."""
    return _FRAME.sub("", sentence)
