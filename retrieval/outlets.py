"""The outlets a question names as where something was reported ("What did Sporting News
say about the Chiefs?", "according to The Verge", "the TechCrunch article"): a filter on the
articles' sources, and the question as the articles are searched with it.

An outlet counts only in a reporting frame, so that "Who owns The Guardian?" filters nothing;
one not capitalised as the index spells it ("the verge") only in a strict one ("what did the
verge say", "according to the verge"), so that "in the age of AI" filters nothing either.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

# A reporting verb's participle, by each of its forms.
_PARTICIPLES = {
    form: participle
    for forms, participle in (
        ("say says said", "said"),
        ("write writes wrote written", "written"),
        ("report reports reported", "reported"),
        ("claim claims claimed", "claimed"),
        ("suggest suggests suggested", "suggested"),
        ("indicate indicates indicated", "indicated"),
        ("state states stated", "stated"),
        ("note notes noted", "noted"),
        ("argue argues argued", "argued"),
        ("describe describes described", "described"),
        ("cover covers covered", "covered"),
        ("mention mentions mentioned", "mentioned"),
    )
    for form in forms.split()
}
_VERBS = "|".join(sorted(_PARTICIPLES, key=len, reverse=True))
_NOUNS = r"articles?|reports?|stor(?:y|ies)|coverage|pieces?|headlines?|reporting"
_AUX = r"did|does|do|has|have|had"
# "What did X say" is asked as "What was said".
_TENSE = {
    "did": "was",
    "does": "is",
    "do": "is",
    "has": "has been",
    "have": "has been",
    "had": "had been",
}

# Words before an outlet that make it the reporter: "according to X", "did X say", "the
# article from X", "reported by X", "the latest from X".
_REPORTER = (
    rf"\baccording\s+to|\breported\s+by|\b(?:{_NOUNS}|news|latest|updates?)\s+(?:from|by|in|of)"
)
_BEFORE = re.compile(rf"(?:{_REPORTER}|\b(?:{_AUX}))\s+$", re.IGNORECASE)
# Words after it that do: "X's article", "the X report", "X reported".
_AFTER = re.compile(rf"^(?:['’]s?)?\s+(?:{_VERBS}|{_NOUNS})\b", re.IGNORECASE)
# The frames that make even an outlet typed in lower case the reporter ("what did the verge
# say", "according to techcrunch"); "has wired money" or "his age" are no outlets.
_STRICT_BEFORE = re.compile(rf"(?:{_REPORTER})\s+$", re.IGNORECASE)
_STRICT_AFTER = re.compile(rf"^(?:\s+(?:{_VERBS})|['’]s?\s+(?:{_NOUNS}))\b", re.IGNORECASE)

# Once an outlet is marked (NUL), the frame words that go with it.
_ASKED_OF = re.compile(rf"\b(?P<aux>{_AUX})\s+\x00\s+(?P<verb>{_VERBS})\b", re.IGNORECASE)
_FRAMED = re.compile(
    rf"(?:\baccording\s+to|\breported\s+by|\b(?P<noun>{_NOUNS})\s+(?:from|by|in|of)|"
    r"\b(?:from|by))\s+\x00",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Named:
    """The outlets a question names, and the question without them."""

    sources: tuple[str, ...]
    text: str


def named(question: str, sources: Iterable[str], *, framed: bool = True) -> Named | None:
    """The known ``sources`` the question names as reporters, or None when it names none.

    A source's short forms count too: "The Independent" for "The Independent - Life and
    Style", "Cnbc" for "Cnbc | World Business News Leader", "New York Times" for "The New
    York Times". ``framed=False``: any mention counts ("And TechCrunch?" after "What did
    The Verge say about ...?")."""
    mentions = sorted(
        (start, -end, not spelled, source)
        for source in sources
        for short in _short_names(source)
        for start, end, spelled in _spans(question, short)
    )
    kept: list[tuple[int, int, str]] = []
    for start, neg_end, loose, source in mentions:
        end = -neg_end
        if kept and start < kept[-1][1]:  # a short name inside a longer one is no other
            continue
        # An outlet not spelled as the index spells it counts only in a strict frame.
        if not loose or _strictly_framed(question, start, end):
            kept.append((start, end, source))
    # A question that names one outlet as a reporter names the others it spells as
    # reporters too: "according to Megan Grey in 'The Age'", "from The Verge and TechCrunch".
    if not kept or (framed and not any(_framed(question, start, end) for start, end, _ in kept)):
        return None
    marked = question
    for start, end, _ in reversed(kept):
        marked = marked[:start] + "\x00" + marked[end:]
    return Named(tuple(sorted({s for _, _, s in kept})), _unframed(marked))


def _framed(question: str, start: int, end: int) -> bool:
    """Whether words around question[start:end] make it the reporter."""
    return bool(_BEFORE.search(question[:start]) or _AFTER.match(question[end:]))


def _strictly_framed(question: str, start: int, end: int) -> bool:
    return bool(_STRICT_BEFORE.search(question[:start]) or _STRICT_AFTER.match(question[end:]))


def _spans(question: str, name: str) -> list[tuple[int, int, bool]]:
    """Where the question names ``name``, with a leading "the" and quotes around it, and
    whether it spells it as the index does (or in capitals: "CNBC" for "Cnbc")."""
    words = r"\s+".join(re.escape(w) for w in name.split())
    pattern = re.compile(rf"(?<![\w])['‘\"“]?(?:the\s+)?({words})['’\"”]?(?![\w])", re.I)
    out = []
    for m in pattern.finditer(question):
        said = m.group(1)
        spelled = re.sub(r"\s+", " ", said) in (name, name.upper())
        out.append((m.start(), m.end(), spelled))
    return out


def _short_names(source: str) -> set[str]:
    """The source's name and its shorter forms, each without a leading "The"."""
    names = {source.strip()}
    for sep in (" - ", " | ", ": "):
        names |= {n.split(sep)[0].strip() for n in names}
    return {n for n in (re.sub(r"^the\s+", "", n, flags=re.IGNORECASE) for n in names) if n}


def _unframed(marked: str) -> str:
    """The question with each outlet (marked by NUL) and the words that framed it taken
    out: "What did \\0 say about Y?" -> "What was said about Y?"."""

    def passive(m: re.Match[str]) -> str:
        # "Did X report that ...?" -> "Was it reported that ...?"
        it = " it" if m.string[m.end() :].lstrip().lower().startswith("that") else ""
        return f"{_TENSE[m['aux'].lower()]}{it} {_PARTICIPLES[m['verb'].lower()]}"

    text = re.sub(r"\x00(?:\s*(?:,|,?\s*and|,?\s*or)\s*\x00)+", "\x00", marked)
    text = _ASKED_OF.sub(passive, text)
    text = _FRAMED.sub(lambda m: m["noun"] or "", text)
    text = re.sub(rf"\x00(?:['’]s?)?(?=\s+(?:{_NOUNS})\b)", "the", text, flags=re.IGNORECASE)
    text = text.replace("\x00", "")
    text = re.sub(r"\s+([,?.!])", r"\1", re.sub(r"\s{2,}", " ", text))
    text = re.sub(r",(?:\s*,)+", ",", text).strip(" ,")
    text = re.sub(r"\b(?:the|a|an)\s+(the|a|an)\b", r"\1", text, flags=re.IGNORECASE)
    return text[:1].upper() + text[1:]
