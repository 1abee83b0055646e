"""Questions answered in kind: yes/no questions by their polarity, who by the named one's
role in the sentence, how many / when by the value the question's qualifiers select, why by
the reason clause; sentences that are no prose (headings, bylines, captions, boilerplate)
are never quoted. Who, what / which and when questions read parsed sentences when a parser
is installed (retrieval/answering/typed.py); the rest, and all without one, are plain rules
over the sentence text."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Literal

from retrieval.answering import typed
from retrieval.answering.parse import default_reader
from retrieval.answering.picking import MEASURE, asked_verb, picks, supported, with_unit
from retrieval.answering.yesno import (
    UNSETTLED,
    YES_MIN_SHARE,
    asked,
    content_stems,
    polarity,
    stem,
)
from retrieval.lexical import terms
from retrieval.spans import QuestionType, question_type, short_answer, spans_of_type

Kind = Literal["yesno", "why", "when", "how_many", "who", "where", "other"]

_AUX = (
    r"is|are|was|were|am|do|does|did|has|have|had|can|could|will|would|should|shall|may|"
    r"might|must|isn't|aren't|wasn't|weren't|don't|doesn't|didn't|hasn't|haven't|hadn't|"
    r"can't|couldn't|won't|wouldn't|shouldn't"
)
_YESNO = re.compile(
    rf"^\W*(?:(?:and|but|so|also|ok|okay),?\s+)?(?:{_AUX}|any(?:thing|one|body)?)\b", re.I
)
# "Any subcontractor has a contract with who?": the question word at the end asks.
_ENDS_WH = re.compile(r"\b(?:who|whom|what|which|where|when)\W*$", re.IGNORECASE)
# "Is it X or Y?" asks which one, not whether.
_ALTERNATIVE = re.compile(r"\bor\b(?!\s+not\b)", re.IGNORECASE)


def ask_kind(question: str) -> Kind:
    """What shape of answer the question asks for."""
    if (
        _YESNO.match(question)
        and not _ALTERNATIVE.search(question)
        and not _ENDS_WH.search(question)
    ):
        return "yesno"
    if re.search(r"\bwhy\b|\bwhat (?:was|is) the reason\b|\bfor what reason\b", question, re.I):
        return "why"
    # "When UPT bought ABC, what was the company called?": the main clause asks.
    lead = _LEADING_CLAUSE.match(question)
    if lead:
        question = question[lead.end() :]
    kind = question_type(question)
    # "What kind of network was ABC when it began?": a "when" inside a question about a
    # thing asks for the thing, not a date.
    noun = what_noun(question)
    if kind == "when" and noun and noun.lower() not in _TIME_NOUNS:
        return "other"
    return kind


def what_noun(question: str) -> str | None:
    """The word after "what" / "which" (past "kind of"): "What sport ..." -> "sport", "In
    which city ..." -> "city"; None for another question. It may be a verb ("What did ...")."""
    m = _WHAT_NOUN.match(question)
    return m.group(1) if m else None


_LEADING_CLAUSE = re.compile(
    r"^\W*(?:when|after|before|while|once|as)\b[^,?]*,\s*"
    r"(?=(?:(?:in|of|on|at|to|for|from|by|with)\s+)?(?:what|which|who|whom|where|how)\b)",
    re.IGNORECASE,
)
_WHAT_NOUN = re.compile(
    r"^\W*(?:(?:in|of|on|at|for|from|by|to|with)\s+)?(?:what|which)\s+"
    r"(?:(?:kind|type|sort)s?\s+of\s+)?([a-z][a-z-]*)",
    re.IGNORECASE,
)
_TIME_NOUNS = {
    "year", "years", "date", "dates", "day", "days", "month", "months", "time", "times",
    "century", "centuries", "decade", "decades", "era", "period", "season", "age", "hour",
    "week", "weeks", "point", "stage", "moment", "is", "was", "are", "were", "did", "does",
    "do", "will", "has", "had", "happened",
}  # fmt: skip


# --- sentences that are no answer ---------------------------------------------------------

_BOILERPLATE = re.compile(
    r"^(?:by\s+[A-Z][\w.'-]+(?:\s+[A-Z][\w.'-]+){0,3}\s*(?:,|$)|(?:photo|image|video|"
    r"caption|credit|getty images|ap photo)\b|(?:click|tap) here\b|read more\b|follow us\b|"
    r"sign up\b|subscribe\b|share this\b|copyright\b|all rights reserved\b|advertisement$|"
    r"related:)",
    re.IGNORECASE,
)


def is_prose(sentence: str) -> bool:
    """A sentence worth quoting: not a heading, byline, caption or boilerplate line."""
    s = sentence.strip()
    if _BOILERPLATE.match(s):
        return False
    words = s.split()
    # A heading: a few words without the full stop, question or quote mark prose ends with.
    return not (len(words) <= 8 and not re.search(r"[.!?\"'”’)]$", s))


# --- short answers in kind ------------------------------------------------------------------

_REPORTING = re.compile(
    r"^\s*(?:,[^,]{1,80},\s*)?(?:\w+ly\s+|has\s+|had\s+|have\s+|also\s+|then\s+|later\s+)?"
    r"(?:said|says|told|tells|announced|announces|stated|wrote|added|declared|confirmed|"
    r"revealed|reported|decided|ordered|warned|claimed|explained|insisted|noted|"
    r"\w{3,}ed\b|\w{3,}s\b)",
)


_TITLES = re.compile(
    r"^(?:minister|president|secretary(?:-general)?|senator|sen|rep|gov|governor|general|gen|"
    r"chief|director|king|queen|prince|princess|pope|judge|dr|mr|mrs|ms|officer|commander|"
    r"ambassador|chairman|chairwoman|spokesman|spokeswoman|spokesperson|adm|admiral|lt|col|"
    r"capt|captain|sgt|coach|leader|mayor|chancellor|premier)\.?$",
    re.IGNORECASE,
)


def _untitled(name: str) -> str:
    """ "Russian Foreign Minister Sergei Lavrov" -> "Sergei Lavrov": the words after the
    last title, when a name is left."""
    words = name.split()
    last = max((i for i, w in enumerate(words) if _TITLES.match(w)), default=-1)
    return " ".join(words[last + 1 :]) if 0 <= last < len(words) - 1 else name


# "Who announced ...?" asks for the one who acted; "Who is ...?" for a name or title.
_WHO_ACTS = re.compile(r"^\W*who\s+(?!is\b|was\b|are\b|were\b|'s\b)\w+", re.IGNORECASE)


def asks_for_actor(question: str) -> bool:
    """Whether a who-question names an action ("Who announced ...?"), not an identity
    ("Who is Jens Stoltenberg?", which no name in the subject position answers)."""
    return bool(_WHO_ACTS.match(question))


def who_answer(sentences: Sequence[str], question: str) -> str | None:
    """The person or organisation that does what the question asks about: a name in the
    subject position of a verb (or after "by"), not one the action is done to."""
    for sentence in sentences:
        found: list[str] = []
        for a, b in spans_of_type(sentence, "who"):
            name = short_answer(sentence[a:b], question, "who")
            if not name:
                continue
            after = sentence[b:]
            before = sentence[:a]
            if _REPORTING.match(after) or re.search(r"\b(?:by|according to)\s+$", before):
                found.append(_untitled(name))
        if len(set(found)) == 1:
            return found[0]
        if found:
            return None
    return None


_QUALIFIERS = {
    "now": re.compile(r"\b(?:to|now|currently|down to|up to)\s+$", re.I),
    "overall": re.compile(r"\b(?:overall|total|in all|altogether|combined)\b", re.I),
}


def number_answer(sentences: Sequence[str], question: str, qtype: QuestionType) -> str | None:
    """The date or quantity attached to what was asked: the one the question's words
    surround, preferring what its qualifiers ("now", "overall", "in total") select."""
    qstems = content_stems(question)
    qwords = {w.lower() for w in re.findall(r"\w+", question)}
    wants_now = bool(re.search(r"\b(?:now|currently|today|still)\b", question, re.I))
    wants_total = bool(
        re.search(r"\b(?:overall|in total|total|altogether|in all)\b", question, re.I)
    )
    scored: list[tuple[float, int, str]] = []
    for i, sentence in enumerate(sentences):
        for a, b in spans_of_type(sentence, qtype):
            if qtype == "how_many" and MEASURE.search(question):
                b = with_unit(sentence, b)
            text = sentence[a:b].strip(" ,.;:")
            if not text or all(w.lower() in qwords for w in re.findall(r"\w+", text)):
                continue
            near = re.findall(r"[A-Za-z]+", sentence[max(0, a - 50) : b + 40])
            score = sum(stem(w) in qstems for w in near) - 0.5 * i
            before = sentence[max(0, a - 40) : a]
            if wants_now and _QUALIFIERS["now"].search(before):
                score += 2
            if wants_total and _QUALIFIERS["overall"].search(sentence[max(0, a - 60) : b + 20]):
                score += 2
            scored.append((score, -i, text))
    if not scored:
        return None
    # The longer of equals first: "five to ten years" holds "ten years".
    scored.sort(key=lambda s: (s[0], s[1], len(s[2])), reverse=True)
    best = scored[0]
    # Two different values equally well attached: no short answer rather than a guess.
    if any(s[0] == best[0] and s[2] not in best[2] for s in scored[1:]):
        return None
    return best[2]


_REASON = re.compile(
    r"\b(?:in response to|because of|because|due to|as a result of|in retaliation for|"
    r"after|since|so that|in order to|to protest)\b[^.;:,]*",
    re.IGNORECASE,
)


def why_answer(sentences: Sequence[str], question: str) -> str | None:
    """The reason clause ("in response to ...", "because ...") of the best sentence that
    has one."""
    for sentence in sentences[:2]:
        m = _REASON.search(sentence)
        if m:
            clause = m.group().strip(" ,\"'”")
            # "after that network rejected the show because of its use of violence": the
            # cause named inside the clause is the reason.
            inner = _CAUSE.search(clause, 1)
            if inner:
                clause = clause[inner.start() :]
            # "because ..." / "due to ...": what follows is the reason itself.
            clause = _BECAUSE.sub("", clause)
            if 2 <= len(clause.split()) <= 25:
                return clause
    return None


_CAUSE = re.compile(r"\b(?:because of|because|due to)\b", re.IGNORECASE)
_BECAUSE = re.compile(r"^(?:because of|because|due to)\s+", re.IGNORECASE)


def answer_in_kind(
    kind: Kind, sentences: Sequence[str], question: str, headlines: Sequence[str] = ()
) -> str | None:
    """The short answer of the question's kind from the quoted sentences (best first), or
    None when none is clearly supported; ``headlines``: their articles' titles (a yes/no
    question's names may be given there only)."""
    if not sentences:
        return None
    if kind == "yesno":
        # The topic a follow-up carried in "(...)" is no part of what it asks.
        return polarity(asked(question), sentences, YES_MIN_SHARE, headlines) or UNSETTLED
    if kind == "when":
        # Dates: the rules over the text first (they read "now", "overall"), then the parse.
        return _rules_in_kind(kind, sentences, question) or _parsed_in_kind(
            kind, sentences, question
        )
    if kind in typed.GATES and (reader := default_reader()) is not None:
        # Parsed sentences: the person or organisation in the question's role (the announcer,
        # not the thing announced), the noun chunk a what / which question's noun types.
        return typed.supported(reader, sentences, question, kind)
    return _rules_in_kind(kind, sentences, question)


def needs_parser(question: str) -> bool:
    """Whether the question's short answer is read from parsed sentences (by
    :func:`answer_in_kind`): its kind is one the parse answers first (a when-question's
    dates are read by rules first, and mostly found there)."""
    kind = ask_kind(question)
    return kind in typed.GATES and kind != "when"


def _parsed_in_kind(kind: Kind, sentences: Sequence[str], question: str) -> str | None:
    """The short answer read from the parsed sentences, or None (also without a parser)."""
    reader = default_reader()
    return typed.supported(reader, sentences, question, kind) if reader else None


def _rules_in_kind(kind: Kind, sentences: Sequence[str], question: str) -> str | None:
    """The short answer picked by rules over the sentence text (no parser)."""
    if kind == "who":
        # The one who did what was asked, by its place in the sentence (the announcer, not
        # the thing announced); else the name the question's words hold in place.
        actor = who_answer(sentences, question) if asks_for_actor(question) else None
        # The speaker answers "Who announced ...?" whatever else the sentence names; for
        # another verb the name must also be the one the question's words hold in place.
        if actor and (
            asked_verb(question) in _SPEAKING
            or any(actor in p.text for p in picks(sentences, question, "who")[:1])
        ):
            return actor
        return supported(sentences, question, "who")
    if kind in ("when", "how_many"):
        # The value the question's qualifiers select ("now", "overall") when it has them;
        # else the one the question's words hold in place, when it clearly leads.
        if _QUALIFIED.search(question):
            return number_answer(sentences, question, kind)
        return supported(sentences, question, kind)
    if kind == "why":
        return why_answer(sentences, question)
    if kind == "where":
        unfit = _not_places(sentences, question)
        return supported(sentences, question, "where", unfit.__contains__ if unfit else None)
    return None


def _not_places(sentences: Sequence[str], question: str) -> set[str] | None:
    """The names the parse of the quoted sentences shows are no answer to a where-question:
    part of the thing it asks about ("the Russian mission to NATO" for "Where is the mission
    based?"), or a people's adjective ("Belgian"); None without a parser."""
    reader = default_reader()
    if reader is None:
        return None
    asked = {t.lemma for t in reader.parse([question])[0].tokens if t.pos in ("NOUN", "PROPN")}
    out = set()
    for sent in reader.parse(list(sentences)):
        toks = sent.tokens
        for e in sent.entities:
            head = toks[e.head]
            prep = toks[head.head]
            noun = toks[prep.head]
            attached = head.dep == "pobj" and prep.dep == "prep" and noun.pos == "NOUN"
            # A people's adjective ("the Belgian capital") is no place either.
            if (attached and noun.lemma in asked) or e.label == "NORP":
                out.add(sent.span_text(e))
    return out


# Stems of the verbs that report what someone said ("Who announced ...?").
_SPEAKING = frozenset(
    terms("announced stated declared claimed told reported revealed confirmed warned wrote")
) | {"said", "say", "says"}

_QUALIFIED = re.compile(
    r"\b(?:now|currently|today|still|overall|in total|total|altogether|in all)\b", re.I
)
