"""The gates that send a verified LLM answer back to the extractive one: each names why
(``Answer.fallback``; the table is in retrieval/answering/checks.py)."""

from __future__ import annotations

import logging
import re

from retrieval.answering.checks import GateName
from retrieval.answering.links import share_in_order
from retrieval.answering.verify import Verification
from retrieval.config import VerifySettings
from retrieval.lexical import terms
from retrieval.spans import QuestionType, question_type, spans_of_type

log = logging.getLogger(__name__)

_MARKERS = re.compile(r"\[\d+\]")


def failed_gate(
    question: str,
    v: Verification,
    short: str | None,
    quoted: list[tuple[int, str]],
    settings: VerifySettings,
) -> GateName | None:
    """The first gate the verified answer ``v`` fails, or None when it stands.

    Args:
        question: what was asked.
        v: what verification kept of the model's text.
        short: the extractive answer's short answer (a date, number or name), if any.
        quoted: (index row, text) of the sentences the extractive answer quotes.
        settings: the bare_pick gate's thresholds.
    """
    if not v.citations:
        # Nothing held, or the model said the articles don't answer. Whether they do is
        # the calibrated scorer's call, and it found evidence above the threshold.
        return "nothing_kept"
    # The answer must rest on a sentence the extractive answer would quote: supported text
    # that answers another question is no answer.
    rows = {row for row, _ in quoted}
    evidence = [text for _, text in quoted]
    if not any(row in rows for k in v.kept for row in k.rows):
        return "off_evidence"
    if stray := _stray_answer(question, v.text, evidence):
        log.info("the model answers with %r, which the best evidence does not hold", stray)
        return "stray_answer"
    if short and short.lower() not in v.text.lower():
        return "short_answer_missing"
    if not short and (pick := _unsettled_pick(question, v.text, evidence)):
        log.info("the model picks %r where its sentence offers several", pick)
        return "unsettled_pick"
    kept = [k.text for k in v.kept]
    if pick := _bare_pick(question, kept, evidence, settings.min_quote, settings.min_piece):
        log.info("the model answers with %r, a bare piece where the evidence names others", pick)
        return "bare_pick"
    return None


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


def _bare_pick(
    question: str, sentences: list[str], evidence: list[str], min_quote: float, min_piece: float
) -> str | None:
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
            share_in_order(sentence, source) >= min_quote
            and share_in_order(source, sentence) < min_piece
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
