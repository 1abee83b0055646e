"""Time expressions: exact windows on four asked-on dates, readings, flags, follow-ups,
LLM-proposed windows and the dates an article's text mentions."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys

import pytest
from hypothesis import given
from hypothesis import strategies as st

from retrieval.timeparse import (
    Window,
    dates_mentioned,
    follow_up,
    mentions_window,
    resolve,
    shift,
    validate_window,
)

D = dt.date
MONDAY = D(2023, 11, 13)
SUNDAY = D(2023, 12, 3)
NEW_YEARS_EVE = D(2024, 12, 31)  # a Tuesday
LEAP_DAY = D(2024, 2, 29)  # a Thursday
ASKED_ON = (MONDAY, SUNDAY, NEW_YEARS_EVE, LEAP_DAY)


def window(spec: str | None) -> tuple[str | None, str | None] | None:
    """'a/b' is a..b, 'a' is the one day a, '/b' is open up to b, None is no window."""
    if spec is None:
        return None
    since, _, until = spec.partition("/")
    return (since or None, until) if until else (since, since)


# Each question on a Monday, a Sunday, 31 December and 29 February (the README's date rules:
# weeks run Monday-Sunday, "on Sunday" is the last Sunday before the asked-on day, ...).
PHRASES = [
    ("What happened today?", "2023-11-13", "2023-12-03", "2024-12-31", "2024-02-29"),
    ("What was reported yesterday?", "2023-11-12", "2023-12-02", "2024-12-30", "2024-02-28"),
    ("Who won last night?", "2023-11-12", "2023-12-02", "2024-12-30", "2024-02-28"),
    (
        "What happened the day before yesterday?",
        "2023-11-11",
        "2023-12-01",
        "2024-12-29",
        "2024-02-27",
    ),
    (
        "What happened this week?",
        "2023-11-13",
        "2023-11-27/2023-12-03",
        "2024-12-30/2024-12-31",
        "2024-02-26/2024-02-29",
    ),
    (
        "Who topped this week's charts?",
        "2023-11-13",
        "2023-11-27/2023-12-03",
        "2024-12-30/2024-12-31",
        "2024-02-26/2024-02-29",
    ),
    (
        "What was announced earlier this week?",
        "2023-11-13",
        "2023-11-27/2023-12-03",
        "2024-12-30/2024-12-31",
        "2024-02-26/2024-02-29",
    ),
    (
        "What did they say last week?",
        "2023-11-06/2023-11-12",
        "2023-11-20/2023-11-26",
        "2024-12-23/2024-12-29",
        "2024-02-19/2024-02-25",
    ),
    (
        "Who led last week's round?",
        "2023-11-06/2023-11-12",
        "2023-11-20/2023-11-26",
        "2024-12-23/2024-12-29",
        "2024-02-19/2024-02-25",
    ),
    (
        "What happened the week before last?",
        "2023-10-30/2023-11-05",
        "2023-11-13/2023-11-19",
        "2024-12-16/2024-12-22",
        "2024-02-12/2024-02-18",
    ),
    (
        "What happened over the weekend?",
        "2023-11-11/2023-11-12",
        "2023-11-25/2023-11-26",
        "2024-12-28/2024-12-29",
        "2024-02-24/2024-02-25",
    ),
    (
        "Who scored last weekend?",
        "2023-11-11/2023-11-12",
        "2023-11-25/2023-11-26",
        "2024-12-28/2024-12-29",
        "2024-02-24/2024-02-25",
    ),
    (
        "What happened this weekend?",
        "2023-11-11/2023-11-12",
        "2023-12-02/2023-12-03",
        "2024-12-28/2024-12-29",
        "2024-02-24/2024-02-25",
    ),
    (
        "What happened this month?",
        "2023-11-01/2023-11-13",
        "2023-12-01/2023-12-03",
        "2024-12-01/2024-12-31",
        "2024-02-01/2024-02-29",
    ),
    (
        "What was reported last month?",
        "2023-10-01/2023-10-31",
        "2023-11-01/2023-11-30",
        "2024-11-01/2024-11-30",
        "2024-01-01/2024-01-31",
    ),
    (
        "What has happened so far this year?",
        "2023-01-01/2023-11-13",
        "2023-01-01/2023-12-03",
        "2024-01-01/2024-12-31",
        "2024-01-01/2024-02-29",
    ),
    (
        "What happened last year?",
        "2022-01-01/2022-12-31",
        "2022-01-01/2022-12-31",
        "2023-01-01/2023-12-31",
        "2023-01-01/2023-12-31",
    ),
    (
        "What has been reported since Monday?",
        "2023-11-06/2023-11-13",
        "2023-11-27/2023-12-03",
        "2024-12-30/2024-12-31",
        "2024-02-26/2024-02-29",
    ),
    (
        "What has been said since Friday?",
        "2023-11-10/2023-11-13",
        "2023-12-01/2023-12-03",
        "2024-12-27/2024-12-31",
        "2024-02-23/2024-02-29",
    ),
    ("What happened on Sunday?", "2023-11-12", "2023-11-26", "2024-12-29", "2024-02-25"),
    (
        "What did the minister say on Monday?",
        "2023-11-06",
        "2023-11-27",
        "2024-12-30",
        "2024-02-26",
    ),
    ("What did Thursday's preview expect?", "2023-11-09", "2023-11-30", "2024-12-26", "2024-02-22"),
    ("What did they announce last Friday?", "2023-11-10", "2023-12-01", "2024-12-27", "2024-02-23"),
    ("Who won on Saturday night?", "2023-11-11", "2023-12-02", "2024-12-28", "2024-02-24"),
    (
        "What happened in the past 3 days?",
        "2023-11-10/2023-11-13",
        "2023-11-30/2023-12-03",
        "2024-12-28/2024-12-31",
        "2024-02-26/2024-02-29",
    ),
    (
        "What happened in the past three days?",
        "2023-11-10/2023-11-13",
        "2023-11-30/2023-12-03",
        "2024-12-28/2024-12-31",
        "2024-02-26/2024-02-29",
    ),
    (
        "What was reported over the last 7 days?",
        "2023-11-06/2023-11-13",
        "2023-11-26/2023-12-03",
        "2024-12-24/2024-12-31",
        "2024-02-22/2024-02-29",
    ),
    (
        "What happened in the past week?",
        "2023-11-06/2023-11-13",
        "2023-11-26/2023-12-03",
        "2024-12-24/2024-12-31",
        "2024-02-22/2024-02-29",
    ),
    (
        "What happened in the past 24 hours?",
        "2023-11-12/2023-11-13",
        "2023-12-02/2023-12-03",
        "2024-12-30/2024-12-31",
        "2024-02-28/2024-02-29",
    ),
    (
        "What was reported in the last two weeks?",
        "2023-10-30/2023-11-13",
        "2023-11-19/2023-12-03",
        "2024-12-17/2024-12-31",
        "2024-02-15/2024-02-29",
    ),
    (
        "What happened in the past month?",
        "2023-10-13/2023-11-13",
        "2023-11-03/2023-12-03",
        "2024-11-30/2024-12-31",
        "2024-01-29/2024-02-29",
    ),
    (
        "What happened in the past year?",
        "2022-11-13/2023-11-13",
        "2022-12-03/2023-12-03",
        "2023-12-31/2024-12-31",
        "2023-02-28/2024-02-29",
    ),
    ("What happened 3 days ago?", "2023-11-10", "2023-11-30", "2024-12-28", "2024-02-26"),
    (
        "What happened two weeks ago?",
        "2023-10-30/2023-11-05",
        "2023-11-13/2023-11-19",
        "2024-12-16/2024-12-22",
        "2024-02-12/2024-02-18",
    ),
    (
        "What was reported a month ago?",
        "2023-10-01/2023-10-31",
        "2023-11-01/2023-11-30",
        "2024-11-01/2024-11-30",
        "2024-01-01/2024-01-31",
    ),
    (
        "What happened in October 2021?",
        "2021-10-01/2021-10-31",
        "2021-10-01/2021-10-31",
        "2021-10-01/2021-10-31",
        "2021-10-01/2021-10-31",
    ),
    (
        "What happened in October?",
        "2023-10-01/2023-10-31",
        "2023-10-01/2023-10-31",
        "2024-10-01/2024-10-31",
        "2023-10-01/2023-10-31",
    ),
    (
        "What happened in December?",
        "2022-12-01/2022-12-31",
        "2023-12-01/2023-12-03",
        "2024-12-01/2024-12-31",
        "2023-12-01/2023-12-31",
    ),
    (
        "What happened in February?",
        "2023-02-01/2023-02-28",
        "2023-02-01/2023-02-28",
        "2024-02-01/2024-02-29",
        "2024-02-01/2024-02-29",
    ),
    ("What did he say on 19 October?", "2023-10-19", "2023-10-19", "2024-10-19", "2023-10-19"),
    ("What did he say on October 19?", "2023-10-19", "2023-10-19", "2024-10-19", "2023-10-19"),
    ("What happened on 29 February?", "2020-02-29", "2020-02-29", "2024-02-29", "2024-02-29"),
    (
        "What happened between 2 and 9 November?",
        "2023-11-02/2023-11-09",
        "2023-11-02/2023-11-09",
        "2024-11-02/2024-11-09",
        "2023-11-02/2023-11-09",
    ),
    (
        "What happened from 20 December to 5 January?",
        "2022-12-20/2023-01-05",
        "2022-12-20/2023-01-05",
        "2024-12-20/2024-12-31",
        "2023-12-20/2024-01-05",
    ),
    (
        "What happened between October and December 2023?",
        "2023-10-01/2023-11-13",
        "2023-10-01/2023-12-03",
        "2023-10-01/2023-12-31",
        "2023-10-01/2023-12-31",
    ),
    (
        "What happened between 2019 and 2021?",
        "2019-01-01/2021-12-31",
        "2019-01-01/2021-12-31",
        "2019-01-01/2021-12-31",
        "2019-01-01/2021-12-31",
    ),
    ("What happened before 2014?", "/2013-12-31", "/2013-12-31", "/2013-12-31", "/2013-12-31"),
    (
        "What happened after 1 November?",
        "2023-11-02/2023-11-13",
        "2023-11-02/2023-12-03",
        "2024-11-02/2024-12-31",
        "2023-11-02/2024-02-29",
    ),
    ("What was said until 5 October?", "/2023-10-05", "/2023-10-05", "/2024-10-05", "/2023-10-05"),
    (
        "As of 10 October 2023, who was the quarterback?",
        "/2023-10-10",
        "/2023-10-10",
        "/2023-10-10",
        "/2023-10-10",
    ),
    (
        "What has been reported since October?",
        "2023-10-01/2023-11-13",
        "2023-10-01/2023-12-03",
        "2024-10-01/2024-12-31",
        "2023-10-01/2024-02-29",
    ),
    (
        "What were the results in Q3?",
        "2023-07-01/2023-09-30",
        "2023-07-01/2023-09-30",
        "2024-07-01/2024-09-30",
        "2023-07-01/2023-09-30",
    ),
    (
        "What were the results in Q1 2024?",
        None,
        None,
        "2024-01-01/2024-03-31",
        "2024-01-01/2024-02-29",
    ),
    (
        "What happened in 2014 between NATO and Russia?",
        "2014-01-01/2014-12-31",
        "2014-01-01/2014-12-31",
        "2014-01-01/2014-12-31",
        "2014-01-01/2014-12-31",
    ),
    (
        "What happened in the first week of December?",
        "2022-12-01/2022-12-07",
        "2023-12-01/2023-12-03",
        "2024-12-01/2024-12-07",
        "2023-12-01/2023-12-07",
    ),
    (
        "What happened in the last week of January?",
        "2023-01-25/2023-01-31",
        "2023-01-25/2023-01-31",
        "2024-01-25/2024-01-31",
        "2024-01-25/2024-01-31",
    ),
    (
        "What happened in mid-October?",
        "2023-10-11/2023-10-20",
        "2023-10-11/2023-10-20",
        "2024-10-11/2024-10-20",
        "2023-10-11/2023-10-20",
    ),
    (
        "What happened in late February?",
        "2023-02-21/2023-02-28",
        "2023-02-21/2023-02-28",
        "2024-02-21/2024-02-29",
        "2024-02-21/2024-02-29",
    ),
    (
        "What happened last October?",
        "2023-10-01/2023-10-31",
        "2023-10-01/2023-10-31",
        "2024-10-01/2024-10-31",
        "2023-10-01/2023-10-31",
    ),
    (
        "What happened last December?",
        "2022-12-01/2022-12-31",
        "2022-12-01/2022-12-31",
        "2023-12-01/2023-12-31",
        "2023-12-01/2023-12-31",
    ),
    (
        "What happened this quarter?",
        "2023-10-01/2023-11-13",
        "2023-10-01/2023-12-03",
        "2024-10-01/2024-12-31",
        "2024-01-01/2024-02-29",
    ),
    (
        "What happened last quarter?",
        "2023-07-01/2023-09-30",
        "2023-07-01/2023-09-30",
        "2024-07-01/2024-09-30",
        "2023-10-01/2023-12-31",
    ),
    (
        "What happened in the first half of 2023?",
        "2023-01-01/2023-06-30",
        "2023-01-01/2023-06-30",
        "2023-01-01/2023-06-30",
        "2023-01-01/2023-06-30",
    ),
    ("What happened on 2023-10-19?", "2023-10-19", "2023-10-19", "2023-10-19", "2023-10-19"),
    ("What happened this morning?", "2023-11-13", "2023-12-03", "2024-12-31", "2024-02-29"),
    (
        "What happened in November 2023?",
        "2023-11-01/2023-11-13",
        "2023-11-01/2023-11-30",
        "2023-11-01/2023-11-30",
        "2023-11-01/2023-11-30",
    ),
    (
        "What happened in the week of 6 November?",
        "2023-11-06/2023-11-12",
        "2023-11-06/2023-11-12",
        "2024-11-04/2024-11-10",
        "2023-11-06/2023-11-12",
    ),
    (
        "What happened November 2-9?",
        "2023-11-02/2023-11-09",
        "2023-11-02/2023-11-09",
        "2024-11-02/2024-11-09",
        "2023-11-02/2023-11-09",
    ),
    (
        "What happened between 2 November and 9 December?",
        "2023-11-02/2023-11-13",
        "2023-11-02/2023-12-03",
        "2024-11-02/2024-12-09",
        "2023-11-02/2023-12-09",
    ),
    ("What will happen tomorrow?", None, None, None, None),
    ("What happens next week?", None, None, None, None),
    ("What is the latest on the strike?", None, None, None, None),
]


@pytest.mark.parametrize("asked_on", ASKED_ON, ids=["monday", "sunday", "31dec", "29feb"])
@pytest.mark.parametrize("row", PHRASES, ids=[row[0] for row in PHRASES])
def test_phrasing_windows(row: tuple[str, ...], asked_on: dt.date) -> None:
    question, *expected = row
    intent = resolve(question, asked_on)
    got = intent.window.iso() if intent.window else None
    assert got == window(expected[ASKED_ON.index(asked_on)])


def test_the_issue_forms_cover_sixty_expressions() -> None:
    assert len(PHRASES) >= 60


@given(
    st.sampled_from([row[0] for row in PHRASES]),
    st.dates(min_value=D(1990, 1, 1), max_value=D(2060, 12, 31)),
)
def test_a_window_never_ends_after_the_asked_on_day(question: str, asked_on: dt.date) -> None:
    intent = resolve(question, asked_on)
    if intent.window is not None:
        assert intent.window.until is not None and intent.window.until <= asked_on
        assert intent.window.since is None or intent.window.since <= intent.window.until
        assert intent.reading in ("publication", "event")


def test_future_only_expressions_give_no_window_and_say_so() -> None:
    for question in ("What will happen tomorrow?", "What were the results in Q1 2024?"):
        intent = resolve(question, MONDAY)
        assert (intent.window, intent.future) == (None, True)
    assert resolve("What is the latest on the strike?", MONDAY).future is False


@pytest.mark.parametrize(
    "question",
    [
        "Who won Monday Night Football?",
        "Who won Thursday Night Football?",
        "May I ask about Mar-a-Lago?",
        "What happened in the 2014 crisis?",
        "What did the 49ers do in 3 games?",
        "Did the strike end before the vote?",
        "What happened between NATO and Russia?",
        "Who marched on Washington?",
        "What did May and June bring?",
    ],
)
def test_no_time_expression_no_window(question: str) -> None:
    intent = resolve(question, MONDAY)
    assert (intent.window, intent.expression, intent.text) == (None, None, question)


def test_event_reading_for_a_year_long_before_the_question() -> None:
    intent = resolve("What happened in 2014 between NATO and Russia?", D(2021, 10, 19))
    assert intent.window == Window(D(2014, 1, 1), D(2014, 12, 31))
    assert intent.reading == "event"
    assert intent.text == "What happened between NATO and Russia?"
    assert resolve("What did Putin say in 2014?", D(2021, 10, 19)).reading == "event"


def test_publication_reading_for_coverage_periods() -> None:
    assert resolve("What did NATO say last week?", D(2021, 10, 19)).reading == "publication"
    intent = resolve(
        "In October 2023, how much did Fortune say the tour would gross?", D(2023, 12, 20)
    )
    assert (intent.reading, intent.text) == (
        "publication",
        "How much did Fortune say the tour would gross?",
    )
    assert resolve("As of 1 December 2023, who ran Binance?", D(2023, 12, 24)).reading == (
        "publication"
    )
    # A recent absolute period is coverage unless the question asks what happened in it.
    assert resolve("Who was top scorer in October 2023?", D(2023, 12, 20)).reading == (
        "publication"
    )
    assert resolve("What happened in October 2023?", D(2023, 12, 20)).reading == "event"


@pytest.mark.parametrize(
    ("question", "latest"),
    [
        ("What's the latest on Tyreek Hill?", True),
        ("Who is now the CEO of Binance?", True),
        ("Who is the current Speaker?", True),
        ("Is Zhao still running Binance?", True),
        ("How many yards has he gained so far?", True),
        ("What is the most recent report on the strike?", True),
        ("As of 1 December 2023, who ran Binance?", True),
        ("What's new with Taylor Swift?", True),
        ("Who knows the answer?", False),
        ("Who won the final?", False),
    ],
)
def test_latest_flag(question: str, latest: bool) -> None:
    assert resolve(question, MONDAY).latest is latest


@pytest.mark.parametrize(
    ("question", "order"),
    [
        ("Which happened first: the suspension or the ouster?", True),
        ("Which came first: the Pixel 8 launch or Apple's event?", True),
        ("Did the game Tyreek Hill missed come before his 157-yard game?", True),
        ("What came first, the strike or the vote?", True),
        ("In what order did the three announcements happen?", True),
        ("Which was announced first, the Pixel 8 or the M3 Macs?", True),
        ("Did the ouster precede the vote?", True),
        ("Which team scored first in the final?", False),
        ("What happened before 2014?", False),
        ("Who came to the summit?", False),
    ],
)
def test_order_flag(question: str, order: bool) -> None:
    intent = resolve(question, MONDAY)
    assert intent.order is order
    if order:
        assert intent.window is None


def test_the_expression_is_taken_out_of_the_text() -> None:
    intent = resolve("Who led Tasmania's scoring in this week's NBL round?", D(2023, 10, 27))
    assert (intent.expression, intent.text) == (
        "this week's",
        "Who led Tasmania's scoring in NBL round?",
    )
    intent = resolve("What has been reported about Caroline Ellison since Monday?", MONDAY)
    assert intent.text == "What has been reported about Caroline Ellison?"


@pytest.mark.parametrize(
    ("question", "since", "until", "text"),
    [
        (
            "What happened between Monday and Wednesday?",
            "2023-11-13",
            "2023-11-15",
            "What happened?",
        ),
        ("What happened between Friday and Monday?", "2023-11-10", "2023-11-13", "What happened?"),
        ("What has happened since last week?", "2023-11-06", "2023-11-15", "What has happened?"),
        ("Any news from last Thursday?", "2023-11-09", "2023-11-09", "Any news?"),
        ("What happened since Monday?", "2023-11-13", "2023-11-15", "What happened?"),
    ],
)
def test_relative_points_inside_ranges_and_bounds(
    question: str, since: str, until: str, text: str
) -> None:
    intent = resolve(question, D(2023, 11, 15))  # a Wednesday
    assert intent.window is not None and intent.window.iso() == (since, until)
    assert intent.reading == "publication"  # relative to the asked-on day: coverage
    assert intent.text == text


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("What happened in the NFL on Thanksgiving?", ("2023-11-23", "2023-11-23")),
        ("What were sales like on Black Friday?", ("2023-11-24", "2023-11-24")),
        ("How did retailers do on Cyber Monday?", ("2023-11-27", "2023-11-27")),
        ("What happened on Christmas Eve?", ("2022-12-24", "2022-12-24")),
        ("What happened at Halloween?", ("2023-10-31", "2023-10-31")),
        ("By 10 October 2023, who had been ousted?", (None, "2023-10-10")),
        ("As at 1 December 2023, who ran Binance?", (None, "2023-12-01")),
        ("What happened on Saturday and Sunday?", ("2023-12-16", "2023-12-17")),
        ("What happened in October and November?", ("2023-10-01", "2023-11-30")),
    ],
)
def test_named_days_and_bounds(question: str, expected: tuple[str | None, str]) -> None:
    intent = resolve(question, D(2023, 12, 20))
    assert intent.window is not None and intent.window.iso() == expected


def test_numeric_dates_fall_back_to_dateparser() -> None:
    intent = resolve("What happened on 19.10.2021?", D(2023, 1, 1))
    assert intent.window == Window(D(2021, 10, 19), D(2021, 10, 19))
    assert intent.text == "What happened?"


def test_common_forms_never_import_dateparser() -> None:
    code = (
        "import sys, datetime as dt\n"
        "from retrieval.timeparse import resolve\n"
        "for q in ['What happened last week?', 'What happened between 2 and 9 November?',"
        " 'What happened in October 2021?', 'What is the latest on X?']:\n"
        "    resolve(q, dt.date(2023, 11, 13))\n"
        "assert 'dateparser' not in sys.modules, 'dateparser imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


# --- follow-ups ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("first", "follow", "expected"),
    [
        ("What happened this week?", "And the week before?", ("2023-11-20", "2023-11-26")),
        ("What happened last week?", "And the week before?", ("2023-11-13", "2023-11-19")),
        ("What happened yesterday?", "and the day before?", ("2023-12-01", "2023-12-01")),
        ("What happened last month?", "What about the month before?", ("2023-10-01", "2023-10-31")),
        ("What happened in 2014?", "And the year after?", ("2015-01-01", "2015-12-31")),
        (
            "What happened over the weekend?",
            "And the weekend before?",
            ("2023-11-18", "2023-11-19"),
        ),
        (
            "What happened the week before last?",
            "And the week after?",
            ("2023-11-20", "2023-11-26"),
        ),
        ("What happened last week?", "And two weeks earlier?", ("2023-11-06", "2023-11-12")),
        ("What happened last week?", "And the previous week?", ("2023-11-13", "2023-11-19")),
    ],
)
def test_follow_up_shifts_the_window(first: str, follow: str, expected: tuple[str, str]) -> None:
    previous = resolve(first, SUNDAY)
    intent = follow_up(follow, previous, SUNDAY)
    assert intent.window is not None and intent.window.iso() == expected
    assert intent.reading == previous.reading


def test_follow_up_takes_the_shift_out_of_the_text() -> None:
    previous = resolve("What did the Verge report last week?", SUNDAY)
    assert follow_up("And the week before?", previous, SUNDAY).text == "And?"
    assert follow_up("What did Wang say the day before?", previous, SUNDAY).text == (
        "What did Wang say?"
    )


def test_follow_up_keeps_or_replaces_the_window() -> None:
    previous = resolve("What did the Verge report last week?", SUNDAY)
    kept = follow_up("And what did Wang say?", previous, SUNDAY)
    assert (kept.window, kept.text) == (previous.window, "And what did Wang say?")
    replaced = follow_up("And yesterday?", previous, SUNDAY)
    assert replaced.window == Window(D(2023, 12, 2), D(2023, 12, 2))
    assert follow_up("And the week before?", None, SUNDAY).window is None


def test_shifting_into_the_future_gives_no_window() -> None:
    this_week = resolve("What happened this week?", SUNDAY).window
    assert this_week is not None
    assert shift(this_week, "and the week after?", SUNDAY) is None
    assert shift(this_week, "tell me more", SUNDAY) is None
    last_month = Window(D(2023, 11, 1), D(2023, 11, 30))
    assert shift(last_month, "and the month after?", SUNDAY) == Window(
        D(2023, 12, 1), D(2023, 12, 3)
    )


# --- windows an LLM proposes ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("proposal", "expected"),
    [
        (Window(D(2023, 11, 1), D(2023, 11, 30)), Window(D(2023, 11, 1), D(2023, 11, 13))),
        (("2023-11-06", "2023-11-12"), Window(D(2023, 11, 6), D(2023, 11, 12))),
        ([None, "2023-10-10"], Window(None, D(2023, 10, 10))),
        (("2023-11-01", None), Window(D(2023, 11, 1), MONDAY)),
        (("2023-11-12", "2023-11-06"), None),  # inverted
        (("2023-11-14", "2023-11-20"), None),  # wholly in the future
        ((None, None), None),
        (("last week", "2023-11-12"), None),
        (("2023-02-30", "2023-03-01"), None),
        (("1066-10-14", "1066-10-14"), None),
        ("2023-11-06", None),
        (None, None),
    ],
)
def test_validate_window(proposal: object, expected: Window | None) -> None:
    assert validate_window(proposal, MONDAY) == expected


# --- dates mentioned in article text -------------------------------------------------------

ARTICLE = (
    "MOSCOW, Oct 18 (Reuters) - Russia said on Monday it would suspend its mission to NATO. "
    "In 2014, after the annexation of Crimea, NATO cut ties. Talks held on 19 October 2021 "
    "and in March 2020 failed; 2,000 troops were sent. Last year the alliance expelled eight "
    "diplomats, and two weeks ago it said it would meet next week. The 2014 crisis, the "
    "May 5 vote, Nov. 27, 2022 and 2021-06-14 are mentioned too."
)


def test_dates_mentioned_with_the_articles_date() -> None:
    assert dates_mentioned(ARTICLE, D(2021, 10, 18)) == [
        D(2021, 10, 18),  # Oct 18, and "on Monday" in a Monday article
        (D(2014, 1, 1), D(2014, 12, 31)),
        D(2021, 10, 19),
        (D(2020, 3, 1), D(2020, 3, 31)),
        (D(2020, 1, 1), D(2020, 12, 31)),  # last year
        (D(2021, 10, 4), D(2021, 10, 10)),  # two weeks ago
        (D(2021, 10, 25), D(2021, 10, 31)),  # next week
        D(2021, 5, 5),
        D(2022, 11, 27),
        D(2021, 6, 14),
    ]


def test_dates_mentioned_without_a_date_keeps_only_absolute_ones() -> None:
    assert dates_mentioned(ARTICLE, None) == [
        (D(2014, 1, 1), D(2014, 12, 31)),
        D(2021, 10, 19),
        (D(2020, 3, 1), D(2020, 3, 31)),
        D(2022, 11, 27),
        D(2021, 6, 14),
    ]


@pytest.mark.parametrize(
    ("text", "published", "expected"),
    [
        ("The minister spoke on Wednesday.", D(2023, 11, 13), [D(2023, 11, 8)]),
        ("The minister said Monday the talks failed.", D(2023, 11, 13), [D(2023, 11, 13)]),
        ("The committee will meet on Thursday.", D(2023, 11, 13), [D(2023, 11, 16)]),
        ("It happened yesterday.", D(2024, 3, 1), [D(2024, 2, 29)]),
        ("Sales rose earlier this year.", D(2024, 3, 1), [(D(2024, 1, 1), D(2024, 12, 31))]),
        ("The deal closed on Dec. 28.", D(2024, 1, 3), [D(2023, 12, 28)]),
        ("Monday Night Football and Black Friday sales.", D(2023, 11, 27), []),
        ("Marchers may walk 2,000 miles in 2000 days.", D(2023, 11, 27), []),
        ("Since 2019 the price has doubled.", None, [(D(2019, 1, 1), D(2019, 12, 31))]),
    ],
)
def test_dates_mentioned_forms(
    text: str, published: dt.date | None, expected: list[object]
) -> None:
    assert dates_mentioned(text, published) == expected


def test_an_event_window_matches_an_article_that_recounts_it() -> None:
    intent = resolve("What happened in 2014 between NATO and Russia?", D(2021, 10, 19))
    assert intent.window is not None and intent.reading == "event"
    published = D(2021, 10, 18)
    assert published not in intent.window
    assert mentions_window(dates_mentioned(ARTICLE, published), intent.window)
    assert not mentions_window(dates_mentioned("Nothing dated here.", published), intent.window)


def test_the_package_example_runs() -> None:
    import doctest

    import retrieval.timeparse

    assert doctest.testmod(retrieval.timeparse).failed == 0
