"""Turning a follow-up into a standalone question without an LLM: the previous turn's topic
(its names and key terms) is carried into short or pronoun-led questions."""

from __future__ import annotations

import re

from retrieval.lexical import STOPWORDS
from retrieval.sessions import Turn
from retrieval.spans import NAME

_PRONOUNS = {
    "he",
    "she",
    "him",
    "his",
    "her",
    "it",
    "its",
    "they",
    "them",
    "their",
    "that",
    "this",
    "these",
    "those",
    "there",
}
_PERSONAL = {"he": "", "she": "", "him": "", "his": "'s", "her": "'s"}
_LEADS = re.compile(r"^(and|but|so|also|then|ok(ay)?|what about|how about)\b[\s,]*", re.I)
_QUESTION_WORDS = {
    "who",
    "what",
    "when",
    "where",
    "why",
    "how",
    "which",
    "whom",
    "whose",
    "is",
    "are",
    "was",
    "were",
    "did",
    "does",
    "do",
    "can",
    "could",
    "and",
    "the",
}
_MAX_CARRIED = 12
_ASKS_IDENTITY = re.compile(
    r"\b(?:his|her) (?:full |real )?name\b|^\W*who(?:'s| is| was) (?:he|she)\b", re.I
)


def needs_context(question: str) -> bool:
    """A follow-up leans on the previous turn: pronoun- or 'and'-led, or very short."""
    words = re.findall(r"[\w']+", question.lower())
    content = [w for w in words if w not in STOPWORDS and w not in _QUESTION_WORDS]
    return bool(_LEADS.match(question.strip())) or bool(_PRONOUNS & set(words)) or len(content) < 2


def topic_of(question: str) -> tuple[list[str], list[str]]:
    """The names and the other key terms of a (standalone) question."""
    names = []
    for m in NAME.finditer(question):
        words = [
            w for w in m.group().split() if re.split(r"['’]", w.lower())[0] not in _QUESTION_WORDS
        ]
        if words:
            names.append(" ".join(words))
    named = {w.lower() for n in names for w in n.split()}
    terms = [
        w
        for w in re.findall(r"[\w'-]+", question)
        if w.lower() not in STOPWORDS
        and w.lower() not in _QUESTION_WORDS
        and w.lower() not in named
        and w.lower() not in _PRONOUNS
    ]
    return names, terms


def standalone_question(question: str, history: list[Turn]) -> str:
    """The question made self-contained with the previous turn's topic, if it needs one."""
    question = " ".join(question.split())
    if not history or not needs_context(question):
        return question
    # The previous turn's own words, not what it carried in turn: topics do not pile up.
    previous = re.sub(r"\s*\([^)]*\)$", "", history[-1].standalone)
    names, terms = topic_of(previous)
    # A name the reader just asked about themselves comes first ("What did he decide?" after
    # "Who is Jens Stoltenberg?"), else the conversation's most salient name
    # (retrieval/focus.py); without a stored focus, the previous question's full name.
    kept = {e.lower() for e in history[-1].entities}
    asked = [n for n in topic_of(history[-1].question)[0] if n.lower() in kept]
    person = asked[0] if asked else (history[-1].entities[0] if kept else None)
    if person is None:
        person = next((n for n in names if len(n.split()) >= 2), None)
    # "What was his name?", "Who was she?" ask who the pronoun is: naming anyone answers it.
    if person and not _ASKS_IDENTITY.search(question):
        pattern = re.compile(r"\b(he|she|him|his|her)\b", re.I)
        m = pattern.search(question)
        if m:
            replacement = person + _PERSONAL[m.group(1).lower()]
            rewritten = question[: m.start()] + replacement + question[m.end() :]
            return _LEADS.sub("", rewritten).strip()
    carried = [w for w in [*names, *terms] if w.lower() not in question.lower()][:_MAX_CARRIED]
    if not carried:
        return question
    core = _LEADS.sub("", question).strip() or question
    core = core[0].upper() + core[1:]
    return f"{core} ({' '.join(carried)})"
