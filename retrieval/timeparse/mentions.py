"""The dates an article's text names, for ingest to store next to the publication date.

"What happened in 2014 between NATO and Russia?" must find a 2021 article that recounts
2014: the year is in its text, not in its date. Regex passes over each chunk; relative phrases
("on Monday", "last year") are resolved against the article's own date, and skipped when it
has none.
"""

from __future__ import annotations

import datetime as dt
import re

from retrieval.timeparse.periods import (
    NUMBER_RE,
    ONE_DAY,
    Window,
    add_months,
    day_number,
    month_end,
    month_number,
    number,
    previous_weekday,
    safe_date,
    week_window,
)

Mention = dt.date | tuple[dt.date, dt.date]

# Case-sensitive month and weekday names: article text capitalises them, and "may" or
# "march" in lower case are a verb and a walk.
_MONTH = (
    r"(?:Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?"
    r"|Sep(?:t(?:ember)?)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)(?:\.|\b(?!-[A-Za-z]))"
)
_WEEKDAY = r"(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)"
_DAY = r"(?:[12]\d|3[01]|0?[1-9])(?:st|nd|rd|th)?(?!\d)"
_YEAR = r"(?:1[89]\d\d|20\d\d)(?![\d,.]\d|-\d)"
# A bare year counts after these words (or with 's) only: "2,000 troops" or "the 2014 crisis"
# are no date. Context like this is checked in Python around a match, so that every branch
# of the one regex starts with a digit, a capital or a keyword and most positions fail fast.
_YEAR_LEAD = re.compile(
    r"\b(?:in|since|during|by|until|till|from|of|before|after|throughout|between|and|to"
    r"|through|early|late|mid|spring|summer|autumn|fall|winter|year)[\s-]+$",
    re.IGNORECASE,
)
_COUNT_NOUN = re.compile(
    r"\s*(?:%|per\b|people|persons|troops|soldiers|men|women|votes|cases|deaths|dollars"
    r"|euros|pounds|miles|km|kilomet|metres|meters|feet|tons|tonnes|units|jobs|points|yards"
    r"|days|hours|minutes|seconds|times|words|pages)"
)
_AGO_BEFORE = re.compile(
    rf"\b(?P<n>{NUMBER_RE})\s+(?P<unit>days?|weeks?|months?|years?)\s+$", re.IGNORECASE
)
_WEEKDAY_MOD = re.compile(r"\b(?P<mod>on|last|next|this\s+past|this)\s+$", re.IGNORECASE)
_NOT_A_DAY = re.compile(r"\b(?:Black|Cyber|Super|Good)\s+$")
_FOOTBALL = re.compile(r"\s+Night\s+Football")

# Three passes whose every branch starts with a digit or a literal letter: Python's re skips
# ahead to such a start, where one regex of all the forms tries every branch at every
# position (about ten times slower on news text).
_NUMERIC = re.compile(
    r"(?P<num>\d{1,4})(?:(?P<iso>-\d\d-\d\d)(?![\d-])"
    rf"|(?:st|nd|rd|th)?(?P<dmy>(?:\s+of)?\s+(?P<a_m>{_MONTH})(?:,?\s+(?P<a_y>{_YEAR}))?))?"
)
_NAMED = re.compile(
    rf"(?P<b_m>{_MONTH})(?:\s+(?P<b_d>{_DAY})(?!\s*(?::|[ap]\.?m\b))(?:,?\s+(?P<b_y>{_YEAR}))?"
    rf"|,?\s+(?P<c_y>{_YEAR}))"
    rf"|(?P<wname>{_WEEKDAY})\b"
)
_RELATIVE = re.compile(
    r"(?P<today>today|Today|yesterday|Yesterday|tomorrow|Tomorrow|last\s+night|Last\s+night)\b"
    r"|(?P<mod>last|Last|this|This|next|Next)\s+(?P<period>week|month|year)\b"
    r"|(?P<ago>ago)\b"
)
_FUTURE_CUE = re.compile(r"\b(?:will|shall|scheduled|set\s+to|due\s+to|is\s+to|are\s+to)\b")
_WEEKDAY_INDEX = {n: i for i, n in enumerate(re.findall(r"[A-Z][a-z]+", _WEEKDAY))}


def _nearest(month: int, day: int, published: dt.date) -> dt.date | None:
    """A yearless day-month in the year that puts it nearest the article's date."""
    options = [
        safe_date(y, month, day) for y in (published.year - 1, published.year, published.year + 1)
    ]
    valid = [d for d in options if d is not None]
    return min(valid, key=lambda d: abs(d - published)) if valid else None


def _period(mod: str, period: str, published: dt.date) -> tuple[dt.date, dt.date]:
    mod = mod.lower().split()[-1]
    step = {"last": -1, "this": 0, "next": 1}[mod]
    if period.lower() == "week":
        w = week_window(published + dt.timedelta(days=7 * step))
        assert w.since and w.until
        return w.since, w.until
    if period.lower() == "month":
        year, month = add_months(published.year, published.month, step)
        return dt.date(year, month, 1), month_end(year, month)
    return dt.date(published.year + step, 1, 1), dt.date(published.year + step, 12, 31)


def _ago(n: int, unit: str, published: dt.date) -> Mention:
    unit = unit.lower().rstrip("s")
    if unit == "day":
        return published - dt.timedelta(days=n)
    if unit == "week":
        w = week_window(published - dt.timedelta(days=7 * n))
        assert w.since and w.until
        return w.since, w.until
    year, month = add_months(published.year, published.month, -n * (12 if unit == "year" else 1))
    if unit == "year":
        return dt.date(year, 1, 1), dt.date(year, 12, 31)
    return dt.date(year, month, 1), month_end(year, month)


def _weekday(m: re.Match[str], text: str, published: dt.date) -> dt.date | None:
    """A weekday in news copy: "said Monday" on a Monday is that day; else the last one,
    or the next one when the sentence speaks of the future."""
    before = text[max(0, m.start() - 16) : m.start()]
    if _NOT_A_DAY.search(before) or _FOOTBALL.match(text, m.end()):
        return None
    index = _WEEKDAY_INDEX[m["wname"]]
    mod_match = _WEEKDAY_MOD.search(before)
    mod = mod_match["mod"].lower() if mod_match else ""
    ahead = mod == "next" or (
        mod != "last" and bool(_FUTURE_CUE.search(text, max(0, m.start() - 60), m.start()))
    )
    if ahead:
        return published + dt.timedelta(days=(index - published.weekday()) % 7 or 7)
    if mod in ("", "on", "this") and published.weekday() == index:
        return published
    return previous_weekday(published, index)


def _year(m: re.Match[str], text: str) -> Mention | None:
    """A bare year, when the words around it make it one."""
    year = int(m["num"])
    if not 1800 <= year <= 2099 or re.match(r"[\d,.]\d|-\d", text[m.end() : m.end() + 2]):
        return None
    possessive = text.startswith(("'s", "’s"), m.end())
    lead = _YEAR_LEAD.search(text, max(0, m.start() - 16), m.start())
    if not possessive and (lead is None or _COUNT_NOUN.match(text, m.end())):
        return None
    return dt.date(year, 1, 1), dt.date(year, 12, 31)


def _numeric(m: re.Match[str], text: str, published: dt.date | None) -> Mention | None:
    """2021-06-14, 19 October (2021), or a bare year."""
    digits = m["num"]
    if m["iso"]:
        if len(digits) != 4:
            return None
        y, mo, d = (int(part) for part in (digits + m["iso"]).split("-"))
        return safe_date(y, mo, d)
    if m["dmy"] and len(digits) <= 2:
        day, month = int(digits), month_number(m["a_m"])
        if m["a_y"]:
            return safe_date(int(m["a_y"]), month, day)
        return _nearest(month, day, published) if published else None
    return _year(m, text) if len(digits) == 4 else None


def _named(m: re.Match[str], text: str, published: dt.date | None) -> Mention | None:
    """October 19 (2021), October 2021, or a weekday."""
    if m["b_m"] and m["b_d"]:
        day, month = day_number(m["b_d"]), month_number(m["b_m"])
        if m["b_y"]:
            return safe_date(int(m["b_y"]), month, day)
        return _nearest(month, day, published) if published else None
    if m["b_m"]:
        year, month = int(m["c_y"]), month_number(m["b_m"])
        return dt.date(year, month, 1), month_end(year, month)
    return _weekday(m, text, published) if published else None


def _relative(m: re.Match[str], text: str, published: dt.date | None) -> Mention | None:
    """today, last week, two years ago: against the article's date."""
    if published is None:
        return None
    if m["ago"]:
        count = _AGO_BEFORE.search(text, max(0, m.start() - 30), m.start())
        return _ago(number(count["n"]), count["unit"], published) if count else None
    if m["mod"]:
        return _period(m["mod"], m["period"], published)
    word = " ".join(m["today"].lower().split())
    return published + {"today": 0, "tomorrow": 1}.get(word, -1) * ONE_DAY


_PASSES = ((_NUMERIC, _numeric), (_NAMED, _named), (_RELATIVE, _relative))


def dates_mentioned(text: str, published: dt.date | None) -> list[Mention]:
    """The dates and periods a text names, in order of first mention, without repeats.

    Args:
        text: An article or one chunk of it.
        published: The article's date; relative phrases ("on Monday", "last year",
            "two weeks ago") and yearless dates ("19 October") are resolved against it,
            and skipped when it is None.

    Returns:
        Each mention as a date (a day) or a (first, last) pair (a week, month or year).
    """
    found = []
    for pattern, read in _PASSES:
        for m in pattern.finditer(text):
            if m.start() and text[m.start() - 1].isalnum():  # inside a word: "A320", "x2014"
                continue
            found.append((m.start(), -m.end(), m, read))
    found.sort(key=lambda f: (f[0], f[1]))
    seen: set[Mention] = set()
    out: list[Mention] = []
    end = 0
    for start, negative_end, m, read in found:
        if start < end:  # inside a longer mention already read ("19 October 2021")
            continue
        mention = read(m, text, published)
        if mention is None:
            continue
        end = -negative_end
        if mention not in seen:
            seen.add(mention)
            out.append(mention)
    return out


def mentions_window(mentions: list[Mention], window: Window) -> bool:
    """Whether any mention shares a day with the window (for an event reading)."""
    for mention in mentions:
        first, last = mention if isinstance(mention, tuple) else (mention, mention)
        if window.overlaps(first, last):
            return True
    return False


__all__ = ["Mention", "dates_mentioned", "mentions_window"]
