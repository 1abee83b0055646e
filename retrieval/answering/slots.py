"""Answer-slot values compared by meaning: "33" = "thirty-three", "4 March 2023" =
"2023-03-04", "Lavrov" = "Sergei Lavrov", so that two phrasings of one value are no conflict."""

from __future__ import annotations

import re
from difflib import SequenceMatcher

from retrieval.lexical import term_spans, terms
from retrieval.spans import DATE, QuestionType, date_parts, spans_of_type

_UNITS = {
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "thirteen": 13,
    "fourteen": 14,
    "fifteen": 15,
    "sixteen": 16,
    "seventeen": 17,
    "eighteen": 18,
    "nineteen": 19,
}
_TENS = {
    "twenty": 20,
    "thirty": 30,
    "forty": 40,
    "fifty": 50,
    "sixty": 60,
    "seventy": 70,
    "eighty": 80,
    "ninety": 90,
}
_SCALES = {"hundred": 100, "thousand": 1e3, "million": 1e6, "billion": 1e9, "trillion": 1e12}
_TITLES = {"mr", "mrs", "ms", "dr", "sir", "president", "minister", "the", "prof", "lord"}
# A news dateline ("London, England (CNN) --"): where a report was filed, not what it says.
DATELINE = re.compile(r"^[^\n()]{0,60}\([A-Za-z][\w .&'-]{0,30}\)\s*(?:--|—|–)", re.MULTILINE)
# Capitalised words that name no one: weekdays, and words capitalised only because they start
# a clause ("And then the words came out", "a tedious process: Whenever she ...").
NO_NAME = frozenset(
    "monday tuesday wednesday thursday friday saturday sunday today yesterday tomorrow "
    "and but or so yet then when whenever while if as after before since because though "
    "although once the a an this that these those he she it they we you i his her its their "
    "our my there here what who which why how".split()
)


def number_value(text: str) -> float | None:
    """The number a mention means ("3,559 people" 3559, "thirty-three" 33, "$2.5 million"
    2.5e6), or None when it holds none."""
    t = text.lower().replace(",", "").replace("-", " ")
    total = 0.0
    current: float | None = None
    for tok in re.findall(r"\d+(?:\.\d+)?|[a-z]+", t):
        if tok[0].isdigit():
            current = (current or 0.0) + float(tok)
        elif tok in _UNITS:
            current = (current or 0.0) + _UNITS[tok]
        elif tok in _TENS:
            current = (current or 0.0) + _TENS[tok]
        elif tok in _SCALES and current is not None:
            if tok == "hundred":
                current *= 100
            else:
                total += current * _SCALES[tok]
                current = None
    if current is None and total == 0.0:
        return None
    return total + (current or 0.0)


def _name_tokens(text: str) -> set[str]:
    return {w for w in re.findall(r"\w+", text.lower()) if w not in _TITLES}


_TALLY = re.compile(r"(\d+)\s*[-–]\s*(\d+)")


def same_value(a: str, b: str, qtype: QuestionType) -> bool:
    """Whether two mentions give one value (normalised by the kind of value asked for)."""
    if a.strip().lower() == b.strip().lower():
        return True
    if qtype == "when" or (DATE.fullmatch(a.strip()) and DATE.fullmatch(b.strip())):
        # Sorted: of a span's two years ("1860–1881") the later one is compared, whatever
        # order the set gives (a set's order changes from one run to the next).
        pa, pb = dict(sorted(date_parts(a))), dict(sorted(date_parts(b)))
        if pa and pb:
            # "March 2023" and "4 March 2023" do not contradict: compare what both say.
            shared = pa.keys() & pb.keys()
            return bool(shared) and all(pa[k] == pb[k] for k in shared)
    sa, sb = _TALLY.fullmatch(a.strip()), _TALLY.fullmatch(b.strip())
    if sa is not None or sb is not None:  # a score or tally ("7-2") is one value
        return sa is not None and sb is not None and sa.groups() == sb.groups()
    na, nb = number_value(a), number_value(b)
    if na is not None and nb is not None:
        return abs(na - nb) <= 1e-9 * max(abs(na), abs(nb), 1.0)
    ta, tb = _name_tokens(a), _name_tokens(b)
    # A short form names the same one: "Lavrov" and "Sergei Lavrov".
    return bool(ta) and bool(tb) and (ta <= tb or tb <= ta)


def changed_span(a: str, b: str) -> tuple[str, str] | None:
    """Two near-identical sentences that differ in one short stretch, or in one substitution
    made wherever it occurs ("album by Jay-Z ... Jay-Z's debut" / "album by Slim ...
    Slim's debut"): that stretch of each ("plays as a Defensive Midfielder" / "plays as a
    Forward"); None otherwise."""
    ta, tb = a.split(), b.split()
    if min(len(ta), len(tb)) < 6:
        return None
    sm = SequenceMatcher(a=ta, b=tb, autojunk=False)
    if sm.ratio() < 0.6:
        return None
    changes = [op for op in sm.get_opcodes() if op[0] != "equal" and not _typo(ta, tb, op)]
    if not changes or any(op[0] != "replace" for op in changes):
        return None
    pairs = set()
    for _, i1, i2, j1, j2 in changes:
        if i2 - i1 > 6 or j2 - j1 > 6:
            return None
        va = _core(" ".join(ta[i1:i2]))
        vb = _core(" ".join(tb[j1:j2]))
        if not va or not vb or va.lower() == vb.lower():
            return None
        pairs.add((va, vb))
    # One change, or one substitution repeated (its possessive or bracketed forms alike).
    distinct = {(x.lower(), y.lower()) for x, y in pairs}
    if (len(changes) > 1 and len(distinct) > 1) or (len(changes) == 1 and sm.ratio() < 0.75):
        return None
    return min(pairs, key=lambda p: len(p[0]) + len(p[1]))


def _typo(ta: list[str], tb: list[str], op: tuple[str, int, int, int, int]) -> bool:
    """A one-word change of a letter or two ("chuch" / "church"): no other value."""
    _, i1, i2, j1, j2 = op
    if op[0] != "replace" or i2 - i1 != 1 or j2 - j1 != 1 or ta[i1].isdigit() or tb[j1].isdigit():
        return False
    return SequenceMatcher(a=ta[i1].lower(), b=tb[j1].lower()).ratio() >= 0.8


def _core(span: str) -> str:
    span = span.strip(" ,.;:()\"'")
    return re.sub(r"['’]s$", "", span).strip(" ,.;:()\"'")


# "(26 December 1844 – 26 July 1926)": a life span, birth first, death second.
_LIFE = re.compile(r"\(([^()]*?\d{3,4})\s*[–—-]+\s*([^()]*?\d{3,4})\s*\)")
# "Shock Value II": a sequel's number is no one's name.
_ROMAN = re.compile(r"[IVXLC]+")
_BRACKETED_YEAR = re.compile(r"\(\s*(?:1[5-9]|20)\d\d\s*\)")
# A number with a unit of measure answers how high, long, far or heavy, not how many.
_UNIT = re.compile(
    r"\s*(?:(?:m|cm|mm|km|ft|feet|foot|mi|miles?|metres?|meters?|kg|lb|lbs|sq|acres?)\b|%)"
)
_MEASURE = re.compile(
    r"\b(?:height|tall|long|length|far|distance|wide|width|deep|depth|area|size|weigh\w*|"
    r"elevation|altitude|percent\w*)\b",
    re.IGNORECASE,
)
_BIRTH = re.compile(r"\b(born|birth|birthday)\b", re.IGNORECASE)
_DEATH = re.compile(r"\b(die|died|death|dies)\b", re.IGNORECASE)


def slot_value(sentence: str, question: str, qtype: QuestionType) -> str | None:
    """The date, number or name in ``sentence`` that answers ``question``: the only one not
    already in the question, else the one a life span's position or the nearest of the
    question's own words marks; None when nothing tells several apart."""
    return slot_choice(sentence, question, qtype)[0]


def slot_choice(sentence: str, question: str, qtype: QuestionType) -> tuple[str | None, bool]:
    """:func:`slot_value`, and whether it was picked from several by nearness alone (a weak
    reading: the value nearest a question word may answer another slot)."""
    if qtype == "other":
        return None, False
    qwords = {w.lower() for w in re.findall(r"\w+", question)}
    # The asked name's own words (the question word aside), as written.
    named = {w for w in re.findall(r"\b[A-Z][\w'-]{3,}", question) if w.lower() not in NO_NAME}
    dateline = DATELINE.match(sentence)
    counting = qtype == "how_many" and not _MEASURE.search(question)
    spans: list[tuple[int, str]] = []
    found = spans_of_type(sentence, qtype)
    for a, b in found:
        if dateline and a < dateline.end():
            continue
        if qtype == "who" and _titled_after(sentence, a, b, found):
            continue
        words = sentence[a:b].strip(" ,.;:").split()
        while words and words[0].lower().strip("'’") in qwords:
            words.pop(0)
        text = " ".join(words)
        known = all(w.lower() in qwords for w in re.findall(r"\w+", text))
        if qtype in ("who", "where") and (
            all(w.lower() in NO_NAME for w in text.split()) or _ROMAN.fullmatch(text)
        ):
            continue
        if qtype == "who":
            # A name runs on into the asked one ("The Beatles Announce New Album Free Your
            # Mind"): what comes before it; the asked name itself answers nothing.
            cut = next((i for i, w in enumerate(text.split()) if w.strip(",.") in named), None)
            if cut is not None:
                text = " ".join(text.split()[:cut]).strip(" ,.;:")
                if not text:
                    continue
        if qtype == "how_many" and _BRACKETED_YEAR.search(sentence, max(a - 2, 0), b + 2):
            continue  # "Population ( 2020 ) Total 1,234": the year the count is of
        if counting and _UNIT.match(sentence, b):
            continue  # "Elevation 7 ft ( 2 m ) Population": a measure is no count
        # Each mention of a value is kept: the one nearest what is asked may be a repeat.
        if text and not known:
            spans.append((a, text))
    if len({t for _, t in spans}) <= 1:
        return (spans[0][1] if spans else None), False
    life = _LIFE.search(sentence) if qtype == "when" else None
    if life and (_BIRTH.search(question) or _DEATH.search(question)):
        inside = list(dict.fromkeys(t for a, t in spans if life.start() <= a < life.end()))
        if len(inside) == 2:
            return (inside[0] if _BIRTH.search(question) else inside[1]), False
    value = _nearest(sentence, question, spans)
    return value, value is not None


def _titled_after(sentence: str, a: int, b: int, found: list[tuple[int, int]]) -> bool:
    """Whether the name at ``a``:``b`` is an owner whose title a name right after it holds
    ("Alameda Research's former CEO Caroline Ellison"): that one is who is meant."""
    if not re.search(r"['’]s?$", sentence[a:b]):
        return False
    # Only a title's lower-case words between them ("former", "chief"), nothing else.
    return any(b < c and re.fullmatch(r"\s+(?:[a-z]+\s+){0,2}", sentence[b:c]) for c, _ in found)


def _nearest(sentence: str, question: str, spans: list[tuple[int, str]]) -> str | None:
    """The span closest (in words) to a word the question and the sentence share, when one
    is clearly closest."""
    # What is asked (the question's lower-case words: "built") marks the value better than
    # the asked name's words ("David Jones House, June 2018 ... built in 1895"), and its
    # first word best of all: "artist" in "Who is the artist of the album X?", where "album"
    # only says what X is.
    asked = terms(" ".join(re.findall(r"(?<![\w'])[a-z][\w'-]*", question)))
    found = term_spans(sentence)
    marks: list[int] = []
    for words in (set(asked[:1]), set(asked), set(terms(question))):
        marks = [at for term, at in found if term in words]
        if marks:
            break
    else:
        return None

    def gap(a: int) -> int:
        return min(len(sentence[min(a, m) : max(a, m)].split()) for m in marks)

    ranked = sorted(spans, key=lambda s: gap(s[0]))
    rival = next(s for s in ranked if s[1] != ranked[0][1])
    if gap(ranked[0][0]) >= gap(rival[0]):
        return None
    return ranked[0][1]
