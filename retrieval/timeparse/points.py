"""One date expression ("19 October", "October 2021", "Q3", "Monday") read as a period.

An expression without a year is a function of the year; the caller picks the year (the most
recent one that does not start after the asked-on date, as dateparser's
``PREFER_DATES_FROM="past"`` does).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable

from retrieval.timeparse.periods import (
    DAY_RE,
    MONTH_RE,
    ONE_DAY,
    ORDINALS,
    YEAR_RE,
    Window,
    day_number,
    month_end,
    month_number,
    month_window,
    previous_weekday,
    quarter_window,
    safe_date,
    week_window,
    year_window,
)

WEEKDAY_FULL_RE = r"(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday)"
WEEKDAYS_FULL = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_QUARTER_WORDS = {"first": 1, "second": 2, "third": 3, "fourth": 4, "last": 4}

# Days the news names instead of a date (US Thanksgiving and its shopping days).
HOLIDAY_RE = (
    r"(?:christmas\s+eve|christmas(?:\s+day)?|boxing\s+day|new\s+year'?s\s+eve"
    r"|new\s+year'?s(?:\s+day)?|halloween|thanksgiving(?:\s+day)?|black\s+friday|cyber\s+monday"
    r"|valentine'?s\s+day|independence\s+day|(?:the\s+)?fourth\s+of\s+july)"
)


def _thanksgiving(year: int, after: int = 0) -> Window:
    """The fourth Thursday of November, or a day a given number of days after it."""
    first = dt.date(year, 11, 1)
    day = first + dt.timedelta(days=(3 - first.weekday()) % 7 + 21 + after)
    return Window(day, day)


def _fixed(month: int, day: int) -> Maker:
    return lambda y: Window(dt.date(y, month, day), dt.date(y, month, day))


_HOLIDAYS: dict[str, Maker] = {
    "christmas eve": _fixed(12, 24),
    "christmas": _fixed(12, 25),
    "christmas day": _fixed(12, 25),
    "boxing day": _fixed(12, 26),
    "new years eve": _fixed(12, 31),
    "new years": _fixed(1, 1),
    "new years day": _fixed(1, 1),
    "halloween": _fixed(10, 31),
    "thanksgiving": _thanksgiving,
    "thanksgiving day": _thanksgiving,
    "black friday": lambda y: _thanksgiving(y, 1),
    "cyber monday": lambda y: _thanksgiving(y, 4),
    "valentines day": _fixed(2, 14),
    "independence day": _fixed(7, 4),
    "fourth of july": _fixed(7, 4),
    "the fourth of july": _fixed(7, 4),
}

# A point as it may appear inside a longer expression (no capture groups: `parse` re-reads it).
POINT_RE = (
    r"(?:"
    r"\d{4}[-/]\d{1,2}[-/]\d{1,2}(?!\d)"
    rf"|(?:the\s+)?week\s+of\s+(?:{DAY_RE}(?:\s+of)?\s+{MONTH_RE}|{MONTH_RE}\s+{DAY_RE})"
    rf"(?:,?\s+{YEAR_RE})?"
    rf"|(?:the\s+)?(?:first|second|third|fourth|last|1st|2nd|3rd|4th)\s+week\s+of\s+{MONTH_RE}"
    rf"(?:,?\s+{YEAR_RE})?"
    rf"|(?:early|mid|late|the\s+(?:start|beginning|middle|end)\s+of)[-\s]+{MONTH_RE}"
    rf"(?:,?\s+{YEAR_RE})?"
    rf"|(?:the\s+)?{DAY_RE}(?:\s+of)?\s+{MONTH_RE}(?:,?\s+{YEAR_RE})?"
    rf"|{MONTH_RE}\s+(?:the\s+)?{DAY_RE}(?:,?\s+{YEAR_RE})?"
    rf"|{MONTH_RE},?\s+{YEAR_RE}"
    rf"|q[1-4](?:\s+{YEAR_RE})?"
    rf"|(?:the\s+)?(?:first|second|third|fourth|last)\s+quarter(?:\s+of)?(?:\s+{YEAR_RE})?"
    rf"|(?:the\s+)?(?:first|second)\s+half\s+of\s+{YEAR_RE}|h[12]\s+{YEAR_RE}"
    rf"|{MONTH_RE}|{YEAR_RE}|{WEEKDAY_FULL_RE}|today|yesterday|{HOLIDAY_RE}"
    r")"
)

Maker = Callable[[int], Window | None]
Point = Window | Maker


def _day(month: int, day: int) -> Maker:
    return lambda y: (lambda d: Window(d, d) if d else None)(safe_date(y, month, day))


def _week_of_month(nth: str, month: int) -> Maker:
    """first week = days 1-7, second 8-14, third 15-21, fourth 22-28, last = the last seven."""

    def make(y: int) -> Window:
        if nth == "last":
            end = month_end(y, month)
            return Window(end - dt.timedelta(days=6), end)
        start = 7 * (ORDINALS[nth] - 1) + 1
        return Window(dt.date(y, month, start), dt.date(y, month, start + 6))

    return make


def _part_of_month(part: str, month: int) -> Maker:
    """early = 1-10, mid = 11-20, late = 21 to the month's end."""
    first, last = {"early": (1, 10), "mid": (11, 20)}.get(part, (21, 0))

    def make(y: int) -> Window:
        end = dt.date(y, month, last) if last else month_end(y, month)
        return Window(dt.date(y, month, first), end)

    return make


_ISO = re.compile(r"(\d{4})[-/](\d{1,2})[-/](\d{1,2})")
_WEEK_OF = re.compile(r"(?:the\s+)?week\s+of\s+(.+)")
_NTH_WEEK = re.compile(rf"(?:the\s+)?(\w+)\s+week\s+of\s+({MONTH_RE})(?:,?\s+({YEAR_RE}))?")
_PART = re.compile(
    rf"(early|mid|late|the\s+(?:start|beginning|middle|end)\s+of)[-\s]+({MONTH_RE})"
    rf"(?:,?\s+({YEAR_RE}))?"
)
_DM = re.compile(rf"(?:the\s+)?({DAY_RE})(?:\s+of)?\s+({MONTH_RE})(?:,?\s+({YEAR_RE}))?")
_MD = re.compile(rf"({MONTH_RE})\s+(?:the\s+)?({DAY_RE})(?:,?\s+({YEAR_RE}))?")
_MY = re.compile(rf"({MONTH_RE}),?\s+({YEAR_RE})")
_Q = re.compile(rf"q([1-4])(?:\s+({YEAR_RE}))?")
_QUARTER = re.compile(rf"(?:the\s+)?(\w+)\s+quarter(?:\s+of)?(?:\s+({YEAR_RE}))?")
_HALF = re.compile(rf"(?:the\s+)?(first|second)\s+half\s+of\s+({YEAR_RE})|h([12])\s+({YEAR_RE})")
_PART_NAMES = {"the start of": "early", "the beginning of": "early", "the middle of": "mid"}


def _with_year(make: Maker, year: str | None) -> Point | None:
    """A fixed window when the year is written, else the maker for the caller to place."""
    if year is None:
        return make
    return make(int(year))


def parse(text: str, asked_on: dt.date) -> Point | None:
    """Read one expression matched by POINT_RE; None when it names no real date."""
    s = " ".join(text.lower().split())
    if m := _ISO.fullmatch(s):
        day = safe_date(int(m[1]), int(m[2]), int(m[3]))
        return Window(day, day) if day else None
    if m := _WEEK_OF.fullmatch(s):
        inner = parse(m[1], asked_on)
        if inner is None or isinstance(inner, Window):
            return week_window(inner.since) if inner and inner.since else None
        maker = inner
        return lambda y: (lambda w: week_window(w.since) if w and w.since else None)(maker(y))
    if m := _NTH_WEEK.fullmatch(s):
        if m[1] not in ORDINALS and m[1] != "last":
            return None
        return _with_year(_week_of_month(m[1], month_number(m[2])), m[3])
    if m := _PART.fullmatch(s):
        part = _PART_NAMES.get(m[1], "late" if m[1] == "the end of" else m[1])
        return _with_year(_part_of_month(part, month_number(m[2])), m[3])
    if m := (_DM.fullmatch(s) or _MD.fullmatch(s)):
        day_text, month = (m[1], m[2]) if m.re is _DM else (m[2], m[1])
        return _with_year(_day(month_number(month), day_number(day_text)), m[3])
    if m := _MY.fullmatch(s):
        return month_window(int(m[2]), month_number(m[1]))
    if m := _Q.fullmatch(s):
        quarter = int(m[1])
        return _with_year(lambda y: quarter_window(y, quarter), m[2])
    if m := _QUARTER.fullmatch(s):
        if m[1] not in _QUARTER_WORDS:
            return None
        quarter = _QUARTER_WORDS[m[1]]
        return _with_year(lambda y: quarter_window(y, quarter), m[2])
    if m := _HALF.fullmatch(s):
        half, year = (1 if (m[1] or "") == "first" or m[3] == "1" else 2), int(m[2] or m[4])
        return Window(dt.date(year, 6 * half - 5, 1), month_end(year, 6 * half))
    if s.rstrip(".") in _MONTH_NAMES:
        month = month_number(s)
        return lambda y: month_window(y, month)
    if re.fullmatch(YEAR_RE, s):
        return year_window(int(s))
    if s in WEEKDAYS_FULL:
        day = previous_weekday(asked_on, WEEKDAYS_FULL.index(s))
        return Window(day, day)
    if (holiday := s.replace("'", "")) in _HOLIDAYS:
        return _HOLIDAYS[holiday]
    if s in ("today", "yesterday"):
        day = asked_on - (ONE_DAY if s == "yesterday" else dt.timedelta(0))
        return Window(day, day)
    return None


_MONTH_NAMES = frozenset(
    re.findall(r"[a-z]+", "january jan february feb march mar april apr may june jun july jul")
    + re.findall(r"[a-z]+", "august aug september sep sept october oct november nov december dec")
)


def place(point: Point, asked_on: dt.date) -> Window | None:
    """A yearless point in the most recent year where it does not start after asked_on."""
    if isinstance(point, Window):
        return point
    for year in range(asked_on.year, asked_on.year - 9, -1):  # 29 February: up to 8 years back
        window = point(year)
        if window is not None and window.since is not None and window.since <= asked_on:
            return window
    return None


def place_range(first: Point, last: Point, asked_on: dt.date) -> Window | None:
    """first..last, yearless ends taking their year from the other end or from asked_on."""
    if isinstance(first, Window) and isinstance(last, Window):
        a, b = first, last
    elif isinstance(last, Window):
        assert last.until is not None
        year = last.until.year
        a_or = first(year) if not isinstance(first, Window) else first
        if a_or is not None and a_or.since is not None and a_or.since > last.until:
            a_or = first(year - 1) if not isinstance(first, Window) else None
        if a_or is None:
            return None
        a, b = a_or, last
    elif isinstance(first, Window):
        assert first.since is not None
        year = first.since.year
        b_or = last(year)
        if b_or is not None and b_or.until is not None and b_or.until < first.since:
            b_or = last(year + 1)
        if b_or is None:
            return None
        a, b = first, b_or
    else:
        for year in range(asked_on.year + 1, asked_on.year - 9, -1):
            a_or, b_or = first(year), last(year)
            if a_or and b_or and b_or.until and a_or.since and b_or.until < a_or.since:
                a_or = first(year - 1)
            if a_or and b_or and a_or.since and a_or.since <= asked_on:
                a, b = a_or, b_or
                break
        else:
            return None
    if a.since is None or b.until is None or a.since > b.until:
        return None
    return Window(a.since, b.until)
