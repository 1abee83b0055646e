"""The dates an article's text names, for ingest to store next to the publication date.

"What happened in 2014 between NATO and Russia?" must find a 2021 article that recounts
2014: the year is in its text, not in its date. One regex pass per chunk; relative phrases
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
# A bare year counts after these words only: "2,000 troops" or "the 2014 crisis" are no date.
_YEAR_LEAD = (
    r"(?i:in|since|during|by|until|till|from|of|before|after|throughout|between|and|to|through"
    r"|early|late|mid|spring|summer|autumn|fall|winter|year)"
)
_COUNT_NOUN = (
    r"(?!\s*(?:%|per\b|people|persons|troops|soldiers|men|women|votes|cases|deaths|dollars"
    r"|euros|pounds|miles|km|kilomet|metres|meters|feet|tons|tonnes|units|jobs|points|yards"
    r"|days|hours|minutes|seconds|times|words|pages))"
)

_MENTION = re.compile(
    rf"(?P<iso>\b(?P<iy>\d{{4}})-(?P<im>\d{{2}})-(?P<id>\d{{2}})\b)"
    rf"|(?P<dmy>\b(?P<a_d>{_DAY})(?:\s+of)?\s+(?P<a_m>{_MONTH})(?:,?\s+(?P<a_y>{_YEAR}))?)"
    rf"|(?P<mdy>\b(?P<b_m>{_MONTH})\s+(?P<b_d>{_DAY})(?!\s*(?::|[ap]\.?m\b))"
    rf"(?:,?\s+(?P<b_y>{_YEAR}))?)"
    rf"|(?P<my>\b(?P<c_m>{_MONTH}),?\s+(?P<c_y>{_YEAR}))"
    rf"|(?P<year>(?:\b{_YEAR_LEAD}[\s-]+|\b)(?P<y>{_YEAR})(?=(?:'s|’s))"
    rf"|\b{_YEAR_LEAD}[\s-]+(?P<y2>{_YEAR}){_COUNT_NOUN})"
    rf"|(?P<ago>\b(?P<n>(?i:{NUMBER_RE}))\s+(?P<unit>(?i:days?|weeks?|months?|years?))\s+"
    r"(?i:ago)\b)"
    r"|(?P<rel>\b(?P<mod>(?i:last|this|next|earlier\s+this|later\s+this))\s+"
    r"(?P<period>(?i:week|month|year))\b)"
    r"|(?P<today>\b(?i:today|yesterday|last\s+night|tomorrow)\b)"
    rf"|(?P<wd>\b(?:(?P<wmod>(?i:on|last|next|this|this\s+past))\s+)?(?<!Black )(?<!Cyber )"
    rf"(?<!Super )(?<!Good )(?P<wname>{_WEEKDAY})\b(?!\s+Night\s+Football))"
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


def _weekday(m: re.Match[str], text: str, published: dt.date) -> dt.date:
    """A weekday in news copy: "said Monday" on a Monday is that day; else the last one,
    or the next one when the sentence speaks of the future."""
    index = _WEEKDAY_INDEX[m["wname"]]
    mod = (m["wmod"] or "").lower()
    ahead = mod == "next" or (
        mod != "last" and bool(_FUTURE_CUE.search(text, max(0, m.start() - 60), m.start()))
    )
    if ahead:
        return published + dt.timedelta(days=(index - published.weekday()) % 7 or 7)
    if mod in ("", "on", "this") and published.weekday() == index:
        return published
    return previous_weekday(published, index)


def _read(m: re.Match[str], text: str, published: dt.date | None) -> Mention | None:
    """One match as a date or a (first, last) span; None when it needs a date it lacks."""
    if m["iso"]:
        return safe_date(int(m["iy"]), int(m["im"]), int(m["id"]))
    if m["dmy"] or m["mdy"]:
        day, month, year = (
            (m["a_d"], m["a_m"], m["a_y"]) if m["dmy"] else (m["b_d"], m["b_m"], m["b_y"])
        )
        if year:
            return safe_date(int(year), month_number(month), day_number(day))
        return _nearest(month_number(month), day_number(day), published) if published else None
    if m["my"]:
        year_, month_ = int(m["c_y"]), month_number(m["c_m"])
        return dt.date(year_, month_, 1), month_end(year_, month_)
    if m["year"]:
        year_ = int(m["y"] or m["y2"])
        return dt.date(year_, 1, 1), dt.date(year_, 12, 31)
    if published is None:
        return None
    if m["ago"]:
        return _ago(number(m["n"]), m["unit"], published)
    if m["rel"]:
        return _period(m["mod"], m["period"], published)
    if m["today"]:
        word = m["today"].lower()
        return published + {"today": 0, "tomorrow": 1}.get(word, -1) * ONE_DAY
    return _weekday(m, text, published)


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
    seen: set[Mention] = set()
    out: list[Mention] = []
    for m in _MENTION.finditer(text):
        mention = _read(m, text, published)
        if mention is not None and mention not in seen:
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
