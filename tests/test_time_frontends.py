"""The asked-on date through every front end: `newsbot ask --as-of`, the REPL's /asof,
`as_of` in both HTTP APIs, and the Telegram message date; and the "As of" stamp each shows."""

from __future__ import annotations

import asyncio
import datetime as dt
import io
import json
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from rich.console import Console
from test_http_support import READ, with_http

from bot.cli import main
from bot.http import create_app
from bot.repl.chat import Chat
from bot.telegram import render as tg_render
from retrieval.answer import Answer, AnswerWindow, Citation, FinalEvent, StreamEvent
from retrieval.config import Settings
from retrieval.service import NewsService
from tests.fake_bot_api import EchoService, FakeBotApi, run_bot

QUESTION = "When is the accreditation withdrawn?"
NOTHING_YET = "There is no article published on or before 18 October 2021 to answer from."


@pytest.fixture(scope="module")
def config(seed_config: Path, embedder: object) -> Path:
    """A config whose articles are the seed; the index is built by the first `ask`."""
    return seed_config


def test_cli_as_of_before_the_article_says_there_is_nothing_to_answer_from(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["--config", str(config), "ask", "--as-of", "2021-10-18", QUESTION])
    out, _ = capsys.readouterr()
    assert code == 0
    assert out.strip() == NOTHING_YET


def test_cli_answer_shows_its_as_of_stamp(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["--config", str(config), "ask", "--as-of", "2021-10-25", QUESTION])
    out, _ = capsys.readouterr()
    assert code == 0
    assert "\n\nAs of 19 Oct 2021 (6 days before the question)\n\nSources:\n" in out
    code = main(["--config", str(config), "ask", "--json", "--as-of", "2021-10-25", QUESTION])
    answer = json.loads(capsys.readouterr()[0])
    assert (answer["as_of"], answer["asked_on"], answer["window"]) == (
        "2021-10-19",
        "2021-10-25",
        None,
    )


def test_cli_refuses_a_bad_as_of_date(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as e:
        main(["--config", str(config), "ask", "--as-of", "yesterday", QUESTION])
    assert e.value.code == 2
    assert "not an ISO date" in capsys.readouterr()[1]


# --- REPL ----------------------------------------------------------------------------


class RecordingService:
    """A ChatService that answers with a dated citation and records each asked-on date."""

    def __init__(self) -> None:
        self.as_ofs: list[dt.date | None] = []

    async def astream(
        self, question: str, *, session_id: str | None = None, as_of: dt.date | None = None
    ) -> AsyncIterator[StreamEvent]:
        self.as_ofs.append(as_of)
        yield FinalEvent(_dated_answer(as_of))

    def reset(self, session_id: str) -> None:
        pass

    def last_turn(self, session_id: str) -> None:
        return None

    def stats(self) -> dict[str, Any]:
        return {}


def _dated_answer(asked_on: dt.date | None) -> Answer:
    citation = Citation(
        n=1,
        article_id="a",
        title="Harbour opens",
        date="2022-05-01",
        quote="The harbour opens on 1 May.",
        chunk_id="a#0",
        score=0.9,
    )
    return Answer(
        question="q",
        standalone_question="q",
        text="On 1 May. [1]",
        citations=[citation],
        as_of="2022-05-01",
        asked_on=(asked_on or dt.date(2022, 5, 20)).isoformat(),
        window=AnswerWindow(since="2022-04-25", until="2022-05-01", reading="publication"),
    )


def test_repl_asof_sets_the_asked_on_date_and_the_stamp_is_shown() -> None:
    service = RecordingService()
    console = Console(file=io.StringIO(), width=100, color_system=None, markup=False)
    chat = Chat(service, console, "s1")

    async def scenario() -> None:
        await chat.handle("When does the harbour open?")
        await chat.handle("/asof 2022-05-03")
        await chat.handle("When does the harbour open?")
        await chat.handle("/asof someday")
        await chat.handle("/asof today")
        await chat.handle("When does the harbour open?")

    try:
        asyncio.run(scenario())
    finally:
        chat.close()
    assert service.as_ofs == [None, dt.date(2022, 5, 3), None]
    out = console.file.getvalue()  # type: ignore[attr-defined]
    assert "As of 1 May 2022 (2 days before the question) · window 25 Apr 2022 - 1 May 2022" in out
    assert "Questions are now asked as of 2022-05-03" in out
    assert "Not a date: someday" in out


# --- HTTP ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def client(seed_service: NewsService) -> Iterator[TestClient]:
    settings = with_http(seed_service.settings, rate_limit_per_minute=100_000)
    with TestClient(create_app(seed_service, settings), raise_server_exceptions=False) as c:
        yield c


def test_http_answer_takes_as_of(client: TestClient) -> None:
    r = client.post("/v1/answer", json={"question": QUESTION, "as_of": "2021-10-18"}, headers=READ)
    assert r.status_code == 200, r.text
    answer = r.json()
    assert answer["abstained"] and answer["citations"] == []
    assert answer["text"] == NOTHING_YET
    assert answer["asked_on"] == "2021-10-18"
    r = client.post("/v1/answer", json={"question": QUESTION, "as_of": "2021-10-20"}, headers=READ)
    assert (r.json()["as_of"], r.json()["asked_on"]) == ("2021-10-19", "2021-10-20")
    r = client.post("/v1/answer", json={"question": QUESTION, "as_of": "Monday"}, headers=READ)
    assert r.status_code == 422


def test_openai_compatible_body_takes_as_of_as_an_extra_field(client: TestClient) -> None:
    body = {
        "model": "newsbot",
        "messages": [{"role": "user", "content": QUESTION}],
        "as_of": "2021-10-18",
    }
    r = client.post("/v1/chat/completions", json=body, headers=READ)
    assert r.status_code == 200, r.text
    reply = r.json()
    assert reply["choices"][0]["message"]["content"] == NOTHING_YET
    assert reply["asked_on"] == "2021-10-18" and reply["abstained"] is True
    r = client.post(
        "/v1/chat/completions", json={**body, "as_of": "2021-10-21", "stream": True}, headers=READ
    )
    chunks = [
        json.loads(line[len("data: ") :])
        for line in r.text.splitlines()
        if line.startswith("data: {")
    ]
    assert chunks[-1]["asked_on"] == "2021-10-21" and chunks[-1]["as_of"] == "2021-10-19"


# --- Telegram ------------------------------------------------------------------------


def test_telegram_message_date_is_the_asked_on_date(
    make_settings: Callable[..., Settings],
) -> None:
    service = EchoService()
    sent = dt.datetime(2023, 10, 27, 22, 30, tzinfo=dt.UTC)

    async def scenario() -> None:
        async with FakeBotApi() as api:
            settings = make_settings(telegram={"base_url": api.base_url, "allow_all": True})
            async with run_bot(service, settings):
                api.push_text(41, "Who scored this week?", date=int(sent.timestamp()))
                await api.wait_messages(41, 1)

    asyncio.run(scenario())
    assert service.as_ofs == [dt.date(2023, 10, 27)]


def test_telegram_answer_shows_the_as_of_stamp() -> None:
    html = "".join(tg_render.answer_html(_dated_answer(dt.date(2022, 5, 20))))
    assert (
        "<i>As of 1 May 2022 (2 weeks before the question) · window 25 Apr 2022 - 1 May 2022</i>"
        in html
    )
    assert html.index("As of") < html.index("<b>Sources</b>")
