"""When reports disagree: the best evidence of several articles gives different values for
what was asked. Tells an update (a later report changed it) from a disagreement (reports
differ, neither updating the other) and from an ambiguous name (several things share it), and
words the answer so that no side is stated as fact unless more independent reports give it."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

from retrieval.answer import Answer, Conflict, ConflictValue
from retrieval.answering.classes import WordVectors
from retrieval.answering.conflict_text import conflict_sentence
from retrieval.answering.entities import question_name, same_thing
from retrieval.answering.reports import Group, Report, find_groups
from retrieval.answering.slots import changed_span
from retrieval.lexical import terms

if TYPE_CHECKING:
    from retrieval.answering.extractive import Candidate

# A rival value is shown only when its best report scores within CLOSE of the best (weaker
# evidence is no disagreement, just a worse match).
CLOSE = 4.0
# A question asking at most this many terms of its name is short: two reports holding them
# all answer it, whatever else their sentences say.
ASKED_TERMS = 2
_UPDATE_WORDS = re.compile(
    r"\b(rose|risen|climbed|increased|jumped|fell|dropped|revised|updated|corrected|"
    r"postponed|delayed|rescheduled|moved|now|latest|new figure|has since)\b",
    re.IGNORECASE,
)
# Two sentences sharing this share of their words (values aside) state one fact.
SAME_FACT = 0.5
_STOP = frozenset(
    "a an the of in on at to for by with from and or but is are was were be been has have had "
    "it its this that these those as which who whom whose said says according".split()
)
# Yes/no and comparison questions have no one slot to disagree on.
_YES_NO = re.compile(
    r"^\s*(?:is|are|was|were|do|does|did|has|have|had|can|could|will|would|should)\b",
    re.IGNORECASE,
)


def _distinct_things(groups: list[Group]) -> list[str]:
    """The differently named things the groups' reports are about, each group marked with
    its own (a rewritten copy that names another qualifier is a rival report, not a second
    thing)."""
    things: list[Report] = []
    for g in groups:
        for r in g.reports:
            if not r.subject:
                continue
            # A copy of a story already placed is about that story's thing, whatever
            # qualifier its rewrite gives.
            known = next((o for o in things if r.story == o.story), None) or next(
                (o for o in things if same_thing(r.subject, o.subject)), None
            )
            if known is None:
                things.append(r)
                known = r
            g.thing = g.thing or (known.subject.name if known.subject else None)
    return [o.subject.name for o in things if o.subject]


def _words(text: str) -> set[str]:
    return {w for w in re.findall(r"[a-z]+", text.lower()) if w not in _STOP}


def states_same_fact(a: str, b: str) -> bool:
    """Whether two sentences state one fact, perhaps with different values: a near-copy that
    differs in one stretch, or most of the shorter one's words (values aside) in the other."""
    if changed_span(a, b):
        return True
    wa, wb = _words(a), _words(b)
    if not wa or not wb:
        return False
    return len(wa & wb) / min(len(wa), len(wb)) >= SAME_FACT


def _same_fact(g: Group, others: list[Group]) -> bool:
    """Whether every other group's sentence states the fact of the group's sentence."""
    text = g.reports[0].cand.text
    return all(any(states_same_fact(text, r.cand.text) for r in o.reports) for o in others)


def _asked(question: str) -> set[str]:
    """What a short question asks of its name: its terms besides the name's ("built" of
    "When was the Bonner House built?"); empty for a longer question (several clauses,
    each answered by another article) and for one that names nothing."""
    name = question_name(question)
    if not name:
        # Without a name, a term or two ("Who was murdered?") is in many unrelated stories.
        return set()
    asked = set(terms(question)) - set(terms(name))
    return asked if 0 < len(asked) <= ASKED_TERMS else set()


def _answer_alike(g: Group, o: Group, question: str) -> bool:
    """Whether two groups' sentences answer one question: they state one fact, or both
    hold the terms a short question asks of its name and give their value plainly (a value
    picked from several by nearness may answer another slot: "his father died in 1879")."""
    if _same_fact(g, [o]):
        return True
    asked = _asked(question)
    pair = (g.reports[0], o.reports[0])
    held = [asked & set(terms(r.cand.text)) for r in pair]
    # "Who testified at the trial?": both must do the act, not just mention the trial.
    act = _act(question)
    if act and not all(act in set(terms(r.cand.text)) for r in pair):
        return False
    # Both hold what is asked, or at least half of it and a term in common (a question's
    # "money" is the reports' "kuna": the word they share is what was asked).
    return (
        bool(asked)
        and not any(r.guessed for r in pair)
        and bool(held[0] & held[1])
        and all(2 * len(h) >= len(asked) for h in held)
    )


_WHO_DID = re.compile(r"^\s*who\s+(?!(?:is|was|are|were|'s)\b)([a-z][\w'-]*)", re.IGNORECASE)


def _act(question: str) -> str | None:
    """The act a "Who did ...?" question asks the doer of, as a term ("testifi"); None for
    other questions ("Who is the artist of ...?" asks what one is, not an act)."""
    m = _WHO_DID.match(question)
    found = terms(m.group(1)) if m else []
    return found[0] if found else None


def detect(
    question: str, cands: Sequence[Candidate], vectors: WordVectors | None = None
) -> tuple[str, list[Group]] | None:
    """The kind of conflict and its groups (leading first), or None when they agree.
    ``vectors``: word vectors, to read a class-noun question's value (see :mod:`classes`)."""
    if _YES_NO.match(question):
        return None
    groups, votes = find_groups(question, cands, vectors)
    found = _among_rivals(question, groups)
    if found is None or found[0] == "disagreement":
        # The vote over every report settles a disagreement among the closest ones too.
        return _vote(votes) or found
    return found


def _vote(votes: list[Group]) -> tuple[str, list[Group]] | None:
    """Misinformation resistance: when the best report's value is one no other independent
    report gives, and another value has more independent reports than any other, that value
    leads and the lone one is disputed (a planted story ranked first is not the answer)."""
    if not votes:
        return None
    # The first group holds the best report when that one votes at all.
    top, others = votes[0], votes[1:]
    if top.reports[0].score < max(r.score for g in votes for r in g.reports):
        return None
    if top.voters > 1 or not others:
        return None
    leader = max(others, key=lambda g: g.voters)
    if leader.voters < 2 or any(g.voters >= leader.voters for g in others if g is not leader):
        return None
    return "disagreement", [leader, top]


def _among_rivals(question: str, groups: list[Group]) -> tuple[str, list[Group]] | None:
    """An update, a disagreement or an ambiguous name among the rival reports (close to the
    best), or None when they agree."""
    if len(groups) < 2:
        return None
    if len(_distinct_things(groups)) >= 2:
        return "ambiguous", groups
    # Values that are whole sentences need two named things, or two versions of one text;
    # otherwise they are no conflict.
    if any(g.value == r.cand.text and not r.whole for g in groups for r in g.reports):
        return None
    # A value is a rival only when its evidence is close to the best and comes from another
    # story than the leading value's (copies of one story do not disagree with themselves
    # unless one was rewritten).
    top = groups[0]
    close = [top] + [g for g in groups[1:] if g.best >= top.best - CLOSE]
    if len(close) < 2:
        return None
    # Reports that state different facts (each article answering a part of a long
    # question) do not disagree, whatever their values.
    groups = [top] + [g for g in close[1:] if _answer_alike(top, g, question)]
    if len(groups) < 2:
        return None
    # An update: a later report of the same fact, one sentence reworded around a new value
    # or saying it changed ("rose to", "revised"); articles of different days that merely
    # give different answers are no update of one another.
    worded = [g for g in groups if any(_UPDATE_WORDS.search(r.cand.text) for r in g.reports)]
    dated = [g for g in groups if g.newest()]
    if len(dated) == len(groups) and len({g.newest() for g in groups}) == len(groups):
        by_date = sorted(groups, key=lambda g: g.newest(), reverse=True)
        if by_date[0] in worded or _same_fact(by_date[0], by_date[1:]):
            return "update", by_date
    if len(worded) == 1 and _same_fact(worded[0], [g for g in groups if g is not worded[0]]):
        return "update", [worded[0], *[g for g in groups if g is not worded[0]]]
    # The value more independent reports give leads (a stable sort keeps the best first).
    return "disagreement", sorted(groups, key=lambda g: -g.support)


def with_conflict(
    answer: Answer,
    question: str,
    cands: Sequence[Candidate],
    vectors: WordVectors | None = None,
) -> Answer:
    """The answer reworded to show a conflict among the best evidence, if there is one
    (``vectors``: see :func:`detect`)."""
    if answer.abstained or not cands:
        return answer
    found = detect(question, cands, vectors)
    if found is None:
        return answer
    kind, groups = found
    citations = list(answer.citations)
    by_chunk = {c.chunk_id: c.n for c in citations}

    def cite(r: Report) -> int:
        chunk = r.cand.hit.chunk.id
        if chunk not in by_chunk:
            by_chunk[chunk] = len(citations) + 1
            citations.append(r.cand.hit.citation(by_chunk[chunk], r.cand.text, r.cand.cosine))
        return by_chunk[chunk]

    values = [_value(kind, g, groups, cite) for g in groups]
    conflict = Conflict(kind=kind, values=values)  # type: ignore[arg-type]
    quoted = {c.quote for c in answer.citations}
    body = answer.text.split("\n\n", 1)[-1] if answer.short_answer else answer.text
    extra = [
        f"{r.cand.text} [{by_chunk[r.cand.hit.chunk.id]}]"
        for g in groups
        for r in g.reports[:1]
        if r.cand.text not in quoted and r.cand.text not in body
    ]
    text = f"{conflict_sentence(conflict, citations)}\n\n{' '.join([body, *extra])}"
    lead = values[0]
    short = lead.value if lead.role in ("newer", "supported") and len(lead.value) < 80 else None
    return answer.model_copy(
        update={"text": text, "citations": citations, "conflict": conflict, "short_answer": short}
    )


def _value(kind: str, g: Group, groups: list[Group], cite: object) -> ConflictValue:
    assert callable(cite)
    ns = sorted({cite(r) for r in g.reports})
    if kind == "update":
        role = "newer" if g is groups[0] else "older"
    elif kind == "ambiguous":
        # Within one named thing, a value no more independent reports give than another
        # is disputed (a copy rewritten to name another thing counts for the same one).
        rivals = [o for o in groups if o is not g and o.thing == g.thing]
        alone = all(o.support < g.support for o in rivals)
        role = "entity" if g.thing and alone and not _rewritten(g, groups) else "disputed"
    else:
        top = groups[0].support
        lone = top >= 2 and all(o.support < top for o in groups[1:])
        supported = lone and g is groups[0] and not _rewritten(g, groups)
        role = "supported" if supported else "disputed"
    return ConflictValue(
        value=g.value,
        role=role,  # type: ignore[arg-type]
        entity=g.thing if kind == "ambiguous" else None,
        citations=ns,
        dates=[r.cand.hit.article.date for r in g.reports],
        sources=[r.cand.hit.article.source for r in g.reports],
    )


def _rewritten(g: Group, groups: list[Group]) -> bool:
    """Whether a copy of one of the group's stories gives another group's value: one text in
    two versions, and other reports do not tell which version is the original."""
    return any(o is not g and o.stories & g.stories for o in groups)
