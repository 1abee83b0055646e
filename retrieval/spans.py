"""Question types and the short spans (dates, numbers, names, places) that answer them."""

from __future__ import annotations

import re
from typing import Literal

QuestionType = Literal["when", "how_many", "who", "where", "other"]

_MONTH = (
    r"(?:Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?|"
    r"Sep(?:t(?:ember)?)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)\.?"
)
_YEAR = r"(?:1[0-9]{3}|20[0-9]{2})s?"
DATE = re.compile(
    rf"\b(?:{_MONTH}\s+\d{{1,2}}(?:st|nd|rd|th)?(?:,?\s+{_YEAR})?"
    rf"|\d{{1,2}}(?:st|nd|rd|th)?\s+(?:of\s+)?{_MONTH}(?:,?\s+{_YEAR})?"
    rf"|{_MONTH},?\s+{_YEAR}"
    rf"|\d{{4}}-\d{{2}}-\d{{2}}"
    rf"|(?:the\s+)?(?:early|mid|late)[\s-]+{_YEAR}"
    rf"|{_YEAR})\b"
)
_NUMBER_WORDS = (
    "one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|"
    "fifteen|sixteen|seventeen|eighteen|nineteen|twenty|thirty|forty|fifty|sixty|seventy|"
    "eighty|ninety|hundred|dozen|dozens|hundreds|thousands|millions"
)
NUMBER = re.compile(
    # Whole number words only ("sixteen" is not "six"), hyphenated tens too ("thirty-three").
    # A figure may carry its magnitude ("$4.5M", "£2bn", "10k").
    rf"(?:(?:US)?\$|£|€)?\b(?:(?:\d{{1,3}}(?:,\d{{3}})+|\d+(?:\.\d+)?)(?:(?:bn|mn|tn|[kmb])(?!\w))?"
    rf"|(?:{_NUMBER_WORDS})(?:-(?:{_NUMBER_WORDS}))?(?![a-z]))"
    r"(?:\s+(?:million|billion|trillion|thousand|hundred))?"
    r"(?:\s*(?:%|percent|per cent))?",
    re.IGNORECASE,
)
NAME = re.compile(
    r"\b(?:[A-Z][\w'’\-]+|[A-Z]\.)(?:\s+(?:(?:de|da|van|von|der|bin|al|la|of|the)\s+)?"
    r"(?:[A-Z][\w'’\-]+|[A-Z]\.))*"
)


def question_type(question: str) -> QuestionType:
    """Classify a question by what kind of short answer would settle it."""
    # "Doctor Who", "The Who": a capitalised "Who" after a name is part of it, no question word.
    q = re.sub(r"\b([A-Z][\w'’-]*)\s+Who\b", r"\1", question).lower()
    if re.search(r"\b(when|what (year|date|day|month|time|century|decade)|which year)\b", q):
        return "when"
    if re.search(
        r"\bhow (many|much|long|old|far|large|big|tall|high)\b|\bwhat (percentage|number)", q
    ):
        return "how_many"
    if re.search(r"\b(who|whom|whose)\b", q):
        return "who"
    if re.search(r"\bwhere\b|\bin (what|which) (city|country|state|place)\b", q):
        return "where"
    return "other"


# "When does it take effect?" asks for a date from the article's day on; "when did" before it.
_ASKS_LATER = re.compile(r"\bwhen\s+(?:does|do|will|shall|is|are)\b", re.IGNORECASE)
_ASKS_EARLIER = re.compile(r"\bwhen\s+(?:did|was|were|had)\b", re.IGNORECASE)
_MONTHS = {
    m: i
    for i, names in enumerate(
        [
            ("jan", "january"),
            ("feb", "february"),
            ("mar", "march"),
            ("apr", "april"),
            ("may",),
            ("jun", "june"),
            ("jul", "july"),
            ("aug", "august"),
            ("sep", "sept", "september"),
            ("oct", "october"),
            ("nov", "november"),
            ("dec", "december"),
        ],
        start=1,
    )
    for m in names
}


def fits_tense(date: str, question: str, published: str | None) -> bool:
    """Whether a date mention can answer a when-question, given the article's date: a
    question in the present or future tense is not answered by a date before the article
    was published, one in the past tense not by a date after it. Unknown: True."""
    later, earlier = _ASKS_LATER.search(question), _ASKS_EARLIER.search(question)
    if not published or not (later or earlier):
        return True
    pub = (int(published[:4]), int(published[5:7]))
    parts = dict(sorted(date_parts(date)))  # of a span's years, the later one, every run
    year = parts.get("y", pub[0])  # "1 November" in an article of 2021 is in 2021
    if "m" not in parts:  # a bare year
        return year >= pub[0] if later else year <= pub[0]
    return (year, parts["m"]) >= pub if later else (year, parts["m"]) <= pub


def spans_of_type(sentence: str, qtype: QuestionType) -> list[tuple[int, int]]:
    """Character spans in ``sentence`` that could answer a question of ``qtype``."""
    if qtype == "when":
        return [m.span() for m in DATE.finditer(sentence)]
    if qtype == "how_many":
        dates = [m.span() for m in DATE.finditer(sentence) if not re.fullmatch(r"\d+", m.group())]
        return [
            m.span()
            for m in NUMBER.finditer(sentence)
            if not any(a <= m.start() < b for a, b in dates)
        ]
    if qtype in ("who", "where"):
        dates = [m.span() for m in DATE.finditer(sentence)]
        spans = []
        for m in NAME.finditer(sentence):
            start = m.start()
            if any(a <= start < b for a, b in dates):  # "October" is no one's name
                continue
            # A capitalised first word of the sentence is no evidence of a name on its own.
            if start == 0 and " " not in m.group():
                continue
            if qtype == "where" and not re.search(r"\b(in|at|near|from|to)\s+$", sentence[:start]):
                continue
            spans.append(m.span())
        return spans
    return []


def short_answer(sentence: str, question: str, qtype: QuestionType) -> str | None:
    """The one date, number or name in ``sentence`` that answers ``question``, if exactly one
    candidate remains once words already in the question are set aside."""
    if qtype == "other":
        return None
    qwords = {w.lower() for w in re.findall(r"\w+", question)}
    candidates: list[str] = []
    for a, b in spans_of_type(sentence, qtype):
        text = sentence[a:b].strip(" ,.;:")
        words = text.split()
        # Drop the leading words the question already has ("Russian Foreign Minister Sergei
        # Lavrov" answers "who is the Russian foreign minister" with "Sergei Lavrov").
        while words and words[0].lower().strip("'’") in qwords:
            words.pop(0)
        text = " ".join(words)
        known = all(w.lower() in qwords for w in re.findall(r"\w+", text))
        if text and not known and text not in candidates:
            candidates.append(text)
    return candidates[0] if len(candidates) == 1 else None


def date_parts(text: str) -> frozenset[tuple[str, int]]:
    """Year, month and day of a date mention, as far as it says them."""
    t = text.lower()
    iso = re.fullmatch(r"(\d{4})-(\d{2})-(\d{2})", t.strip())
    if iso:
        y, m, d = (int(x) for x in iso.groups())
        return frozenset({("y", y), ("m", m), ("d", d)})
    parts: set[tuple[str, int]] = set()
    for word in re.findall(r"[a-z]+", t):
        if word in _MONTHS:
            parts.add(("m", _MONTHS[word]))
    for num in re.findall(r"\d+", t):
        n = int(num)
        if len(num) == 4:
            parts.add(("y", n))
        elif 1 <= n <= 31:
            parts.add(("d", n))
    return frozenset(parts)
