"""Read a question's time expression as a window of publication dates, deterministically.

Regex rules cover the common forms in well under a millisecond; dateparser is only asked
about a leftover date-like token none of them read (numeric dates such as 19.10.2021).
"""

from __future__ import annotations

import datetime as dt
import itertools
import re
from dataclasses import dataclass
from typing import Literal

from retrieval.timeparse.periods import Window, clip
from retrieval.timeparse.points import WEEKDAY_FULL_RE
from retrieval.timeparse.rules import RULES, rx

Reading = Literal["publication", "event"]

# An absolute period that ended this long before the question is history, not news coverage.
EVENT_AGE = dt.timedelta(days=365)


@dataclass(frozen=True)
class TimeIntent:
    """What a question says about time.

    Attributes:
        window: Inclusive dates the time expression denotes, never ending after asked_on;
            None when the question names no period.
        reading: ``"publication"``: the window filters articles by publication date.
            ``"event"``: the window names when something happened (a period long before
            asked_on, or "what happened in ..."): articles published in it *or* mentioning
            a date in it count. None without a window.
        expression: The time expression as written, or None.
        latest: The question wants the newest report ("latest", "now", "still", "so far");
            with "as of X", the newest one up to X.
        order: The question asks which of two things came first.
        future: The expression only names days after asked_on (no window is given).
        text: The question with the time expression taken out, for retrieval.
    """

    window: Window | None
    reading: Reading | None
    expression: str | None
    latest: bool
    order: bool
    text: str
    future: bool = False


@dataclass(frozen=True)
class _Found:
    start: int
    end: int
    window: Window | None  # None: the expression names only future days
    relative: bool


_LATEST = rx(
    r"\b(?:latest|now|nowadays|current(?:ly)?|still|so\s+far|most\s+recent(?:ly)?|newest"
    r"|recent(?:ly)?|up\s+to\s+date|as\s+it\s+stands|at\s+(?:the|this)\s+moment|to\s+date"
    r"|any\s+(?:more|longer)|yet|as\s+(?:of|at)|what'?s\s+new)\b"
)
_ORDER = rx(
    r"\b(?:which|what|who)\b[^?]{0,80}?\b(?:came|happened|occurred|was|were|did|took\s+place)"
    r"\s+(?:first|earlier|sooner|later|last)\b"
    r"|\b(?:did|does|was|were|do)\b[^?]{1,160}?\b(?:come|happen|occur|take\s+place|precede"
    r"|follow)\s+(?:before|after|earlier|later)\b"
    r"|\bin\s+(?:what|which)\s+order\b|\bbefore\s+or\s+after\b|\b(?:came|happened)\s+first\b"
    # "Which was announced first, A or B?": two options and the word for first.
    r"|\b(?:which|what)\b[^?]{0,80}?\b(?:first|earlier|sooner)\b[^?]*\bor\b"
    r"|\b(?:did|does|was|were)\b[^?]{1,160}?\b(?:precede|predate|postdate)\b"
)
_COVERAGE = rx(
    r"\b(?:report\w*|say|says|said|saying|told|tell|wr[io]te|writes?|written|publish\w*"
    r"|according\s+to|news|articles?|stor(?:y|ies)|column\w*|preview\w*|headlines?|coverage"
    r"|covered|interview\w*|press)\b"
)
_HAPPENED = rx(r"\b(?:happen\w*|took\s+place|take\s+place|occur\w*)\b")
# dateparser reads "the 5th" as May, so only numeric dates go to it.
_FALLBACK_TRIGGER = rx(r"\b(?:on\s+)?(?P<token>\d{1,2}[./]\d{1,2}[./](?:\d{4}|\d{2}))\b")


_RELATIVE_POINT = rx(rf"\b(?:{WEEKDAY_FULL_RE}|today|yesterday)\b")


def _find(question: str, asked_on: dt.date) -> list[_Found]:
    """Every time expression, each span claimed by the first rule that reads it."""
    found: list[_Found] = []
    taken: list[tuple[int, int]] = []
    for pattern, handler, relative in RULES:
        for m in pattern.finditer(question):
            start, end = m.span()
            if start == end or any(start < e and s < end for s, e in taken):
                continue
            window = handler(m, asked_on)
            if window is None:
                continue
            taken.append((start, end))
            # "since Monday", "until yesterday": a point relative to asked_on inside an
            # absolute rule still makes the window relative.
            relative = relative or bool(_RELATIVE_POINT.search(m[0]))
            found.append(_Found(start, end, window, relative))
    return found


def _fallback(question: str, asked_on: dt.date) -> list[_Found]:
    """Ask dateparser about a numeric date none of the rules read (imported only then).

    Its default English order is month first: 10/11/2021 is 11 October.
    """
    from dateparser.date import DateDataParser

    parser = DateDataParser(
        languages=["en"],
        settings={
            "RELATIVE_BASE": dt.datetime.combine(asked_on, dt.time()),
            "PREFER_DATES_FROM": "past",
            "RETURN_TIME_AS_PERIOD": True,
        },
    )
    # The first date read is the one used; a few tries bound the cost of a hostile question.
    for m in itertools.islice(_FALLBACK_TRIGGER.finditer(question), 3):
        data = parser.get_date_data(m["token"])
        if data.date_obj is not None:
            day = data.date_obj.date()
            return [_Found(m.start(), m.end(), Window(day, day), False)]
    return []


_DANGLING = re.compile(
    r"\b(?:from|since|in|on|at|during|of|for|until|till|before|after|by|over)\s*$", re.IGNORECASE
)


def strip_span(question: str, start: int, end: int) -> str:
    """The question without question[start:end], with the punctuation around it tidied."""
    before, after = question[:start], question[end:]
    if re.match(r"\s*(?:[?.!,;:]|$)", after):  # "news from [last Thursday]?" drops "from"
        before = _DANGLING.sub("", before)
    text = before + " " + after
    text = re.sub(r"\s+([,.?!;:])", r"\1", re.sub(r"\s+", " ", text)).strip()
    text = re.sub(r"^[,;:]\s*", "", text)
    text = re.sub(r",\s*([?.!])$", r"\1", text)
    return text[:1].upper() + text[1:] if text[:1].islower() and question[:1].isupper() else text


def _reading(question: str, found: _Found, window: Window, asked_on: dt.date) -> Reading:
    """Publication dates for periods relative to asked_on, "as of"/"before" bounds and recent
    periods of coverage; event dates for periods long past and "what happened in ...".

    The event reading only widens what matches (articles that mention a date in the window
    count too), so it is the choice whenever the period is history.
    """
    if found.relative or window.since is None:
        return "publication"
    if window.until is not None and window.until < asked_on - EVENT_AGE:
        return "event"
    if _COVERAGE.search(question):
        return "publication"
    return "event" if _HAPPENED.search(question) else "publication"


def resolve(question: str, asked_on: dt.date) -> TimeIntent:
    """Read the time expression of a question asked on asked_on.

    Args:
        question: The user's question as typed.
        asked_on: The day it is asked; every window ends on or before it.

    Returns:
        The window (or None), its reading, and the latest/order flags.
    """
    found = _find(question, asked_on) or (
        _fallback(question, asked_on) if _FALLBACK_TRIGGER.search(question) else []
    )
    latest = bool(_LATEST.search(question))
    order = bool(_ORDER.search(question))
    if not found:
        return TimeIntent(None, None, None, latest, order, question.strip())
    # A period relative to asked_on says which coverage is meant; otherwise the first one.
    main = min(found, key=lambda f: (not f.relative, f.start))
    expression = question[main.start : main.end].strip()
    text = strip_span(question, main.start, main.end)
    window = clip(main.window, asked_on) if main.window else None
    if window is None:
        return TimeIntent(None, None, expression, latest, order, text, future=True)
    return TimeIntent(
        window, _reading(question, main, window, asked_on), expression, latest, order, text
    )
