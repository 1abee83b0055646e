"""Answers shaped by time, the same for every backend: an empty window that names the nearest
coverage outside it, a dated timeline, and "which came first" from the articles' dates.

Every sentence quoted is an article sentence, cited; nothing here writes a claim of its own
beyond dates and the options the user named.
"""

from __future__ import annotations

import datetime as dt
import re

import numpy as np

from retrieval.answer import Answer, Citation, long_date
from retrieval.answering.kinds import is_prose
from retrieval.lexical import terms
from retrieval.retriever import Hit
from retrieval.search_index import SearchIndex
from retrieval.segments import ArticleRow
from retrieval.timeparse import Window, dates_mentioned, mentions_window

# A timeline keeps an in-window hit when this idf-weighted share of the topic's terms occurs
# in its title or chunk, or when the chunk's embedding is this close to the question's.
TOPIC_SHARE = 0.5
TOPIC_COSINE = 0.55
MAX_BULLETS = 8

_TOPIC_LEAD = re.compile(
    r"^\s*(?:and\s+)?(?:what(?:'s|\s+has|\s+have)?\s+(?:happened|been\s+happening|went\s+on"
    r"|gone\s+on)|what\s+(?:was|were|has\s+been|have\s+been)\s+reported"
    r"|what\s+did\s+the\s+news\s+say|(?:give\s+me\s+a\s+|show\s+me\s+a\s+)?timeline\s+(?:of|for)"
    r"|brief\s+me\s+on|(?:give\s+me\s+a\s+)?briefing\s+on|catch\s+me\s+up\s+on)"
    r"(?:\s+(?:with|in|at|about|to|on|of|for|from))?(?:\s+|\s*[?.!]*\s*$)",
    re.IGNORECASE,
)


def topic(question: str) -> str:
    """'What happened with the All Blacks?' -> 'the All Blacks'; '' for 'What happened?'
    (any news of the window is on it)."""
    return _TOPIC_LEAD.sub("", question).strip().rstrip("?.! ").strip()


def no_coverage(subject: str, expression: str) -> str:
    """ "No coverage of the All Blacks last week.", or "No coverage last week." for no topic."""
    about = f" of {subject}" if subject else ""
    when = f" {expression}" if expression else ""
    return f"No coverage{about}{when}."


def quotable(index: SearchIndex, hit: Hit, qvec: np.ndarray | None) -> list[tuple[float, int, str]]:
    """The chunk's sentences worth quoting (no heading, byline or caption), each with its
    cosine to the question (0 without one) and its row, in text order."""
    rows = index.sentences_of[hit.chunk.row]
    if not rows:
        return []
    cosines = index.sentence_vectors[rows] @ qvec if qvec is not None else [0.0] * len(rows)
    out = []
    for row, cos in zip(rows, cosines, strict=True):
        sent = index.sentences[row]
        text = hit.article.text[sent.start : sent.end].strip()
        if is_prose(text):
            out.append((float(cos), row, text))
    return out


def best_sentence(index: SearchIndex, hit: Hit, qvec: np.ndarray) -> tuple[str, float]:
    """The chunk's quotable sentence closest to the question, with its cosine."""
    found = quotable(index, hit, qvec)
    if not found:
        return hit.chunk.text.strip(), hit.dense or 0.0
    cos, _, text = max(found, key=lambda x: x[0])
    return text, cos


def _cite(index: SearchIndex, hit: Hit, qvec: np.ndarray, n: int) -> Citation:
    quote, cos = best_sentence(index, hit, qvec)
    return hit.citation(n, quote, cos)


def empty_window(
    question: str,
    phrase: str,
    nearest: Answer | None,
    window_start: dt.date | None,
    window_end: dt.date | None,
    no_coverage: str | None = None,
) -> Answer:
    """The fail-closed answer: nothing in the window, and the nearest coverage outside it.

    Args:
        question: The question (standalone).
        phrase: The window in words ("between 16 and 22 October 2023").
        nearest: The answer found without the window (cut at asked_on), or None.
        window_start, window_end: The window, to pick the cited article nearest to it.
        no_coverage: The opening sentence when not "No articles ... mention that".
    """
    opening = no_coverage or f"No articles {phrase} mention that."
    if nearest is None or nearest.abstained or not nearest.citations:
        return Answer(question=question, standalone_question=question, text=opening, abstained=True)

    def distance(c: Citation) -> int:
        if not c.date:
            return 10**6
        d = dt.date.fromisoformat(c.date[:10])
        if window_end and d > window_end:
            return (d - window_end).days
        if window_start and d < window_start:
            return (window_start - d).days
        return 0

    c = min(nearest.citations, key=distance)
    cited = c.model_copy(update={"n": 1})
    when = f"from {long_date(c.date)}" if c.date else "undated"
    text = f"{opening.rstrip('.')}; the nearest is {when}: {c.quote} [1]"
    return Answer(
        question=question,
        standalone_question=question,
        text=text,
        citations=[cited],
        abstained=True,
        confidence=nearest.confidence,
    )


_NAME = re.compile(r"\b[A-Z][\w'’-]*(?:\s+[A-Z][\w'’-]*)*")


def topic_terms(subject: str) -> tuple[set[str], list[tuple[set[str], str]]]:
    """The subject's terms, and its names with the term of their last word (news calls
    "Caroline Ellison" "Ellison" after the first mention)."""
    names = []
    for m in _NAME.finditer(subject):
        name_terms = terms(m.group())
        # One capitalised word that opens the text may be capitalised for that alone.
        if len(name_terms) >= 2 or (name_terms and subject[: m.start()].strip()):
            names.append((set(name_terms), name_terms[-1]))
    return set(terms(subject)), names


def on_topic(
    index: SearchIndex, hit: Hit, topic: tuple[set[str], list[tuple[set[str], str]]]
) -> bool:
    """Whether a hit's article is about the topic: a chunk embedding close to it, or most
    of the topic's idf weight in its title and text with one of its names (a name counted
    by its last word)."""
    wanted, names = topic
    if not wanted and not names:  # "What happened last week?": all of its news
        return True
    if (hit.dense or 0.0) >= TOPIC_COSINE:
        return True
    if not wanted:
        return False
    # The URL's slug names the story too, when the evidence text does not.
    a = hit.article
    found = set(terms(f"{a.title}\n{a.url or ''}\n{a.text}")) & wanted
    for name_terms, last in names:
        if last in found:
            found |= name_terms
    # A topic that names something ("the FTX trial") is about it only where it is named,
    # as a name is written (capitalised, or in the URL's slug): the other words ("trial")
    # are in other stories too, and "the All Blacks" are not "black and white binaries".
    if names and not any(last in _named(a, len(name) > 1) for name, last in names):
        return False
    total = sum(index.idf(t) for t in wanted) or 1.0
    return sum(index.idf(t) for t in found & wanted) / total >= TOPIC_SHARE


def _named(a: ArticleRow, by_url: bool) -> set[str]:
    """The terms of an article's capitalised words (title and text) and, with ``by_url`` (a
    name of two words or more: "eddy-cue"), of its URL; one word there may be any word
    ("black-and-white")."""
    capitalised = set(terms(" ".join(_CAPITALISED.findall(f"{a.title}\n{a.text}"))))
    return capitalised | set(terms(a.url or "")) if by_url else capitalised


_CAPITALISED = re.compile(r"\b[A-Z][\w'’-]*")


def about(hit: Hit, topic: tuple[set[str], list[tuple[set[str], str]]]) -> bool:
    """Whether a hit's article is about the topic rather than mentioning it in passing: it
    says one of the topic's names whole and its headline (or URL) says it too, or its text
    more than once (by the name's last word: "Hill" for "Tyreek Hill", but a story of Faith
    Hill is none); for a topic without a name, its headline holds most of the terms."""
    wanted, names = topic
    a = hit.article
    head = set(terms(f"{a.title}\n{a.url or ''}"))
    if not names:
        return 2 * len(head & wanted) >= len(wanted) > 0
    said = terms(a.text)
    whole = head | set(said)
    return any(name <= whole and (last in head or said.count(last) >= 2) for name, last in names)


def timeline(
    index: SearchIndex, question: str, qvec: np.ndarray, hits: list[Hit], subject: str
) -> Answer | None:
    """Dated bullets, one per story (article) per day, oldest first, each cited; None when
    no hit is on the subject."""
    topic = topic_terms(subject)
    best: dict[str, Hit] = {}
    for h in hits:
        if h.article.id not in best and on_topic(index, h, topic):
            best[h.article.id] = h
    if not best:
        return None
    chosen = sorted(best.values(), key=lambda h: h.rank)[:MAX_BULLETS]
    chosen.sort(key=lambda h: (h.article.date or "", h.rank))
    return _bullets(question, [(h, _cite(index, h, qvec, n)) for n, h in enumerate(chosen, 1)])


def _bullets(question: str, cited: list[tuple[Hit, Citation]]) -> Answer:
    """Dated bullets, one per cited hit in the order given: "- 4 Oct 2023: quote [1]"."""
    lines = [
        f"- {long_date(h.article.date) if h.article.date else 'undated'}: {c.quote} [{c.n}]"
        for h, c in cited
    ]
    return Answer(
        question=question,
        standalone_question=question,
        text="\n".join(lines),
        citations=[c for _, c in cited],
    )


def nearest_on_topic(
    index: SearchIndex,
    question: str,
    qvec: np.ndarray,
    hits: list[Hit],
    subject: str,
    window: Window,
) -> Answer | None:
    """The on-topic article dated nearest the window (outside it), as a one-citation answer
    for :func:`empty_window` to name; None when no hit is on the topic."""
    topic = topic_terms(subject)

    def distance(h: Hit) -> int:
        d = dt.date.fromisoformat((h.article.date or "9999-12-31")[:10])
        if window.until and d > window.until:
            return (d - window.until).days
        if window.since and d < window.since:
            return (window.since - d).days
        return 0

    dated = [h for h in hits if h.article.date and on_topic(index, h, topic)]
    if not dated:
        return None
    best = min(dated, key=lambda h: (distance(h), h.rank))
    citation = _cite(index, best, qvec, 1)
    return Answer(
        question=question,
        standalone_question=question,
        text=f"{citation.quote} [1]",
        citations=[citation],
    )


_LATEST_WORDS = frozenset(
    terms(
        "latest news new update updates headlines now current currently still so far recent "
        "recently newest"
    )
)
_OVERVIEW = re.compile(
    r"^\s*(?:what(?:'s|\s+is|\s+are)\s+(?:the\s+)?(?:latest|newest|most\s+recent)"
    r"(?:\s+news|\s+updates?)?\s+(?:on|about|from|in|with|for)\b"
    r"|any\s+(?:news|updates?)\s+(?:on|about)\b)",
    re.IGNORECASE,
)


def latest_topic(question: str) -> tuple[set[str], list[tuple[set[str], str]]]:
    """The topic of a "latest" question: its terms without the words that ask for news."""
    wanted, names = topic_terms(_OVERVIEW.sub("", question))
    return wanted - _LATEST_WORDS, names


_NEWS_REQUEST = re.compile(
    r"^\s*(?:what(?:'s|’s|\s+is|\s+are)\s+(?:the\s+)?(?:latest|newest|most\s+recent)"
    r"|what(?:'s|’s|\s+is)\s+new|any\s+(?:news|updates?)|(?:give\s+me\s+)?the\s+latest)\b",
    re.IGNORECASE,
)


def is_news_request(question: str) -> bool:
    """ "What's the latest?", "Any news?": the news itself, on no topic."""
    return bool(_NEWS_REQUEST.match(question)) and not any(latest_topic(question))


_REPORTED = re.compile(
    r"^\s*what\s+(?:was|is|has\s+been|had\s+been)\s+(?:said|reported|written|covered)"
    r"(?:\s+(?:lately|recently|today|this\s+week))?\s*[?.!]*\s*$",
    re.IGNORECASE,
)


def asks_what_was_reported(question: str) -> bool:
    """ "What was reported?" (an outlet's name taken out of "What did Polygon report?"):
    the news itself, on no topic."""
    return bool(_REPORTED.match(question))


def is_overview(question: str) -> bool:
    """ "What's the latest on X?": it asks for the newest report, not for one fact."""
    return bool(_OVERVIEW.match(question))


def newest_report(
    index: SearchIndex, question: str, qvec: np.ndarray, hits: list[Hit], sentences: int = 2
) -> Answer:
    """The newest article's sentences closest to the question, in article order, cited."""
    scored = [(cos, row, text, h) for h in hits for cos, row, text in quotable(index, h, qvec)]
    best: list[tuple[float, int, str, Hit]] = []
    for item in sorted(scored, key=lambda x: -x[0]):
        # Chunks overlap: one sentence may come twice, cut at another start.
        if len(best) < sentences and not any(item[2] in b[2] or b[2] in item[2] for b in best):
            best.append(item)
    chosen = sorted(best, key=lambda x: x[1])
    return _quoted(question, [(cos, text, h) for cos, _, text, h in chosen])


def openings(index: SearchIndex, question: str, stories: list[list[Hit]]) -> Answer:
    """Dated bullets, one per story in the order given, each its article's first quotable
    sentence among its hits' chunks, cited: the news when nothing narrower was asked."""
    cited = []
    for n, hits in enumerate(stories, start=1):
        first = min(hits, key=lambda h: h.chunk.idx)
        quotes = quotable(index, first, None)
        quote = quotes[0][2] if quotes else first.chunk.text.strip()
        cited.append((first, first.citation(n, quote, first.dense or 0.0)))
    return _bullets(question, cited)


def event_report(
    index: SearchIndex,
    question: str,
    qvec: np.ndarray,
    hits: list[Hit],
    window: Window,
    subject: str,
    sentences: int = 2,
) -> Answer | None:
    """What on-topic articles say happened in an event window: their sentences that name a
    date inside it (relative ones read against the article's date), closest to the
    question first, cited; None when no sentence does."""
    topic = topic_terms(subject)
    scored: list[tuple[float, str, Hit]] = []
    seen: set[str] = set()
    for h in hits:
        if not on_topic(index, h, topic):
            continue
        published = dt.date.fromisoformat(h.article.date[:10]) if h.article.date else None
        for cos, _, text in quotable(index, h, qvec):
            if text in seen or not mentions_window(dates_mentioned(text, published), window):
                continue
            seen.add(text)
            scored.append((cos, text, h))
    if not scored:
        return None
    scored.sort(key=lambda x: -x[0])
    return _quoted(question, scored[:sentences])


_OPTIONS = re.compile(
    r"\b(?:first|earlier|sooner)\b\s*[:,]?\s*(?P<a>.+?),?\s+or\s+(?P<b>.+?)\s*[?.!]*$",
    re.IGNORECASE,
)
_BEFORE = re.compile(
    r"^\s*(?:did|does|was|were)\s+(?P<a>.+?)\s+(?:come|happen|occur|take\s+place|precede"
    r"|predate)\s+(?P<dir>before|after|earlier\s+than|later\s+than)?\s*(?P<b>.+?)\s*[?.!]*$",
    re.IGNORECASE,
)


def order_options(question: str) -> tuple[str, str, str | None] | None:
    """The two events a "which came first" question names, and for a yes/no question
    ("Did A come before B?") the direction asked; None when they cannot be told apart."""
    m = _BEFORE.match(question)
    if m:
        direction = (m["dir"] or "before").split()[0].lower()
        after = direction in ("after", "later")
        return m["a"].strip(), m["b"].strip(), "after" if after else "before"
    m = _OPTIONS.search(question)
    if m:
        return m["a"].strip(), m["b"].strip(), None
    return None


def order(
    index: SearchIndex,
    question: str,
    options: tuple[str, str, str | None],
    found: list[tuple[Hit, np.ndarray] | None],
) -> Answer | None:
    """Which of two events came first, from the dates of the articles reporting them.

    Args:
        found: For each option, its best hit and the option's embedding (None: not found).
    """
    a, b, direction = options
    if any(f is None or not f[0].article.date for f in found):
        return None
    (ha, va), (hb, vb) = found  # type: ignore[misc]
    ca, cb = _cite(index, ha, va, 1), _cite(index, hb, vb, 2)
    da, db = (ha.article.date or "")[:10], (hb.article.date or "")[:10]
    if da == db:
        text = f"Both were reported on {long_date(da)}: {ca.quote} [1] {cb.quote} [2]"
        short = None
    elif direction is None:
        first = a if da < db else b
        text = (
            f"{first[:1].upper()}{first[1:]} came first. {a[:1].upper()}{a[1:]}: reported "
            f"{long_date(da)} [1]; {b}: reported {long_date(db)} [2]."
        )
        short = first
    else:
        yes = (da < db) if direction == "before" else (da > db)
        short = "Yes" if yes else "No"
        text = (
            f"{short}. {a[:1].upper()}{a[1:]}: reported {long_date(da)} [1]; {b}: reported "
            f"{long_date(db)} [2]."
        )
    return Answer(
        question=question,
        standalone_question=question,
        text=text,
        short_answer=short,
        citations=[ca, cb],
    )


def _quoted(question: str, picks: list[tuple[float, str, Hit]]) -> Answer:
    """An answer quoting each picked sentence with its citation; sentences of one chunk
    share its number."""
    citations: list[Citation] = []
    numbers: dict[int, int] = {}
    parts = []
    for cos, text, h in picks:
        if h.chunk.row not in numbers:
            numbers[h.chunk.row] = len(citations) + 1
            citations.append(h.citation(numbers[h.chunk.row], text, cos))
        parts.append(f"{text} [{numbers[h.chunk.row]}]")
    return Answer(
        question=question, standalone_question=question, text=" ".join(parts), citations=citations
    )
