"""Answer-slot values compared by meaning: "33" = "thirty-three", "4 March 2023" =
"2023-03-04", "Lavrov" = "Sergei Lavrov", so that two phrasings of one value are no conflict."""

from __future__ import annotations

import re
from difflib import SequenceMatcher

from retrieval.spans import DATE, QuestionType, date_parts

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


def same_value(a: str, b: str, qtype: QuestionType) -> bool:
    """Whether two mentions give one value (normalised by the kind of value asked for)."""
    if a.strip().lower() == b.strip().lower():
        return True
    if qtype == "when" or (DATE.fullmatch(a.strip()) and DATE.fullmatch(b.strip())):
        pa, pb = dict(date_parts(a)), dict(date_parts(b))
        if pa and pb:
            # "March 2023" and "4 March 2023" do not contradict: compare what both say.
            shared = pa.keys() & pb.keys()
            return bool(shared) and all(pa[k] == pb[k] for k in shared)
    na, nb = number_value(a), number_value(b)
    if na is not None and nb is not None:
        return abs(na - nb) <= 1e-9 * max(abs(na), abs(nb), 1.0)
    ta, tb = _name_tokens(a), _name_tokens(b)
    # A short form names the same one: "Lavrov" and "Sergei Lavrov".
    return bool(ta) and bool(tb) and (ta <= tb or tb <= ta)


def changed_span(a: str, b: str) -> tuple[str, str] | None:
    """Two near-identical sentences that differ in one short stretch: that stretch of each
    ("plays as a Defensive Midfielder" / "plays as a Forward"); None otherwise."""
    ta, tb = a.split(), b.split()
    if min(len(ta), len(tb)) < 6:
        return None
    sm = SequenceMatcher(a=ta, b=tb, autojunk=False)
    if sm.ratio() < 0.75:
        return None
    changes = [op for op in sm.get_opcodes() if op[0] != "equal"]
    if len(changes) != 1 or changes[0][0] != "replace":
        return None
    _, i1, i2, j1, j2 = changes[0]
    if i2 - i1 > 6 or j2 - j1 > 6:
        return None
    va = " ".join(ta[i1:i2]).strip(" ,.;:()\"'")
    vb = " ".join(tb[j1:j2]).strip(" ,.;:()\"'")
    if not va or not vb or va.lower() == vb.lower():
        return None
    return va, vb
