"""When a question is about, and when an article says things happened.

Pure functions of their arguments, no I/O, no clock (the asked-on day is always passed in):

- ``resolve(question, asked_on) -> TimeIntent``: the question's time expression as an
  inclusive ``Window`` of dates (never ending after asked_on), whether it filters on
  publication dates or names the time of an event, the "latest"/"which came first" flags and
  the question without the expression.
- ``follow_up(question, previous, asked_on)`` / ``shift(window, text, asked_on)``: "And the
  week before?" moves the previous window; a question with no expression keeps it.
- ``validate_window(proposal, asked_on)``: a window an LLM proposed, refused when inverted,
  in the future or not dates, and cut at asked_on.
- ``dates_mentioned(text, published)``: the days and periods an article's text names (for
  ingest to store), relative ones resolved against the article's date;
  ``mentions_window(mentions, window)`` says whether any falls in a window.

Date rules (shared/eval/time_dev/README.md): weeks run Monday to Sunday; "last week" is the
previous Monday-Sunday; "this week", "this month" and "since Monday" run to the asked-on day;
"on Sunday" is the last Sunday before it; "over the weekend" is the last Saturday and Sunday
before it; "in the past 3 days" is D-3..D; a yearless date is the latest one not after D.

Example::

    >>> import datetime as dt
    >>> intent = resolve("What did The Verge report last week?", dt.date(2023, 10, 25))
    >>> intent.window.iso(), intent.reading, intent.text
    (('2023-10-16', '2023-10-22'), 'publication', 'What did The Verge report?')
"""

from __future__ import annotations

from retrieval.timeparse.followups import follow_up, shift, validate_window
from retrieval.timeparse.mentions import Mention, dates_mentioned, mentions_window
from retrieval.timeparse.periods import Window
from retrieval.timeparse.questions import Reading, TimeIntent, resolve

__all__ = [
    "Mention",
    "Reading",
    "TimeIntent",
    "Window",
    "dates_mentioned",
    "follow_up",
    "mentions_window",
    "resolve",
    "shift",
    "validate_window",
]
