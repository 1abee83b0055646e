"""Turning a follow-up into a standalone question without an LLM: the previous turn's topic
(its names and key terms) is carried into short or pronoun-led questions."""

from __future__ import annotations

import re
from collections.abc import Callable

from retrieval.lexical import STOPWORDS
from retrieval.referents import can_mean, object_her
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
# "Anything else?", "Anyone else?": words that ask for more of the story, not about a topic.
_INDEFINITE = {"anything", "anyone", "anybody", "something", "someone", "somebody", "else"}
_NOT_CONTENT = _QUESTION_WORDS | _PRONOUNS | _INDEFINITE
_MAX_CARRIED = 12
# An article id -> the article's text (None when unknown).
ArticleText = Callable[[str], str | None]
# Words that make a capitalised name an organisation, a place or a thing: never "he" or "she".
_NOT_PERSON = {
    "agency", "airline", "airlines", "airport", "alliance", "army", "assembly", "association",
    "authority", "bank", "board", "bureau", "cabinet", "center", "centre", "church", "city",
    "club", "college", "command", "commission", "committee", "company", "congress", "corp",
    "corporation", "council", "county", "court", "department", "embassy", "federation",
    "force", "forces", "foundation", "fund", "government", "group", "hospital", "house",
    "inc", "institute", "kremlin", "league", "ltd", "ministry", "mission", "museum", "navy",
    "network", "news", "office", "organisation", "organization", "parliament", "party",
    "pentagon", "police", "post", "press", "province", "republic", "school", "senate",
    "service", "society", "state", "states", "station", "street", "team", "times", "union",
    "university",
}  # fmt: skip
# "Who is <name>?": its short answer describes the one named rather than naming anyone.
WHO_IS_NAME = re.compile(
    r"\W*(?i:who\s*(?:'s|’s|\s+is|\s+was|\s+are|\s+were))\s+((?:[A-Z][\w.’'-]*\s*)+)\??\s*$"
)

_ASKS_IDENTITY = re.compile(
    r"\b(?:his|her) (?:full |real )?name\b|^\W*who(?:'s| is| was) (?:he|she)\b", re.I
)


def needs_context(question: str) -> bool:
    """A follow-up leans on the previous turn: pronoun- or 'and'-led, or very short."""
    words = re.findall(r"[\w']+", question.lower())
    short = len(content_words(question)) < 2
    return bool(_LEADS.match(question.strip())) or bool(_PRONOUNS & set(words)) or short


def content_words(question: str) -> list[str]:
    """The question's words that say what it is about: no stopword, question word, pronoun
    or "else" ("What happened to him?" -> ["happened"]; "Anything else?" -> [])."""
    words = re.findall(r"[\w']+", question.lower())
    return [w for w in words if w not in STOPWORDS and w not in _NOT_CONTENT]


def could_be_person(name: str) -> bool:
    """Whether "he" or "she" could mean ``name``: not an acronym ("NATO") and no word that
    names an organisation or a place ("Russian Permanent Mission", "Foreign Ministry")."""
    letters = re.sub(r"[^A-Za-z]", "", name)
    if len(letters) > 1 and letters.isupper():
        return False
    return not any(w.strip(".,;:'’").lower() in _NOT_PERSON for w in name.split())


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


def standalone_question(
    question: str, history: list[Turn], article_text: ArticleText | None = None
) -> str:
    """The question made self-contained with the previous turn's topic, if it needs one.

    With ``article_text`` (an article id -> its text), "he" and "she" only mean a name the
    focus article does not call by the other pronoun nor writes as a place.
    """
    question = " ".join(question.split())
    if not history or not needs_context(question):
        return question
    if question.isupper():  # "WHERE IS HE FROM?": capitals that name nothing
        question = question.capitalize()
    # The previous turn's own words, not what it carried in turn: topics do not pile up.
    previous = re.sub(r"\s*\([^)]*\)$", "", history[-1].standalone)
    names, terms = topic_of(previous)
    m = re.search(r"\b(he|she|him|his|her)\b", question, re.I)
    # "What was his name?", "Who was she?" ask who the pronoun is: naming anyone answers it.
    # "When's Romney making his own bid?": the person the question names is its "his".
    text = _focus_text(history[-1], article_text) if m else None
    if m and not _ASKS_IDENTITY.search(question) and not _named_before(question, m, text):
        person = _referent(names, history[-1], m.group(1), text)
        if person:
            word = m.group(1).lower()
            own = "" if word == "her" and object_her(question[m.end() :]) else _PERSONAL[word]
            replacement = person + own
            rewritten = question[: m.start()] + replacement + question[m.end() :]
            return _LEADS.sub("", rewritten).strip()
    carried = [w for w in [*names, *terms] if w.lower() not in question.lower()][:_MAX_CARRIED]
    if not carried:
        return question
    core = _LEADS.sub("", question).strip() or question
    core = core[0].upper() + core[1:]
    return f"{core} ({' '.join(carried)})"


def _named_before(question: str, pronoun: re.Match[str], text: str | None) -> bool:
    """Whether the question names, before its pronoun, someone the pronoun may mean
    ("When's Romney making his own bid?")."""
    names, _ = topic_of(question[: pronoun.start()])
    return any(
        could_be_person(n) and (text is None or can_mean(pronoun.group(1), n, text))
        for n in names
        if n.lower() not in _NOT_A_NAME
    )


# Capitalised words that start a question but name no one.
_NOT_A_NAME = _PRONOUNS | _QUESTION_WORDS | {"i", "did", "has", "had", "will", "would"}


def _focus_text(last: Turn, article_text: ArticleText | None) -> str | None:
    if article_text is None or not last.articles:
        return None
    return article_text(last.articles[0])


def _asked_person(name: str, pronoun: str, text: str) -> bool:
    """Whether a name the reader asked about is a person of the article ``pronoun`` may mean."""
    return (
        len(name.split()) >= 2  # a full name: "October" or "Apple" is no one
        and could_be_person(name)
        and re.search(rf"\b{re.escape(name.split()[-1])}\b", text) is not None
        and can_mean(pronoun, name, text)
    )


def _referent(
    names: list[str], last: Turn, pronoun: str = "he", text: str | None = None
) -> str | None:
    """Who "he" or "she" means after ``last``: the person its short answer named ("Who did
    he shoot?" "Vincent Darbenzio"), else one the reader just asked about (in their words
    or as the question was read: "What did he decide?" read as "What did Jens Stoltenberg
    decide?"), else the focus's likeliest person (retrieval/focus.py); without a stored
    focus, the previous question's full name. An organisation is no one's "he"."""
    people = [e for e in last.entities if could_be_person(e)]
    if text is not None:
        people = [e for e in people if can_mean(pronoun, e, text)]
    kept = {e.lower() for e in people}
    # "Who is Jens Stoltenberg?" "NATO Secretary-General": that answer says what he is.
    described = WHO_IS_NAME.match(last.question) is not None
    answered = [] if described else topic_of(last.short_answer or "")[0]
    # The one the reader asked about ("Who is Caroline Ellison?" "What did she say?") is
    # rarely among the answer's new names: a person the article may call so still counts.
    asked = [
        n
        for n in [*answered, *topic_of(last.question)[0], *names]
        if n.lower() in kept or (text is not None and _asked_person(n, pronoun, text))
    ]
    if asked:
        return asked[0]
    if last.entities:
        return people[0] if people else None
    return next((n for n in names if len(n.split()) >= 2 and could_be_person(n)), None)
