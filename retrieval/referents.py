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
# How far after a mention its pronouns are counted (about the rest of its sentence and the
# next one).
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
        window = _until_other_name(article[m.end() : m.end() + _WINDOW], own)
        # The first pronoun after a mention most likely means it ("Bieber said he would
        # meet her"); the later ones may mean someone the sentence brought in.
        first = _PRONOUN.search(window)
        # An object pronoun first ("... directed her to") means someone else: no evidence.
        if first is not None and not _object(first, window):
            he += bool(_HE.fullmatch(first.group()))
            she += bool(_SHE.fullmatch(first.group()))
    if he > 2 * she:
        return "he"
    if she > 2 * he:
        return "she"
    return None


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
        return window[: m.start()]
    return window


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
