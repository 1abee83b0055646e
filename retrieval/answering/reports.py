"""The reports that may disagree: each article's best evidence close to the best answer and
the value it gives (copies of one story numbered as one story), grouped by value."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from retrieval.answering.classes import WordVectors, class_member, class_noun
from retrieval.answering.entities import (
    Subject,
    name_share,
    question_name,
    same_subject,
    same_thing,
    subject,
    subject_of,
)
from retrieval.answering.slots import changed_span, same_value, slot_choice
from retrieval.lexical import terms
from retrieval.spans import QuestionType, question_type

if TYPE_CHECKING:
    from retrieval.answering.extractive import Candidate

# Articles whose best sentence scores this close to the best answer's are its rivals: each
# may give another value.
MARGIN = 5.0
MAX_ARTICLES = 5
# An article about another thing of the asked name is a rival down to this far below.
ENTITY_MARGIN = 5.0
# An article's value may come from its sentences scoring this close to its best one.
VALUE_MARGIN = 2.5
# ... or from a sentence this far below that gives it next to what was asked.
ANCHOR_MARGIN = 5.0
# Reports this far below the best still count as support for a value the rivals give
# (never as a value of their own): more independent reports, more weight.
SUPPORT_MARGIN = 5.0
MAX_SUPPORT = 10
# Two texts sharing this share of their word trigrams are copies of one story (a rewrite,
# a syndicated copy): they count once, and one rewritten to give another value or another
# qualifier is a rival report, never a second thing of the same name.
COPY = 0.5
_QUANTITY = re.compile(
    r"\b(?:population|number of|total|amount|cost|price|budget|revenue|attendance|capacity|"
    r"death toll|casualties|height|length|area|enrollment|enrolment)\b",
    re.IGNORECASE,
)


_DATE = re.compile(r"\b(?:date|year)\b", re.IGNORECASE)
# A web page's navigation and tool links, and lists of names with years: text no report
# states a value in ("Jump to content Main menu ... Born 1975").
_NAVIGATION = re.compile(
    r"jump to content|main menu|move to sidebar|toggle the table of contents|edit links|"
    r"add links|view history|what links here|personal tools|create account|log in|"
    r"permanent link|page information|cite this page|printable version|external links|"
    r"authority control|retrieved from|wikidata item|\bISNI\b|\bVIAF\b|\bWorldCat\b",
    re.IGNORECASE,
)
_LISTED_YEAR = re.compile(r"\(\s*\d{4}\s*\)")
# A value goes on as far as its own parts do: a place's region and country ("Miami, Florida,
# USA"), a year's span ("1810-11", "1861–1862").
_PLACE_PARTS = re.compile(r"(?:,[ \t]+[A-Z][\w.]*(?:[ \t]+[A-Z][\w.]*)?){1,2}")
_YEAR_SPAN = re.compile(r"[-–](?:\d{4}|\d{2})\b")
# A score or a tally: "by a vote of 7-2", "won 23-20".
_TALLY = re.compile(r"[-–]\d{1,3}\b(?![-–.,]\d)")
# Nationalities: "American singer Michael Jackson" names the singer, not "American".
_DEMONYM = re.compile(
    r"(?:American|British|English|Scottish|Welsh|Irish|Canadian|Australian|French|German|"
    r"Italian|Spanish|Portuguese|Dutch|Belgian|Swiss|Austrian|Swedish|Norwegian|Danish|"
    r"Finnish|Icelandic|Polish|Czech|Slovak|Hungarian|Romanian|Bulgarian|Serbian|Croatian|"
    r"Greek|Turkish|Russian|Ukrainian|Israeli|Arab|Egyptian|Iranian|Indian|Pakistani|"
    r"Chinese|Japanese|Korean|Thai|Vietnamese|Filipino|Indonesian|Malaysian|Brazilian|"
    r"Argentine|Mexican|Cuban|Chilean|Colombian|Peruvian|Nigerian|Kenyan|South African|"
    r"African|European|Asian|Latin)"
)


@dataclass
class Report:
    """One article's best evidence and the value it gives."""

    cand: Candidate  # the sentence quoted: the one giving the value, else the best
    value: str | None
    subject: Subject | None
    score: float = 0.0  # the article's best sentence score (how well it matches)
    story: int = -1  # reports with one story number are copies of one story
    guessed: bool = False  # the value is the one nearest a question word, among several
    # The value is the whole sentence: one version of a text that another words otherwise.
    whole: bool = False
    # A class-noun question's value: the sentence's word nearest the class (see classes.py).
    member: str | None = None

    @property
    def ballot(self) -> str | None:
        """The value this report votes for: its plainly given value, else its class word."""
        plain = self.value is not None and not self.guessed and not self.whole
        return self.value if plain else self.member

    @property
    def date(self) -> str:
        return self.cand.hit.article.date or ""


@dataclass
class Group:
    """Reports giving one value."""

    value: str
    reports: list[Report] = field(default_factory=list)
    # Further reports (below the rivals) that give the value too: support, not citations.
    backers: list[Report] = field(default_factory=list)
    # Ambiguous names: the thing this value answers for, when its reports name one.
    thing: str | None = None

    @property
    def support(self) -> int:
        """Independent reports giving the value: copies of one story count once."""
        return len(self.stories)

    @property
    def stories(self) -> set[int]:
        """The stories giving the value (a story's copies share its number)."""
        return {r.story for r in (*self.reports, *self.backers)}

    @property
    def voters(self) -> int:
        """Independent reports giving the value: copies of one story and sections of one
        page (one title from one source of one day) count once."""
        reports = (*self.reports, *self.backers)
        return min(len(self.stories), len({_page(r.cand) or r.story for r in reports}))

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
    page does not disagree with itself (its sections answer different parts of a topic).
    A copy of a section already kept is no other section but another version of that text
    (a rewrite, a correction): a report of its own."""
    seen: dict[tuple[str, str, str], list[str]] = {}
    kept = []
    for m in found:
        page = _page(m[0])
        text = m[0].hit.chunk.text
        sections = seen.get(page, []) if page is not None else []
        if not sections or any(copies(text, s) for s in sections):
            kept.append(m)
        if page is not None:
            seen.setdefault(page, []).append(text)
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


def _stories(reports: list[Report]) -> None:
    """Number the reports by story: copies of one another share a number."""
    texts = [r.cand.hit.chunk.text for r in reports]
    for i, r in enumerate(reports):
        r.story = i
        for j in range(i):
            if copies(texts[i], texts[j]):
                r.story = reports[j].story
                break


def attribute_terms(question: str, name: str | None) -> set[str]:
    """What a question asks of the thing it names: its lower-case words' terms besides the
    name's ("popul" of "What is the population of Rush Township, Ohio?"; capitalised words
    name or qualify the thing). Empty when the question names nothing."""
    if not name:
        return set()
    words = re.findall(r"(?<![\w'])[a-z][\w'-]*", question)
    return set(terms(" ".join(words))) - set(terms(name))


def boilerplate(text: str) -> bool:
    """Whether a sentence is a page's navigation ("Jump to content Main menu ...") or a list
    of names with years: no report states a value there."""
    return len(_NAVIGATION.findall(text)) >= 2 or len(_LISTED_YEAR.findall(text)) >= 4


def _full(value: str, text: str, qtype: QuestionType) -> str:
    """The value with the parts that follow it in ``text``: a place's region and country,
    a year's span, a score's other side."""
    if qtype == "where":
        parts = _PLACE_PARTS
    elif qtype == "when" and re.fullmatch(r"\d{4}", value):
        parts = _YEAR_SPAN
    elif re.fullmatch(r"\d{1,3}", value):
        parts = _TALLY
    else:
        return value
    for m in re.finditer(re.escape(value), text):
        more = parts.match(text, m.end())
        if more:
            return value + more.group().rstrip(".")
    return value


@dataclass
class Slot:
    """What a question asks: the kind of value, the thing it names, and for a class-noun
    question the class and the word vectors that find its member in a sentence."""

    question: str
    qtype: QuestionType
    name: str | None
    klass: str | None = None
    vectors: WordVectors | None = None


def _value(c: Candidate, slot: Slot) -> tuple[str | None, bool]:
    """The value a sentence gives (whole) and whether it was picked by nearness; None for
    a value that is the asked name itself ("Indera Mahkota" for "Where is Mahkota?")."""
    question, qtype, name = slot.question, slot.qtype, slot.name
    value, guessed = slot_choice(c.text, question, qtype)
    if value is None:
        return None, False
    if name and _words(name) <= _words(value):
        return None, False
    if qtype == "who" and _DEMONYM.fullmatch(value):
        return None, False
    return _full(value, c.text, qtype), guessed


def _anchored(mine: list[Candidate], slot: Slot, asked: set[str]) -> tuple[Candidate, str] | None:
    """The article's first sentence (down to ANCHOR_MARGIN below its best) that gives a
    value plainly next to what was asked ("Its population was 924"), if any: a better
    report of the article's value than a number in its best-matching sentence."""
    if not asked:
        return None
    for c in mine:
        if c.score < mine[0].score - ANCHOR_MARGIN:
            break
        if asked & set(terms(c.text)):
            # Several values: the one nearest a question word (the asked one, here).
            value, _ = _value(c, slot)
            if value is not None:
                return c, value
    return None


def _report(mine: list[Candidate], slot: Slot) -> Report:
    """An article's report: the value its best sentence giving one gives (among those
    scoring close to its best: the answer is often the sentence after the match), unless
    a sentence further down gives one next to what was asked."""
    best = mine[0]
    hit = best.hit
    context = f"{hit.article.title or ''}\n{hit.article.text[:300]}\n{hit.chunk.text}"
    name = slot.name
    about = subject(context, hit.chunk.text, name)
    anchored = _anchored(mine, slot, attribute_terms(slot.question, name))
    if anchored is not None:
        return Report(anchored[0], anchored[1], _own(anchored[0], about, name), best.score)
    for c in mine:
        if c.score < best.score - VALUE_MARGIN:
            break
        value, guessed = _value(c, slot)
        if value is not None:
            return Report(c, value, _own(c, about, name), best.score, guessed=guessed)
    member = None
    if slot.klass and slot.vectors is not None:
        member = class_member(best.text, slot.klass, slot.question, slot.vectors)
    return Report(best, None, _own(best, about, name), best.score, member=member)


def _own(c: Candidate, about: Subject | None, name: str | None) -> Subject | None:
    """The thing the quoted sentence itself names ("- Ardhangini (2017 TV series), a ...
    series" on a page about another Ardhangini), else the article's."""
    own = subject_of(c.text, name)
    if own is None or (about is not None and same_subject(own, about.name)):
        return about
    return Subject(own)


def _words(text: str) -> set[str]:
    return set(re.findall(r"\w+", text.lower()))


def _holds_name(r: Report, name: str | None) -> bool:
    """Whether a report's article names the asked thing (all of its name's terms): a
    page on "Lincoln County High School" backs no answer about Franklin County's."""
    a = r.cand.hit.article
    return not name or name_share(name, f"{a.title or ''} {a.text}") == 1.0


def _names_part(r: Report, name: str | None) -> bool:
    """Whether a report's article says one of the asked name's terms at least."""
    a = r.cand.hit.article
    return not name or name_share(name, f"{a.title or ''} {a.text}") > 0


def gather(slot: Slot, cands: Sequence[Candidate]) -> tuple[list[Report], list[Report]]:
    """The rival reports (close to the best, or further down when about another thing of the
    asked name) and the backers (further reports that may support a rival's value).
    ``cands`` hold no navigation text: the answerer drops it first (see :func:`boilerplate`)."""
    name = slot.name
    near = _one_per_page(_by_article(cands, ENTITY_MARGIN, MAX_ARTICLES))
    rivals = [_report(m, slot) for m in near]
    top = rivals[0].score if rivals else 0.0
    rivals = [
        r
        for r in rivals
        if r.score >= top - MARGIN
        or (r.subject and not any(same_thing(r.subject, o.subject) for o in rivals if o is not r))
    ]
    # Where articles name the asked thing, one that says no word of its name is about
    # something else that merely shares the question's other words ("What happened to
    # Nike's revenue?" is not answered by another company's revenue); one that says part of
    # it may be about another thing of that name ("Kaliganj" for "Kaliganj Upazila").
    if any(_holds_name(r, name) for r in rivals):
        rivals = [r for r in rivals if _names_part(r, name)]
    seen = {r.cand.hit.article.id for r in rivals}
    backers = [
        _report(m, slot)
        for m in _by_article(cands, SUPPORT_MARGIN, MAX_SUPPORT)
        if m[0].hit.article.id not in seen
    ]
    backers = [b for b in backers if _holds_name(b, name)]
    _stories([*rivals, *backers])
    return rivals, backers


def slot_type(question: str) -> QuestionType:
    """The kind of value a question asks for: a question about a quantity ("What is the
    population of Katwa?") asks for a number, one about a date ("What is the release date
    of …?") for a date, however it is worded."""
    qtype = question_type(question)
    if qtype != "other":
        return qtype
    if _QUANTITY.search(question):
        return "how_many"
    return "when" if _DATE.search(question) else qtype


def _versions(rivals: list[Report]) -> None:
    """Copies of one story whose best sentences are two wordings of one sentence, with no
    typed value to compare: each sentence is its report's value (one text in two versions
    saying different things)."""
    for i, a in enumerate(rivals):
        for b in rivals[i + 1 :]:
            untyped = a.value is None and b.value is None
            if untyped and a.story == b.story and _reworded(a.cand.text, b.cand.text):
                for r in (a, b):
                    r.value, r.whole = r.cand.text, True


def _reworded(a: str, b: str) -> bool:
    """Whether two sentences are one sentence worded otherwise: their content terms differ,
    but most of the shorter one's are in the other (not two sentences of one story)."""
    ta, tb = set(terms(a)), set(terms(b))
    return bool(ta) and bool(tb) and ta != tb and len(ta & tb) >= COPY * min(len(ta), len(tb))


def find_groups(
    question: str, cands: Sequence[Candidate], vectors: WordVectors | None = None
) -> tuple[list[Group], list[Group]]:
    """The values the best evidence of each article gives, grouped when they agree, each
    with the further reports that back it; and the vote: every report's value, grouped (see
    :func:`_ballots`). With ``vectors``, a class-noun question's reports vote for the word
    of their sentence nearest the class (see :mod:`classes`)."""
    qtype = slot_type(question)
    klass = class_noun(question) if qtype == "other" else None
    slot = Slot(question, qtype, question_name(question), klass, vectors)
    rivals, backers = gather(slot, cands)
    if not rivals:
        return [], []
    # Near-identical sentences that differ in one stretch give that stretch as the value
    # (a rewritten or corrected copy), whatever the question type.
    for i, a in enumerate(rivals):
        for b in rivals[i + 1 :]:
            diff = changed_span(a.cand.text, b.cand.text)
            # Typed values that differ already are the cleaner reading of the change.
            if diff and (a.value is None or b.value is None or same_value(a.value, b.value, qtype)):
                a.value, b.value = diff
    _versions(rivals)
    groups: list[Group] = []
    for r in rivals:
        value = r.value
        if value is None:
            # Without a value a report can still tell one of several named things apart.
            if not r.subject:
                continue
            value = r.cand.text
        for g in groups:
            if r.value is not None and not r.whole and same_value(g.value, value, qtype):
                g.reports.append(r)
                break
        else:
            groups.append(Group(value, [r]))
    for b in backers:
        for g in groups:
            typed = b.value is not None and g.value != g.reports[0].cand.text
            if typed and same_value(g.value, b.value or "", qtype):
                g.backers.append(b)
                break
    seen = {r.cand.hit.article.id for r in (*rivals, *backers)}
    further = [
        _report(m, slot)
        for m in _by_article(cands, float("inf"), MAX_SUPPORT)
        if m[0].hit.article.id not in seen
    ]
    _stories([*rivals, *backers, *further])
    return groups, _ballots([*rivals, *backers, *further], slot)


def _ballots(reports: list[Report], slot: Slot) -> list[Group]:
    """Every retrieved report naming the asked thing grouped by the value it votes for (see
    :attr:`Report.ballot`), the best report's group first. A question that names no thing
    holds no vote: nothing shows its reports to be about one thing, and unrelated articles
    would outvote the best one."""
    if not slot.name:
        return []
    votes: list[Group] = []
    for r in reports:
        ballot = r.ballot
        if ballot is None or not _holds_name(r, slot.name):
            continue
        for g in votes:
            if same_value(g.value, ballot, slot.qtype):
                g.reports.append(r)
                break
        else:
            votes.append(Group(ballot, [r]))
    return votes
