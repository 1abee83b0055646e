"""The LLM answerer: a language model phrases the answer from the retrieved chunks, and code
verifies every citation before anything reaches the user.

It abstains without calling the model when the extractive answerer's evidence score is below
the threshold, and answers extractively when the model fails (unreachable, timeout, error)
or when none of what it wrote survives verification.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import AsyncIterator, Callable
from typing import Any

import numpy as np
from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.output_parsers import StrOutputParser

from retrieval.answer import Answer, FinalEvent, StreamEvent, TokenEvent
from retrieval.answering.extractive import Candidate, ExtractiveAnswerer
from retrieval.answering.verify import Embed, Verification, clean_markup, share_in_order, verify
from retrieval.condense import needs_context, standalone_question
from retrieval.config import Settings
from retrieval.lexical import terms
from retrieval.prompts import (
    ANSWER_SYSTEM,
    ANSWER_USER,
    ARTICLE_BLOCK,
    HISTORY_TURN,
    NO_ANSWER,
    answer_prompt,
    condense_prompt,
)
from retrieval.retriever import Hit
from retrieval.search_index import SearchIndex
from retrieval.sessions import Turn
from retrieval.spans import QuestionType, question_type, spans_of_type

log = logging.getLogger(__name__)

# Tokens kept free in the context window for the chat template's own markup.
_TEMPLATE_TOKENS = 64
_MARKERS = re.compile(r"\[\d+\]")
# A bare piece of a sentence (see _bare_pick): a near-quote of it (this share of its words
# in the sentence's order) that repeats less than MIN_PIECE of the sentence.
MIN_QUOTE = 0.9
MIN_PIECE = 0.5
_PREFIX = re.compile(
    r"^\s*(?:(?:the\s+)?(?:rewritten|standalone|reformulated|new)\s+question|question)\s*[:\-]\s*",
    re.IGNORECASE,
)


class LLMAnswerer:
    """Answers with a chat model; citations checked by :func:`verify`."""

    def __init__(
        self,
        index: SearchIndex,
        settings: Settings,
        model: BaseChatModel,
        embed: Embed,
        count_tokens: Callable[[str], int] | None = None,
    ) -> None:
        """
        Args:
            index: the snapshot the hits come from.
            settings: the answer and llm sections are used.
            model: the chat model (see :func:`retrieval.llm.make_chat_model`).
            embed: texts -> unit vectors, with the model that embedded the index.
            count_tokens: the model's token count (default: an estimate from characters).
        """
        self.index = index
        self.settings = settings
        self.llm = settings.llm
        self.model = model
        self.embed = embed
        self.count_tokens = count_tokens or _estimate_tokens
        self.extractive = ExtractiveAnswerer(index, settings.answer)
        parser = StrOutputParser()
        self._answer_chain = answer_prompt() | model | parser
        # The rewrite is one line: stopping at the first line break bounds the call.
        self._condense_chain = condense_prompt() | model.bind(stop=["\n"]) | parser

    # --- follow-ups ----------------------------------------------------------------------

    def condense(self, question: str, history: list[Turn]) -> str:
        """The follow-up rewritten by the model into a standalone question; the rule-based
        rewrite when the model fails or says something implausible."""
        question = " ".join(question.split())
        if not history:
            return question
        fallback = standalone_question(question, history)
        try:
            raw = self._condense_chain.invoke(
                {"history": self._history(history), "question": question}
            )
        except Exception as e:  # any model failure: the rule-based rewrite still works
            _warn("condense", e)
            return fallback
        rewritten = _first_line(clean_markup(raw))
        rewritten = _PREFIX.sub("", rewritten).strip(" \"'“”")
        # A rewrite that still leans on the conversation ("What did he decide?") resolved
        # nothing: the rule-based rewrite at least names the previous turn's topic.
        if not self._plausible(rewritten, question) or needs_context(rewritten):
            return fallback
        return rewritten

    def _history(self, history: list[Turn]) -> str:
        """The latest turns that fit in ``llm.history_tokens``, oldest first."""
        budget = self.llm.history_tokens
        kept: list[str] = []
        for turn in reversed(history):
            answer = re.sub(r"\s*\[\d+\]", "", turn.answer)
            text = HISTORY_TURN.format(question=turn.question, answer=_shorten(answer, 400))
            cost = self.count_tokens(text)
            if cost > budget:
                break
            kept.append(text)
            budget -= cost
        return "\n".join(reversed(kept))

    def _plausible(self, rewritten: str, question: str) -> bool:
        """A rewrite is used only if it is a question-sized line that keeps the follow-up's
        own content words and answers nothing."""
        limit = min(self.settings.answer.max_question_chars, 3 * len(question) + 200)
        if not rewritten or len(rewritten) > limit or NO_ANSWER in rewritten:
            return False
        own = set(terms(question))
        kept = own & set(terms(rewritten))
        return not own or 2 * len(kept) >= len(own)

    # --- answers -------------------------------------------------------------------------

    def answer(
        self, question: str, qvec: np.ndarray, hits: list[Hit], history: list[Turn] | None = None
    ) -> Answer:
        """A model-written, verified answer; or an abstention, or the extractive answer."""
        return self.answer_verified(question, qvec, hits)[0]

    def answer_verified(
        self, question: str, qvec: np.ndarray, hits: list[Hit]
    ) -> tuple[Answer, Verification | None]:
        """Like :meth:`answer`, with what verification kept and dropped (None: no model
        output was verified)."""
        cands, fallback = self._extractive(question, qvec, hits)
        if fallback.abstained:
            return fallback, None
        numbered, inputs = self._inputs(question, cands, hits)
        try:
            raw = self._answer_chain.invoke(inputs)
        except Exception as e:  # any model failure: answer extractively, never a traceback
            _warn("answer", e)
            return fallback, None
        return self._finish(question, raw, numbered, fallback, cands)

    async def astream(
        self, question: str, qvec: np.ndarray, hits: list[Hit], history: list[Turn]
    ) -> AsyncIterator[StreamEvent]:
        """The model's tokens as they come (unverified), then the verified final Answer."""
        cands, fallback = await asyncio.to_thread(self._extractive, question, qvec, hits)
        if fallback.abstained:
            yield FinalEvent(fallback)
            return
        numbered, inputs = self._inputs(question, cands, hits)
        parts: list[str] = []
        stream = self._answer_chain.astream(inputs).__aiter__()
        try:
            while True:
                try:
                    token = await asyncio.wait_for(anext(stream), self.llm.timeout_s)
                except StopAsyncIteration:
                    break
                if token:
                    parts.append(token)
                    yield TokenEvent(token)
        except Exception as e:  # any model failure: answer extractively, never a traceback
            _warn("answer", e)
            yield FinalEvent(fallback)
            return
        finally:
            await _aclose(stream)
        answer, _ = await asyncio.to_thread(
            self._finish, question, "".join(parts), numbered, fallback, cands
        )
        yield FinalEvent(answer)

    def _extractive(
        self, question: str, qvec: np.ndarray, hits: list[Hit]
    ) -> tuple[list[Candidate], Answer]:
        """The scored sentences, scored once, and the extractive answer they give: the
        fallback, the model's evidence and the yardstick for what the model may say."""
        cands = self.extractive.candidates(question, qvec, hits) if hits else []
        return cands, self.extractive.compose(question, cands)

    def _inputs(
        self, question: str, cands: list[Candidate], hits: list[Hit]
    ) -> tuple[list[Hit], dict[str, Any]]:
        """The evidence that fits in the context window, numbered 1..n as article blocks.

        With ``llm.evidence_sentences`` > 0 a block holds only its chunk's sentences among the
        best-scoring ones (in article order), blocks ordered by their best sentence: a small
        model copies what is in front of it, so what is in front of it should be the best
        evidence, and a short prompt is answered in a fraction of the time. Citations still
        name the chunk, and verification may find support in any of its sentences.
        """
        fixed = self.count_tokens(ANSWER_SYSTEM + ANSWER_USER + question)
        budget = self.llm.context_tokens - self.llm.max_tokens - fixed - _TEMPLATE_TOKENS
        blocks: list[str] = []
        numbered: list[Hit] = []
        for hit, text in self._evidence(cands, hits):
            block = _block(len(blocks) + 1, hit, text)
            cost = self.count_tokens(block)
            if cost > budget:
                if blocks:
                    break
                # Even the best evidence alone is too long: keep the share of it that fits.
                keep = max(200, int(len(text) * budget / cost * 0.9))
                block = _block(1, hit, text[:keep])
            blocks.append(block)
            numbered.append(hit)
            budget -= cost
        return numbered, {"articles": "\n\n".join(blocks), "question": question}

    def _evidence(self, cands: list[Candidate], hits: list[Hit]) -> list[tuple[Hit, str]]:
        """(hit, text) pairs in prompt order: whole chunks, or each chunk's best sentences."""
        limit = self.llm.evidence_sentences
        if not limit:
            return [(hit, hit.chunk.text) for hit in hits]
        best = cands[:limit]
        picked: dict[int, list[int]] = {}
        for c in best:  # dicts keep insertion order: chunks by their best sentence
            picked.setdefault(c.hit.chunk.row, []).append(c.row)
        by_chunk = {hit.chunk.row: hit for hit in hits}
        out = []
        for chunk_row, rows in picked.items():
            hit = by_chunk[chunk_row]
            spans = [self.index.sentences[r] for r in sorted(rows)]
            out.append((hit, " ".join(hit.article.text[s.start : s.end] for s in spans)))
        return out

    def _finish(
        self,
        question: str,
        raw: str,
        numbered: list[Hit],
        fallback: Answer,
        cands: list[Candidate],
    ) -> tuple[Answer, Verification]:
        """Verify the model's text; fall back to the extractive answer when nothing holds,
        when what holds rests on none of the sentences the extractive answer quotes, when it
        gives a short answer (date, number, name) other than the evidence's, or when it picks
        one of several that its evidence offers."""
        v = verify(raw, numbered, self.index, self.embed, question, self.llm.min_verbatim)
        written = len(v.kept) + len(v.dropped)
        if v.dropped or v.unknown_markers or v.removed_urls:
            log.info(
                "verification dropped %d sentence(s), %d unknown marker(s), %d url(s)",
                len(v.dropped),
                len(v.unknown_markers),
                len(v.removed_urls),
            )
        unused = fallback.model_copy(update={"model_sentences": written, "dropped": written})
        if not v.citations:
            # Nothing held, or the model said the articles don't answer. Whether they do is
            # the calibrated scorer's call, and it found evidence above the threshold: on
            # the seed set SmolLM2 "could not find" a date its evidence states.
            return unused, v
        # The answer must rest on a sentence the extractive answer would quote: measured on
        # SQuAD, SmolLM2-135M picks worse evidence than the scorer, and supported text that
        # answers another question is no answer.
        quoted = self.extractive.select(cands) if cands else []
        quoted_rows = {c.row for c in quoted}
        evidence = [c.text for c in quoted]
        if not any(row in quoted_rows for k in v.kept for row in k.rows):
            log.info("the model's supported sentences do not address the question")
            return unused, v
        if stray := _stray_answer(question, v.text, evidence):
            log.info("the model answers with %r, which the best evidence does not hold", stray)
            return unused, v
        short = fallback.short_answer
        if short and short.lower() not in v.text.lower():
            # The evidence names one date, number or name; an answer without it answers
            # something else, however well supported.
            log.info("the model's answer leaves out the short answer %r", short)
            return unused, v
        if not short and (pick := _unsettled_pick(question, v.text, evidence)):
            # The sentence names several (1938 and 1940; 25- and 45-minute episodes) and
            # the scorer could not tell which one answers: a small model's pick is a guess.
            log.info("the model picks %r where its sentence offers several", pick)
            return unused, v
        if pick := _bare_pick(question, [k.text for k in v.kept], evidence):
            log.info(
                "the model answers with %r, a bare piece where the evidence names others", pick
            )
            return unused, v
        answer = Answer(
            question=question,
            standalone_question=question,
            text=v.text,
            short_answer=short,
            citations=v.citations,
            abstained=False,
            confidence=fallback.confidence,
            written_by="model",
            model_sentences=written,
            dropped=len(v.dropped),
        )
        return answer, v


def _stray_answer(question: str, text: str, evidence: list[str]) -> str | None:
    """For a when / how-many / who / where question: a date, number or name the answer
    gives that neither the question nor the best evidence holds ("in 1940" where the
    evidence says 1938), or None."""
    qtype = question_type(question)
    known = f"{question}\n{' '.join(evidence)}".casefold()
    return next((s for s in _typed_spans(text, qtype) if s not in known), None)


def _unsettled_pick(question: str, text: str, evidence: list[str]) -> str | None:
    """A date, number or name the answer picks from an evidence sentence that offers
    several ("In 1938, the FCC began ... and published its report in 1940"), or None.
    Telling them apart takes reading the roles in the sentence, which a small model gets
    wrong. For when / how-many / who / where questions any such span is a pick; for other
    questions a number is, unless the answer gives all of its sentence's numbers: "The
    most common length is 45 minutes" picks one of "25-minute episodes (the most common
    format), 45-minute episodes ...", where a copy of the whole sentence picks nothing."""
    qtype = question_type(question)
    kind: QuestionType = "how_many" if qtype == "other" else qtype
    given = _unasked_spans(text, kind, question)
    for sentence in evidence:
        spans = _unasked_spans(sentence, kind, question)
        picked = given & spans
        if len(spans) > 1 and picked and (qtype != "other" or spans - given):
            return min(picked)
    return None


def _bare_pick(question: str, sentences: list[str], evidence: list[str]) -> str | None:
    """A name that a bare piece of an evidence sentence keeps where the evidence names
    others, or None. A piece (a near-quote of part of a sentence) that restates less than
    half of the question reads as its answer, and whether it is one depends on the roles in
    the sentences, which a small model reads by position: asked which of ABC's two main
    production facilities is in Hollywood, it answers "The ABC Television Center, East, a
    set of studios located throughout the New York City", the other one; asked who showed
    that air is necessary for combustion, "John Mayow (1641–1679)", who refined the work of
    Robert Boyle, the sentence before."""
    asked = set(terms(question))
    offered = set().union(*(_unasked_spans(e, "who", question) for e in evidence))
    for sentence in sentences:
        if 2 * len(asked & set(terms(sentence))) >= len(asked):
            continue  # it restates the question: a statement, not a bare answer
        given = _unasked_spans(sentence, "who", question) & offered
        if not given or not offered - given:
            continue
        if any(
            share_in_order(sentence, source) >= MIN_QUOTE
            and share_in_order(source, sentence) < MIN_PIECE
            for source in evidence
        ):
            return min(given)
    return None


def _unasked_spans(text: str, kind: QuestionType, question: str) -> set[str]:
    """The dates, numbers or names (as ``kind`` asks) of ``text`` that the question does
    not already hold, in lower case."""
    asked = question.casefold()
    return {s for s in _typed_spans(text, kind) if s not in asked}


def _typed_spans(text: str, qtype: QuestionType) -> list[str]:
    """The dates, numbers or names (as ``qtype`` asks) of ``text``, markers aside, in
    lower case; none for "other" questions."""
    if qtype == "other":
        return []
    plain = _MARKERS.sub(" ", text)
    spans = (plain[a:b].strip(" ,.;:").casefold() for a, b in spans_of_type(plain, qtype))
    return [s for s in spans if s]


def _block(n: int, hit: Hit, text: str) -> str:
    """One retrieved chunk as a delimited data block; nothing in it can close the block."""
    a = hit.article
    return ARTICLE_BLOCK.format(
        n=n, title=_inert(a.title).replace('"', "'"), date=a.date or "unknown", text=_inert(text)
    )


def _inert(text: str) -> str:
    return text.replace("<", "‹").replace(">", "›")


def _estimate_tokens(text: str) -> int:
    """A generous token estimate for models whose tokenizer is not at hand."""
    return len(text) // 3 + 1


def _first_line(text: str) -> str:
    return next((line.strip() for line in text.splitlines() if line.strip()), "")


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit].rsplit(" ", 1)[0] + " …"


def _warn(stage: str, error: BaseException) -> None:
    """The one-line notice for a failed model call (the details stay in the debug log)."""
    detail = (str(error).strip().splitlines() or [""])[0][:200]
    log.warning(
        "the language model failed during %s (%s%s); answering without it",
        stage,
        type(error).__name__,
        f": {detail}" if detail else "",
    )
    log.debug("model failure", exc_info=error)


async def _aclose(stream: Any) -> None:
    close = getattr(stream, "aclose", None)
    if close is not None:
        try:
            await close()
        except Exception:  # closing a failed stream must not mask the answer
            log.debug("closing the model stream failed", exc_info=True)
