"""The default answerer: no LLM, no network. It quotes the retrieved sentences that best
answer the question, each with its citation, and abstains when the evidence is weak."""

from __future__ import annotations

import asyncio
import itertools
import re
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass

import numpy as np

from retrieval import focus
from retrieval.answer import Answer, Citation, FinalEvent, StreamEvent
from retrieval.answering.classes import WordVectorCache
from retrieval.answering.conflicts import with_conflict
from retrieval.answering.entities import naming_first
from retrieval.answering.headlines import HEADLINE_ROW, headline, quoted
from retrieval.answering.kinds import (
    Kind,
    ask_kind,
    asks_for_actor,
    is_prose,
    what_noun,
    who_answer,
)
from retrieval.answering.picking import time_unasked
from retrieval.answering.qualified import with_qualified
from retrieval.answering.reports import boilerplate
from retrieval.answering.shorts import default_span_reader, short_answer
from retrieval.answering.yesno import NOT_SAID, UNSETTLED, deciding_sentence, polarity
from retrieval.answering.yesno import asked as asked_of
from retrieval.condense import standalone_question
from retrieval.config import AnswerSettings
from retrieval.lexical import terms, words
from retrieval.prompts import NO_ANSWER
from retrieval.retriever import Hit
from retrieval.search_index import SearchIndex
from retrieval.sessions import Turn
from retrieval.spans import (
    NAME,
    QuestionType,
    fits_tense,
    question_type,
    spans_of_type,
)
from retrieval.timeparse.periods import MONTHS

# The evidence each candidate sentence is scored on.
FEATURES = (
    "cosine",  # the sentence's embedding against the question's
    "overlap",  # idf-weighted share of the question's terms in the sentence
    "context_overlap",  # ... in the whole chunk and its title
    "previous_overlap",  # ... in the sentence before (answers often follow the match)
    "chunk_cosine",  # the chunk's embedding against the question's
    "bm25",  # the chunk's BM25 score relative to the best retrieved
    "rank",  # 1 / the chunk's retrieval rank
    "type_match",  # holds a date / number / name when the question asks for one
    "bigram",  # share of the question's word pairs (stop words included) the sentence has
    "chunk_best_cosine",  # the best sentence cosine of the sentence's chunk
)


@dataclass(frozen=True)
class Weights:
    """How the sentence score combines its evidence; fitted by bench/tune_answerer.py."""

    # Fitted on the first 2,000 SQuAD questions of shared/eval/squad_dev_a (listwise
    # softmax regression, bench/tune_answerer.py); held out on the other 3,665 the best
    # sentence comes from a gold paragraph 82.8% of the time (without the last two
    # features: 82.4%; hand-set weights: 80.8%).
    values: tuple[float, ...] = (2.57, 3.83, 3.40, 0.47, 0.92, 2.08, 1.14, 1.31, 1.25, 0.89)
    # Further sentences of the best sentence's article join it when this close in score.
    keep_margin: float = 2.0
    # A short question (this many terms or fewer) must find its terms in the evidence:
    # "What is the population of Brussels?" is not answered by a sentence about Brussels.
    short_question_terms: int = 4
    short_min_context: float = 0.6
    short_min_overlap: float = 0.25
    # A follow-up's sentences near the last answer's quote gain up to this much, fading over
    # this many characters (see ExtractiveAnswerer.near_last).
    # On the first 25 coqa_news_dev stories 1.0 beats 0.0 (turn accuracy .568 vs .549, with
    # the pronoun fix; tests/test_eval_seed.py passes). Like 2.5, it makes the seed's 'What
    # did he decide on 6 October?' also quote the 2014 sentence, after the right one.
    near_last: float = 1.0
    near_chars: float = 600.0
    # The share of that gain for the sentence the reader was just given, and for one before.
    # An elliptical follow-up ("What day?", "Where?", "Why not?") is most often answered by
    # the sentence just quoted: on the first 25 coqa_news_dev stories 1.0 beats 0.0 (turn
    # accuracy .676 vs .661) and 1.5 (.673); held out on the last 25, .689 vs .671.
    near_same: float = 1.0
    near_before: float = 0.5
    # Inside the conversation's article a rewritten follow-up's carried names match the
    # sentences that name the story's people (often its first), not the one that answers:
    # each sentence also gains this much times its cosine with the reader's own words.
    # A question with no words of its own ("When?", "Why not?") gains nothing. On the first
    # 25 coqa_news_dev stories turn accuracy is .673 at 0.0, .678 at 4.0, .685 at 5.5, .693
    # at 7.0 and .690 at 10; held out on the last 25, .687 at 0.0 and .723 at 7.0.
    own_cosine: float = 7.0
    # Two words mean nearly the same at this cosine of their embeddings: "staff"/"personnel"
    # 0.71, "trip"/"tour" 0.66; "population"/"people" 0.53, "held"/"hostage" 0.26.
    near_word: float = 0.62

    def __post_init__(self) -> None:
        if len(self.values) != len(FEATURES):
            raise ValueError(f"expected {len(FEATURES)} weights, got {len(self.values)}")


@dataclass(frozen=True)
class Candidate:
    """A sentence of a retrieved chunk, scored against the question."""

    hit: Hit
    row: int
    text: str
    score: float
    features: tuple[float, ...]

    @property
    def cosine(self) -> float:
        return self.features[0]


class ExtractiveAnswerer:
    """Picks and cites sentences; never writes a word that is not in the articles."""

    def __init__(
        self,
        index: SearchIndex,
        settings: AnswerSettings,
        weights: Weights | None = None,
        encode: Callable[[Sequence[str]], np.ndarray] | None = None,
    ) -> None:
        """
        Args:
            index: the snapshot the hits come from.
            settings: the answer section.
            weights: the sentence score's weights (default: the fitted ones).
            encode: texts -> unit vectors; with it, a short question's word counts as
                found in the evidence when a word there means nearly the same ("staff"
                and "personnel"), by the embedding model's cosine of the two words.
        """
        self.index = index
        self.settings = settings
        self.weights = weights or Weights()
        self.encode = encode
        self._word_vectors: dict[str, np.ndarray] = {}
        self._class_words = WordVectorCache(encode) if encode is not None else None
        self._headline_vectors = WordVectorCache(encode) if encode is not None else None
        # The trained short-answer reader (answer.reader), loaded on its first question.
        self.span_reader = default_span_reader() if settings.reader == "on" else None

    def features(
        self, question: str, qvec: np.ndarray, hits: list[Hit]
    ) -> list[tuple[Hit, int, str, tuple[float, ...]]]:
        """Every sentence of the hits with its feature vector (see FEATURES), and each
        story's headline that may answer the question (row HEADLINE_ROW, headlines.py)."""
        qtype = question_type(question)
        qterms = set(terms(question))
        qwords = words(question)
        qpairs = set(itertools.pairwise(qwords))
        idf = self.index.idf
        qweight = sum(idf(t) for t in qterms) or 1.0

        def share(found: set[str]) -> float:
            return sum(idf(t) for t in qterms & found) / qweight

        top_bm25 = max((h.bm25 or 0.0 for h in hits), default=0.0) or 1.0

        def scored(hit: Hit, sentence: str, cos: float, overlap: float, previous: float,
                   context: float, best_cosine: float) -> tuple[float, ...]:  # fmt: skip
            return (cos, overlap, context, previous, hit.dense if hit.dense is not None else 0.0,
                    (hit.bm25 or 0.0) / top_bm25, 1.0 / hit.rank,
                    float(_has_type(sentence, question, qtype, hit.article.date)),
                    len(qpairs & set(itertools.pairwise(words(sentence)))) / (len(qpairs) or 1),
                    best_cosine)  # fmt: skip

        # Headlines answer typed questions only (see _headline_rows).
        typed = qtype != "other" and ask_kind(question) == qtype
        out: list[tuple[Hit, int, str, tuple[float, ...]]] = []
        heads: dict[str, tuple[Hit, float, float, float]] = {}
        for hit in hits:
            rows = self.index.sentences_of[hit.chunk.row]
            if not rows:
                continue
            cosines = self.index.sentence_vectors[rows] @ qvec
            text = hit.article.text
            context = share(set(terms(f"{hit.article.title}\n{hit.chunk.text}")))
            best_cosine = float(cosines.max())
            previous = 0.0
            before = ""
            for row, cos in zip(rows, cosines, strict=True):
                s = self.index.sentences[row]
                sentence = text[s.start : s.end]
                if not is_prose(sentence):  # a heading or byline is never the answer
                    continue
                overlap = share(said_terms(sentence, before))
                before = sentence
                feats = scored(hit, sentence, float(cos), overlap, previous, context, best_cosine)
                out.append((hit, row, sentence, feats))
                previous = overlap
            said = headline(hit.article.title, text) if typed else None
            if said is None or said in heads:  # each story's headline with its best hit
                continue
            overlap = share(set(terms(said)))
            if overlap > 0.0 and _has_type(said, question, qtype, hit.article.date):
                heads[said] = (hit, overlap, context, best_cosine)
        return out + self._headline_rows(heads, qvec, scored)

    def _headline_rows(
        self,
        heads: dict[str, tuple[Hit, float, float, float]],
        qvec: np.ndarray,
        scored: Callable[..., tuple[float, ...]],
    ) -> list[tuple[Hit, int, str, tuple[float, ...]]]:
        """The headlines that may answer, scored like sentences (each embedded once).

        A headline answers a question of a type (who, when, how many, where) when it shares
        the question's words and holds a value of that type. A question of another kind
        (yes/no, why, what) is answered from the text, which the headline often only names
        ("Jamaica vs Canada live score, result, updates, highlights")."""
        if not heads or self._headline_vectors is None:
            return []
        vectors = self._headline_vectors(list(heads))
        return [
            (
                hit,
                HEADLINE_ROW,
                said,
                scored(hit, said, float(vectors[said] @ qvec), overlap, 0.0, context, best_cosine),
            )
            for said, (hit, overlap, context, best_cosine) in heads.items()
        ]

    def candidates(self, question: str, qvec: np.ndarray, hits: list[Hit]) -> list[Candidate]:
        """Every sentence of the hits, scored, best first."""
        w = self.weights.values
        out = [
            Candidate(hit, row, text, float(np.dot(w, feats)), feats)
            for hit, row, text, feats in self.features(question, qvec, hits)
        ]
        out.sort(key=lambda c: -c.score)
        return out

    def _unfocused(self, question: str, best: Candidate) -> bool:
        """A short question whose own terms are mostly missing from the evidence.

        Code-like tokens (letters mixed with digits: ids, tags) are no topic words and are
        left out of the check.
        """
        w = self.weights
        own = {t for t in terms(question) if not _code_like(t)}
        if len(own) > w.short_question_terms:
            return False
        # Frame words ("how many ... now") count towards the question's length but are no
        # topic the evidence must share.
        qterms = own - _FRAME_TERMS - _answer_class(question)
        if own and not qterms:  # "Who's the article about?": no topic to look for
            return False
        idf = self.index.idf
        total = sum(idf(t) for t in qterms) or 1.0
        # The story the sentence is from, not just its chunk: a story split in two chunks
        # is about what either chunk says, and its URL's slug names it too.
        a = best.hit.article
        story = f"{a.title}\n{a.url or ''}\n{a.text}"
        in_context = qterms & set(terms(story))
        in_sentence = qterms & said_terms(best.text, self._sentence_before(best))

        def short(context: set[str], overlap: set[str]) -> bool:
            return (
                sum(idf(t) for t in context) / total < w.short_min_context
                or sum(idf(t) for t in overlap) / total < w.short_min_overlap
            )

        if not short(in_context, in_sentence) or self.encode is None:
            return short(in_context, in_sentence)
        # Only on the way to abstaining, and only against the sentence's own words (each
        # word embedded once per answerer): the words the evidence may say otherwise.
        near = self._near_words(question, qterms - in_sentence, best.text)
        return short(in_context | near, in_sentence | near)

    def _sentence_before(self, c: Candidate) -> str:
        """The prose sentence before the candidate's in its chunk ("" for the first)."""
        rows = self.index.sentences_of[c.hit.chunk.row]
        text = c.hit.article.text
        for row in reversed(rows[: rows.index(c.row)] if c.row in rows else []):
            s = self.index.sentences[row]
            if is_prose(text[s.start : s.end]):
                return text[s.start : s.end]
        return ""

    def _focused_runner_up(self, question: str, cands: list[Candidate]) -> Candidate | None:
        """The first of the next few candidates, within ``keep_margin`` of the best, whose
        evidence holds a short question's words, or None."""
        best = cands[0]
        for c in cands[1 : 1 + _RUNNERS_UP]:
            if c.score < best.score - self.weights.keep_margin:
                break
            if not self._unfocused(question, c):
                return c
        return None

    def _near_words(self, question: str, missing: set[str], text: str) -> set[str]:
        """The question's terms in ``missing`` that a word of ``text`` nearly means."""
        asked = {w for w in words(question) if terms(w) and terms(w)[0] in missing}
        if not asked:
            return set()
        found = {w for w in words(text) if terms(w) and not w.isdigit()}
        vectors = self._vectors(sorted(asked | found))
        near = set()
        for word in asked:
            if any(float(vectors[word] @ vectors[f]) >= self.weights.near_word for f in found):
                near.add(terms(word)[0])
        return near

    def _vectors(self, items: list[str]) -> dict[str, np.ndarray]:
        """Word vectors, each word embedded once per answerer."""
        assert self.encode is not None
        new = [w for w in items if w not in self._word_vectors]
        if new:
            if len(self._word_vectors) > _MAX_WORD_VECTORS:
                self._word_vectors.clear()
            for word, vec in zip(new, self.encode(new), strict=True):
                self._word_vectors[word] = vec
        return {w: self._word_vectors[w] for w in items}

    def condense(self, question: str, history: list[Turn]) -> str:
        """Carry the previous turn's topic into a follow-up (no LLM)."""
        return standalone_question(question, history, self._article_text)

    def _article_text(self, article_id: str) -> str | None:
        """The article's headline and text (a story may name its subject only in the
        headline: "Tim Sweeney on Epic's victory royale over Google")."""
        article = self.index.articles.get(article_id)
        if article is None:
            return None
        return f"{article.title}\n{article.text}" if article.title else article.text

    async def astream(
        self,
        question: str,
        qvec: np.ndarray,
        hits: list[Hit],
        history: list[Turn],
        asked: str | None = None,
    ) -> AsyncIterator[StreamEvent]:
        """No tokens to stream: the final answer alone (scored in a thread)."""
        answer = await asyncio.to_thread(self.answer, question, qvec, hits, history, asked)
        yield FinalEvent(answer)

    def select(self, cands: list[Candidate]) -> list[Candidate]:
        """The sentences an answer quotes: the best, and up to ``max_sentences`` - 1 more of
        its article that score close to it."""
        best = cands[0]
        chosen = [best]
        seen = {best.text}
        for c in cands[1:]:
            if len(chosen) >= self.settings.max_sentences:
                break
            # Only the best article's sentences: another article is another chance to be wrong.
            same_article = c.hit.article.id == best.hit.article.id
            close = c.score >= best.score - self.weights.keep_margin
            if same_article and close and not _repeats(c.text, seen):
                chosen.append(c)
                seen.add(c.text)
        return chosen

    def settling(
        self, question: str, chosen: list[Candidate], cands: list[Candidate]
    ) -> list[Candidate]:
        """A yes/no question's quoted sentences, with one more of the best article's that
        score within ``keep_margin`` of the best when it settles the question otherwise
        ("denied ..." where the quoted sentences only tell what happened); it takes the
        last one's place when the answer quotes ``max_sentences`` already."""
        quoted = {c.text for c in chosen}
        more = {c.text: c for c in self.close_runners_up(chosen[0], cands) if c.text not in quoted}
        room = self.settings.max_sentences
        text = deciding_sentence(question, [c.text for c in chosen], list(more), room)
        if text is None:
            return chosen
        return [*chosen[: room - 1], more[text]]

    def answer(
        self,
        question: str,
        qvec: np.ndarray,
        hits: list[Hit],
        history: list[Turn] | None = None,
        asked: str | None = None,
    ) -> Answer:
        """Compose a cited answer of at most ``max_sentences`` sentences, or abstain;
        ``asked``: the reader's own words when ``question`` is a follow-up made standalone."""
        cands, focused = self.in_conversation(question, qvec, hits, history or [], asked)
        return self.compose(question, cands, focused)

    def in_conversation(
        self,
        question: str,
        qvec: np.ndarray,
        hits: list[Hit],
        history: list[Turn],
        asked: str | None = None,
    ) -> tuple[list[Candidate], bool]:
        """The scored sentences as the conversation sees them, and whether the question is
        a follow-up answered from the conversation's own article (see :meth:`compose`)."""
        cands = self.candidates(question, qvec, hits) if hits else []
        focused = _within_focus(hits, history)
        if focused and cands:
            cands = self.near_last(cands, history)
            cands = self.own_words(cands, question, asked)
        return cands, focused

    def own_words(
        self, cands: list[Candidate], question: str, asked: str | None
    ) -> list[Candidate]:
        """Inside the conversation's article, the sentence that answers a rewritten
        follow-up is the one its reader's own words match ("What city did she grow up
        in?"): the names the rewrite carried in ("Nyong'o") are the whole story's."""
        w = self.weights.own_cosine
        if not w or asked is None or self.encode is None or " ".join(asked.split()) == question:
            return cands
        if not terms(asked):  # "When?", "Why not?": no words of its own to match
            return cands
        own = self.encode([asked])[0]
        cosines = self._vectors_of(cands) @ own
        out = [
            Candidate(c.hit, c.row, c.text, c.score + w * float(cos), c.features)
            for c, cos in zip(cands, cosines, strict=True)
        ]
        out.sort(key=lambda c: -c.score)
        return out

    def _vectors_of(self, cands: list[Candidate]) -> np.ndarray:
        """The candidates' sentence vectors (a headline's from the answerer's cache)."""
        vectors = self.index.sentence_vectors[[max(c.row, 0) for c in cands]].copy()
        heads = [i for i, c in enumerate(cands) if c.row == HEADLINE_ROW]
        if heads and self._headline_vectors is not None:
            found = self._headline_vectors([cands[i].text for i in heads])
            for i in heads:
                vectors[i] = found[cands[i].text]
        return vectors

    def near_last(self, cands: list[Candidate], history: list[Turn]) -> list[Candidate]:
        """Inside the conversation's article, a follow-up most often asks about what the
        last answer quoted or what comes right after it ("Why?", "What else?"): sentences
        near the last quote score higher, those after it more than those before."""
        where = _last_quote(history, self.index)
        if where is None:
            return cands
        article, at = where
        w = self.weights
        out = []
        for c in cands:
            if c.hit.article.id != article:
                out.append(c)
                continue
            start = 0 if c.row == HEADLINE_ROW else self.index.sentences[c.row].start
            d = start - at
            side = w.near_same if d == 0 else (1.0 if d > 0 else w.near_before)
            bonus = w.near_last * np.exp(-abs(d) / w.near_chars) * side
            out.append(Candidate(c.hit, c.row, c.text, c.score + float(bonus), c.features))
        out.sort(key=lambda c: -c.score)
        return out

    def choose(self, question: str, kind: str, cands: list[Candidate]) -> list[Candidate]:
        """The sentences to quote: the best ones (:meth:`select`); for a yes/no question with
        the one that settles it, for a "now" / "overall" one with the one that sets the value
        (retrieval/answering/qualified.py)."""
        chosen = self.select(cands)
        if kind == "yesno":
            return self.settling(question, chosen, cands)
        return with_qualified(
            question,
            chosen,
            self.close_runners_up(chosen[0], cands),
            lambda c: c.text,
            self._near_words if self.encode is not None else None,
            self.settings.max_sentences,
        )

    def chosen_in_kind(
        self, question: str, kind: Kind, cands: list[Candidate], focused: bool
    ) -> tuple[list[Candidate], str | None]:
        """The sentences to quote (:meth:`choose`) and the short answer in kind; a "No"
        answer quotes first the sentence that says "No" on its own, and a yes or no that
        only a headline says what it asks of quotes that headline first."""
        chosen = self.choose(question, kind, cands)
        short = self.in_kind(question, kind, chosen, focused)
        if short == "No":
            chosen = _denial_first(question, chosen)
        if short in ("Yes", "No"):
            chosen = self._saying_headline_first(question, chosen)
        return chosen, short

    def _saying_headline_first(self, question: str, chosen: list[Candidate]) -> list[Candidate]:
        """The quotes with the headline of theirs that says what a short yes/no question asks
        leading, when their sentences do not say it ("Did Fabrikam raise a seed round?" is
        said by "Fabrikam raises a $4.5M seed round ...", not by the text): the answer
        quotes what it stands on."""
        texts = [c.text for c in chosen]
        if not self._unsaid(question, texts):
            return chosen
        for c in chosen:
            said = headline(c.hit.article.title, c.hit.article.text)
            if said and not self._unsaid(question, [*texts, said]):
                head = Candidate(c.hit, HEADLINE_ROW, said, c.score, c.features)
                return [head, *chosen][: self.settings.max_sentences]
        return chosen

    def in_kind(
        self, question: str, kind: Kind, chosen: list[Candidate], focused: bool
    ) -> str | None:
        """The short answer in kind from the quoted sentences (see :func:`short_answer`).

        A short yes/no question searched for (no follow-up inside its story) is answered
        "Yes" only when the evidence says what it asks: "Did Google lose the trial?" is not
        settled by a sentence about the trial that says nothing of losing it (its headline
        may say it: "Nike misses revenue expectations ..."). Inside the
        conversation's story the reader asks of what it tells, often in other words.
        """
        headlines = list(dict.fromkeys(c.hit.article.title for c in chosen if c.hit.article.title))
        texts = [c.text for c in chosen]
        short = short_answer(kind, texts, question, self.span_reader, headlines)
        if short == UNSETTLED and kind == "yesno" and not focused:
            return NOT_SAID if self._unsaid(question, [*texts, *headlines]) else short
        return short

    def _unsaid(self, question: str, texts: list[str]) -> bool:
        """Whether a short question's own words (names and frame words aside) are not all
        said by the texts (the quoted sentences and their headlines), even in near words
        ("staff" for "personnel")."""
        own = set(terms(asked_of(question)))
        if len(own - _FRAME_TERMS) > self.weights.short_question_terms:
            return False
        named = {t for m in NAME.finditer(asked_of(question)) for t in terms(m.group())}
        wanted = own - _FRAME_TERMS - _CARRIERS - named
        said = set().union(*(terms(t) for t in texts))
        missing = wanted - said
        if missing and self.encode is not None:
            missing -= self._near_words(question, missing, " ".join(texts))
        return bool(missing)

    def close_runners_up(self, best: Candidate, cands: list[Candidate]) -> list[Candidate]:
        """The other sentences of ``best``'s article that score within ``keep_margin`` of it,
        best first, each text once."""
        seen = {best.text}
        out = []
        for c in cands:  # best first
            if c.score < best.score - self.weights.keep_margin:
                break
            if c.hit.article.id == best.hit.article.id and not _repeats(c.text, seen):
                seen.add(c.text)
                out.append(c)
        return out

    def _answering(
        self, question: str, cands: list[Candidate], focused: bool
    ) -> list[Candidate] | None:
        """The candidates to answer from, best first; None when none answers well enough.

        Below the threshold, or when the best sentence misses the question's words, a close
        runner-up that does share them answers instead, or else a headline that says what
        the sentences do not (:func:`_headline_instead`)."""
        best = cands[0]
        # Inside the conversation's own article the question is known to be on topic, so
        # weaker evidence is enough ("In what country?" shares no word with its answer).
        weak = round(best.score, 4) < self.settings.threshold - (_FOCUS_EASING if focused else 0)
        if not weak and (focused or not self._unfocused(question, best)):
            return cands
        runner_up = None if weak else self._focused_runner_up(question, cands)
        if runner_up is not None:
            return [runner_up, *(c for c in cands if c is not runner_up)]
        head = _headline_instead(question, cands)
        return None if head is None else [head]

    def compose(self, question: str, cands: list[Candidate], focused: bool = False) -> Answer:
        """The answer from already scored candidates (see :meth:`candidates`); ``focused``:
        a follow-up answered from the conversation's own article, where a short question
        ("Why?", "Where?") need not repeat its topic."""
        # A page's navigation links and lists are no evidence (retrieval/answering/reports.py).
        cands = [c for c in cands if not boilerplate(c.text)]
        # A short question's one name is its topic: the articles that name it answer it
        # (entities.naming_first); a longer one may ask of several things.
        if len(set(terms(question)) - _FRAME_TERMS) <= self.weights.short_question_terms:
            cands = naming_first(question, cands, self.index.idf)
        if not cands:
            return abstention(question)
        confidence = round(cands[0].score, 4)
        answering = self._answering(question, cands, focused)
        if answering is None:
            return abstention(question, confidence)
        cands = answering
        # A citation names a chunk, quoting its best sentence; every sentence taken from
        # that chunk carries its number (as verified model answers cite).
        citations: list[Citation] = []
        numbers: dict[int, int] = {}
        parts = []
        kind = ask_kind(question)
        chosen, short = self.chosen_in_kind(question, kind, cands, focused)
        for c in chosen:
            chunk = c.hit.chunk.row
            if chunk not in numbers:
                numbers[chunk] = len(citations) + 1
                citations.append(_citation(numbers[chunk], c))
            said = quoted(c.text) if c.row == HEADLINE_ROW else c.text
            parts.append(f"{said} [{numbers[chunk]}]")
        text = " ".join(parts)
        if short:
            # The short answer cites the first quoted sentence that holds it.
            number = next(
                (numbers[c.hit.chunk.row] for c in chosen if short.lower() in c.text.lower()), 1
            )
            text = f"{_lead(kind, short)} [{number}]\n\n{text}"
        answer = Answer(
            question=question,
            standalone_question=question,
            text=text,
            short_answer=short,
            citations=citations,
            abstained=False,
            confidence=confidence,
        )
        # Other articles' best evidence may give another value: an update, a disagreement
        # or another thing of the same name (retrieval/answering/conflicts.py).
        return with_conflict(answer, question, cands, self._class_words)


def _headline_instead(question: str, cands: list[Candidate]) -> Candidate | None:
    """When no sentence answers: the headline of one of the best few stories, when it names
    everyone the question names and says one of its other words ("What did Travis Kelce try
    to delete?" and "Travis Kelce says he tried to delete his 'nonsense' tweets before they
    went viral"). A question that names no one is matched by too many headlines."""
    names = focus.names_in(question)
    if not names:
        return None
    wanted = set(terms(question)) - _FRAME_TERMS - {t for n in names for t in terms(n)}
    stories: list[str] = []
    for c in cands:
        article = c.hit.article
        if article.id in stories:
            continue
        stories.append(article.id)
        if len(stories) > _HEADLINE_STORIES:
            break
        said = headline(article.title, article.text)
        if said and all(n in said for n in names) and wanted & set(terms(said)):
            return Candidate(c.hit, HEADLINE_ROW, said, c.score, c.features)
    return None


# How many of the best stories' headlines may stand in for sentences that do not answer.
_HEADLINE_STORIES = 3


def _within_focus(hits: list[Hit], history: list[Turn]) -> bool:
    """All hits come from the article(s) the conversation is about."""
    articles = focus.current(history).articles
    return bool(history and articles and hits) and all(h.article.id in articles for h in hits)


def _last_quote(history: list[Turn], index: SearchIndex) -> tuple[str, int] | None:
    """The article and character offset of the last quote the conversation's focus article
    gave, or None."""
    articles = focus.current(history).articles
    for turn in reversed(history):
        for c in turn.citations[:1]:
            article = index.articles.get(c.article_id)
            if c.article_id in articles and article is not None:
                at = article.text.find(c.quote)
                if at >= 0:
                    return c.article_id, at
    return None


def _denial_first(question: str, chosen: list[Candidate]) -> list[Candidate]:
    """A "No" answer's quotes with the first that says "No" on its own leading ("... shall be
    suspended" before "NATO did keep the channels open" for "Is the mission still open?")."""
    first = next((c for c in chosen if polarity(asked_of(question), [c.text]) == "No"), None)
    return chosen if first is None else [first, *(c for c in chosen if c is not first)]


def _repeats(text: str, quoted: set[str]) -> bool:
    """Whether ``text`` is a quoted sentence, or one that two overlapping chunks cut apart
    differently holds it or is held in it ("152.67 -- After missing ..." and "-- After
    missing ...")."""
    return any(
        text == q or (min(len(text), len(q)) >= _CUT_MIN and (text in q or q in text))
        for q in quoted
    )


# A shorter sentence held in a quoted one is the same sentence cut apart only from this many
# characters ("No." inside "He said no." is another sentence).
_CUT_MIN = 30


def said_terms(sentence: str, before: str) -> set[str]:
    """The sentence's terms, with the names of the sentence before it when it speaks of
    someone by a pronoun ("She was 45." after "Natasha Richardson ... died")."""
    found = set(terms(sentence))
    if _PERSONAL.search(sentence):
        found |= {t for m in NAME.finditer(before) for t in terms(m.group())}
    return found


def _code_like(term: str) -> bool:
    return any(c.isdigit() for c in term) and any(c.isalpha() for c in term)


def abstention(question: str, confidence: float | None = None) -> Answer:
    """The plain 'not in the articles' answer, citing nothing."""
    return Answer(
        question=question,
        standalone_question=question,
        text=NO_ANSWER,
        abstained=True,
        confidence=confidence,
    )


# How many candidates after the best may stand in for it when it lacks a short question's words.
_RUNNERS_UP = 3

_MONTH = "|".join(sorted(MONTHS, key=len, reverse=True))
# A calendar day: "November 1, 2021", "1 November 2021", "18 October".
_DAY = re.compile(
    rf"(?:\d{{1,2}}\s+(?:{_MONTH})\.?(?:,?\s+\d{{4}})?|(?:{_MONTH})\.?\s+\d{{1,2}}(?:,?\s+\d{{4}})?)",
    re.IGNORECASE,
)


def _lead(kind: str, short: str) -> str:
    """How the short answer opens the text: a when-question's calendar day as "On <day>"."""
    return f"On {short}" if kind == "when" and _DAY.fullmatch(short) else short


# Word vectors kept per answerer before the cache starts over.
_MAX_WORD_VECTORS = 50_000

_PERSONAL = re.compile(r"\b(?:he|she|his|her|him|they|their|them)\b", re.IGNORECASE)

# How much lower the abstention threshold is for a follow-up answered from its focus article.
_FOCUS_EASING = 2.5

# Words that frame what is asked ("how many ... now?") rather than name its topic.
_FRAME = {
    "many", "much", "long", "now", "currently", "still", "overall", "total", "altogether",
    "else", "exactly", "first", "last", "ever", "today",
    # The text itself ("What charge is the man in the story facing?", "Who's the main
    # character in this article?", "What is the focus of the article?"): no topic.
    "story", "article", "passage", "main", "character", "characters", "focus", "mentioned",
    "topic", "subject",
    # Light verbs ("What did David want done with his brain?") name no topic either.
    "want", "wanted", "done", "make", "made", "get", "got", "take", "took", "go", "went",
    "come", "came", "give", "gave", "put", "happen", "happened",
    # Relation words ("What sport is X associated with?") name no topic either.
    "associated", "related", "connected", "linked",
}  # fmt: skip
_FRAME_TERMS = set(terms(" ".join(_FRAME)))
# Words a yes/no question asks with, not about: "Did anyone try translating it?" asks
# whether it was translated.
_CARRIERS = set(
    terms(
        "try tried tries trying attempt attempted manage managed anyone anybody anything "
        "someone somebody something"
    )
)


# "What sport ...?", "Which kind of bomb ...?": the noun after the question word names the
# class of the answer ("basketball"), which the evidence rarely repeats.
def _answer_class(question: str) -> set[str]:
    """The stemmed class noun of a "what X" / "which X" question, if any."""
    noun = what_noun(question)
    if noun is None or noun.lower() in _NOT_CLASS:
        return set()
    return set(terms(noun))


# Words after "what" that are no class noun: verbs and auxiliaries ("What did ...").
_NOT_CLASS = {
    "is", "are", "was", "were", "do", "does", "did", "has", "have", "had", "can", "could",
    "will", "would", "should", "may", "might", "must", "about", "else", "happened",
    "happens", "happen",
}  # fmt: skip


def _has_type(sentence: str, question: str, qtype: QuestionType, published: str | None) -> bool:
    if qtype == "other":
        return False
    if qtype == "who" and asks_for_actor(question):
        return who_answer([sentence], question) is not None
    low = question.lower()
    return any(
        sentence[a:b].lower() not in low
        and (qtype != "when" or fits_tense(sentence[a:b], question, published))
        and (qtype != "how_many" or not time_unasked(sentence, b, question))
        for a, b in spans_of_type(sentence, qtype)
    )


def _citation(n: int, c: Candidate) -> Citation:
    return c.hit.citation(n, c.text, c.cosine)
