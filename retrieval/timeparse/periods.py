"""Windows of days and the calendar arithmetic the resolver, follow-ups and mentions share.

Weeks run Monday to Sunday; every bound is a calendar date, inclusive (the date rules of
``shared/eval/time_dev/README.md``).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

ONE_DAY = dt.timedelta(days=1)

MONTHS: dict[str, int] = {
    name: number
    for number, names in enumerate(
        (
            ("january", "jan"),
            ("february", "feb"),
            ("march", "mar"),
            ("april", "apr"),
            ("may",),
            ("june", "jun"),
            ("july", "jul"),
            ("august", "aug"),
            ("september", "sep", "sept"),
            ("october", "oct"),
            ("november", "nov"),
            ("december", "dec"),
        ),
        1,
    )
    for name in names
}
WEEKDAYS: dict[str, int] = {
    name: number
    for number, names in enumerate(
        (
            ("monday", "mon"),
            ("tuesday", "tue", "tues"),
            ("wednesday", "wed"),
            ("thursday", "thu", "thur", "thurs"),
            ("friday", "fri"),
            ("saturday", "sat"),
            ("sunday", "sun"),
        )
    )
    for name in names
}
NUMBER_WORDS: dict[str, int] = {
    "a": 1,
    "an": 1,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "fourteen": 14,
    "fifteen": 15,
    "twenty": 20,
    "thirty": 30,
    "a couple of": 2,
    "couple of": 2,
    "a few": 3,
    "few": 3,
}
ORDINALS: dict[str, int] = {
    "first": 1,
    "1st": 1,
    "second": 2,
    "2nd": 2,
    "third": 3,
    "3rd": 3,
    "fourth": 4,
    "4th": 4,
    "fifth": 5,
    "5th": 5,
}

# Regex pieces, all for re.IGNORECASE. A month needs its full name or a known abbreviation, and
# must end there: "Mar-a-Lago" and "marches" are no month.
MONTH_RE = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
    r"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)(?:\.|\b(?!-[a-z]))"
)
WEEKDAY_RE = (
    r"(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday|mon|tues?|wed|thu(?:rs?)?"
    r"|fri|sat|sun)"
)
DAY_RE = r"(?:[12]\d|3[01]|0?[1-9])(?:st|nd|rd|th)?(?!\d)"
YEAR_RE = r"(?:1[89]\d\d|20\d\d)(?!\d)"
NUMBER_RE = (
    r"(?:\d{1,3}|a couple of|couple of|a few|few|an?|one|two|three|four|five|six|seven|eight"
    r"|nine|ten|eleven|twelve|fourteen|fifteen|twenty|thirty)"
)


@dataclass(frozen=True)
class Window:
    """An inclusive span of calendar days; ``None`` on a side means open on that side."""

    since: dt.date | None
    until: dt.date | None

    def __contains__(self, day: object) -> bool:
        """Whether a date falls inside the window."""
        if not isinstance(day, dt.date):
            return False
        if isinstance(day, dt.datetime):
            day = day.date()
        return (self.since is None or self.since <= day) and (
            self.until is None or day <= self.until
        )

    def iso(self) -> tuple[str | None, str | None]:
        """The bounds as ISO strings, as time_dev's ``window`` field writes them."""
        return (
            self.since.isoformat() if self.since else None,
            self.until.isoformat() if self.until else None,
        )

    def overlaps(self, since: dt.date, until: dt.date) -> bool:
        """Whether the span since..until shares a day with the window."""
        return (self.since is None or until >= self.since) and (
            self.until is None or since <= self.until
        )


def number(word: str) -> int:
    """The value of a count written as digits or words ("3", "three", "a few")."""
    word = " ".join(word.lower().split())
    return int(word) if word.isdigit() else NUMBER_WORDS[word]


def month_number(name: str) -> int:
    """The month a name or abbreviation denotes ("Sept." -> 9)."""
    return MONTHS[name.lower().rstrip(".")]


def day_number(token: str) -> int:
    """The day of month in "19", "19th", "1st"."""
    return int(re.match(r"\d+", token)[0])  # type: ignore[index]


def month_end(year: int, month: int) -> dt.date:
    """The last day of a month."""
    first_next = dt.date(year + month // 12, month % 12 + 1, 1)
    return first_next - ONE_DAY


def add_months(year: int, month: int, n: int) -> tuple[int, int]:
    """(year, month) n months after (or before, n < 0) the given one."""
    index = year * 12 + month - 1 + n
    return index // 12, index % 12 + 1


def month_window(year: int, month: int) -> Window:
    """The whole of one calendar month."""
    return Window(dt.date(year, month, 1), month_end(year, month))


def year_window(year: int) -> Window:
    """The whole of one calendar year."""
    return Window(dt.date(year, 1, 1), dt.date(year, 12, 31))


def monday(day: dt.date) -> dt.date:
    """The Monday of the week holding day."""
    return day - dt.timedelta(days=day.weekday())


def week_window(day: dt.date) -> Window:
    """The Monday-Sunday week holding day."""
    start = monday(day)
    return Window(start, start + dt.timedelta(days=6))


def previous_weekday(day: dt.date, weekday: int) -> dt.date:
    """The most recent given weekday strictly before day (a Monday asked on a Monday is D-7)."""
    back = (day.weekday() - weekday) % 7 or 7
    return day - dt.timedelta(days=back)


def weekend_before(day: dt.date) -> Window:
    """The last Saturday and Sunday that are both strictly before day."""
    sunday = previous_weekday(day, 6)
    return Window(sunday - ONE_DAY, sunday)


def quarter_window(year: int, quarter: int) -> Window:
    """Calendar quarter 1-4 of a year."""
    first = 3 * (quarter - 1) + 1
    return Window(dt.date(year, first, 1), month_end(year, first + 2))


def safe_date(year: int, month: int, day: int) -> dt.date | None:
    """The date, or None when it does not exist (31 April, 29 February 2023)."""
    try:
        return dt.date(year, month, day)
    except ValueError:
        return None


def clip(window: Window, asked_on: dt.date) -> Window | None:
    """The window cut at asked_on; None when it starts after it or is inverted."""
    since, until = window.since, window.until
    if since is not None and since > asked_on:
        return None
    if until is None or until > asked_on:
        until = asked_on
    if since is not None and since > until:
        return None
    return Window(since, until)
