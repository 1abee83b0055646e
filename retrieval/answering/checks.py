"""The table of named checks that a model's sentence must pass, and of the gates that send
an LLM answer back to the extractive one.

Each check has a name, the stage it runs at, what it rejects and why. A sentence is dropped
by the first check it fails, in table order, and that name is its recorded reason
(``Dropped.reason``); an answer that falls back records its gate (``Answer.fallback``).
Where each rule came from (the audited failure behind it) is in bench/README.md.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

CheckName = Literal[
    "no_answer",
    "question",
    "about_text",
    "repeated",
    "unfinished",
    "uncited",
    "unsupported",
    "quote",
    "name",
    "date",
    "number",
    "quantifier",
    "negation",
    "role",
    "unlinked",
    "premise",
    "rephrased",
    "referent",
    "breaks_off",
]
Stage = Literal["sentence", "support", "context"]
GateName = Literal[
    "low_evidence",
    "model_error",
    "nothing_kept",
    "off_evidence",
    "stray_answer",
    "short_answer_missing",
    "unsettled_pick",
    "bare_pick",
]


@dataclass(frozen=True)
class Check:
    """One named rule: where it runs, what it rejects, and why it exists."""

    name: CheckName
    stage: Stage
    rejects: str
    why: str


CHECKS: tuple[Check, ...] = (
    Check("no_answer", "sentence", "a refusal ('I couldn't find ...')", "no claim to check"),
    Check("question", "sentence", "a question, or only the question's words", "answers nothing"),
    Check("about_text", "sentence", "'The article is about ...'", "talks of the text, not news"),
    Check("repeated", "sentence", "a sentence already written", "small models loop"),
    Check("unfinished", "sentence", "a long last sentence cut off", "max_tokens ended it"),
    Check("uncited", "support", "no marker, and no chunk holds it", "a claim needs a source"),
    Check(
        "unsupported",
        "support",
        "words and meaning far from every sentence of the chunk",
        "the chunk does not say it",
    ),
    Check("quote", "support", "quoted words not verbatim in the chunk", "a quote is verbatim"),
    Check("name", "support", "a name the chunk's sentence lacks", "names are facts"),
    Check("date", "support", "a date the chunk's sentence lacks", "dates are facts"),
    Check("number", "support", "a number the chunk's sentence lacks", "numbers are facts"),
    Check(
        "quantifier",
        "support",
        "'all', 'every', 'only' ... more often than the chunk's sentence",
        "a quantifier changes the claim",
    ),
    Check(
        "negation",
        "support",
        "a denial added, or one of the chunk's sentence left out",
        "it inverts the claim",
    ),
    Check(
        "role",
        "support",
        "who did what to whom swapped: names in the opposite order (links), agent and "
        "patient around the verb exchanged, or two parts trading places (claim)",
        "the same words, another claim",
    ),
    Check(
        "unlinked",
        "support",
        "the chunk's words put together as its sentence does not put them",
        "true words, false claim",
    ),
    Check(
        "premise",
        "support",
        "words taken from the question that the chunk's sentence does not state",
        "a question's premise is a claim too",
    ),
    Check(
        "rephrased",
        "support",
        "not a near-quote (only with llm.min_verbatim > 0)",
        "tiny models' rephrasings are often wrong",
    ),
    Check(
        "referent",
        "context",
        "'It'/'This' first, unlike its chunk sentence or after another one",
        "it would refer to something else",
    ),
    Check(
        "breaks_off",
        "context",
        "stops where its chunk sentence leads into what the chunk lacks",
        "says nothing on its own",
    ),
)
ORDER: dict[str, int] = {c.name: i for i, c in enumerate(CHECKS)}


@dataclass(frozen=True)
class Gate:
    """One reason an LLM answer falls back to the extractive answer."""

    name: GateName
    rejects: str


GATES: tuple[Gate, ...] = (
    Gate("low_evidence", "evidence below answer.abstain_threshold: abstain, no model call"),
    Gate("model_error", "the model failed or timed out"),
    Gate("nothing_kept", "no sentence survived verification, or the model refused"),
    Gate("off_evidence", "what survived rests on none of the extractive answer's sentences"),
    Gate("stray_answer", "a date, number or name the question and best evidence lack"),
    Gate("short_answer_missing", "the evidence's short answer is not in the text"),
    Gate("unsettled_pick", "picks one of several dates/numbers/names its sentence offers"),
    Gate("bare_pick", "a bare piece of a sentence that names others"),
)

_REFUSAL = re.compile(
    r"\b(?:could\s*n[o']t|can\s*n[o']t|cannot|unable to|did\s*n[o']t|do\s*n[o']t)\s+find\b"
    r"|\b(?:articles?|texts?|sources?)\s+(?:do|does|did)\s*(?:n[o']t|not)\s+"
    r"(?:contain|mention|say|include|provide|specify|state)"
    r"|\bno (?:information|mention)\b|\bnot (?:mentioned|stated|specified) in\b",
    re.IGNORECASE,
)
# "The article is about the Netherlands, which ...", "The article about the season saw ...".
_ABOUT_TEXT = re.compile(
    r"(?:the|this|that)\s+(?:article|text|passage|document)s?\b"
    r"(?!\s*(?:,|(?:says|said|states|stated|reports|reported|notes|noted|adds|added)\b))",
    re.IGNORECASE,
)
ANAPHOR = re.compile(
    r"(?:it|its|this|these|those|that|they|their|them|he|his|him|she|her|such)\b", re.IGNORECASE
)


def sentence_failure(
    body: str,
    raw: str,
    terms_of: set[str],
    asked: frozenset[str],
    before: list[str],
    last_uncited: bool,
) -> CheckName | None:
    """The first sentence-stage check ``body`` fails (None: it goes on to be checked
    against the chunks). ``raw`` is the sentence as written, ``terms_of`` its terms,
    ``before`` the bodies kept so far, ``last_uncited`` whether it ends the output
    without a marker."""
    if _REFUSAL.search(body):
        return "no_answer"
    if body.endswith("?") or terms_of <= asked:
        return "question"
    if _ABOUT_TEXT.match(body):
        return "about_text"
    if any(same(body, b) for b in before):
        return "repeated"
    if last_uncited and unfinished(raw):
        return "unfinished"
    return None


def same(a: str, b: str) -> bool:
    """The same sentence again, or a cut-off start of one already written."""
    a, b = a.casefold().rstrip(" .!?…"), b.casefold().rstrip(" .!?…")
    return a == b or (len(a) >= 20 and b.startswith(a))


def unfinished(text: str) -> bool:
    """A long sentence with no end: the last one, without a marker, was cut off by
    ``max_tokens``."""
    ended = re.search(r"[.!?…\"'”’)\]]$", text.strip())
    return not ended and len(text.split()) >= 8


def breaks_off(body: str, source: str) -> bool:
    """``body`` stops where its chunk sentence ``source`` breaks off into what the chunk
    does not hold: "In a 1937 interview, he stated:" leads into a quotation."""
    if not re.search(r"[:,;–—]\s*$", source):
        return False
    last = re.findall(r"\w+", body.casefold())[-1:]
    return bool(last) and last == re.findall(r"\w+", source.casefold())[-1:]
