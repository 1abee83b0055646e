"""When reports disagree: the best evidence of several articles gives different values for
what was asked. Tells an update (a later report changed it) from a disagreement (reports
differ, neither updating the other) and from an ambiguous name (several things share it), and
words the answer so that no side is stated as fact unless more independent reports give it."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date as Date
from typing import TYPE_CHECKING

from retrieval.answer import Answer, Citation, Conflict, ConflictValue
from retrieval.answering.entities import (
    Subject,
    question_name,
    same_thing,
    subject,
)
from retrieval.answering.slots import changed_span, same_value, slot_value
from retrieval.lexical import terms
from retrieval.spans import QuestionType, question_type

if TYPE_CHECKING:
    from retrieval.answering.extractive import Candidate

# Articles whose best sentence scores this close to the best answer's are its rivals: each
# may give another value. A rival value is shown only when its best report scores within
# CLOSE of the best (weaker evidence is no disagreement, just a worse match).
MARGIN = 3.0
CLOSE = 3.0
MAX_ARTICLES = 5
# An article about another thing of the asked name is a rival down to this far below.
ENTITY_MARGIN = 5.0
# An article's value may come from its sentences scoring this close to its best one.
VALUE_MARGIN = 2.5
# A question asking at most this many terms of its name is short: two reports holding them
# all answer it, whatever else their sentences say.
ASKED_TERMS = 2
# Reports this far below the best still count as support for a value the rivals give
# (never as a value of their own): more independent reports, more weight.
SUPPORT_MARGIN = 5.0
MAX_SUPPORT = 10
# Two texts sharing this share of their word trigrams are copies of one story (a rewrite,
# a syndicated copy): they count once, and one rewritten to give another value or another
# qualifier is a rival report, never a second thing of the same name.
COPY = 0.5
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
_QUANTITY = re.compile(
    r"\b(?:population|number of|total|amount|cost|price|budget|revenue|attendance|capacity|"
    r"death toll|casualties|height|length|area|enrollment|enrolment)\b",
    re.IGNORECASE,
)
# Yes/no and comparison questions have no one slot to disagree on.
_YES_NO = re.compile(
    r"^\s*(?:is|are|was|were|do|does|did|has|have|had|can|could|will|would|should)\b",
    re.IGNORECASE,
)


@dataclass
class _Report:
    """One article's best evidence and the value it gives."""

    cand: Candidate  # the sentence quoted: the one giving the value, else the best
    value: str | None
    subject: Subject | None
    score: float = 0.0  # the article's best sentence score (how well it matches)
    story: int = -1  # reports with one story number are copies of one story

    @property
    def date(self) -> str:
        return self.cand.hit.article.date or ""


@dataclass
class _Group:
    """Reports giving one value."""

    value: str
    reports: list[_Report] = field(default_factory=list)
    # Further reports (below the rivals) that give the value too: support, not citations.
    backers: list[_Report] = field(default_factory=list)
    # Ambiguous names: the thing this value answers for, when its reports name one.
    thing: str | None = None

    @property
    def support(self) -> int:
        """Independent reports giving the value: copies of one story count once."""
        return len({r.story for r in (*self.reports, *self.backers)})

    @property
    def best(self) -> float:
        return max(r.score for r in self.reports)

    def newest(self) -> str:
        return max((r.date for r in self.reports), default="")


def _by_article(cands: Sequence[Candidate], margin: float, most: int) -> list[list[Candidate]]:
    """Each article's candidates (best first) whose best scores within ``margin`` of the
    best, at most ``most`` articles, best article first."""
    found: dict[str, list[Candidate]] = {}
    top = cands[0].score
    for c in cands:
        aid = c.hit.article.id
        if aid in found:
            found[aid].append(c)
        elif c.score >= top - margin and len(found) < most:
            found[aid] = [c]
    return list(found.values())


def _page(c: Candidate) -> tuple[str, str, str] | None:
    """The page an article is a section of: its title, source and date (None untitled)."""
    a = c.hit.article
    return (a.title, a.source or "", a.date or "") if a.title else None


def _one_per_page(found: list[list[Candidate]]) -> list[list[Candidate]]:
    """The best section of each page: sections of one page (one title from one source of
    one day: an encyclopedia article's paragraphs, one story's parts) are one report, and a
    page does not disagree with itself (its sections answer different parts of a topic)."""
    seen: set[tuple[str, str, str]] = set()
    kept = []
    for m in found:
        page = _page(m[0])
        if page is None or page not in seen:
            kept.append(m)
        if page is not None:
            seen.add(page)
    return kept


def _trigrams(text: str) -> set[tuple[str, ...]]:
    words = re.findall(r"\w+", text.lower())
    return {tuple(words[i : i + 3]) for i in range(max(len(words) - 2, 0))}


def copies(a: str, b: str) -> bool:
    """Whether two texts are copies of one story: most of the shorter one's word trigrams
    are in the other (a rewrite that changes a value or two still is)."""
    ta, tb = _trigrams(a), _trigrams(b)
    if not ta or not tb:
        return False
    return len(ta & tb) / min(len(ta), len(tb)) >= COPY


def _stories(reports: list[_Report]) -> None:
    """Number the reports by story: copies of one another share a number."""
    texts = [r.cand.hit.chunk.text for r in reports]
    for i, r in enumerate(reports):
        r.story = i
        for j in range(i):
            if copies(texts[i], texts[j]):
                r.story = reports[j].story
                break


def _report(mine: list[Candidate], question: str, qtype: QuestionType, name: str | None) -> _Report:
    """An article's report: the value its best sentence giving one gives (among those
    scoring close to its best: the answer is often the sentence after the match)."""
    best = mine[0]
    hit = best.hit
    context = f"{hit.article.title or ''}\n{hit.article.text[:300]}\n{hit.chunk.text}"
    about = subject(context, hit.chunk.text, name)
    for c in mine:
        if c.score < best.score - VALUE_MARGIN:
            break
        value = slot_value(c.text, question, qtype)
        if value is not None:
            return _Report(c, value, about, best.score)
    return _Report(best, None, about, best.score)


def _rivals(
    question: str, cands: Sequence[Candidate], qtype: QuestionType
) -> tuple[list[_Report], list[_Report]]:
    """The rival reports (close to the best, or further down when about another thing of the
    asked name) and the backers (further reports that may support a rival's value)."""
    name = question_name(question)
    near = _one_per_page(_by_article(cands, ENTITY_MARGIN, MAX_ARTICLES))
    rivals = [_report(m, question, qtype, name) for m in near]
    top = rivals[0].score if rivals else 0.0
    rivals = [
        r
        for r in rivals
        if r.score >= top - MARGIN
        or (r.subject and not any(same_thing(r.subject, o.subject) for o in rivals if o is not r))
    ]
    seen = {r.cand.hit.article.id for r in rivals}
    backers = [
        _report(m, question, qtype, name)
        for m in _by_article(cands, SUPPORT_MARGIN, MAX_SUPPORT)
        if m[0].hit.article.id not in seen
    ]
    _stories([*rivals, *backers])
    return rivals, backers


def slot_type(question: str) -> QuestionType:
    """The kind of value a question asks for: a question about a quantity ("What is the
    population of Katwa?") asks for a number however it is worded."""
    qtype = question_type(question)
    return "how_many" if qtype == "other" and _QUANTITY.search(question) else qtype


def find_groups(question: str, cands: Sequence[Candidate]) -> tuple[QuestionType, list[_Group]]:
    """The values the best evidence of each article gives, grouped when they agree, each
    with the further reports that back it."""
    qtype = slot_type(question)
    rivals, backers = _rivals(question, cands, qtype)
    if len(rivals) < 2:
        return qtype, []
    # Near-identical sentences that differ in one stretch give that stretch as the value
    # (a rewritten or corrected copy), whatever the question type.
    for i, a in enumerate(rivals):
        for b in rivals[i + 1 :]:
            diff = changed_span(a.cand.text, b.cand.text)
            # Typed values that differ already are the cleaner reading of the change.
            if diff and (a.value is None or b.value is None or same_value(a.value, b.value, qtype)):
                a.value, b.value = diff
    groups: list[_Group] = []
    for r in rivals:
        value = r.value
        if value is None:
            # Without a value a report can still tell one of several named things apart.
            if not r.subject:
                continue
            value = r.cand.text
        for g in groups:
            if r.value is not None and same_value(g.value, value, qtype):
                g.reports.append(r)
                break
        else:
            groups.append(_Group(value, [r]))
    for b in backers:
        for g in groups:
            typed = b.value is not None and g.value != g.reports[0].cand.text
            if typed and same_value(g.value, b.value or "", qtype):
                g.backers.append(b)
                break
    return qtype, groups


def _distinct_things(groups: list[_Group]) -> list[str]:
    """The differently named things the groups' reports are about, each group marked with
    its own (a rewritten copy that names another qualifier is a rival report, not a second
    thing)."""
    things: list[_Report] = []
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


def _same_fact(g: _Group, others: list[_Group]) -> bool:
    """Whether every other group's sentence states the fact of the group's sentence."""
    text = g.reports[0].cand.text
    return all(any(states_same_fact(text, r.cand.text) for r in o.reports) for o in others)


def _asked(question: str) -> set[str]:
    """What a short question asks of its name: its terms besides the name's ("built" of
    "When was the Bonner House built?"); empty for a longer question (several clauses,
    each answered by another article)."""
    asked = set(terms(question)) - set(terms(question_name(question) or ""))
    return asked if 0 < len(asked) <= ASKED_TERMS else set()


def _answer_alike(g: _Group, o: _Group, question: str) -> bool:
    """Whether two groups' sentences answer one question: they state one fact, or both
    hold every term a short question asks of its name."""
    if _same_fact(g, [o]):
        return True
    asked = _asked(question)
    return bool(asked) and all(
        asked <= set(terms(r.cand.text)) for r in (g.reports[0], o.reports[0])
    )


def detect(question: str, cands: Sequence[Candidate]) -> tuple[str, list[_Group]] | None:
    """The kind of conflict and its groups (leading first), or None when they agree."""
    if _YES_NO.match(question):
        return None
    _, groups = find_groups(question, cands)
    if len(groups) < 2:
        return None
    if len(_distinct_things(groups)) >= 2:
        return "ambiguous", groups
    # Values that are whole sentences need two named things; otherwise they are no conflict.
    if any(g.value == r.cand.text for g in groups for r in g.reports):
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


def with_conflict(answer: Answer, question: str, cands: Sequence[Candidate]) -> Answer:
    """The answer reworded to show a conflict among the best evidence, if there is one."""
    if answer.abstained or not cands:
        return answer
    found = detect(question, cands)
    if found is None:
        return answer
    kind, groups = found
    citations = list(answer.citations)
    by_chunk = {c.chunk_id: c.n for c in citations}

    def cite(r: _Report) -> int:
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


def _value(kind: str, g: _Group, groups: list[_Group], cite: object) -> ConflictValue:
    assert callable(cite)
    ns = sorted({cite(r) for r in g.reports})
    if kind == "update":
        role = "newer" if g is groups[0] else "older"
    elif kind == "ambiguous":
        # Within one named thing, a value no more independent reports give than another
        # is disputed (a copy rewritten to name another thing counts for the same one).
        rivals = [o for o in groups if o is not g and o.thing == g.thing]
        alone = all(o.support < g.support for o in rivals)
        role = "entity" if g.thing and alone else "disputed"
    else:
        top = groups[0].support
        lone = top >= 2 and all(o.support < top for o in groups[1:])
        role = "supported" if lone and g is groups[0] else "disputed"
    return ConflictValue(
        value=g.value,
        role=role,  # type: ignore[arg-type]
        entity=g.thing if kind == "ambiguous" else None,
        citations=ns,
        dates=[r.cand.hit.article.date for r in g.reports],
        sources=[r.cand.hit.article.source for r in g.reports],
    )


def nice_date(iso: str | None) -> str | None:
    """ "2023-03-04" as "4 March 2023" (other strings unchanged)."""
    if not iso:
        return None
    try:
        d = Date.fromisoformat(iso[:10])
    except ValueError:
        return iso
    return f"{d.day} {d.strftime('%B')} {d.year}"


def conflict_sentence(conflict: Conflict, citations: Sequence[Citation]) -> str:
    """The conflict in words, each value with its outlet, date and [n] markers."""

    def marks(v: ConflictValue) -> str:
        return "".join(f"[{n}]" for n in v.citations)

    def who(v: ConflictValue) -> str:
        source = next((s for s in v.sources if s), None)
        when = nice_date(next((d for d in v.dates if d), None))
        distinct = {next((s for s in x.sources if s), None) for x in conflict.values}
        label = source if source and len(distinct) == len(conflict.values) else "a report"
        if len(v.citations) > 1 and label == "a report":
            label = f"{len(v.citations)} reports"
        return f"{label} ({when})" if when else label

    vals = conflict.values
    if conflict.kind == "update":
        new, older = vals[0], vals[1:]
        when = nice_date(next((d for d in new.dates if d), None))
        head = f"{new.value} as of {when} {marks(new)}" if when else f"{new.value} {marks(new)}"
        olds = "; ".join(
            f"{v.value} reported"
            + (
                f" on {nice_date(next((d for d in v.dates if d), None))}"
                if any(v.dates)
                else " earlier"
            )
            + f" {marks(v)}"
            for v in older
        )
        return f"{head} (updated; {olds})."
    if conflict.kind == "ambiguous":
        parts = []
        for v in vals:
            if v.role == "entity":
                parts.append(f"{v.entity}: {v.value} {marks(v)}")
            else:
                parts.append(f"disputed: {who(v)} says {v.value} {marks(v)}")
        return "The name may mean more than one thing. " + "; ".join(parts) + "."
    if vals[0].role == "supported":
        rest = "; ".join(f"{who(v)} says {v.value} {marks(v)}" for v in vals[1:])
        return f"{vals[0].value} {marks(vals[0])} (disputed: {rest})."
    return "Sources differ: " + "; ".join(f"{who(v)} says {v.value} {marks(v)}" for v in vals) + "."
