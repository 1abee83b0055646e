"""The regex rules that read a time expression, each with the window it denotes.

Rules are tried in order and the first to read a span claims it, so "between 2 and 9
November" is one range and not the day "9 November"; every handler gets the match and the
asked-on day and returns the window (uncut: the caller cuts it at the asked-on day).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable

from retrieval.timeparse import points
from retrieval.timeparse.periods import (
    DAY_RE,
    MONTH_RE,
    NUMBER_RE,
    ONE_DAY,
    YEAR_RE,
    Window,
    add_months,
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


def rx(pattern: str) -> re.Pattern[str]:
    """A case-insensitive pattern."""
    return re.compile(pattern, re.IGNORECASE)


_POSS = r"(?:'s|’s)?"
_WEEKDAY_SKIP = r"(?<!black )(?<!cyber )(?<!super )(?<!good )(?<!ash )(?<!holy )"

# (pattern, handler, relative to asked_on). Earlier rules claim their span first.
RULES: list[tuple[re.Pattern[str], Handler, bool]] = [
    # Only so that the question is known to name the future, which no article can be from.
    (
        rx(r"\b(?:tomorrow|next\s+(?:week|weekend|month|year|quarter)|later\s+this\s+\w+)\b"),
        lambda m, d: Window(d + ONE_DAY, d + ONE_DAY),
        True,
    ),
    (
        rx(
            rf"\b(?:(?:between|from)\s+)?(?P<d1>{DAY_RE}){_RANGE_SEP}"
            rf"(?P<d2>{DAY_RE})\s+(?P<m>{MONTH_RE})(?:,?\s+(?P<y>{YEAR_RE}))?"
        ),
        _day_range,
        False,
    ),
    (
        rx(
            rf"\b(?:(?:between|from)\s+)?(?P<m>{MONTH_RE})\s+(?P<d1>{DAY_RE}){_RANGE_SEP}"
            rf"(?P<d2>{DAY_RE})(?:,?\s+(?P<y>{YEAR_RE}))?"
        ),
        _day_range,
        False,
    ),
    (
        rx(rf"\b(?:between|from)\s+(?P<p1>{POINT_RE}){_RANGE_SEP}(?P<p2>{POINT_RE})\b"),
        _point_range,
        False,
    ),
    # "on Saturday and Sunday", "in October and November": both, and the days between. A
    # month needs its preposition ("May and June" may be names).
    (
        rx(rf"\b(?:on\s+)?(?P<p1>{WEEKDAY_FULL_RE})\s+(?:and|&)\s+(?P<p2>{WEEKDAY_FULL_RE})\b"),
        _point_range,
        False,
    ),
    (
        rx(
            rf"\b(?:in|during|over)\s+(?P<p1>{MONTH_RE})\s+(?:and|&)\s+"
            rf"(?P<p2>{MONTH_RE}(?:,?\s+{YEAR_RE})?)"
        ),
        _point_range,
        False,
    ),
    (rx(r"\bthe\s+day\s+before\s+yesterday\b"), _single(2), True),
    (
        rx(rf"\b(?P<n>{NUMBER_RE})\s+(?P<unit>days?|weeks?|fortnights?|months?|years?)\s+ago\b"),
        _ago,
        True,
    ),
    (rx(r"\b(?:(?:so\s+far|earlier)\s+)?this\s+week\b" + _POSS), _this_week, True),
    (rx(r"\b(?:the\s+)?week\s+before\s+last\b"), _week_before_last, True),
    (
        rx(rf"\b(?:as\s+(?:of|at)|until|till|up\s+(?:un)?to|through|by)\s+(?P<p>{POINT_RE})"),
        _bounded("until"),
        False,
    ),
    (rx(rf"\bsince\s+(?P<p>{POINT_RE})"), _bounded("since"), False),
    (
        rx(
            r"\bsince\s+(?:last|the\s+previous|the\s+start\s+of\s+last)\s+(?P<unit>week|month|year)\b"
        ),
        _since_last,
        True,
    ),
    (
        rx(rf"\b(?:before|prior\s+to|earlier\s+than)\s+(?P<p>{POINT_RE})"),
        _bounded("before"),
        False,
    ),
    (rx(rf"\b(?:after|later\s+than)\s+(?P<p>{POINT_RE})"), _bounded("after"), False),
    (
        rx(
            rf"\b(?:(?:in|over|during|within|for)\s+)?(?:the\s+(?:past|last)\s+"
            rf"(?:(?P<n>{NUMBER_RE})\s+)?|(?:past|last|previous)\s+(?P<n2>{NUMBER_RE})\s+"
            rf"|past\s+){_UNIT}\b(?!\s+of\b)"
        ),
        _past,
        True,
    ),
    (rx(r"\b(?:last\s+night|yesterday)" + _POSS), _single(1), True),
    (
        rx(r"\b(?:(?:earlier\s+)?today|tonight|this\s+(?:morning|afternoon|evening))" + _POSS),
        _single(0),
        True,
    ),
    (
        rx(r"\b(?:last|previous|the\s+previous|past)\s+week\b(?!\s+of\b)" + _POSS),
        _last_week,
        True,
    ),
    (rx(r"\bthis\s+weekend\b" + _POSS), _this_weekend, True),
    (
        rx(r"\b(?:(?:over|during|at|on)\s+)?(?:the|last|this\s+past|past)\s+weekend\b" + _POSS),
        lambda m, d: weekend_before(d),
        True,
    ),
    (rx(r"\b(?:(?:so\s+far|earlier)\s+)?this\s+month\b" + _POSS), _this_month, True),
    (rx(r"\b(?:last|previous|the\s+previous)\s+month\b" + _POSS), _last_month, True),
    (rx(r"\b(?:(?:so\s+far|earlier)\s+)?this\s+year\b" + _POSS), _this_year, True),
    (rx(r"\b(?:last|previous|the\s+previous)\s+year\b" + _POSS), _last_year, True),
    (rx(r"\bthis\s+quarter\b" + _POSS), _this_quarter, True),
    (rx(r"\b(?:last|previous|the\s+previous)\s+quarter\b" + _POSS), _last_quarter, True),
    (
        rx(rf"\b(?P<mod>last|this)\s+(?P<month>{MONTH_RE})(?!\s*\d)"),
        _named_month,
        True,
    ),
    (
        rx(
            rf"{_WEEKDAY_SKIP}\b(?:(?P<mod>on|last|this\s+past|this|past)\s+)?"
            rf"(?P<wd>{WEEKDAY_FULL_RE}){_POSS}(?!\s+night\s+football)"
            r"(?:\s+(?:night|morning|afternoon|evening)\b)?"
        ),
        _weekday,
        True,
    ),
    (
        rx(rf"\b(?:in|on|during|throughout|over|of|for|from|at)\s+(?P<p>{POINT_RE})\b"),
        _point,
        False,
    ),
    # Day-month and month-year stand alone; a bare month or year needs a preposition, so that
    # "the 2014 crisis" or "May I ask" names no window.
    (
        rx(
            rf"\b(?:(?:in|on|during|throughout|over|of|for|at)\s+)?(?P<p>"
            rf"\d{{4}}[-/]\d{{1,2}}[-/]\d{{1,2}}(?!\d)"
            rf"|(?:the\s+)?{DAY_RE}(?:\s+of)?\s+{MONTH_RE}(?:,?\s+{YEAR_RE})?"
            rf"|{MONTH_RE}\s+(?:the\s+)?{DAY_RE}(?:,?\s+{YEAR_RE})?"
            rf"|{MONTH_RE},?\s+{YEAR_RE})"
        ),
        _point,
        False,
    ),
    (rx(rf"\b(?P<p>{POINT_RE})(?:'s|’s)"), _point, False),
]
