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
from retrieval.answering.slots import changed_span, same_value
from retrieval.answering.spans import NAME, QuestionType, question_type, short_answer

if TYPE_CHECKING:
    from retrieval.answering.extractive import Candidate

# Articles whose best sentence scores this close to the best answer's are its rivals.
MARGIN = 3.0
MAX_ARTICLES = 5
_UPDATE_WORDS = re.compile(
    r"\b(rose|risen|climbed|increased|jumped|fell|dropped|revised|updated|corrected|"
    r"postponed|delayed|rescheduled|moved|now|latest|new figure|has since)\b",
    re.IGNORECASE,
)
_QUOTED = re.compile(r"[\"“]([^\"”]{2,80})[\"”]")
_WH = {"when", "what", "who", "whom", "whose", "where", "which", "how", "why", "is", "was"}


@dataclass
class _Report:
    """One article's best evidence and the value it gives."""

    cand: Candidate
    value: str | None
    subject: str | None


@dataclass
class _Group:
    """Reports giving one value."""

    value: str
    reports: list[_Report] = field(default_factory=list)

    @property
    def support(self) -> int:
        # Copies of one story count once: reports with the same sentence are one.
        return len({" ".join(r.cand.text.lower().split()) for r in self.reports})

    @property
    def subjects(self) -> set[str]:
        return {r.subject for r in self.reports if r.subject}

    def newest(self) -> str:
        return max((r.cand.hit.article.date or "" for r in self.reports), default="")


def question_name(question: str) -> str | None:
    """The name the question asks about: a quoted title, else its longest capitalised
    name that is not the question word."""
    quoted = _QUOTED.search(question)
    if quoted:
        return quoted.group(1).strip()
    names = []
    for m in NAME.finditer(question):
        words = m.group().split()
        while words and words[0].lower() in _WH:
            words.pop(0)
        if words:
            names.append(" ".join(words))
    return max(names, key=len) if names else None


def subject_of(text: str, name: str | None) -> str | None:
    """Which of several things called ``name`` a text is about, when it says so: "Broken
    Bow, Nebraska", "Feel the Fire (Jermaine Jackson album)", "Montagu Stopford"."""
    if not name:
        return None
    tokens = name.split()
    for probe in (name, tokens[-1]) if len(tokens) > 1 else (name,):
        for m in re.finditer(re.escape(probe), text, re.IGNORECASE):
            after = text[m.end() : m.end() + 80]
            paren = re.match(r"\s*\(([^()]{2,60})\)", after)
            if paren:
                return f"{text[m.start() : m.end()]} ({paren.group(1).strip()})"
            place = re.match(r",[ \t]+([A-Z][a-z]+(?:[ \t]+[A-Z][a-z]+)?)\b", after)
            if place and probe == name:
                return f"{text[m.start() : m.end()]}, {place.group(1)}"
            if probe != name:
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


def _rivals(cands: Sequence[Candidate]) -> list[Candidate]:
    best: dict[str, Candidate] = {}
    top = cands[0].score
    for c in cands:
        if c.score < top - MARGIN:
            break
        best.setdefault(c.hit.article.id, c)
        if len(best) >= MAX_ARTICLES:
            break
    return list(best.values())


def find_groups(question: str, cands: Sequence[Candidate]) -> tuple[QuestionType, list[_Group]]:
    """The values the best evidence of each article gives, grouped when they agree."""
    qtype = question_type(question)
    name = question_name(question)
    reports = []
    for c in _rivals(cands):
        context = f"{c.hit.article.title or ''}\n{c.hit.article.text[:300]}\n{c.hit.chunk.text}"
        value = short_answer(c.text, question, qtype)
        reports.append(_Report(c, value, subject_of(context, name)))
    if len(reports) < 2:
        return qtype, []
    # Near-identical sentences that differ in one stretch give that stretch as the value
    # (a rewritten or corrected copy), whatever the question type.
    for i, a in enumerate(reports):
        for b in reports[i + 1 :]:
            diff = changed_span(a.cand.text, b.cand.text)
            # Typed values already found are the cleaner reading of the change.
            if diff and (a.value is None or b.value is None):
                a.value, b.value = diff
    groups: list[_Group] = []
    for r in reports:
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
    return qtype, groups


def detect(question: str, cands: Sequence[Candidate]) -> tuple[str, list[_Group]] | None:
    """The kind of conflict and its groups (leading first), or None when they agree."""
    _, groups = find_groups(question, cands)
    if len(groups) < 2:
        return None
    subjects: list[str] = []
    for g in groups:
        for s in sorted(g.subjects):
            if not any(same_subject(s, t) for t in subjects):
                subjects.append(s)
    if len(subjects) >= 2:
        return "ambiguous", groups
    # Values that are whole sentences need two named things; otherwise they are no conflict.
    if any(g.value == r.cand.text for g in groups for r in g.reports):
        return None
    dated = [g for g in groups if g.newest()]
    if len(dated) == len(groups) and len({g.newest() for g in groups}) == len(groups):
        return "update", sorted(groups, key=lambda g: g.newest(), reverse=True)
    worded = [g for g in groups if any(_UPDATE_WORDS.search(r.cand.text) for r in g.reports)]
    if len(worded) == 1:
        return "update", [worded[0], *[g for g in groups if g is not worded[0]]]
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
        role = "entity" if g.subjects else "disputed"
        # Within one named thing, a value fewer reports give is disputed.
        for other in groups:
            shared = other is not g and g.subjects & other.subjects
            if shared and other.support >= g.support:
                role = "disputed"
    else:
        top = groups[0].support
        lone = top >= 2 and all(o.support < top for o in groups[1:])
        role = "supported" if lone and g is groups[0] else "disputed"
    entity = sorted(g.subjects)[0] if g.subjects else None
    return ConflictValue(
        value=g.value,
        role=role,  # type: ignore[arg-type]
        entity=entity if kind == "ambiguous" else None,
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
