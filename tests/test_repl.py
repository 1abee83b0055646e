"""`newsbot chat`: the REPL core in-process with a fake service, then the real command
driven through a pseudo-terminal (pexpect) with exact transcripts."""

from __future__ import annotations

import asyncio
import datetime as dt
import io
import os
import re
import shutil
import signal
import sqlite3
import sys
import threading
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pexpect
import pytest
from prompt_toolkit import PromptSession
from prompt_toolkit.input import create_pipe_input
from prompt_toolkit.output import DummyOutput
from rich.console import Console

from bot import render
from bot.repl import Chat, chat_loop, history_path, view
from retrieval.answer import (
    Answer,
    AnswerWindow,
    Citation,
    FinalEvent,
    StreamEvent,
    TokenEvent,
    time_stamp,
)
from retrieval.config import load_settings
from retrieval.errors import IndexMissingError
from retrieval.service import check_question
from retrieval.sessions import Turn
from tests.conftest import REPO, SEED

# --- the core, in-process, with a fake service -----------------------------------------

CITATION = Citation(
    n=1,
    article_id="a1",
    title="Harbour opens",
    date="2022-05-01",
    source="Gazette",
    url="https://example.org/harbour",
    quote="The harbour opens on 1 May.",
    chunk_id="a1#0",
    score=0.9,
)


def _answer(text: str, citations: list[Citation] | None = None) -> Answer:
    return Answer(question="q", standalone_question="q", text=text, citations=citations or [])


class FakeService:
    """Plays scripted event streams; ``None`` in a script means "hang until cancelled"."""

    def __init__(self, scripts: dict[str, list[StreamEvent | None]], max_chars: int = 100) -> None:
        self.scripts = scripts
        self.max_chars = max_chars
        self.asked: list[str] = []
        self.resets: list[str] = []
        self.turns: dict[str, list[Turn]] = {}
        # threading events: the REPL runs streams on a loop in another thread
        self.hanging = threading.Event()
        self.cancelled = threading.Event()

    async def astream(
        self, question: str, *, session_id: str | None = None
    ) -> AsyncIterator[StreamEvent]:
        question = check_question(question, self.max_chars)  # as the service checks it
        self.asked.append(question)
        for event in self.scripts[question]:
            if event is None:
                self.hanging.set()
                try:
                    await asyncio.sleep(3600)
                except asyncio.CancelledError:
                    self.cancelled.set()
                    raise
            elif isinstance(event, Exception):
                raise event
            else:
                if isinstance(event, FinalEvent) and session_id:
                    a = event.answer
                    turn = Turn(question, a.standalone_question, a.text, None, list(a.citations))
                    self.turns.setdefault(session_id, []).append(turn)
                yield event

    def reset(self, session_id: str) -> None:
        self.resets.append(session_id)
        self.turns.pop(session_id, None)

    def last_turn(self, session_id: str) -> Turn | None:
        turns = self.turns.get(session_id)
        return turns[-1] if turns else None


def _console() -> Console:
    return Console(
        file=io.StringIO(), width=100, color_system=None, markup=False, emoji=False, highlight=False
    )


def _output(chat: Chat) -> str:
    file = chat.console.file
    assert isinstance(file, io.StringIO)
    return file.getvalue()


def _drive(service: FakeService, keys: str) -> tuple[int, Chat]:
    """Run the real chat loop on a real PromptSession fed ``keys`` through a pipe."""
    chat = Chat(service, _console(), "s1")

    async def main() -> int:
        with create_pipe_input() as pipe:
            prompt: PromptSession[str] = PromptSession(input=pipe, output=DummyOutput())
            pipe.send_text(keys)
            return await asyncio.wait_for(
                chat_loop(chat, lambda: prompt.prompt_async("> ", handle_sigint=False)), 30
            )

    return asyncio.run(main()), chat


def test_answer_with_sources_then_ctrl_d_exits_0() -> None:
    fake = FakeService({"When?": [FinalEvent(_answer("On 1 May. [1]", [CITATION]))]})
    code, chat = _drive(fake, "When?\r\x04")
    assert code == 0
    assert _output(chat) == (
        "On 1 May. [1]\n"
        "\n"
        "Sources:\n"
        "[1] Harbour opens — Gazette, 2022-05-01 — https://example.org/harbour\n"
        '    "The harbour opens on 1 May."\n'
        "\n"
    )


def test_commands() -> None:
    fake = FakeService({"When?": [FinalEvent(_answer("On 1 May. [1]", [CITATION]))]})
    code, chat = _drive(fake, "/sources\r/nope\rWhen?\r/sources\r/reset\r/sources\r/quit\rlost\r")
    assert code == 0
    assert fake.asked == ["When?"] and fake.resets == ["s1"]
    out = _output(chat)
    assert out.startswith(
        "No answer yet in this conversation.\n"
        "Unknown command /nope; try /sources, /asof, /reset, /help, /quit.\n"
    )
    assert out.endswith(
        "Sources of: When?\n"
        "[1] Harbour opens — Gazette, 2022-05-01 — https://example.org/harbour\n"
        '    "The harbour opens on 1 May."\n'
        "Conversation forgotten; the next question starts afresh.\n"
        "No answer yet in this conversation.\n"
    )


def test_help_lists_every_command() -> None:
    code, chat = _drive(FakeService({}), "/help\r\x04")
    out = _output(chat)
    assert code == 0 and out == view.HELP + "\n"
    for command in ("/sources", "/asof", "/reset", "/help", "/quit", "Ctrl-C", "Ctrl-D"):
        assert command in out


def test_ctrl_c_at_the_prompt_drops_the_line() -> None:
    fake = FakeService({"When?": [FinalEvent(_answer("On 1 May."))]})
    code, chat = _drive(fake, "half a quest\x03When?\r\x04")
    assert code == 0 and fake.asked == ["When?"]
    assert _output(chat) == "On 1 May.\n\n"


def test_overlong_paste_is_refused_before_retrieval() -> None:
    code, chat = _drive(FakeService({}, max_chars=100), "x" * 101 + "\r\x04")
    assert code == 0
    assert (
        _output(chat)
        == "That is 101 characters; a question may have at most 100. Nothing was asked.\n"
    )


def test_service_error_is_one_line() -> None:
    fake = FakeService({"When?": [IndexMissingError("no index at /x; run `newsbot ingest`")]})  # type: ignore[list-item]
    code, chat = _drive(fake, "When?\r\x04")
    assert code == 0
    assert _output(chat) == "error: no index at /x; run `newsbot ingest`\n\n"


def test_streamed_tokens_then_a_different_verified_answer_under_a_rule() -> None:
    final = _answer("It opens on 1 May. [1]", [CITATION])
    tokens: list[StreamEvent | None] = [TokenEvent("It opens "), TokenEvent("on 2 May [1][7].")]
    fake = FakeService({"When?": [*tokens, FinalEvent(final)]})
    code, chat = _drive(fake, "When?\r\x04")
    assert code == 0
    streamed, rule, verified = _output(chat).split("\n", 2)
    assert streamed == "It opens on 2 May [1][7]."
    assert len(rule) == 100 and rule.strip("─") == " verified answer "
    assert verified == (
        "It opens on 1 May. [1]\n"
        "\n"
        "Sources:\n"
        "[1] Harbour opens — Gazette, 2022-05-01 — https://example.org/harbour\n"
        '    "The harbour opens on 1 May."\n'
        "\n"
    )


def test_streamed_tokens_equal_to_the_answer_are_not_repeated() -> None:
    final = _answer("It opens on 1 May. [1]", [CITATION])
    fake = FakeService(
        {"When?": [TokenEvent("It opens on 1 May."), TokenEvent(" [1]"), FinalEvent(final)]}
    )
    code, chat = _drive(fake, "When?\r\x04")
    assert code == 0
    assert _output(chat) == (
        "It opens on 1 May. [1]\n"
        "\n"
        "Sources:\n"
        "[1] Harbour opens — Gazette, 2022-05-01 — https://example.org/harbour\n"
        '    "The harbour opens on 1 May."\n'
        "\n"
    )


def test_ctrl_c_cancels_the_answer_keeps_the_session_and_returns_to_the_prompt() -> None:
    """A real SIGINT, as the terminal sends it while an answer runs."""
    fake = FakeService(
        {
            "Slow?": [TokenEvent("Thinking about"), None, FinalEvent(_answer("never"))],
            "When?": [FinalEvent(_answer("On 1 May."))],
        }
    )
    fake.turns["s1"] = [Turn("Before?", "Before?", "Earlier.")]
    chat = Chat(fake, _console(), "s1")
    strays: list[int] = []
    # If the REPL failed to take SIGINT over, this keeps pytest itself from being interrupted.
    previous = signal.signal(signal.SIGINT, lambda signum, frame: strays.append(signum))

    async def main() -> int:
        with create_pipe_input() as pipe:
            prompt: PromptSession[str] = PromptSession(input=pipe, output=DummyOutput())
            pipe.send_text("Slow?\rWhen?\r\x04")
            loop = asyncio.create_task(
                chat_loop(chat, lambda: prompt.prompt_async("> ", handle_sigint=False))
            )
            assert await asyncio.to_thread(fake.hanging.wait, 30)
            os.kill(os.getpid(), signal.SIGINT)
            return await asyncio.wait_for(loop, 30)

    try:
        code = asyncio.run(main())
    finally:
        signal.signal(signal.SIGINT, previous)
    assert code == 0 and strays == []
    assert fake.cancelled.is_set() and fake.asked == ["Slow?", "When?"]
    assert fake.resets == [] and [t.question for t in fake.turns["s1"]] == ["Before?", "When?"]
    assert _output(chat) == (
        "Thinking about\nCancelled. The conversation is kept.\n\nOn 1 May.\n\n"
    )


def test_ctrl_c_is_immediate_even_when_the_service_blocks_its_event_loop() -> None:
    """A stream that makes a blocking call (CPU work, a locked database) stalls only the
    loop it runs on, not the REPL's."""
    release = threading.Event()

    class Blocking(FakeService):
        async def astream(
            self, question: str, *, session_id: str | None = None
        ) -> AsyncIterator[StreamEvent]:
            self.hanging.set()
            release.wait(60)  # blocks its loop, as a synchronous call would
            yield FinalEvent(_answer("too late"))

    fake = Blocking({})
    chat = Chat(fake, _console(), "s1")

    async def main() -> None:
        answering = asyncio.create_task(chat.handle("When?"))
        assert await asyncio.to_thread(fake.hanging.wait, 30)
        chat.interrupt()
        await asyncio.wait_for(answering, 30)  # while the stream is still blocked

    try:
        asyncio.run(main())
        assert _output(chat) == "Cancelled. The conversation is kept.\n\n"
    finally:
        release.set()
        chat.close()


def test_ctrl_c_between_enter_and_the_answer_cancels_that_answer() -> None:
    fake = FakeService({"When?": [FinalEvent(_answer("On 1 May."))]})
    chat = Chat(fake, _console(), "s1")
    chat.interrupt()  # SIGINT after the prompt let go of the terminal, before ask() began
    asyncio.run(chat.handle("When?"))
    assert fake.asked == [] and _output(chat) == "Cancelled. The conversation is kept.\n\n"
    chat.prompting()  # ...but a Ctrl-C from before the prompt does not carry over
    asyncio.run(chat.handle("When?"))
    assert fake.asked == ["When?"] and _output(chat).endswith("kept.\n\nOn 1 May.\n\n")
    chat.close()


def test_unexpected_error_is_one_line_and_the_chat_goes_on() -> None:
    fake = FakeService(
        {
            "When?": [sqlite3.OperationalError("database is locked")],  # type: ignore[list-item]
            "Now?": [FinalEvent(_answer("Now."))],
        }
    )
    code, chat = _drive(fake, "When?\rNow?\r\x04")
    assert code == 0
    assert _output(chat) == "error: unexpected OperationalError: database is locked\n\nNow.\n\n"


# --- rendering: untrusted text stays inert ----------------------------------------------

HOSTILE = (
    "[bold red]x[/] [link=http://evil.example]click[/link] :smile: \x1b[2J\x1b]8;;http://e\x07"
)


def test_markup_and_control_characters_are_printed_literally() -> None:
    c = CITATION.model_copy(update={"title": HOSTILE, "quote": HOSTILE, "source": "[i]S[/i]"})
    console = Console(file=io.StringIO(), width=300, force_terminal=True, color_system="truecolor")
    console.print(view.answer_view(_answer(f"{HOSTILE} [1]", [c])))
    console.print(view.last_sources_view(HOSTILE, [c]))
    out = console.file.getvalue()  # type: ignore[attr-defined]
    literal = "[bold red]x[/] [link=http://evil.example]click[/link] :smile: \\x1b[2J\\x1b]8;;http://e\\x07"
    assert out.count(literal) == 6 and "[i]S[/i]" in out
    assert "\x1b[2J" not in out and "\x1b]8;" not in out and "\x07" not in out  # no clear, no link


def test_inert_escapes_bidi_overrides() -> None:
    assert view.inert("a\u202eb\tc\nd") == "a\\u202eb\tc\nd"


def test_citation_line_reads_like_the_cli() -> None:
    assert view.citation_line(CITATION).plain == render.citation_line(CITATION)
    bare = CITATION.model_copy(update={"source": None, "url": None})
    assert (
        view.citation_line(bare).plain
        == render.citation_line(bare)
        == "[1] Harbour opens — 2022-05-01"
    )


def test_history_lives_beside_the_sessions_database(tmp_path: Path) -> None:
    cfg = tmp_path / "config.yaml"
    cfg.write_text("sessions:\n  path: state/sessions.sqlite\n", encoding="utf-8")
    assert history_path(load_settings(cfg)) == tmp_path / "state" / "repl_history"
    cfg.write_text("sessions:\n  path: ':memory:'\n", encoding="utf-8")
    assert history_path(load_settings(cfg)) is None


# --- the real `newsbot chat` through a pseudo-terminal ----------------------------------

PROMPT = "newsbot>"
WIDTH = 100
FESTIVAL = (
    "date 2022-05-01\n"
    "title: [bold red]Harbour[/] lights festival\n"
    "source: [link=http://evil.example]Evil Gazette[/link]\n"
    "url: https://example.org/festival\n"
    "\n"
    "The [bold red]Porthaven Lighthouse Festival[/] opens on 3 May 2022 with "
    "[link=http://evil.example]free entry[/link] for every resident.\n"
    "Organisers expect twelve thousand visitors over the weekend.\n"
)
LONG_QUESTION = (
    "Who is Jens Stoltenberg, "
    + "and what did NATO decide about the Russian mission and its accreditation, " * 11
).strip(", ")
_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07")


@pytest.fixture(scope="module")
def chat_config(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two articles (the seed and one whose metadata and text are rich markup), a tmp index
    and a tmp sessions database; the REPL builds the index itself."""
    root = tmp_path_factory.mktemp("repl")
    (root / "docs").mkdir()
    shutil.copy(SEED, root / "docs" / SEED.name)
    (root / "docs" / "festival.txt").write_text(FESTIVAL, encoding="utf-8")
    path = root / "config.yaml"
    path.write_text(
        "paths:\n  docs: [docs]\n  index_dir: index\n"
        # every turn kept, so the tests can compare a session before and after
        "sessions:\n  path: state/sessions.sqlite\n  max_turns: 1000\n",
        encoding="utf-8",
    )
    return path


class Terminal:
    """`newsbot chat` on a pseudo-terminal of WIDTH columns."""

    def __init__(self, config: Path, *args: str, term: str = "dumb") -> None:
        env = {
            **os.environ,
            "HF_HUB_OFFLINE": "1",
            "TOKENIZERS_PARALLELISM": "false",
            "TERM": term,
            "COLUMNS": str(WIDTH),
            "LINES": "40",
            "PYTHONIOENCODING": "utf-8",
            "NO_COLOR": "1",
            "PROMPT_TOOLKIT_NO_CPR": "1",
        }
        argv = ["-m", "bot.cli", "--config", str(config), "chat", *args]
        self.child = pexpect.spawn(
            sys.executable, argv, cwd=REPO, env=env, encoding="utf-8", dimensions=(40, WIDTH)
        )
        self.child.expect(r"session (?:\x1b\[[0-9;]*m)*([\w.-]+)", timeout=180)
        self.session_id = self.child.match.group(1)
        start = self.child.before + self.child.after
        self.banner = _clean(start + self.ready())  # loading notice, ingest report, banner
        self.db = str(config.parent / "state" / "sessions.sqlite")

    def ready(self, timeout: float = 120) -> str:
        """Wait for the prompt and for prompt_toolkit to own the keyboard (echo off);
        return what was printed before the prompt."""
        self.child.expect_exact(PROMPT, timeout=timeout)
        before = self.child.before
        self.child.waitnoecho(timeout=timeout)
        return _clean(before)

    def say(self, line: str) -> str:
        """Type a line and Enter; the transcript up to the next prompt, as seen on screen."""
        self.child.send(line + "\r")
        return PROMPT + self.ready()

    def wait_for_echo(self, timeout: float = 60) -> None:
        """Wait until the terminal echoes again: prompt_toolkit has returned the line."""
        deadline = time.monotonic() + timeout
        while not self.child.getecho():
            assert time.monotonic() < deadline, "the REPL never took the line"
            time.sleep(0.005)

    def resync(self) -> None:
        """Type marker commands until the REPL answers one, waiting 2, 4, 8 ... 120 s.
        (A Ctrl-C the terminal turns into SIGINT also discards input not yet read, which
        may include our marker; a marker that is only late is answered before the next.)"""
        for n in range(8):
            self.child.send(f"/sync-{n}\r")
            try:
                self.child.expect_exact(f"Unknown command /sync-{n};", timeout=min(2 << n, 120))
            except pexpect.TIMEOUT:
                continue
            self.ready()
            return
        pytest.fail("the REPL answers no more")

    def turns(self) -> list[tuple[str, str]]:
        """(question, standalone question) of each stored turn of this REPL's session."""
        db = sqlite3.connect(self.db, timeout=60)
        try:
            return db.execute(
                "SELECT question, standalone FROM turns WHERE session_id = ? ORDER BY id",
                (self.session_id,),
            ).fetchall()
        finally:
            db.close()


def _clean(text: str) -> str:
    lines = _ANSI.sub("", text).replace("\r", "").split("\n")
    return "\n".join(line.rstrip() for line in lines)


@pytest.fixture(scope="module")
def terminal(chat_config: Path) -> Iterator[Terminal]:
    """One REPL for the module's pexpect tests, which run in file order (model loading is
    the slow part: ~10-20 s here)."""
    t = Terminal(chat_config)
    yield t
    if t.child.isalive():
        t.child.terminate(force=True)


ANSWER = """\
What the Kremlin referred to as “unfriendly actions” is NATO Secretary-General Jens Stoltenberg’s
decision of 6 October, withdrawing the accreditation of eight members of the Russian Permanent
Mission to NATO from 1 November while also reducing the overall number of mission personnel to 10.
[1]
"""


def _stamp(window: dt.date | None = None, as_of: str = "2021-10-19") -> str:
    """The as-of line under an answer from an article dated as_of (the seed's date) asked
    today."""
    day = window.isoformat() if window else None
    return time_stamp(
        Answer(
            question="",
            standalone_question="",
            text="",
            as_of=as_of,
            asked_on=dt.date.today().isoformat(),
            window=AnswerWindow(since=day, until=day) if day else None,
        )
    )


def _last_6_october() -> dt.date:
    """ "on 6 October" asked today: the latest 6 October not after today."""
    today = dt.date.today()
    day = dt.date(today.year, 10, 6)
    return day if day <= today else dt.date(today.year - 1, 10, 6)


STAMP = _stamp()
STAMP_6_OCTOBER = _stamp(_last_6_october())
SOURCES = """\
[1] Russia has suspended its North Atlantic Treaty Organization (NATO) mission in response to the… —
2021-10-19
    "What the Kremlin referred to as “unfriendly actions” is NATO Secretary-General Jens
    Stoltenberg’s decision of 6 October, withdrawing the accreditation of eight members of the
    Russian Permanent Mission to NATO from 1 November while also reducing the overall number of
    mission personnel to 10."
"""


@pytest.mark.slow
def test_pty_two_turn_conversation(terminal: Terminal) -> None:
    assert terminal.banner.splitlines()[-1] == (
        f"newsbot chat · 2 articles · session {terminal.session_id} · /help for commands, "
        "Ctrl-D to quit"
    )
    # What the article calls him leads, cited; then the same quote as the follow-up's.
    assert terminal.say("Who is Jens Stoltenberg?") == (
        f"newsbot> Who is Jens Stoltenberg?\nNATO Secretary-General [1]\n\n{ANSWER}{STAMP}\n\n"
        f"Sources:\n{SOURCES}\n"
    )
    # "he" is resolved from the conversation (visible in the session store, not on screen).
    assert terminal.say("What did he decide on 6 October?") == (
        f"newsbot> What did he decide on 6 October?\n{ANSWER}{STAMP_6_OCTOBER}\n\nSources:\n"
        f"{SOURCES}\n"
    )
    assert terminal.turns() == [
        ("Who is Jens Stoltenberg?", "Who is Jens Stoltenberg?"),
        ("What did he decide on 6 October?", "What did Jens Stoltenberg decide on 6 October?"),
    ]


@pytest.mark.slow
def test_pty_sources_shows_the_quotes(terminal: Terminal) -> None:
    assert terminal.say("/sources") == (
        f"newsbot> /sources\nSources of: What did he decide on 6 October?\n{SOURCES}"
    )


@pytest.mark.slow
def test_pty_reset_forgets_the_conversation(terminal: Terminal) -> None:
    assert terminal.say("/reset") == (
        "newsbot> /reset\nConversation forgotten; the next question starts afresh.\n"
    )
    assert terminal.say("/sources") == "newsbot> /sources\nNo answer yet in this conversation.\n"
    terminal.say("What did he decide on 6 October?")
    # Nothing left to resolve "he" with: the question is retrieved for as asked.
    assert terminal.turns() == [
        ("What did he decide on 6 October?", "What did he decide on 6 October?")
    ]


@pytest.mark.slow
def test_pty_overlong_paste_is_refused(terminal: Terminal) -> None:
    before = terminal.turns()
    out = terminal.say("Why " * 300)
    assert out.endswith(
        "\nThat is 1199 characters; a question may have at most 1000. Nothing was asked.\n"
    )
    assert terminal.turns() == before


@pytest.mark.slow
def test_pty_article_markup_is_printed_literally(terminal: Terminal) -> None:
    assert (
        terminal.say("When does the Porthaven Lighthouse Festival open?")
        == f"""\
newsbot> When does the Porthaven Lighthouse Festival open?
On 3 May 2022 [1]

The [bold red]Porthaven Lighthouse Festival[/] opens on 3 May 2022 with
[link=http://evil.example]free entry[/link] for every resident. [1]
{_stamp(as_of="2022-05-01")}

Sources:
[1] [bold red]Harbour[/] lights festival — [link=http://evil.example]Evil Gazette[/link], 2022-05-01
— https://example.org/festival
    "The [bold red]Porthaven Lighthouse Festival[/] opens on 3 May 2022 with
    [link=http://evil.example]free entry[/link] for every resident."

"""
    )


@pytest.mark.slow
def test_pty_ctrl_c_at_the_prompt_clears_the_line(terminal: Terminal) -> None:
    terminal.child.send("a half-typed question")
    terminal.child.sendcontrol("c")
    terminal.ready()
    # Had the line survived, "/nope" would have been typed onto it and asked as a question.
    assert terminal.say("/nope") == (
        "newsbot> /nope\nUnknown command /nope; try /sources, /asof, /reset, /help, /quit.\n"
    )


@pytest.mark.slow
def test_pty_ctrl_c_cancels_the_answer_in_progress(terminal: Terminal) -> None:
    """Deterministic: while this test holds the sessions database's write lock the answer
    cannot record its turn, so it is still in progress when Ctrl-C arrives."""
    terminal.say("Who is Jens Stoltenberg?")  # the context the follow-up below relies on
    before = terminal.turns()
    db = sqlite3.connect(terminal.db, isolation_level=None, timeout=60)
    try:
        db.execute("BEGIN IMMEDIATE")
        terminal.child.send("Who is Jens Stoltenberg?\r")
        terminal.child.expect_exact("Who is Jens Stoltenberg?\r")
        terminal.child.expect_exact("\n")  # the prompt has finished the line
        terminal.wait_for_echo()  # and let go of the terminal: the answer has begun
        terminal.child.sendcontrol("c")  # the terminal turns it into SIGINT (and echoes ^C)
        out = terminal.ready()
    finally:
        db.execute("ROLLBACK")
        db.close()
    assert out == "^CCancelled. The conversation is kept.\n\n"
    # The conversation is kept, and a follow-up still resolves "he" with it. (Had the
    # retrieval already begun, it finishes in the background and records its turn too.)
    resolved = (
        "What did he decide on 6 October?",
        "What did Jens Stoltenberg decide on 6 October?",
    )
    assert terminal.say("What did he decide on 6 October?") == (
        f"newsbot> What did he decide on 6 October?\n{ANSWER}{STAMP_6_OCTOBER}\n\nSources:\n"
        f"{SOURCES}\n"
    )
    turns = terminal.turns()
    assert turns[: len(before)] == before and resolved in turns[len(before) :]


@pytest.mark.slow
def test_pty_ctrl_c_during_answers_keeps_the_repl_and_the_session(terminal: Terminal) -> None:
    child = terminal.child
    terminal.say("Who is Jens Stoltenberg?")  # the context the follow-up below relies on
    before = terminal.turns()
    child.delaybeforesend = None
    for i in range(8):
        child.send(LONG_QUESTION + "\r")
        if i % 2:
            terminal.wait_for_echo()  # Ctrl-C once the line is taken; else as typeahead
        child.sendcontrol("c")
    child.delaybeforesend = 0.05
    # Each Ctrl-C cancelled an answer or cleared a prompt (or the line being typed).
    terminal.resync()
    out = terminal.say("What did he decide on 6 October?")
    assert out == (
        f"newsbot> What did he decide on 6 October?\n{ANSWER}{STAMP_6_OCTOBER}\n\nSources:\n"
        f"{SOURCES}\n"
    )
    # The session survived: the earlier turns are there, and the follow-up resolved "he".
    # (A cancelled answer's retrieval may still finish and be recorded; that is fine.)
    resolved = (
        "What did he decide on 6 October?",
        "What did Jens Stoltenberg decide on 6 October?",
    )
    turns = terminal.turns()
    assert turns[: len(before)] == before and resolved in turns[len(before) :]


@pytest.mark.slow
def test_pty_ctrl_d_exits_0(terminal: Terminal) -> None:
    terminal.child.sendcontrol("d")
    terminal.child.expect(pexpect.EOF, timeout=60)
    terminal.child.close()
    assert terminal.child.exitstatus == 0 and terminal.child.signalstatus is None
    assert re.fullmatch(r"repl-[0-9a-f]{12}", terminal.session_id)  # a new one per run


@pytest.mark.slow
def test_pty_xterm_resumes_a_session_and_recalls_history(
    chat_config: Path, terminal: Terminal
) -> None:
    """Full prompt_toolkit rendering (TERM=xterm): Up recalls the last line typed in the
    chat above (the history file persists); `--session` continues that chat, so "he" in
    the recalled question resolves from it; /sources and /quit work there too."""
    history = (chat_config.parent / "state" / "repl_history").read_text(encoding="utf-8")
    assert history.rstrip().endswith("+What did he decide on 6 October?")
    t = Terminal(chat_config, "--session", terminal.session_id, term="xterm")
    assert t.session_id == terminal.session_id
    count = len(t.turns())
    # (prompt_toolkit redraws the prompt as keys arrive: wait for output, not for prompts)
    t.child.send("\x1b[A")  # Up
    t.child.expect_exact("What did he decide on 6 October?", timeout=60)
    t.child.send("\r")
    t.child.expect_exact("Sources:", timeout=120)
    t.ready()
    assert t.turns()[count:] == [
        ("What did he decide on 6 October?", "What did Jens Stoltenberg decide on 6 October?")
    ]
    t.child.send("/sources\r")
    t.child.expect_exact("Sources of:", timeout=60)
    assert t.ready() == f" What did he decide on 6 October?\n{SOURCES}"
    t.child.send("/quit\r")
    t.child.expect(pexpect.EOF, timeout=60)
    t.child.close()
    assert t.child.exitstatus == 0
