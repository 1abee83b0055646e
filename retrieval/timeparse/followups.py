"""Windows across a conversation: shifting one ("And the week before?"), keeping one, and
checking one that an LLM proposed."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import replace

from retrieval.timeparse.periods import (
    NUMBER_RE,
    Window,
    add_months,
    clip,
    monday,
    month_window,
    number,
    weekend_before,
    year_window,
)
from retrieval.timeparse.questions import TimeIntent, resolve, strip_span

_SHIFT = re.compile(
    rf"\b(?:the\s+)?(?:(?P<n>{NUMBER_RE})\s+)?(?P<unit>days?|weeks?|weekends?|fortnights?|months?"
    r"|years?)\s+(?P<dir>before|earlier|prior|after|later)(?:\s+that)?\b"
    r"|\bthe\s+(?P<dir2>previous|preceding|next|following)\s+(?P<unit2>day|week|weekend|fortnight"
    r"|month|year)\b",
    re.IGNORECASE,
)
_BACK = frozenset({"before", "earlier", "prior", "previous", "preceding"})
_OLDEST = dt.date(1800, 1, 1)


def _weekend_after(day: dt.date) -> Window:
    saturday = day + dt.timedelta(days=(5 - day.weekday()) % 7 or 7)
    return Window(saturday, saturday + dt.timedelta(days=1))


def _move(window: Window, unit: str, n: int, back: bool) -> Window | None:
    """The n-th period of unit before (or after) the window, whole calendar periods."""
    anchor = (window.since or window.until) if back else (window.until or window.since)
    if anchor is None:
        return None
    step = -n if back else n
    if unit == "day":
        day = anchor + dt.timedelta(days=step)
        return Window(day, day)
    if unit in ("week", "fortnight"):
        span = 14 if unit == "fortnight" else 7
        start = monday(anchor) + dt.timedelta(days=-span * n if back else 7 + span * (n - 1))
        return Window(start, start + dt.timedelta(days=span - 1))
    if unit == "weekend":
        w = weekend_before(anchor) if back else _weekend_after(anchor)
        extra = dt.timedelta(days=7 * (n - 1) * (-1 if back else 1))
        assert w.since is not None and w.until is not None
        return Window(w.since + extra, w.until + extra)
    if unit == "month":
        return month_window(*add_months(anchor.year, anchor.month, step))
    return year_window(anchor.year + step)


def shift(window: Window, expression: str, asked_on: dt.date) -> Window | None:
    """The window a follow-up such as "and the week before?" moves to, or None.

    Args:
        window: The window of the previous turn.
        expression: The follow-up (only its shift phrase is read).
        asked_on: The day the follow-up is asked; the result never ends after it.

    Returns:
        The shifted window cut at asked_on, or None when the text names no shift or the
        result lies wholly after asked_on.
    """
    m = _SHIFT.search(expression)
    if m is None:
        return None
    unit = (m["unit"] or m["unit2"]).lower().rstrip("s")
    n = number(m["n"]) if m["n"] else 1
    moved = _move(window, unit, n, (m["dir"] or m["dir2"]).lower() in _BACK)
    return clip(moved, asked_on) if moved else None


def follow_up(question: str, previous: TimeIntent | None, asked_on: dt.date) -> TimeIntent:
    """Resolve a follow-up: a shift moves the previous window, a new expression replaces it,
    and a question with neither keeps it."""
    m = _SHIFT.search(question)
    if previous is not None and previous.window is not None and m is not None:
        moved = shift(previous.window, question, asked_on)
        own = resolve(question, asked_on)
        text = strip_span(question, m.start(), m.end())
        return TimeIntent(
            moved,
            previous.reading if moved else None,
            m[0],
            own.latest,
            own.order,
            text,
            future=moved is None,
        )
    intent = resolve(question, asked_on)
    if intent.window is not None or intent.future or previous is None:
        return intent
    return replace(
        intent,
        window=previous.window,
        reading=previous.reading,
        expression=previous.expression,
    )


def _as_date(value: object) -> dt.date | None:
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        return dt.date.fromisoformat(value.strip()[:10])
    raise ValueError(f"not a date: {value!r}")


def validate_window(proposal: object, asked_on: dt.date) -> Window | None:
    """Check a window someone else proposed (an LLM): None when it is unusable.

    A Window or a pair of ISO dates / dates / None is accepted. The window is refused
    when a bound is not a date, when it is inverted, when it starts after asked_on or
    before 1800, or when both sides are open; an end after asked_on is cut to asked_on.
    """
    if isinstance(proposal, Window):
        since, until = proposal.since, proposal.until
    elif isinstance(proposal, list | tuple) and len(proposal) == 2:
        try:
            since, until = _as_date(proposal[0]), _as_date(proposal[1])
        except ValueError:
            return None
    else:
        return None
    if since is None and until is None:
        return None
    if (since and since < _OLDEST) or (until and until < _OLDEST):
        return None
    if since is not None and until is not None and since > until:
        return None
    return clip(Window(since, until), asked_on)
