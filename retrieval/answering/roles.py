"""Who does what to whom, without a parser: a claim that gives its chunk sentence's parts
each other's roles says something else with the same words.

Two heuristics, each safe against rephrasings that keep the roles:
- an exchange: two parts of the sentence trade places while what stands around each stays
  ("In response to Israel aid to American" from "... American aid to Israel");
- agent and patient around a verb: the part right before a verb acts, the part right after
  it (or after its preposition) is acted on; in the passive ("was founded by X") the
  subject is acted on and the part after "by" acts. A part that acts on a verb in one text
  and is acted on by the same verb in the other is a swap ("Edison hired Tesla" from
  "Tesla hired Edison"; "Tesla was hired by Edison" keeps the roles).
"""

from __future__ import annotations

import itertools
import re
from collections import defaultdict
from typing import NamedTuple

from retrieval.lexical import STOPWORDS, terms
from retrieval.spans import DATE, NAME

_TOKEN = re.compile(r"\w[\w'’\-]*|[^\w\s]")
_BE = frozenset("is are was were be been being".split())
# Words between a subject and its verb that carry tense, mood or nothing.
_SKIP = (
    frozenset(
        "has have had will would could can may might must shall should also not never then "
        "later still already just only soon once often".split()
    )
    | _BE
)
_DETERMINERS = frozenset(
    "the a an its his her their this that these those our my your each every any some no".split()
)
_PREPOSITIONS = frozenset(
    "in on at by for from to with of during after before under over against into near since "
    "until about like than via per within without between among through across toward "
    "towards upon including".split()
)
# Where a clause ends: an agent is never looked for across these.
_BOUNDARY = frozenset(',;:()—–"“”'.split() + list(',;:()—–"“”')) | frozenset(
    "and but while whereas which who whom that because although though if when".split()
)
_IRREGULAR = frozenset(
    "made began took gave led won wrote said found became held left sold bought built ran saw "
    "told met brought fought taught thought lost paid kept sent struck beat chose drove grew "
    "knew rose spoke stood threw went came got done given taken written seen known shown "
    "chosen driven grown spoken thrown begun hit put set cut read let sang sung".split()
)


class Unit(NamedTuple):
    """One word, punctuation mark, name or date of a text."""

    key: str  # stemmed for content words, lower-cased otherwise
    content: bool  # a name, a date or a content word
    word: str  # as written, lower-cased


def roles_swapped(claim: str, source: str) -> bool:
    """Whether ``claim`` gives two parts of ``source`` each other's roles: an exchange of
    places, or a part that acts on a verb in one and is acted on by it in the other."""
    mine, theirs = units(claim), units(source)
    return _exchanged(mine, theirs) or _inverted(_roles(mine), _roles(theirs))


def units(text: str) -> list[Unit]:
    """The text's words and punctuation in order, lower-cased; a name of several words (or a
    date) is one unit, and content words are stemmed."""
    spans = [m.span() for m in DATE.finditer(text)]
    spans += [m.span() for m in NAME.finditer(text) if " " in m.group()]
    out: list[Unit] = []
    covered = -1
    for m in _TOKEN.finditer(text):
        if m.start() < covered:
            continue
        span = next(((a, b) for a, b in spans if a <= m.start() < b), None)
        if span:
            covered = span[1]
            words = text[span[0] : span[1]].split()
            while len(words) > 1 and words[0].casefold() in STOPWORDS:
                words.pop(0)  # "In Paris" is "paris", as a lone word would be
            key = re.sub(r"['’]s$", "", " ".join(words).casefold())
            out.append(Unit(key, True, key))
            continue
        word = m.group().casefold()
        stem = terms(word)
        content = len(stem) == 1 and word not in _SKIP
        out.append(Unit(stem[0] if content else word, content, word))
    return out


def _exchanged(mine: list[Unit], theirs: list[Unit]) -> bool:
    """Two units, one of them a content unit, trade places: each stands in one text
    between two units that the other stands between in the other text, and it did not
    stand there before."""
    a_slots, b_slots = _slots(mine), _slots(theirs)
    content = {u.key for u in mine if u.content} | {u.key for u in theirs if u.content}
    shared = [k for k in a_slots if k in b_slots]
    for x, y in itertools.combinations(shared, 2):
        if x not in content and y not in content:
            continue
        if (a_slots[x] & b_slots[y]) - b_slots[x] and (a_slots[y] & b_slots[x]) - b_slots[y]:
            return True
    return False


def _slots(seq: list[Unit]) -> dict[str, set[tuple[str, str]]]:
    """Each unit's places: the units right before and after each of its occurrences."""
    keys = ["^", *(u.key for u in seq), "$"]
    out: dict[str, set[tuple[str, str]]] = defaultdict(set)
    for i in range(1, len(keys) - 1):
        out[keys[i]].add((keys[i - 1], keys[i + 1]))
    return out


def _roles(seq: list[Unit]) -> dict[str, dict[str, set[str]]]:
    """verb -> unit -> its roles there: "agent", "object" or the preposition that
    introduces it ("for" in "worked for Edison")."""
    out: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    for i, unit in enumerate(seq):
        if not _is_verb(seq, i):
            continue
        before = _nearest(seq, i)
        passive = _passive(seq, i)
        if before is not None:
            out[unit.key][before].add("object" if passive else "agent")
        for key, role in _after(seq, i):
            out[unit.key][key].add("agent" if passive and role == "by" else role)
    return out


def _is_verb(seq: list[Unit], i: int) -> bool:
    """A past tense or participle, not an adjective after a determiner ("the posted
    price")."""
    word = seq[i].word
    if not re.fullmatch(r"[a-z]+", word) or (i and seq[i - 1].word in _DETERMINERS):
        return False
    return word in _IRREGULAR or (len(word) >= 5 and word.endswith("ed"))


def _passive(seq: list[Unit], i: int) -> bool:
    """``seq[i]`` follows a form of "be" (adverbs, "not" and "also" between)."""
    j = i - 1
    while j >= 0 and (seq[j].word.endswith("ly") or seq[j].word in ("not", "also", "never")):
        j -= 1
    return j >= 0 and seq[j].word in _BE


def _nearest(seq: list[Unit], i: int) -> str | None:
    """The content unit right before ``seq[i]`` in its clause, over auxiliaries and
    adverbs: the verb's subject."""
    j = i - 1
    while j >= 0:
        unit = seq[j]
        if unit.word in _BOUNDARY or unit.word in _PREPOSITIONS:
            return None
        adverb = unit.word.endswith("ly")
        if unit.content and not adverb:
            return unit.key
        if not adverb and unit.word not in _SKIP:
            return None
        j -= 1
    return None


def _after(seq: list[Unit], i: int) -> list[tuple[str, str]]:
    """What a verb acts on: its object (the first content unit of the phrase after it) and
    the first unit after a preposition that follows the verb or its object."""
    out: list[tuple[str, str]] = []
    role = "object"
    j = i + 1
    while j < len(seq) and len(out) < 2:
        unit = seq[j]
        if unit.word in _BOUNDARY:
            break
        if unit.word in _PREPOSITIONS:
            role = unit.word
        elif not role:
            break  # the object's phrase ended without a preposition
        elif unit.content:
            out.append((unit.key, role))
            if role != "object":
                break
            while j + 1 < len(seq) and seq[j + 1].content:
                j += 1  # the rest of the object's phrase
            role = ""
        j += 1
    return out


def _inverted(mine: dict[str, dict[str, set[str]]], theirs: dict[str, dict[str, set[str]]]) -> bool:
    """A unit that acts on a verb in one text and is acted on by the same verb in the other
    (and nowhere acts on it there)."""
    for verb, roles in mine.items():
        for unit, here in roles.items():
            there = theirs.get(verb, {}).get(unit)
            if not there:
                continue
            if ("agent" in here) != ("agent" in there) and not (here & there):
                return True
    return False
