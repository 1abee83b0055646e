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
from retrieval.answering.checks import GateName
from retrieval.answering.extractive import Candidate, ExtractiveAnswerer
from retrieval.answering.gates import failed_gate
from retrieval.answering.verify import Embed, Verification, clean_markup, verify
from retrieval.condense import needs_context
from retrieval.config import Settings, answer_for, verification_for
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

log = logging.getLogger(__name__)

# Tokens kept free in the context window for the chat template's own markup.
_TEMPLATE_TOKENS = 64
_PREFIX = re.compile(
    r"^\s*(?:(?:the\s+)?(?:rewritten|standalone|reformulated|new)\s+question|question|user|"
    r"assistant|q)\s*[:\-]\s*",
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
        self.checks, self.min_verbatim = verification_for(settings)
        self.model = model
        self.embed = embed
        self.count_tokens = count_tokens or _estimate_tokens
        self.extractive = ExtractiveAnswerer(index, answer_for(settings), encode=embed)
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
        fallback = self.extractive.condense(question, history)
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
        # A follow-up with no words of its own ("What?", "Who?") gives the model nothing to
        # keep: measured on CoQA, SmolLM2 then asks something else ("What's the latest
        # news?"), and the rule-based rewrite does better.
        return bool(own) and 2 * len(kept) >= len(own)

    # --- answers -------------------------------------------------------------------------

    def answer(
        self,
        question: str,
        qvec: np.ndarray,
        hits: list[Hit],
        history: list[Turn] | None = None,
        asked: str | None = None,
    ) -> Answer:
        """A model-written, verified answer; or an abstention, or the extractive answer."""
        return self.answer_verified(question, qvec, hits, history, asked)[0]

    def answer_verified(
        self,
        question: str,
        qvec: np.ndarray,
        hits: list[Hit],
        history: list[Turn] | None = None,
        asked: str | None = None,
    ) -> tuple[Answer, Verification | None]:
        """Like :meth:`answer`, with what verification kept and dropped (None: no model
        output was verified)."""
        cands, fallback = self._extractive(question, qvec, hits, history or [], asked)
        if fallback.abstained:
            return _gated(fallback, "low_evidence"), None
        numbered, inputs = self._inputs(question, cands, hits)
        try:
            raw = self._answer_chain.invoke(inputs)
        except Exception as e:  # any model failure: answer extractively, never a traceback
            _warn("answer", e)
            return _gated(fallback, "model_error"), None
        return self._finish(question, raw, numbered, fallback, cands)

    async def astream(
        self,
        question: str,
        qvec: np.ndarray,
        hits: list[Hit],
        history: list[Turn],
        asked: str | None = None,
    ) -> AsyncIterator[StreamEvent]:
        """The model's tokens as they come (unverified), then the verified final Answer."""
        cands, fallback = await asyncio.to_thread(
            self._extractive, question, qvec, hits, history, asked
        )
        if fallback.abstained:
            yield FinalEvent(_gated(fallback, "low_evidence"))
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
            yield FinalEvent(_gated(fallback, "model_error"))
            return
        finally:
            await _aclose(stream)
        answer, _ = await asyncio.to_thread(
            self._finish, question, "".join(parts), numbered, fallback, cands
        )
        yield FinalEvent(answer)

    def _extractive(
        self,
        question: str,
        qvec: np.ndarray,
        hits: list[Hit],
        history: list[Turn],
        asked: str | None = None,
    ) -> tuple[list[Candidate], Answer]:
        """The scored sentences, scored once as the conversation sees them, and the
        extractive answer they give: the fallback, the model's evidence and the yardstick
        for what the model may say."""
        cands, focused = self.extractive.in_conversation(question, qvec, hits, history, asked)
        return cands, self.extractive.compose(question, cands, focused)

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
        """Verify the model's text; fall back to the extractive answer, naming the gate,
        when what holds does not answer as its evidence does (see :func:`failed_gate`)."""
        v = verify(raw, numbered, self.index, self.embed, question, self.min_verbatim, self.checks)
        written = len(v.kept) + len(v.dropped)
        reasons: list[str] = [d.reason for d in v.dropped]
        if v.dropped or v.unknown_markers or v.removed_urls:
            log.info(
                "verification dropped %d sentence(s) (%s), %d unknown marker(s), %d url(s)",
                len(v.dropped),
                ", ".join(reasons),
                len(v.unknown_markers),
                len(v.removed_urls),
            )
        # Measured on SQuAD, SmolLM2-135M picks worse evidence than the scorer: the answer
        # must rest on a sentence the extractive answer would quote.
        quoted = self.extractive.select(cands) if cands and v.citations else []
        short = fallback.short_answer
        gate = failed_gate(question, v, short, [(c.row, c.text) for c in quoted], self.checks)
        if gate is not None:
            log.info("falling back to the extractive answer: %s", gate)
            update = {
                "model_sentences": written,
                "dropped": written,
                "drop_reasons": reasons,
                "fallback": gate,
            }
            return fallback.model_copy(update=update), v
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
            drop_reasons=reasons,
        )
        return answer, v


def _gated(answer: Answer, gate: GateName) -> Answer:
    """The extractive ``answer``, recording the gate that chose it over the model's."""
    return answer.model_copy(update={"fallback": gate})


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
