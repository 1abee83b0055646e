"""When a question is about, and when an article says things happened.

``resolve`` reads a question's time expression as a window of dates against the day it is
asked; ``follow_up``/``shift`` carry a window through a conversation; ``validate_window``
checks one an LLM proposed; ``dates_mentioned`` lists the dates an article's text names.
All are pure functions of their arguments (the date rules of shared/eval/time_dev/README.md:
weeks run Monday to Sunday, "last week" is the previous Monday-Sunday, "this week" runs to
the asked-on day).
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
