"""Read a question's time expression as a window of publication dates, deterministically.

Regex rules cover the common forms in well under a millisecond; dateparser is only asked
about a leftover date-like token none of them read (numeric dates such as 19.10.2021).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from retrieval.timeparse import points
from retrieval.timeparse.periods import (
    DAY_RE,
    MONTH_RE,
    NUMBER_RE,
    ONE_DAY,
    YEAR_RE,
    Window,
    add_months,
    clip,
    day_number,
    monday,
    month_end,
    month_number,
    month_window,
    number,
    previous_weekday,
    quarter_window,
    week_window,
    weekend_before,
    year_window,
)
from retrieval.timeparse.points import POINT_RE, WEEKDAY_FULL_RE

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


Handler = Callable[[re.Match[str], dt.date], Window | None]

_UNIT = r"(?P<unit>days?|weeks?|fortnights?|months?|years?|hours?)"
_RANGE_SEP = r"\s*(?:and|to|until|till|through|thru|-|–|—)\s*"


def _days_back(n: int, unit: str, d: dt.date) -> dt.date:
    """d minus n units; months and years keep the day of month where it exists."""
    unit = unit.rstrip("s")
    if unit == "hour":
        return d - dt.timedelta(days=-(-n // 24))
    if unit in ("day", "week", "fortnight"):
        return d - dt.timedelta(days=n * {"day": 1, "week": 7, "fortnight": 14}[unit])
    year, month = add_months(d.year, d.month, -n * (12 if unit == "year" else 1))
    return dt.date(year, month, min(d.day, month_end(year, month).day))


def _past(m: re.Match[str], d: dt.date) -> Window:
    """in the past N days = D-N .. D."""
    count = m["n"] or m["n2"]
    n = number(count) if count else 1
    return Window(_days_back(n, m["unit"], d), d)


def _ago(m: re.Match[str], d: dt.date) -> Window:
    """N days ago is that day; N weeks/months/years ago is that calendar week/month/year."""
    n, unit = number(m["n"]), m["unit"].rstrip("s")
    day = _days_back(n, unit, d)
    if unit in ("week", "fortnight"):
        return week_window(day)
    if unit == "month":
        return month_window(day.year, day.month)
    if unit == "year":
        return year_window(day.year)
    return Window(day, day)


def _single(days: int) -> Handler:
    return lambda m, d: Window(d - dt.timedelta(days=days), d - dt.timedelta(days=days))


def _this_week(m: re.Match[str], d: dt.date) -> Window:
    return Window(monday(d), d)


def _last_week(m: re.Match[str], d: dt.date) -> Window:
    return week_window(monday(d) - ONE_DAY)


def _week_before_last(m: re.Match[str], d: dt.date) -> Window:
    return week_window(monday(d) - dt.timedelta(days=8))


def _this_weekend(m: re.Match[str], d: dt.date) -> Window:
    """Asked on a Saturday or Sunday, this weekend is the current one; else the last one."""
    if d.weekday() >= 5:
        return Window(d - dt.timedelta(days=d.weekday() - 5), d)
    return weekend_before(d)


def _this_month(m: re.Match[str], d: dt.date) -> Window:
    return Window(d.replace(day=1), d)


def _last_month(m: re.Match[str], d: dt.date) -> Window:
    return month_window(*add_months(d.year, d.month, -1))


def _this_year(m: re.Match[str], d: dt.date) -> Window:
    return Window(dt.date(d.year, 1, 1), d)


def _last_year(m: re.Match[str], d: dt.date) -> Window:
    return year_window(d.year - 1)


def _this_quarter(m: re.Match[str], d: dt.date) -> Window:
    return Window(quarter_window(d.year, (d.month - 1) // 3 + 1).since, d)


def _last_quarter(m: re.Match[str], d: dt.date) -> Window:
    year, month = add_months(d.year, d.month, -3)
    return quarter_window(year, (month - 1) // 3 + 1)


def _weekday(m: re.Match[str], d: dt.date) -> Window:
    """On/last Sunday: the most recent Sunday before D; this Sunday: this week's, if past."""
    index = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday").index(
        m["wd"].lower()
    )
    day = previous_weekday(d, index)
    if (m["mod"] or "").lower() == "this" and monday(d) + dt.timedelta(days=index) <= d:
        day = monday(d) + dt.timedelta(days=index)
    return Window(day, day)


def _named_month(m: re.Match[str], d: dt.date) -> Window:
    """last October: the latest October that is over; this October: the current year's."""
    month = month_number(m["month"])
    if m["mod"].lower() == "this":
        return month_window(d.year, month)
    year = d.year if month < d.month else d.year - 1
    return month_window(year, month)


def _day_range(m: re.Match[str], d: dt.date) -> Window | None:
    """2-9 November, between November 2 and 9: one month shared by both days."""
    month, first, last = month_number(m["m"]), day_number(m["d1"]), day_number(m["d2"])

    def make(y: int) -> Window | None:
        a, b = points.safe_date(y, month, first), points.safe_date(y, month, last)
        return Window(a, b) if a and b and a <= b else None

    return points.place(make, d) if m["y"] is None else make(int(m["y"]))


def _point_range(m: re.Match[str], d: dt.date) -> Window | None:
    first, last = points.parse(m["p1"], d), points.parse(m["p2"], d)
    if first is None or last is None:
        return None
    weekday = m["p2"].strip().lower()
    if isinstance(first, Window) and first.since and weekday in points.WEEKDAYS_FULL:
        # "between Monday and Wednesday": the Wednesday after that Monday.
        ahead = (points.WEEKDAYS_FULL.index(weekday) - first.since.weekday()) % 7
        last = Window(first.since, first.since + dt.timedelta(days=ahead))
    return points.place_range(first, last, d)


def _since_last(m: re.Match[str], d: dt.date) -> Window:
    """since last week/month/year: from the start of that period to asked_on."""
    start = {"week": _last_week, "month": _last_month, "year": _last_year}[m["unit"].lower()](m, d)
    return Window(start.since, d)


def _bounded(kind: str) -> Handler:
    """since / as of / until / before / after a point."""

    def handle(m: re.Match[str], d: dt.date) -> Window | None:
        point = points.parse(m["p"], d)
        w = points.place(point, d) if point is not None else None
        if w is None or w.since is None or w.until is None:
            return None
        if kind == "since":
            return Window(w.since, d)
        if kind == "until":
            return Window(None, w.until)
        if kind == "before":
            return Window(None, w.since - ONE_DAY)
        return Window(w.until + ONE_DAY, d)  # after

    return handle


def _point(m: re.Match[str], d: dt.date) -> Window | None:
    point = points.parse(m["p"], d)
    return points.place(point, d) if point is not None else None


def _rx(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.IGNORECASE)


_POSS = r"(?:'s|’s)?"
_WEEKDAY_SKIP = r"(?<!black )(?<!cyber )(?<!super )(?<!good )(?<!ash )(?<!holy )"

# (pattern, handler, relative to asked_on). Earlier rules claim their span first.
_RULES: list[tuple[re.Pattern[str], Handler, bool]] = [
    # Only so that the question is known to name the future, which no article can be from.
    (
        _rx(r"\b(?:tomorrow|next\s+(?:week|weekend|month|year|quarter)|later\s+this\s+\w+)\b"),
        lambda m, d: Window(d + ONE_DAY, d + ONE_DAY),
        True,
    ),
    (
        _rx(
            rf"\b(?:(?:between|from)\s+)?(?P<d1>{DAY_RE}){_RANGE_SEP}"
            rf"(?P<d2>{DAY_RE})\s+(?P<m>{MONTH_RE})(?:,?\s+(?P<y>{YEAR_RE}))?"
        ),
        _day_range,
        False,
    ),
    (
        _rx(
            rf"\b(?:(?:between|from)\s+)?(?P<m>{MONTH_RE})\s+(?P<d1>{DAY_RE}){_RANGE_SEP}"
            rf"(?P<d2>{DAY_RE})(?:,?\s+(?P<y>{YEAR_RE}))?"
        ),
        _day_range,
        False,
    ),
    (
        _rx(rf"\b(?:between|from)\s+(?P<p1>{POINT_RE}){_RANGE_SEP}(?P<p2>{POINT_RE})\b"),
        _point_range,
        False,
    ),
    (_rx(r"\bthe\s+day\s+before\s+yesterday\b"), _single(2), True),
    (
        _rx(rf"\b(?P<n>{NUMBER_RE})\s+(?P<unit>days?|weeks?|fortnights?|months?|years?)\s+ago\b"),
        _ago,
        True,
    ),
    (_rx(r"\b(?:(?:so\s+far|earlier)\s+)?this\s+week\b" + _POSS), _this_week, True),
    (_rx(r"\b(?:the\s+)?week\s+before\s+last\b"), _week_before_last, True),
    (
        _rx(rf"\b(?:as\s+of|until|till|up\s+(?:un)?to|through)\s+(?P<p>{POINT_RE})"),
        _bounded("until"),
        False,
    ),
    (_rx(rf"\bsince\s+(?P<p>{POINT_RE})"), _bounded("since"), False),
    (
        _rx(
            r"\bsince\s+(?:last|the\s+previous|the\s+start\s+of\s+last)\s+(?P<unit>week|month|year)\b"
        ),
        _since_last,
        True,
    ),
    (
        _rx(rf"\b(?:before|prior\s+to|earlier\s+than)\s+(?P<p>{POINT_RE})"),
        _bounded("before"),
        False,
    ),
    (_rx(rf"\b(?:after|later\s+than)\s+(?P<p>{POINT_RE})"), _bounded("after"), False),
    (
        _rx(
            rf"\b(?:(?:in|over|during|within|for)\s+)?(?:the\s+(?:past|last)\s+"
            rf"(?:(?P<n>{NUMBER_RE})\s+)?|(?:past|last|previous)\s+(?P<n2>{NUMBER_RE})\s+"
            rf"|past\s+){_UNIT}\b(?!\s+of\b)"
        ),
        _past,
        True,
    ),
    (_rx(r"\b(?:last\s+night|yesterday)" + _POSS), _single(1), True),
    (
        _rx(r"\b(?:(?:earlier\s+)?today|tonight|this\s+(?:morning|afternoon|evening))" + _POSS),
        _single(0),
        True,
    ),
    (
        _rx(r"\b(?:last|previous|the\s+previous|past)\s+week\b(?!\s+of\b)" + _POSS),
        _last_week,
        True,
    ),
    (_rx(r"\bthis\s+weekend\b" + _POSS), _this_weekend, True),
    (
        _rx(r"\b(?:(?:over|during|at|on)\s+)?(?:the|last|this\s+past|past)\s+weekend\b" + _POSS),
        lambda m, d: weekend_before(d),
        True,
    ),
    (_rx(r"\b(?:(?:so\s+far|earlier)\s+)?this\s+month\b" + _POSS), _this_month, True),
    (_rx(r"\b(?:last|previous|the\s+previous)\s+month\b" + _POSS), _last_month, True),
    (_rx(r"\b(?:(?:so\s+far|earlier)\s+)?this\s+year\b" + _POSS), _this_year, True),
    (_rx(r"\b(?:last|previous|the\s+previous)\s+year\b" + _POSS), _last_year, True),
    (_rx(r"\bthis\s+quarter\b" + _POSS), _this_quarter, True),
    (_rx(r"\b(?:last|previous|the\s+previous)\s+quarter\b" + _POSS), _last_quarter, True),
    (
        _rx(rf"\b(?P<mod>last|this)\s+(?P<month>{MONTH_RE})(?!\s*\d)"),
        _named_month,
        True,
    ),
    (
        _rx(
            rf"{_WEEKDAY_SKIP}\b(?:(?P<mod>on|last|this\s+past|this|past)\s+)?"
            rf"(?P<wd>{WEEKDAY_FULL_RE}){_POSS}(?!\s+night\s+football)"
            r"(?:\s+(?:night|morning|afternoon|evening)\b)?"
        ),
        _weekday,
        True,
    ),
    (
        _rx(rf"\b(?:in|on|during|throughout|over|of|for|from|at)\s+(?P<p>{POINT_RE})\b"),
        _point,
        False,
    ),
    # Day-month and month-year stand alone; a bare month or year needs a preposition, so that
    # "the 2014 crisis" or "May I ask" names no window.
    (
        _rx(
            rf"\b(?:(?:in|on|during|throughout|over|of|for|at)\s+)?(?P<p>"
            rf"\d{{4}}[-/]\d{{1,2}}[-/]\d{{1,2}}(?!\d)"
            rf"|(?:the\s+)?{DAY_RE}(?:\s+of)?\s+{MONTH_RE}(?:,?\s+{YEAR_RE})?"
            rf"|{MONTH_RE}\s+(?:the\s+)?{DAY_RE}(?:,?\s+{YEAR_RE})?"
            rf"|{MONTH_RE},?\s+{YEAR_RE})"
        ),
        _point,
        False,
    ),
    (_rx(rf"\b(?P<p>{POINT_RE})(?:'s|’s)"), _point, False),
]


_LATEST = _rx(
    r"\b(?:latest|now|nowadays|current(?:ly)?|still|so\s+far|most\s+recent(?:ly)?|newest"
    r"|recent(?:ly)?|up\s+to\s+date|as\s+it\s+stands|at\s+(?:the|this)\s+moment|to\s+date"
    r"|any\s+(?:more|longer)|yet|as\s+of)\b"
)
_ORDER = _rx(
    r"\b(?:which|what|who)\b[^?]{0,80}?\b(?:came|happened|occurred|was|were|did|took\s+place)"
    r"\s+(?:first|earlier|sooner|later|last)\b"
    r"|\b(?:did|does|was|were|do)\b[^?]{1,160}?\b(?:come|happen|occur|take\s+place|precede"
    r"|follow)\s+(?:before|after|earlier|later)\b"
    r"|\bin\s+(?:what|which)\s+order\b|\bbefore\s+or\s+after\b|\b(?:came|happened)\s+first\b"
)
_COVERAGE = _rx(
    r"\b(?:report\w*|say|says|said|saying|told|tell|wr[io]te|writes?|written|publish\w*"
    r"|according\s+to|news|articles?|stor(?:y|ies)|column\w*|preview\w*|headlines?|coverage"
    r"|covered|interview\w*|press)\b"
)
_HAPPENED = _rx(r"\b(?:happen\w*|took\s+place|take\s+place|occur\w*)\b")
# dateparser reads "the 5th" as May, so only numeric dates go to it.
_FALLBACK_TRIGGER = _rx(r"\b(?:on\s+)?(?P<token>\d{1,2}[./]\d{1,2}[./](?:\d{4}|\d{2}))\b")


_RELATIVE_POINT = _rx(rf"\b(?:{WEEKDAY_FULL_RE}|today|yesterday)\b")


def _find(question: str, asked_on: dt.date) -> list[_Found]:
    """Every time expression, each span claimed by the first rule that reads it."""
    found: list[_Found] = []
    taken: list[tuple[int, int]] = []
    for pattern, handler, relative in _RULES:
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
    found = []
    for m in _FALLBACK_TRIGGER.finditer(question):
        from dateparser.date import DateDataParser

        parser = DateDataParser(
            languages=["en"],
            settings={
                "RELATIVE_BASE": dt.datetime.combine(asked_on, dt.time()),
                "PREFER_DATES_FROM": "past",
                "RETURN_TIME_AS_PERIOD": True,
            },
        )
        data = parser.get_date_data(m["token"])
        if data.date_obj is None:
            continue
        day = data.date_obj.date()
        window = Window(day, day)
        found.append(_Found(m.start(), m.end(), window, False))
    return found


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
