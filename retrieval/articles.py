"""The article record every loader produces, and the text clean-up all of them share."""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import re
import unicodedata
from dataclasses import dataclass, field

from retrieval.timeparse.periods import MONTHS, WEEKDAYS

# Characters that render as nothing but can carry hidden instructions: Unicode tag
# characters, zero-width and joiner characters, bidi embeddings/overrides/isolates, the BOM
# and soft hyphen.
_INVISIBLE = re.compile(
    "[\U000e0000-\U000e007f\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff\u00ad"
    "\u180e\u034f]"
)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_BLANK_LINES = re.compile(r"\n{3,}")
_TITLE_CHARS = 100


@dataclass(frozen=True)
class Article:
    """One news article as read from the articles folder.

    ``id`` is stable across ingests (file stem or record id); ``date`` is an ISO date or
    None, never guessed.
    """

    id: str
    title: str
    text: str
    date: str | None = None
    source: str | None = None
    url: str | None = None
    path: str = ""
    warnings: tuple[str, ...] = field(default=())

    @functools.cached_property
    def content_hash(self) -> str:
        """Hash of everything that ends up in the index for this article (computed once:
        ingest compares it for every article it reads)."""
        h = hashlib.sha256()
        for part in (self.title, self.date or "", self.source or "", self.url or "", self.text):
            h.update(part.encode("utf-8"))
            h.update(b"\x00")
        return h.hexdigest()


def strip_invisible(text: str) -> tuple[str, int]:
    """Remove invisible Unicode and stray control characters; return the text and the count."""
    cleaned, n_invisible = _INVISIBLE.subn("", text)
    cleaned, n_control = _CONTROL.subn("", cleaned)
    return cleaned, n_invisible + n_control


def normalize_text(text: str) -> str:
    """NFC-normalise, unify line ends and trim trailing spaces; paragraphs are kept."""
    text = unicodedata.normalize("NFC", text)
    if "\n" not in text and "\r" not in text and "\u2028" not in text and "\u2029" not in text:
        return text.strip()  # one line (a title, a source, a date): what the rest would give
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = text.replace("\u2028", "\n").replace("\u2029", "\n\n")
    lines = [line.rstrip() for line in text.split("\n")]
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()


def title_from_text(text: str) -> str:
    """An article without a title gets its first sentence, shortened at a word boundary."""
    first = re.split(r"(?<=[.!?])\s+|\n", text.strip(), maxsplit=1)[0].strip()
    if len(first) <= _TITLE_CHARS:
        return first
    cut = first[:_TITLE_CHARS].rsplit(" ", 1)[0]
    return cut.rstrip(",;:") + "…"


_TIME = re.compile(
    r"(?P<h>\d{1,2}):(?P<mi>\d{2})(?::(?P<s>\d{2})(?:[.,]\d{1,9})?)?\s*"
    r"(?P<ampm>[ap]\.?m\.?)?\s*(?P<zone>Z|[+-]\d{2}(?::?\d{2})?|(?:UTC|GMT|UT)(?:[+-]\d{1,2}"
    r"(?::?\d{2})?)?|[ECMP][SD]T)?",
    re.IGNORECASE,
)
_ZONES = {"EST": -5, "EDT": -4, "CST": -6, "CDT": -5, "MST": -7, "MDT": -6, "PST": -8, "PDT": -7}
_WEEKDAY = r"(?P<wd>(?:mon|tue|wed|thu|fri|sat|sun)[a-z]*\.?)"
_MONTH = r"(?P<mon>[a-z]{3,9})\.?"
_TAIL = r"(?:(?:T|,?\s+(?:at\s+)?)(?P<time>\S.*))?"
_DATE_FORMS = [
    # ISO 8601 and the slashed form exports write (2022/11/27); year first is never ambiguous.
    re.compile(r"(?P<y>\d{4})-(?P<m>\d{2})-(?P<d>\d{2})" + _TAIL, re.IGNORECASE),
    re.compile(r"(?P<y>\d{4})/(?P<m>\d{1,2})/(?P<d>\d{1,2})" + _TAIL, re.IGNORECASE),
    # RFC 2822 (Sun, 27 Nov 2022 10:00:00 GMT) and 27 Nov 2022.
    re.compile(
        rf"(?:{_WEEKDAY},?\s*)?(?P<d>\d{{1,2}})\s+{_MONTH},?\s+(?P<y>\d{{4}})" + _TAIL,
        re.IGNORECASE,
    ),
    # November 27, 2022 (and Sunday, Nov. 27th 2022).
    re.compile(
        rf"(?:{_WEEKDAY},?\s*)?{_MONTH}\s+(?P<d>\d{{1,2}})(?:st|nd|rd|th)?,?\s+(?P<y>\d{{4}})"
        + _TAIL,
        re.IGNORECASE,
    ),
]


def _zone_offset(zone: str) -> dt.timedelta | None:
    """The UTC offset a zone designator names; None when it names none we know."""
    zone = zone.upper()
    if zone in ("Z", "UT", "UTC", "GMT"):
        return dt.timedelta(0)
    if zone in _ZONES:
        return dt.timedelta(hours=_ZONES[zone])
    m = re.fullmatch(r"(?:UTC|GMT|UT)?([+-])(\d{1,2}):?(\d{2})?", zone)
    if m is None or int(m[2]) > 14 or int(m[3] or 0) >= 60:
        return None
    offset = dt.timedelta(hours=int(m[2]), minutes=int(m[3] or 0))
    return offset if m[1] == "+" else -offset


def _with_time(day: dt.date, time: str | None) -> dt.date | None:
    """The UTC date of day at time; the day itself when no zone is given; None if malformed."""
    if time is None:
        return day
    m = _TIME.fullmatch(time.strip())
    if m is None:
        return None
    hour, minute, second = int(m["h"]), int(m["mi"]), int(m["s"] or 0)
    if m["ampm"]:
        if not 1 <= hour <= 12:
            return None
        hour = hour % 12 + (12 if m["ampm"].lower().startswith("p") else 0)
    if hour > 23 or minute > 59 or second > 60:
        return None
    if m["zone"] is None:
        return day
    offset = _zone_offset(m["zone"])
    if offset is None:
        return None
    moment = dt.datetime.combine(day, dt.time(hour, minute, min(second, 59)))
    return (moment - offset).date()


def _parse_date_text(text: str) -> dt.date | None:
    s = " ".join(text.split())
    for form in _DATE_FORMS:
        if (m := form.fullmatch(s)) is None:
            continue
        groups = m.groupdict()
        month = int(groups["m"]) if groups.get("m") else MONTHS.get(groups["mon"].lower())
        if month is None:
            return None
        try:
            day = dt.date(int(m["y"]), month, int(m["d"]))
        except ValueError:
            return None
        weekday = groups.get("wd")
        # A weekday that contradicts the date means one of them is wrong: no date at all.
        if weekday and WEEKDAYS.get(weekday.lower().rstrip(".")) != day.weekday():
            return None
        return _with_time(day, m["time"])
    return None


def parse_date(value: object) -> str | None:
    """Return the ISO date (YYYY-MM-DD) a feed or export date denotes, or None; never guess.

    Read: ISO 8601 with or without time and zone, ``2022/11/27``, RFC 2822
    (``Sun, 27 Nov 2022 10:00:00 GMT``), ``November 27, 2022`` and ``27 Nov 2022``. A
    timestamp with a zone gives its UTC date; one without gives its own date part. Day-first
    or month-first numeric forms (``11/12/2022``) are ambiguous and refused, as are
    impossible dates and weekdays that contradict the date.
    """
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None and value.utcoffset() is not None:
            value = value.astimezone(dt.UTC)
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if not isinstance(value, str) or len(value) > 100:
        return None
    day = _parse_date_text(value)
    return day.isoformat() if day else None
