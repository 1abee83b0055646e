"""Short answers picked from the quoted evidence: every span of the asked type (a date, a
quantity, a name) in the sentences, scored by how closely the question's own words
surround it there, and given only when one clearly wins. The answer to "Who produced Wide
World of Sports?" stands next to "produced" in "... created by Edgar Scherick and produced
by a young Roone Arledge", not next to the show's name."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from retrieval.answering.slots import DATELINE, NO_NAME
from retrieval.lexical import terms, words
from retrieval.spans import DATE, NAME, NUMBER

_TOKEN = re.compile(r"[\w'’.-]+")

# Capitalised words that name nothing on their own (slots.NO_NAME), and months and
# prepositions that open a clause ("In March", "Following the war").
_NO_NAME = NO_NAME | frozenset(
    "january february march april may june july august september october november december "
    "in on at by for from to with of during under however following despite also until".split()
)


@dataclass(frozen=True)
class Pick:
    """A candidate short answer and how well the question's words hold it in place."""

    text: str
    sentence: int  # index of the quoted sentence it is in (best first)
    score: float
    align: float  # the share of the question's terms its sentence holds


def candidate_spans(sentence: str, kind: str, question: str) -> list[tuple[int, int]]:
    """Character spans of ``sentence`` of the type ``kind`` asks for ("when": dates,
    "how_many": quantities, "who" / "where" / "name": capitalised names)."""
    dateline = DATELINE.match(sentence)
    start = dateline.end() if dateline else 0
    dates = [m.span() for m in DATE.finditer(sentence)]
    if kind == "when":
        spans = dates
    elif kind == "how_many":
        spans = [
            # "two-thirds" is one quantity, not "two".
            (
                m.start(),
                m.end() + len(h.group()) if (h := _HYPHENED.match(sentence, m.end())) else m.end(),
            )
            for m in NUMBER.finditer(sentence)
            if not any(a <= m.start() < b for a, b in dates if b - a > 4)
            and not re.fullmatch(r"1\d{3}|20\d\d", m.group())  # a year is no quantity
        ]
    else:
        spans = [
            m.span()
            for m in NAME.finditer(sentence)
            if not any(a <= m.start() < b for a, b in dates)
            # A place is where something is, goes or comes from.
            and (kind != "where" or _PLACE_BEFORE.search(sentence[: m.start()]))
        ]
    return [(a, b) for a, b in spans if a >= start]


_HYPHENED = re.compile(r"-[a-z]+")
_PLACE_BEFORE = re.compile(
    r"\b(?:in|at|near|from|to|into|across|outside|inside|of)\s+(?:the\s+)?$"
    # An apposition to a place noun: "the Belgian capital, Brussels".
    r"|\b(?:capital|city|town|village|port|province|state|region|county|district|island)"
    r",\s+$",
    re.IGNORECASE,
)


# Units of time; a number of them after the span, and a question about time.
_TIME_UNITS = r"years?|months?|weeks?|days?|hours?|minutes?|seconds?|decades?|centuries|century"
_TIME_AFTER = re.compile(rf"\s*-?\s*(?:{_TIME_UNITS})\b", re.IGNORECASE)
_TIME_ASKED = re.compile(
    rf"\b(?:{_TIME_UNITS}|long|time|old|age|often|period|duration|term)\b", re.IGNORECASE
)


def time_unasked(sentence: str, end: int, question: str) -> bool:
    """Whether the number ending at ``end`` counts time ("for the first time in two years")
    that the question does not ask about ("How much ...?", not "How many years ...?")."""
    return _TIME_AFTER.match(sentence, end) is not None and not _TIME_ASKED.search(question)


# "How long ...?", "How old ...?": the answer is a measure, its unit part of it ("10 years").
MEASURE = re.compile(r"\bhow\s+(?:long|old|far|tall|high|big|large|deep|wide|heavy)\b", re.I)
_UNIT = re.compile(
    rf"^(?:\s*(?:to|-|–|or)\s*[\w.,]+)?[\s-]+(?:(?:{_TIME_UNITS}|"
    r"miles?|kilometers?|kilometres?|km|meters?|metres?|"
    r"feet|foot|ft|inches|inch|yards?|pounds?|lbs?|kilograms?|kg|tons?|tonnes?|acres?|"
    r"hectares?|square\s+(?:miles?|kilometers?|kilometres?|feet|meters?|metres?))\b)(?:\s+old\b)?",
    re.IGNORECASE,
)


def with_unit(sentence: str, end: int) -> int:
    """The end of a measure with its unit (and the other end of a range): "10" -> "10
    years", "five" -> "five to ten years"."""
    m = _UNIT.match(sentence[end:])
    return end + m.end() if m else end


def _clean(text: str, qwords: set[str], kind: str) -> str:
    """The span without the question's own leading words ("Russian Foreign Minister
    Sergei Lavrov" for "Who is the Russian foreign minister?"), edge punctuation and a
    clause-opening word ("After Genghis Khan" -> "Genghis Khan"); a name whose rest would
    start with a connector ("Court of Justice") stays whole."""
    whole = text.strip(" ,.;:\"'“”()").split()
    toks = list(whole)
    while toks and (
        toks[0].lower().strip("'’") in qwords
        or (kind not in ("when", "how_many") and toks[0].lower() in _NO_NAME)
    ):
        toks.pop(0)
    if toks and toks != whole and toks[0].lower() in _CONNECTORS:
        toks = whole[1:] if whole[0].lower() in _NO_NAME else whole
    out = " ".join(toks).strip(" ,;:\"'“”()")
    return re.sub(r"['’]s$", "", out)


_CONNECTORS = frozenset("of the de la von van der and for on in".split())


def only_candidate(sentence: str, question: str, kind: str) -> str | None:
    """The one candidate of the asked type in ``sentence``, or None for none or several."""
    qwords = set(words(question))
    found = {
        text
        for a, b in candidate_spans(sentence, kind, question)
        if (
            text := _clean(
                sentence[a : with_unit(sentence, b) if kind == "how_many" else b], qwords, kind
            )
        )
        and not (
            kind not in ("when", "how_many") and all(w.lower() in _NO_NAME for w in text.split())
        )
    }
    return found.pop() if len(found) == 1 else None


def picks(sentences: Sequence[str], question: str, kind: str) -> list[Pick]:
    """Every candidate of the asked type in the quoted sentences, best first."""
    qterms = set(terms(question))
    qwords = set(words(question))
    if not qterms:
        return []
    verb = asked_verb(question) if kind == "who" else None
    counted = _counted(question) if kind == "how_many" else set()
    measure = kind == "how_many" and MEASURE.search(question) is not None
    out: dict[str, Pick] = {}
    for i, sentence in enumerate(sentences):
        toks = list(_TOKEN.finditer(sentence))
        stems = [terms(t.group()) for t in toks]
        matched = [(j, s[0]) for j, s in enumerate(stems) if s and s[0] in qterms]
        align = len({s for _, s in matched}) / len(qterms)
        for a, b in candidate_spans(sentence, kind, question):
            if kind == "how_many" and time_unasked(sentence, b, question):
                continue
            if measure:
                b = with_unit(sentence, b)
            text = _clean(sentence[a:b], qwords, kind)
            if not text or all(w in qwords for w in words(text)):
                continue
            named = kind not in ("when", "how_many")
            if named and all(w.lower() in _NO_NAME for w in text.split()):
                continue
            # A sentence's capitalised first word is no evidence of a name on its own.
            if named and " " not in text and sentence.find(text) == 0:
                continue
            first = next((j for j, t in enumerate(toks) if t.end() > a), len(toks))
            last = next((j for j in range(len(toks) - 1, -1, -1) if toks[j].start() < b), first)
            near: dict[str, float] = {}
            for j, stem in matched:
                if first <= j <= last:
                    continue
                gap = first - j - 1 if j < first else j - last - 1
                near[stem] = max(near.get(stem, 0.0), 1.0 / (1.0 + gap / 3.0))
            score = 2.0 * align + sum(near.values()) / len(qterms) * 2.0 - 0.3 * i
            if verb and _acts(stems, toks, first, last, verb):
                score += ACTOR_BONUS
            if counted and any(s and s[0] in counted for s in stems[last + 1 : last + 4]):
                score += COUNTED_BONUS
            if text not in out or out[text].score < score:
                out[text] = Pick(text, i, score, align)
    return sorted(out.values(), key=lambda p: -p.score)


# How much a name gains by doing what the question asks about ("Who produced ...?": the name
# before "produced" or after "produced by").
ACTOR_BONUS = 1.0

# How much a number gains by counting what the question counts ("How many stations ...?":
# "two television stations").
COUNTED_BONUS = 1.0

_HOW_MANY = re.compile(r"\bhow\s+(?:many|much)\s+((?:[\w'’-]+\s+){0,3})", re.IGNORECASE)
_AUX_WORD = re.compile(
    r"^(?:is|are|was|were|do|does|did|has|have|had|can|could|will|would|should|may|might|"
    r"must)$",
    re.IGNORECASE,
)


def _counted(question: str) -> set[str]:
    """The stems of what a how-many question counts ("How many US presidents are ...?" ->
    "us", "presid"): its words after "how many", up to the verb."""
    m = _HOW_MANY.search(question)
    if not m:
        return set()
    found: set[str] = set()
    for word in m.group(1).split():
        if _AUX_WORD.match(word):
            break
        found.update(terms(word))
    return found


_WHO_VERB = re.compile(
    r"^\W*who\s+(?:(?:has|have|had|was|were|is|are|will|would|could|can|did|does)\s+)?"
    r"(?:\w+ly\s+)?(\w+)",
    re.IGNORECASE,
)


_AUXILIARIES = frozenset(
    "has have had was were is are will would could can also later then first "
    "originally reportedly".split()
)


def asked_verb(question: str) -> str | None:
    """The stem of the verb a who-question asks the doer of ("Who originally produced
    ...?" -> "produc"), or None."""
    m = _WHO_VERB.match(question)
    stem = terms(m.group(1)) if m else []
    return stem[0] if stem else None


def _acts(
    stems: list[list[str]], toks: list[re.Match[str]], first: int, last: int, verb: str
) -> bool:
    """The name at tokens ``first``..``last`` does the verb: it stands right before it
    (an auxiliary or adverb between) or right after "<verb> by"."""
    j = last + 1
    while j < len(toks) and (
        toks[j].group().lower() in _AUXILIARIES or toks[j].group().endswith("ly")
    ):
        j += 1  # "Lavrov has also announced", "Lavrov later announced"
    if j < len(toks) and stems[j] and stems[j][0] == verb:
        return True
    # "produced by a young Roone Arledge": "by" up to two words before the name.
    before = [t.group().lower() for t in toks[max(0, first - 3) : first]]
    if "by" not in before:
        return False
    at = first - 1 - before[::-1].index("by")  # the token index of that "by"
    return any(s and s[0] == verb for s in stems[max(0, at - 2) : at])


def pick_from(ranked: list[Pick], margin: float) -> tuple[str | None, float]:
    """The best of ranked candidates and its lead over the next different one (None when
    no candidate leads by more than ``margin``)."""
    if not ranked:
        return None, 0.0
    best = ranked[0]
    rival = next((p for p in ranked[1:] if not _overlaps(p.text, best.text)), None)
    lead = best.score - (rival.score if rival else 0.0)
    return (best.text if lead > margin else None), lead


def _overlaps(a: str, b: str) -> bool:
    return a.lower() in b.lower() or b.lower() in a.lower()


# The share of the question's terms a short answer's sentence must hold, and its lead over
# the next candidate, by kind: calibrated on the first 2,000 questions of squad_dev_a so
# that the answers given are exact about 3 times in 4 (a wrong short answer is worse than
# none).
GATES: dict[str, tuple[float, float]] = {
    "when": (0.4, 0.2),
    "how_many": (0.5, 0.2),
    "who": (0.75, 0.4),
    "where": (0.75, 0.4),
}


def supported(
    sentences: Sequence[str],
    question: str,
    kind: str,
    unfit: Callable[[str], bool] | None = None,
) -> str | None:
    """The candidate of the asked type that the evidence clearly supports: its sentence
    holds enough of the question and it leads the next candidate (see GATES), else None.
    ``unfit``: candidates known to be no answer ("NATO" in "the mission to NATO" for
    "Where is the mission based?"), left out when another candidate is not."""
    if kind not in GATES:
        return None
    min_align, min_lead = GATES[kind]
    if not terms(question):
        # "When?", "Where?": a follow-up with nothing to align; the quoted sentence's
        # only candidate of the type answers it.
        return only_candidate(sentences[0], question, kind) if sentences else None
    ranked = picks(sentences, question, kind)
    if unfit is not None and any(not unfit(p.text) for p in ranked):
        ranked = [p for p in ranked if not unfit(p.text)]
    if not ranked or ranked[0].align < min_align:
        return None
    text, _ = pick_from(ranked, min_lead)
    if text and kind == "when" and _ASKS_YEAR.search(question):
        # "What year ...?" is answered by the year of "23 November 1963".
        year = re.search(r"\b(?:1\d{3}|20\d\d)s?\b", text)
        return year.group() if year else text
    return text


_ASKS_YEAR = re.compile(r"\b(?:what|which)\s+year\b", re.IGNORECASE)
