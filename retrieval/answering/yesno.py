"""Yes/no questions answered by the evidence's polarity: "Yes" when the quoted sentences
assert what the question asks, "No" when they assert something that conflicts with it (a
denial of its words, an opposite word, another value in the slot it fills, a missing
"only" / "all" / "still"). Rules over the sentence text, and the parser's entity types
where it is installed (a place asked about against another place in the evidence)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Literal

from retrieval.answering.doers import swapped
from retrieval.answering.parse import SentenceReader, default_reader
from retrieval.lexical import STOPWORDS
from retrieval.spans import NAME

Polarity = Literal["Yes", "No", "The articles don't say"]

# The answer when the evidence names what is asked only as an open question or a
# supposition ("to determine whether she is guilty", "if convicted"): it settles nothing.
NOT_SAID: Polarity = "The articles don't say"

_NEGATION = re.compile(
    r"\b(?:not|no|never|none|nobody|nothing|neither|nor|without|cannot|refused|denied|"
    r"failed|unable|hardly|barely|scarcely|lack(?:s|ed)?)\b|n't\b",
    re.IGNORECASE,
)
# "Was it the only ...?", "Did he serve the whole year?", "Was he just big in America?": a
# question that asks whether something was all there was holds only when the evidence says
# so itself; the story usually goes on. "all the time" is asked as a whole: "it all" is not
# "all the time".
_ALL = re.compile(
    r"\b(?:the only|only|just|all the time|all|whole|entire|entirely|full|fully|every|"
    r"always|the first time|that all|anything else)\b",
    re.IGNORECASE,
)
# "Is he still president?" against "then-President", "former", "no longer", "agreed to step
# down as CEO", "resigned".
_STILL = re.compile(r"\bstill\b", re.IGNORECASE)
_NO_LONGER = re.compile(
    r"\b(?:then-|former|ex-|no longer|once|until|previously|"
    r"step(?:s|ped|ping)?\s+down|resign(?:s|ed|ing|ation)?\b)",
    re.I,
)
# A slot the question fills in: a name, a number or an ordinal ("his 2nd match").
_SLOT = re.compile(
    # "the 2" / "the two of them" name people already in play, not a value.
    r"(?<!\bthe )\b(?:\d+(?:st|nd|rd|th)?|first|second|third|fourth|fifth|last|"
    r"one|two|three|four|five|six|seven|eight|nine|ten)\b",
    re.IGNORECASE,
)
# "another one", "that one", "which one": "one" standing for a thing already named, no value.
_DETERMINER_BEFORE = re.compile(
    r"\b(?:another|other|this|that|which|each|every|any|no|some|the|a|new|same|only)\s+$",
    re.IGNORECASE,
)


def _pronoun_one(text: str, m: re.Match[str]) -> bool:
    """Whether the slot match is the pronoun "one" after a determiner ("another one") or
    before "of" ("one of those men": any of them, no count)."""
    return m.group().lower() == "one" and (
        bool(_DETERMINER_BEFORE.search(text[: m.start()]))
        or bool(re.match(r"\s+of\b", text[m.end() :], re.IGNORECASE))
    )


# "Yes" needs one evidence sentence holding this share of the question's content words;
# below it the answer is UNSETTLED.
YES_MIN_SHARE = 0.0
UNSETTLED = "Yes"

# Words of opposite meaning, in groups: the evidence answers "No" to a question holding a
# word of one side when it says one of the other side and none of the question's side
# ("Is he still living?" against "today he is dead"). Whole words, as news text writes them.
_OPPOSITES: tuple[tuple[frozenset[str], frozenset[str]], ...] = tuple(
    (frozenset(a.split()), frozenset(b.split()))
    for a, b in (
        ("alive living survived survive survives", "dead died dies death killed deceased"),
        ("win wins won winning victory victorious", "lose loses lost losing defeat defeated"),
        ("guilty", "innocent"),
        ("public publicly openly", "private privately secret secretly"),
        ("true", "false"),
        (
            "okay ok fine unharmed unhurt healthy",
            "broken hurt injured wounded sick ill harmed",
        ),
        ("like liked likes love loved loves enjoy enjoyed", "hate hated hates dislike disliked"),
        ("happy glad pleased satisfied", "sad upset angry unhappy dissatisfied"),
        (
            "accept accepted accepts admit admitted admits confirm confirmed",
            "deny denied denies reject rejected rejects refuse refused refuses",
        ),
        ("succeed succeeded success successful", "fail failed fails failure unsuccessful"),
        ("open opened reopened", "closed shut suspended halted"),
        ("rich wealthy", "poor"),
        ("famous known", "unknown obscure"),
        ("same", "different"),
        ("support supported supports", "oppose opposed opposes"),
        ("present attended", "absent missed"),
        ("live", "recorded taped pre-recorded prerecorded"),
        ("remember remembered", "forgot forgotten"),
        ("increase increased increases rose risen", "decrease decreased decreases fell"),
    )
)
# "less physical than" against "more likely to get physical than".
_COMPARATIVE = {"more": "less fewer", "less": "more", "fewer": "more"}
# Prefixes that turn a word into its opposite: "dissatisfaction", "unaware", "illegal".
_NEGATIVE_PREFIX = re.compile(r"^(?:un|dis|non-?|in|im|ir|il)(?=[a-z]{4,})")


def stem(word: str) -> str:
    """The crude stem yes/no and number answers compare words by (its first five letters)."""
    return word.lower()[:5]


def content_stems(text: str) -> set[str]:
    """The stems of the text's words that are not stopwords."""
    return {stem(w) for w in re.findall(r"[A-Za-z]+", text) if w.lower() not in STOPWORDS}


def _words(text: str) -> set[str]:
    return {w.lower() for w in re.findall(r"[A-Za-z][A-Za-z-]*", text)}


def asserting_sentence(question: str, evidence: Sequence[str]) -> tuple[str, float]:
    """The evidence sentence holding most of the question's content words (the first
    of equals), and the share it holds."""
    qstems = content_stems(question)
    if not evidence or not qstems:
        return (evidence[0] if evidence else ""), 0.0
    shares = [len(qstems & content_stems(s)) / len(qstems) for s in evidence]
    best = max(range(len(evidence)), key=lambda i: (shares[i], -i))
    return evidence[best], shares[best]


def polarity(
    question: str, evidence: Sequence[str], min_share: float = 0.0, named: Sequence[str] = ()
) -> Polarity | None:
    """ "Yes" when the evidence asserts what the question asks, "No" when it asserts the
    opposite: it negates the question's words, says their opposite, has its doer and
    done-to the other way round (retrieval/answering/doers.py), lacks the "only" /
    "all" / "still" the question asks about, or gives another value for the slot the
    question fills ("his 2nd match" against "his first tournament"). :data:`NOT_SAID` when
    it says what is asked only inside a clause that asks or supposes it. None when the
    sentence that says most of it holds less than ``min_share`` of the question's content
    words. ``named``: the evidence's headlines, which name what its text calls "the
    company" (a name they give is no missing name)."""
    q_negated = bool(_NEGATION.search(question))
    sentence, share = asserting_sentence(question, evidence)
    said = " ".join(evidence)
    if not q_negated:
        wanted = {m.group().lower() for m in _ALL.finditer(question)}
        # Whole words: "all" is not in "ballad".
        if wanted and not any(re.search(rf"\b{re.escape(w)}\b", said, re.I) for w in wanted):
            return "No"
        if _STILL.search(question) and _NO_LONGER.search(sentence):
            return "No"
        if _other_value(question, " ".join([said, *named]), sentence):
            return "No"
        if opposed(question, evidence):
            return "No"
        reader = default_reader()
        if reader is not None and swapped(reader, question, evidence):
            return "No"
    if _negates(sentence, question) != q_negated:
        return "No"
    if not q_negated and any(_negates(s, question) for s in evidence):
        return "No"
    if share < min_share:
        return None
    if _left_open(question, evidence):
        return NOT_SAID
    return "Yes"


def _supposed(sentence: str) -> bool:
    """A sentence that asserts nothing: a question, or what follows a supposition that
    opens it ("If convicted, he could go to prison")."""
    text = sentence.strip(" \"'“”‘’")
    return text.endswith("?") or bool(re.match(r"(?:if|unless)\b", text, re.IGNORECASE))


# A clause that asks or supposes rather than asserts, up to its end: "to determine whether
# she is guilty of fraud", "if convicted", "unless the board approves it".
_OPEN_CLAUSE = re.compile(r"\b(?:whether|if|unless)\b[^,;:.?!]*", re.IGNORECASE)


def _left_open(question: str, evidence: Sequence[str]) -> bool:
    """Whether the evidence says what the question asks (its words besides the names) only
    inside clauses that ask or suppose it, or in questions of its own."""
    names = {stem(w) for m in NAME.finditer(question) for w in re.findall(r"[A-Za-z]+", m.group())}
    asked = content_stems(question) - names - _FRAME_STEMS
    said = set().union(*(content_stems(s) for s in evidence))
    if not asked & said:
        return False
    plain = [_OPEN_CLAUSE.sub(" ", s) for s in evidence if not _supposed(s)]
    return not asked & set().union(*(content_stems(s) for s in plain))


def asked(question: str) -> str:
    """What a yes/no question asks: without the topic a follow-up carried in "(...)"."""
    return re.sub(r"\s*\([^)]*\)\s*$", "", question)


def deciding_sentence(
    question: str, quoted: Sequence[str], more: Sequence[str], room: int
) -> str | None:
    """The sentence of ``more`` to quote because it settles the question otherwise than the
    ``quoted`` ones do ("Did Russia accept responsibility?" against a later "Russia's deputy
    foreign minister denied ..."), or None. An answer quotes at most ``room`` sentences and
    rests on what it quotes: the sentence must give, with the first ``room`` - 1 quoted
    ones, the polarity that all of them together give."""
    question = asked(question)
    together = polarity(question, [*quoted, *more])
    if together == polarity(question, quoted):
        return None
    kept = list(quoted[: room - 1])
    return next((m for m in more if polarity(question, [*kept, m]) == together), None)


def opposed(question: str, evidence: Sequence[str]) -> bool:
    """The evidence says the opposite of one of the question's words: a word of the other
    side of an opposite pair without one of the question's side ("dead" to "still living"),
    the word with a negative prefix ("dissatisfaction" to "satisfied"), or the other
    comparative before it ("more ... physical" to "less physical")."""
    asked = _words(question)
    said = _words(" ".join(evidence))
    for a, b in _OPPOSITES:
        for mine, other in ((a, b), (b, a)):
            if asked & mine and said & other and not _said_of(mine, question, evidence):
                return True
    qstems = {stem(w) for w in asked if w not in STOPWORDS}
    for w in said - asked:
        m = _NEGATIVE_PREFIX.match(w)
        if m and stem(w[m.end() :]) in qstems and stem(w) not in qstems:
            return True
    return any(_comparative_flipped(question, s) for s in evidence)


def _said_of(words: frozenset[str], question: str, evidence: Sequence[str]) -> bool:
    """Whether a sentence of the evidence says one of ``words`` of what the question asks
    about: with one of its other words besides names ("Is the mission still open?" is not
    answered by "NATO did keep the channels open", which says nothing of a mission)."""
    names = {stem(w) for m in NAME.finditer(question) for w in re.findall(r"[A-Za-z]+", m.group())}
    topic = content_stems(question) - names - _FRAME_STEMS - _QUALIFIER_STEMS
    topic -= {stem(w) for w in words}
    return any(_words(s) & words and (not topic or content_stems(s) & topic) for s in evidence)


# Words that qualify what is asked ("still", "now") rather than name what it is about.
_QUALIFIER_STEMS = {stem(w) for w in "still now ever yet already currently".split()}


def _comparative_flipped(question: str, sentence: str) -> bool:
    """The question compares one way ("less physical than") and the sentence the other
    ("more likely to get physical than") about the same word."""
    for m in re.finditer(r"\b(more|less|fewer)\s+(\w+)\s+than\b", question, re.I):
        word = stem(m.group(2))
        for other in _COMPARATIVE[m.group(1).lower()].split():
            for n in re.finditer(rf"\b{other}\b((?:\W+\w+){{1,4}})\W+than\b", sentence, re.I):
                if word in {stem(w) for w in re.findall(r"\w+", n.group(1))}:
                    return True
    return False


def _negates(sentence: str, question: str) -> bool:
    """A denial in the sentence that stands just before one of the question's words: what
    it says the question's subject did or was, not the subject's name ("didn't pique
    Neroy's interest" denies no "Did Neroy change her mind?") nor a word that frames the
    question ("no one else will" denies no "anyone else appealing?")."""
    qstems = content_stems(question) - _FRAME_STEMS
    for m in _NEGATION.finditer(sentence):
        window = re.findall(r"[A-Za-z]+", sentence[m.end() : m.end() + 60])[:5]
        if any(stem(w) in qstems for w in window if not w[0].isupper()):
            return True
    return False


# Words that frame a question ("anyone else?", "another one?") rather than say what it asks.
_FRAME_STEMS = {stem(w) for w in "anyone anybody anything else one ones other others".split()}


def _other_value(question: str, said: str, sentence: str) -> bool:
    """The question fills a slot (a number, an ordinal, a name inside it) with a value
    the evidence never gives, while the sentence gives another value of that kind."""
    low = said.lower()
    asked = [m.group() for m in _SLOT.finditer(question) if not _pronoun_one(question, m)]
    if any(a.lower() not in low for a in asked):
        found = [m.group() for m in _SLOT.finditer(sentence)]
        if any(f.lower() not in question.lower() for f in found):
            return True
    said_stems = {stem(w) for w in re.findall(r"[A-Za-z]+", said)}
    # The parser types the names (and finds those written in lower case); the capitalised
    # words stand in for names without it, and for what its small model leaves untyped.
    unsaid = content_stems(question) - said_stems
    reader = default_reader() if unsaid else None
    if reader is not None and _other_entity(reader, question, said_stems, low, sentence):
        return True
    names = [m.group() for m in NAME.finditer(question) if m.start() > 0]
    missing = [
        n
        for n in names
        if n.lower() not in low and n.lower() not in STOPWORDS and not _spelled(n, said_stems)
    ]
    if missing:
        others = [m.group() for m in NAME.finditer(sentence) if m.start() > 0]
        return any(o.lower() not in question.lower() for o in others)
    return False


# Entity labels by the kind of value they are: a place is no person, but a nationality is
# said of a place ("European" against "Central American"). Dates are left to the slot
# rule ("this year" is not contradicted by "in March"), and titles and products, which
# the small model labels loosely, are left out.
_FAMILY = {
    "PERSON": "person", "ORG": "org", "GPE": "place", "LOC": "place", "NORP": "place",
    "FAC": "place", "LANGUAGE": "language", "EVENT": "event",
}  # fmt: skip


def _other_entity(
    reader: SentenceReader, question: str, said_stems: set[str], low: str, sentence: str
) -> bool:
    """A named thing of the question (a person, place, organisation, language, event)
    that the evidence never names, while the sentence names another of its kind: "Is she
    due to visit china?" against "She is due to visit England and Scotland"."""
    q = reader.parse([question])[0]
    missing = set()
    for e in q.entities:
        text = q.span_text(e)
        family = _FAMILY.get(e.label)
        if family and text.lower() not in low and not _spelled(text, said_stems):
            missing.add(family)
    if not missing:
        return False
    s = reader.parse([sentence])[0]
    qlow = question.lower()
    return any(
        _FAMILY.get(e.label) in missing and s.span_text(e).lower() not in qlow for e in s.entities
    )


def _spelled(name: str, said_stems: set[str]) -> bool:
    """Whether the evidence names ``name``, maybe spelled otherwise past its first letters
    ("Kaczynksi" for "Kaczynski"): a name the asker misspelled is no other value."""
    words = re.findall(r"[A-Za-z]+(?:'[A-Za-z]+)?", name)
    words = [w for w in words if w.lower() not in STOPWORDS]
    return all(stem(re.sub(r"'s$", "", w)) in said_stems for w in words)
