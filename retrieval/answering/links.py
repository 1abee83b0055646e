"""How a claim's words are linked in the text that supports it: neighbouring terms close,
denials where the text has them, and words in the order the text has them."""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence
from functools import lru_cache

from retrieval.answering.facts import WORD_NUMBERS
from retrieval.lexical import term_spans, terms
from retrieval.spans import DATE, NAME, date_parts

NEGATION = re.compile(r"\b(?:not|never|no|neither|nor|none|without)\b|n['’]t\b", re.IGNORECASE)
DENIAL = "¬"
_NUMBER_TERMS = {t: str(v) for w, v in WORD_NUMBERS.items() for t in terms(w)}
# How models refer to the text itself; no evidence either way.
META = frozenset(
    terms("article articles text passage document mentions mentioned states stated reports noted")
)
# Verbs that only carry tense or mood: "shall be withdrawn" links what "will be withdrawn" does.
_AUXILIARIES = frozenset(terms("shall must might ought"))

Positions = dict[str, list[int]]


def words(text: str) -> set[str]:
    """Content terms without numbers (held to the stricter fact check) and without the
    words models use to talk about the text itself ("the article mentions")."""
    return {t for t in terms(text) if not t.isdigit() and t not in WORD_NUMBERS and t not in META}


def linked(
    sentence: str, asked: frozenset[str], texts: list[Positions], distance: int
) -> tuple[float, bool]:
    """The share of the sentence's neighbouring term pairs that stand within ``distance``
    terms of each other in one of ``texts`` (0.0 if what the sentence adds stands next to
    none of the question's words), and whether each of its denials stands where a text has
    one.

    A name or date of several words is one term, so "ABC Circle Films" next to "2007" is not
    linked by "ABC Studios in February 2007". Only the sentence's terms that occur in
    ``texts`` are paired, and pairs of two question terms are not counted.
    """
    present = set().union(*texts)
    everything = link_sequence(sentence)
    sequence = [(t, ts) for t, ts in everything if t == DENIAL or t in present]
    asks = any(set(ts) <= asked for t, ts in everything if t != DENIAL)
    adds = any(not set(ts) <= asked for t, ts in sequence if t != DENIAL)
    ok_pairs = counted = 0
    anchored = False
    for (x, xs), (y, ys) in itertools.pairwise(sequence):
        denial = DENIAL in (x, y)
        if not denial and (x == y or set(xs) | set(ys) <= asked):
            continue
        ok = any(
            x in pos
            and y in pos
            and any(0 < abs(i - j) <= distance for i in pos[x] for j in pos[y])
            for pos in texts
        )
        if denial and not ok:
            return 0.0, False
        counted += 1
        ok_pairs += ok
        anchored |= ok and not denial and (set(xs) <= asked) != (set(ys) <= asked)
    if asks and adds and not anchored:
        return 0.0, True
    return (ok_pairs / counted if counted else 1.0), True


def _close(pos: Positions, x: str, y: str, distance: int) -> bool:
    """``x`` and ``y`` stand within ``distance`` terms of each other in ``pos``."""
    if x not in pos or y not in pos:
        return False
    return any(0 < abs(i - j) <= distance for i in pos[x] for j in pos[y])


def denial_dropped(sentence: str, text: str, distance: int) -> bool:
    """``text`` denies something next to words ``sentence`` repeats without the denial:
    "the plan was not approved" left out of "the plan was approved"."""
    mine = link_sequence(sentence)
    my_terms = [t for t, _ in mine]
    if not any(t != DENIAL for t in my_terms):
        return False
    theirs = [t for t, _ in link_sequence(text)]
    for i, t in enumerate(theirs):
        if t != DENIAL:
            continue
        after = [u for u in theirs[i + 1 : i + 1 + distance] if u != DENIAL][:1]
        if not after or after[0] not in my_terms:
            continue
        j = my_terms.index(after[0])
        if DENIAL not in my_terms[max(0, j - distance - 1) : j]:
            return True
    return False


@lru_cache(maxsize=4096)
def link_sequence(text: str) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """The text's terms in order, each with the content terms it stands for: a name of
    several words is one term ("u:jen stoltenberg"), and so is a date, however written
    ("d:d1 m11 y2021"); number words are digits ("eight" is "8"), denials are DENIAL."""
    spans = [m.span() for m in NAME.finditer(text) if " " in m.group()]
    dates = {m.span(): date_parts(m.group()) for m in DATE.finditer(text)}
    spans += dates
    found = [
        (_NUMBER_TERMS.get(t, t), at)
        for t, at in term_spans(text)
        if t not in META and t not in _AUXILIARIES
    ]
    found += [(DENIAL, m.start()) for m in NEGATION.finditer(text)]
    out: list[tuple[str, tuple[str, ...]]] = []
    unit_of: dict[int, int] = {}  # span number -> its place in out
    for t, at in sorted(found, key=lambda ta: ta[1]):
        span = next((i for i, (a, b) in enumerate(spans) if a <= at < b), None)
        if span is None:
            out.append((t, (t,)))
        elif span not in unit_of:
            unit_of[span] = len(out)
            out.append((t, (t,)))
        else:
            members = (*out[unit_of[span]][1], t)
            parts = dates.get(spans[span])
            key = date_key(parts) if parts else "u:" + " ".join(members)
            out[unit_of[span]] = (key, members)
    return tuple(out)


def date_key(parts: frozenset[tuple[str, int]] | Sequence[tuple[str, int]]) -> str:
    """One key for a date however it is written: "1 November 2021" is "November 1, 2021"."""
    return "d:" + " ".join(f"{k}{v}" for k, v in sorted(parts))


def positions(text: str) -> Positions:
    """Term -> where it stands among the text's terms (see :func:`link_sequence`); a
    name's or date's words also stand where it does, and a date also stands for what it
    says in part ("November 2021" for "1 November 2021")."""
    out: Positions = {}
    for i, (key, members) in enumerate(link_sequence(text)):
        keys = {key, *members}
        if key.startswith("d:"):
            parts = [(p[0], int(p[1:])) for p in key[2:].split()]
            keys |= {date_key(c) for n in (2, 3) for c in itertools.combinations(parts, n)}
        for t in keys:
            out.setdefault(t, []).append(i)
    return out


def share_in_order(sentence: str, text: str) -> float:
    """The share of ``sentence``'s words that occur in ``text`` in the same order (their
    longest common subsequence): 1.0 for a quote, however trimmed."""
    a = re.findall(r"\w+", sentence.casefold())
    b = re.findall(r"\w+", text.casefold())
    if not a:
        return 1.0
    row = [0] * (len(b) + 1)
    for x in a:
        diagonal, row[0] = 0, 0
        for j, y in enumerate(b, 1):
            diagonal, row[j] = row[j], diagonal + 1 if x == y else max(row[j], row[j - 1])
    return row[-1] / len(a)
