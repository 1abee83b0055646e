"""Who a "he" or "she" can mean, read from the article itself: the pronouns that follow a
name's mentions tell a man from a woman, and a name the article writes after "in", "to" or
"from" is a place ("Pennsylvania", "Canada"), and one it writes inside short quotation marks
a title ("12 Years A Slave"), not a person. No parser, no name lists."""

from __future__ import annotations

import re
from typing import Literal

Gender = Literal["he", "she"]

_HE = re.compile(r"\b(?:he|him|his|himself)\b", re.IGNORECASE)
_SHE = re.compile(r"\b(?:she|her|hers|herself)\b", re.IGNORECASE)
_PRONOUN = re.compile(r"\b(?:he|him|his|himself|she|her|hers|herself)\b", re.IGNORECASE)
# How far after a mention its pronouns are counted (the rest of its sentence, at most; the
# next sentence's opening pronoun counts when the name opens its own).
_WINDOW = 160
_PLACE_BEFORE = re.compile(r"\b(?:in|to|from|at|near|across|outside|inside|of)\s+(?:the\s+)?$")


def _mentions(name: str, article: str) -> list[re.Match[str]]:
    last = name.split()[-1]
    return list(re.finditer(rf"\b{re.escape(last)}\b", article))


def gender(name: str, article: str) -> Gender | None:
    """ "he" or "she" when the first pronouns after the name's mentions mostly say one (twice
    as often as the other); None when they say neither clearly."""
    he = she = 0
    own = {w.lower() for w in name.split()}
    for m in _mentions(name, article):
        if article.startswith(("'s", "’s"), m.end()):  # "Bieber's representative said she"
            continue
        # "Caroline Ellison, his girlfriend": the possessive of an apposition is another's.
        if _APPOSED_POSSESSIVE.match(article, m.end()):
            continue
        window = _sentence_rest(_until_other_name(article[m.end() : m.end() + _WINDOW], own))
        # The first pronoun after a mention most likely means it ("Bieber said he would
        # meet her"); the later ones may mean someone the sentence brought in.
        first = _PRONOUN.search(window)
        # An object pronoun first ("... directed her to") means someone else: no evidence.
        if first is not None and not _object(first, window):
            he += bool(_HE.fullmatch(first.group()))
            she += bool(_SHE.fullmatch(first.group()))
        elif first is None and (subject := _next_subject(article, m, own)) is not None:
            he += subject == "he"
            she += subject == "she"
    if he > 2 * she:
        return "he"
    if she > 2 * he:
        return "she"
    return None


def _next_subject(article: str, mention: re.Match[str], own: set[str]) -> Gender | None:
    """The pronoun that opens the sentence after the one the name opens ("Boyle will perform
    in Glasgow, the office said. She will also sing"): a new sentence's "he" or "she" most
    likely goes on with the last one's subject. None when the name does not open its
    sentence or the next one opens otherwise."""
    before = article[: mention.start()]
    while (word := _LAST_WORD.search(before)) is not None and word.group(1).lower() in own:
        before = before[: word.start(1)]
    before = before.rstrip(" \"'“‘(")
    if before and before[-1] not in ".!?\n":
        return None
    end = _SENTENCE_END.search(article, mention.end())
    if end is None:
        return None
    opener = end.group(1).lower()
    return "he" if opener == "he" else "she" if opener == "she" else None


def _sentence_rest(window: str) -> str:
    """The window up to the end of the mention's sentence: a pronoun past it goes on with
    that sentence's subject (:func:`_next_subject`), which need not be the name."""
    end = _SENTENCE_END.search(window)
    return window if end is None else window[: end.start() + 1]


_LAST_WORD = re.compile(r"([A-Z][\w'’-]*)\s*$")
# A sentence's end and the next sentence's first word: a full stop before a capital letter
# ("Sept. 16" goes on).
_SENTENCE_END = re.compile(r"[.!?][\"”’']?\s+([A-Z][a-z]*)")


_APPOSED_POSSESSIVE = re.compile(r",\s+(?:his|her)\b", re.IGNORECASE)


def _object(pronoun: re.Match[str], window: str) -> bool:
    """Whether the pronoun is the object of the name's own clause ("Bankman-Fried directed
    her to", "police arrested him."): such a pronoun means someone else, never the subject."""
    word = pronoun.group().lower()
    if word == "him":
        return True
    return word == "her" and _AFTER_OBJECT.match(window, pronoun.end()) is not None


# What follows an object "her" (not a possessive one: "her album").
_AFTER_OBJECT = re.compile(
    r"\s*(?:[.,;:!?)]|$|(?:to|that|and|or|in|on|at|for|with|from|as|into|about|by)\b)"
)


def object_her(after: str) -> bool:
    """Whether "her" followed by ``after`` is an object ("Who told her to do it?"), not a
    possessive ("her album")."""
    return _AFTER_OBJECT.match(after) is not None


def _until_other_name(window: str, own: set[str]) -> str:
    """The window up to the first capitalised word inside a sentence that is not part of
    the name: past it, a pronoun more likely means that other one."""
    for m in _CAPITALISED.finditer(window):
        before = window[: m.start()].rstrip(" \"'“”‘’(")
        if m.group().lower() in own or not before or before[-1] in ".!?":
            continue
        if _IN_TITLE.search(window[: m.start()]) and _TITLE_END.match(window, m.start()):
            continue  # the hymn "How Great Thou Art": a title names no one
        return window[: m.start()]
    return window


# A capitalised word inside a short quotation: a title's (a few words, quote closed).
_IN_TITLE = re.compile(r"[\"“][^\"“”]{0,40}$")
_TITLE_END = re.compile(r"[^\"“”.!?]{0,40}[\"”]")


_CAPITALISED = re.compile(r"\b[A-Z][\w'’-]*")


def place_like(name: str, article: str) -> bool:
    """Whether most of the article's mentions of ``name`` follow "in", "to", "from" ...
    ("in Pennsylvania", "to Canada"): a place, which no "he" or "she" means."""
    mentions = [m for m in re.finditer(rf"\b{re.escape(name)}\b", article)]
    placed = sum(
        bool(_PLACE_BEFORE.search(article[max(0, m.start() - 12) : m.start()])) for m in mentions
    )
    return bool(mentions) and 2 * placed > len(mentions)


def titled(name: str, article: str) -> bool:
    """Whether most of the article's mentions of ``name`` (by its last word, as
    :func:`gender` counts them) stand inside a short quotation ("12 Years A Slave",
    "'Scandal' returns"): the title of a film or a show, which no "he" or "she" means."""
    mentions = _mentions(name, article)
    quoted = 0
    for m in mentions:
        before = article[max(0, m.start() - _TITLE_CHARS) : m.start()]
        after = article[m.end() : m.end() + _TITLE_CHARS]
        opened = _OPEN_QUOTE.search(before)
        closed = _CLOSE_QUOTE.search(after)
        quoted += bool(opened and closed and "\n" not in before[opened.start() :])
    return bool(mentions) and 2 * quoted > len(mentions)


# A title in quotes is short: its quote marks stand this close around the name.
_TITLE_CHARS = 30
_OPEN_QUOTE = re.compile(r"(?:^|[\s(])[\"“‘'][^\"“”‘’']*$")
_CLOSE_QUOTE = re.compile(r"^[^\"“”‘’]*?(?:[\"”’]|'(?!s\b|\w))")


def can_mean(pronoun: str, name: str, article: str) -> bool:
    """Whether ``pronoun`` (he, him, his, she, her) can refer to ``name`` in the article: not
    a place or a title, and not a person the article calls by the other pronoun."""
    if place_like(name, article) or titled(name, article):
        return False
    said = gender(name, article)
    wanted: Gender = "she" if pronoun.lower() in ("she", "her", "hers", "herself") else "he"
    return said is None or said == wanted
