"""Which of several things sharing a name a text is about, from the text's own context: a
qualifier after the name ("Broken Bow, Nebraska", "Feel the Fire (Jermaine Jackson album)"),
a longer form of it ("Sir Montagu Stopford"), or the heading a page opens with ("Stephen M.
O'Mara Stephen Mary O'Mara (5 January 1884 ..." is about "Stephen M. O'Mara")."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, TypeVar

from retrieval.answering.slots import DATELINE
from retrieval.lexical import terms
from retrieval.spans import NAME

if TYPE_CHECKING:
    from retrieval.retriever import Hit

_QUOTED = re.compile(r"[\"“]([^\"”]{2,80})[\"”]")
_WH = {"when", "what", "who", "whom", "whose", "where", "which", "how", "why", "is", "was"}
# A parenthesis after a name that tells one thing of the name from another ("(1979 film)",
# "(Koltsevaya line)"), not a life span, a translation ("(Urdu: ...)") or an alias.
_QUALIFIER = re.compile(
    r"(?!\s*(?:born|b\.|d\.|died|n[ée]e|transl|lit\.|also|or|aka|formerly|pronounced|[A-Z][a-z]+:|"
    r"[\d\s–-]+$|c\.\s*\d|\d{1,2}\s+[A-Z][a-z]+\s+\d{3,4}|[A-Z][a-z]+\s+\d{1,2},?\s+\d{3,4}))",
    re.IGNORECASE,
)
_TITLE_WORDS = {
    "admiral",
    "general",
    "captain",
    "colonel",
    "major",
    "sir",
    "lord",
    "lady",
    "dr",
    "mr",
    "mrs",
    "ms",
    "saint",
    "st",
    "king",
    "queen",
    "prince",
    "princess",
    "president",
    "senator",
    "judge",
    "bishop",
    "father",
    "governor",
}


def question_name(question: str) -> str | None:
    """The name the question asks about: a quoted title, else its longest capitalised
    name that is not the question word."""
    quoted = _QUOTED.search(question)
    if quoted:
        return quoted.group(1).strip()
    names = question_names(question)
    return max(names, key=len) if names else None


def question_names(question: str) -> list[str]:
    """The capitalised names of a question, the question word aside."""
    names = []
    for m in NAME.finditer(question):
        words = m.group().split()
        while words and words[0].lower() in _WH:
            words.pop(0)
        if words:
            # "Greg Boyer's profession" asks about Greg Boyer.
            names.append(re.sub(r"['’]s?$", "", " ".join(words)))
    return names


def name_share(name: str, text: str) -> float:
    """The share of the name's terms the text says (1 for a name of no terms)."""
    wanted = set(terms(name))
    return len(wanted & set(terms(text))) / len(wanted) if wanted else 1.0


class _Cited(Protocol):
    @property
    def hit(self) -> Hit: ...


C = TypeVar("C", bound=_Cited)


def naming_first(question: str, cands: Sequence[C], idf: Callable[[str], float]) -> list[C]:
    """The candidates from articles that say the rarest word of the question's name, when
    one article says all of it (in its headline, URL, outlet or text): "Why did Nike's
    stock rise?" is not answered from a market report that never names Nike, nor "How many
    were laid off at Epic Games?" from one that says "games" only. Unchanged otherwise, and
    for a question that names several things (each may be another article's)."""
    if len(set(question_names(question))) != 1:
        return list(cands)
    written = question_name(question) or ""
    name = set(terms(written))
    if not name:
        return list(cands)
    acronyms = [w for w in written.split() if w.isalpha() and w.isupper() and 2 <= len(w) <= 5]
    # Items that share a headline are one story (its parts, or one report's copies).
    said: dict[str, set[str]] = {}
    for c in cands:
        a = c.hit.article
        text = f"{a.title}\n{a.url or ''}\n{a.source}\n{a.text}"
        words = said.setdefault(a.title or a.id, set())
        words |= set(terms(text))
        words |= {t for w in acronyms if _spelled_out(w, text) for t in terms(w)}
    if not any(name <= words for words in said.values()):
        return list(cands)
    key = max(sorted(name), key=idf)
    return [c for c in cands if key in said[c.hit.article.title or c.hit.article.id]]


def _spelled_out(acronym: str, text: str) -> bool:
    """Whether the text writes the acronym out: "European Union" for "EU", "United
    Methodist Church" for "UMC"."""
    joiner = r"[a-z]*[\s-]+(?:(?:of|the|and|for)\s+)*"
    return re.search(r"\b" + joiner.join(acronym) + r"[a-z]*\b", text) is not None


def subject_of(text: str, name: str | None) -> str | None:
    """Which of several things called ``name`` a text is about, when it says so: "Broken
    Bow, Nebraska", "Feel the Fire (Jermaine Jackson album)", "Montagu Stopford"."""
    if not name:
        return None
    # A dateline's place ("London, England (CNN) --") is where the report was filed.
    text = DATELINE.sub(lambda m: " " * len(m.group()), text)
    tokens = name.split()
    for probe in (name, tokens[-1]) if len(tokens) > 1 else (name,):
        for m in re.finditer(re.escape(probe), text, re.IGNORECASE):
            after = text[m.end() : m.end() + 80]
            paren = re.match(r"\s*\(([^()]{2,60})\)", after)
            if paren and _QUALIFIER.match(paren.group(1)):
                return f"{text[m.start() : m.end()]} ({paren.group(1).strip()})"
            place = re.match(r",[ \t]+([A-Z][a-z]+(?:[ \t]+[A-Z][a-z]+)?)\b", after)
            # "Broken Bow, Nebraska" qualifies a name where a text or title starts with it.
            at_start = m.start() == 0 or text[m.start() - 1] == "\n"
            if place and probe == name and at_start:
                return f"{text[m.start() : m.end()]}, {place.group(1)}"
            # Only a name that is the asked one's title and surname ("Admiral Stopford")
            # may stand for a longer one ("Montagu Stopford"); "Manchester United" is whole.
            if probe != name and all(t.lower().strip(".") in _TITLE_WORDS for t in tokens[:-1]):
                # A longer name ending in the asked one: "Sir Montagu Stopford".
                before = re.search(
                    r"((?:[A-Z][a-z]+\s+){1,2})$", text[max(0, m.start() - 40) : m.start()]
                )
                if before:
                    first = before.group(1).split()[-1]
                    if first.lower() not in {t.lower() for t in tokens} | _WH | {"the", "admiral"}:
                        return f"{first} {text[m.start() : m.end()]}"
    return None


def same_subject(a: str | None, b: str | None) -> bool:
    """Whether two subjects may be one thing (unknown ones may)."""
    if not a or not b:
        return True  # unknown: no evidence of two things
    # Word sets, so "Apple (AAPL)" and "Apple (NASDAQ: AAPL)" are one thing.
    ta, tb = set(re.findall(r"\w+", a.lower())), set(re.findall(r"\w+", b.lower()))
    return ta <= tb or tb <= ta


# A page's heading: its opening words, repeated at once as the first sentence starts
# ("The Yellow Ticket The Yellow Ticket is a 1931 film", "Mahmud I Mahmud I (2 August ...").
_HEADING_WORDS = 12


def heading(text: str, name: str | None) -> str | None:
    """The heading a text opens with, when it is about the asked name: the heading holds
    the name's words, or the name follows soon after it (a page on "La bambolona",
    "internationally released as Baby Doll")."""
    if not name:
        return None
    words = text[:300].split()
    for n in range(1, min(_HEADING_WORDS, len(words) // 2) + 1):
        head, rest = words[:n], words[n:]
        first = head[0].strip("\"'“”")
        if not first[:1].isupper() or rest[0].strip("\"'“”") != first:
            continue
        # The second word repeats too, or starts as it does ("Stephen M. O'Mara Stephen
        # Mary O'Mara": a fuller form of the heading's name), or a qualifier follows.
        second = n == 1 or head[1].startswith("(") or rest[1][:1] == head[1][:1]
        if not second:
            continue
        title = " ".join(head)
        if (n == 1 and len(title) < 4) or not _name_like(title):
            return None
        held = _tokens(name) <= _tokens(title)
        soon = name.lower() in " ".join(rest[:30]).lower()
        return title if held or soon else None
    return None


_CONNECTORS = {"of", "the", "and", "de", "la", "le", "von", "van", "da", "del", "in", "on", "at"}


def _name_like(title: str) -> bool:
    """A heading is a name: its words (qualifiers in brackets aside) capitalised, connectors
    and numbers apart, with at most one other word ("La bambolona")."""
    if title.split()[0].lower() in _WH:
        return False  # a headline ("What to Expect When You Visit ..."), not a name
    bare = re.sub(r"\([^()]*\)", " ", title)
    lower = [
        w
        for w in re.findall(r"[\w'’.-]+", bare)
        if not w[:1].isupper() and not w[:1].isdigit() and w.lower() not in _CONNECTORS
    ]
    return len(lower) <= 1


def _tokens(text: str) -> set[str]:
    return set(re.findall(r"\w+", text.lower())) - {"the", "a", "an", "of"}


@dataclass(frozen=True)
class Subject:
    """Which thing of the asked name a report is about, and whether it is a page's heading
    (two headings that differ at all name two pages, so two things)."""

    name: str
    is_heading: bool = False


def subject(context: str, text: str, name: str | None) -> Subject | None:
    """A report's subject: a qualified name in its context, else the heading its text
    opens with."""
    found = subject_of(context, name)
    head = heading(text, name)
    if found:
        return Subject(found, is_heading=head is not None and same_subject(found, head))
    return Subject(head, is_heading=True) if head else None


def same_thing(a: Subject | None, b: Subject | None) -> bool:
    """Whether two reports' subjects may be one thing (unknown ones may)."""
    if a is None or b is None:
        return True
    if a.is_heading and b.is_heading:
        return _tokens(a.name) == _tokens(b.name) or _qualified(a.name) == _qualified(b.name)
    return same_subject(a.name, b.name)


def _qualified(title: str) -> str:
    """A heading without its short forms' dots ("Stephen M. O'Mara")."""
    return " ".join(title.lower().replace(".", "").split())
