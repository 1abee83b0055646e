"""The facts of a claim held against one sentence of a chunk: quotations, names, dates,
numbers, quantifiers, and who did what to whom."""

from __future__ import annotations

import itertools
import re
from collections import Counter

from retrieval.answering.checks import CheckName
from retrieval.lexical import STOPWORDS
from retrieval.spans import DATE, NAME, NUMBER, date_parts

WORD_NUMBERS = {
    w: i
    for i, w in enumerate(
        "zero one two three four five six seven eight nine ten eleven twelve thirteen "
        "fourteen fifteen sixteen seventeen eighteen nineteen twenty".split()
    )
} | {"thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80}
WORD_NUMBERS |= {"ninety": 90, "hundred": 100, "dozen": 12}
_SCALES = {"thousand": 1e3, "million": 1e6, "billion": 1e9, "trillion": 1e12, "hundred": 1e2}
_QUOTED = re.compile(r"[\"“]([^\"“”]{3,}?)[\"”]")
# Words that say how many or how often, held to the text like numbers, each as often as the
# text has it.
_QUANTIFIER = re.compile(
    r"\b(?:all|every|each|always|only|entire|entirely|whole|none|nobody|nothing|most|many|few|"
    r"several|any)\b",
    re.IGNORECASE,
)
# What comes before a name that is part of another: "the Council of the European Union".
_OF_NAME = re.compile(r"\b[A-Z][\w'’\-]+\s+of\s+(?:the\s+)?$")
# Number words too vague to hold a model to ("one of them", "thousands of people").
_VAGUE = {"one", "dozens", "hundreds", "thousands", "millions"}
# A word before a name that makes it part of a phrase that may move ("in Paris", "by Edison").
_PREPOSITIONS = frozenset(
    "in on at by for from to with of during after before under over against into near since "
    "until about like than via per within without between among through across toward "
    "towards upon".split()
)


class Facts:
    """The numbers, dates, names and verbatim text a sentence's facts are checked against."""

    def __init__(self, sentence: str, title: str, published: frozenset[tuple[str, int]]) -> None:
        self.sentence = sentence
        self.quantifiers = quantifiers(sentence)
        text = f"{title}\n{sentence}"
        year = {p for p in published if p[0] == "y"}
        self.dates = [date_parts(m.group()) for m in DATE.finditer(text)]
        # "1 November" in an article of 2021 is 1 November 2021.
        self.dates = [d | year if not any(k == "y" for k, _ in d) else d for d in self.dates]
        if published:
            self.dates.append(published)
        self.plain = plain(text)
        self.numbers = numbers(text)
        for parts in self.dates:
            self.numbers |= {float(v) for k, v in parts if k in ("y", "d")}

    def failure(self, sentence: str, opens: bool = True) -> CheckName | None:
        """The first fact check ``sentence`` fails against this text: a quotation, name,
        date, number or quantifier it lacks; None when it holds them all. ``opens``: it
        starts a sentence, so a capitalised first word alone is no name (a clause after
        "..., and" is held to all its capitalised words)."""
        for m in _QUOTED.finditer(sentence):
            quoted = plain(m.group(1)).strip(" .,;:!?")
            if len(quoted.split()) >= 2 and quoted not in self.plain:
                return "quote"
        for m in NAME.finditer(sentence):
            name = re.sub(r"['’]s$", "", m.group())
            if opens and m.start() == 0 and " " not in name:
                continue  # a capitalised first word is no name on its own
            if plain(name) not in self.plain or not self._stands_alone(name, sentence, m.start()):
                return "name"
        date_spans = []
        for m in DATE.finditer(sentence):
            date_spans.append(m.span())
            parts = date_parts(m.group())
            if parts and not any(parts <= d for d in self.dates):
                # A bare year may still be a plain number in the text ("in 2014" / "2014").
                years = [float(v) for k, v in parts if k == "y"]
                if not (len(parts) == 1 and years and years[0] in self.numbers):
                    return "date"
        for m in NUMBER.finditer(sentence):
            if any(a <= m.start() < b for a, b in date_spans):
                continue
            value = number_value(m.group())
            if value is not None and value not in self.numbers:
                return "number"
        if quantifiers(sentence) - self.quantifiers:
            return "quantifier"
        return None

    def roles_swapped(self, sentence: str) -> bool:
        """Two names of ``sentence`` stand in the opposite order in this text, and neither
        a moved phrase ("in Paris" in both) nor a change of voice (exactly one of them
        gains or loses "by") explains it: "Edison worked for Tesla" is not what "Tesla
        worked for Edison" says."""
        mine = _name_places(sentence)
        theirs = _name_places(self.sentence)
        shared = [n for n in mine if n in theirs]
        for a, b in itertools.pairwise(shared):
            (pa, prep_a), (pb, prep_b) = mine[a], mine[b]
            (qa, text_prep_a), (qb, text_prep_b) = theirs[a], theirs[b]
            if (pa < pb) == (qa < qb):
                continue
            moved = (prep_a and prep_a == text_prep_a) or (prep_b and prep_b == text_prep_b)
            by_changes = ((prep_a == "by") != (text_prep_a == "by")) + (
                (prep_b == "by") != (text_prep_b == "by")
            )
            if not moved and by_changes != 1:
                return True
        return False

    def _stands_alone(self, name: str, sentence: str, at: int) -> bool:
        """``name`` (at ``at`` in ``sentence``) names in the text's sentence what it names
        in ``sentence``: "the European Union" is not "the Council of the European Union"."""
        name = re.sub(r"^(?:The|A|An)\s+", "", name)
        if _OF_NAME.search(sentence[:at]):
            return True  # the sentence names the whole too: "Voyage of the Damned"
        found = [m.start() for m in re.finditer(re.escape(name), self.sentence)]
        return not found or any(not _OF_NAME.search(self.sentence[:i]) for i in found)


def _name_places(text: str) -> dict[str, tuple[int, str]]:
    """Each name of ``text`` (not a date; leading function words like "In" or "The"
    aside), lower-cased, with where it first stands and the preposition right before it
    ('' for none)."""
    dates = [m.span() for m in DATE.finditer(text)]
    out: dict[str, tuple[int, str]] = {}
    for m in NAME.finditer(text):
        if any(a <= m.start() < b for a, b in dates):
            continue
        words = m.group().split()
        start = m.start()
        while words and words[0].casefold() in STOPWORDS:
            start = text.index(words[1], start) if len(words) > 1 else start
            words.pop(0)
        if not words:
            continue
        key = re.sub(r"['’]s$", "", " ".join(words).casefold())
        before = re.findall(r"[a-z]+", text[:start].casefold())[-1:]
        prep = before[0] if before and before[0] in _PREPOSITIONS else ""
        out.setdefault(key, (start, prep))
    return out


def quantifiers(text: str) -> Counter[str]:
    """The text's quantifiers ("all", "most", "only"), each with how often it occurs."""
    return Counter(q.casefold() for q in _QUANTIFIER.findall(text))


def plain(text: str) -> str:
    """Case, quote marks and spacing normalised, for verbatim comparison."""
    text = text.casefold().translate(str.maketrans("’‘“”", "''\"\""))
    return " ".join(text.split())


def numbers(text: str) -> set[float]:
    """The values of the text's numbers; "5 million" also gives 5, and "$12" 12."""
    out = set()
    for m in NUMBER.finditer(text):
        v = number_value(m.group(), strict=False)
        if v is not None:
            out.add(v)
            base = number_value(m.group().split()[0], strict=False)
            if base is not None:
                out.add(base)
    return out


def number_value(text: str, strict: bool = True) -> float | None:
    """The value a number mention denotes; None for vague words ("one", "thousands")."""
    t = text.lower().replace(",", "")
    t = re.sub(r"us\$|[$£€%]|per ?cent|percent", " ", t)
    words = t.split()
    if not words:
        return None
    head = words[0]
    if strict and head in _VAGUE and len(words) == 1:
        return None
    if re.fullmatch(r"\d+(?:\.\d+)?", head):
        value = float(head)
    elif head in WORD_NUMBERS:
        value = float(WORD_NUMBERS[head])
    else:
        return None
    for w in words[1:]:
        value *= _SCALES.get(w, 1.0)
    return value
