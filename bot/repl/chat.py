"""The REPL's core: commands, streamed answers, and cancelling an answer with Ctrl-C.

It talks to any :class:`ChatService` (``NewsService`` in the product, a fake in tests) and
reads lines from any coroutine, so it runs the same under a terminal and under pytest.
Answers stream from a loop in another thread (:mod:`bot.repl.background`), so Ctrl-C is
acted on at once whatever the backend is doing."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import signal
from collections.abc import Awaitable, Callable

from rich.console import Console
from rich.text import Text

from bot.repl import follows, view
from bot.repl.background import BackgroundLoop
from retrieval.answer import Answer, FinalEvent, TokenEvent
from retrieval.errors import NewsbotError, QuestionTooLongError
from retrieval.service import ChatService

COMMANDS = ("/sources", "/asof", "/reset", "/help", "/quit")


class Chat:
    """One conversation in the terminal: handles a line at a time."""

    def __init__(self, service: ChatService, console: Console, session_id: str) -> None:
        self.service = service
        self.console = console
        self.session_id = session_id
        self._streams: BackgroundLoop | None = None
        self._answering: asyncio.Task[None] | None = None
        self._interrupted = False  # Ctrl-C after Enter, before the answer task exists
        self._mid_line = False  # streamed tokens left the cursor mid-line
        self.as_of: dt.date | None = None  # the asked-on date /asof set; None: today

    async def handle(self, line: str) -> bool:
        """Run a command or answer a question; False when the user asked to quit."""
        line = line.strip()
        if not line:
            return True
        if line.startswith("/"):
            return self.command(line)
        await self.ask(" ".join(line.split()))
        return True

    def command(self, line: str) -> bool:
        """Run a /command; False for /quit."""
        name = line.split()[0].lower()
        if name in ("/quit", "/exit", "/q"):
            return False
        try:
            if name == "/help":
                self.console.print(Text(view.HELP))
            elif name == "/sources":
                self.show_sources()
            elif name == "/asof":
                self.set_as_of(line.split()[1:])
            elif name == "/reset":
                self.service.reset(self.session_id)
                self._notice("Conversation forgotten; the next question starts afresh.")
            elif name in follows.COMMANDS and (found := follows.follows_of(self.service)):
                arg = line.split(maxsplit=1)[1] if len(line.split(maxsplit=1)) > 1 else ""
                self._notice(view.inert(follows.run(found, name, arg.strip())))
            else:
                self._notice(f"Unknown command {view.inert(name)}; try {', '.join(COMMANDS)}.")
        except NewsbotError as e:
            self._error(e)
        except Exception as e:  # e.g. a locked or damaged sessions database
            self._error(e, unexpected=True)
        return True

    def set_as_of(self, args: list[str]) -> None:
        """`/asof 2023-10-27` asks as if on that day; `/asof today` goes back to today;
        `/asof` alone says which day questions are asked on."""
        if not args:
            day = self.as_of.isoformat() if self.as_of else "today"
            self._notice(f"Questions are asked as of {day}.")
            return
        if args[0].lower() == "today":
            self.as_of = None
            self._notice("Questions are asked as of today.")
            return
        try:
            self.as_of = dt.date.fromisoformat(args[0])
        except ValueError:
            self._notice(f"Not a date: {view.inert(args[0])}; try /asof 2023-10-27 or /asof today.")
            return
        self._notice(
            f"Questions are now asked as of {self.as_of.isoformat()}: no article published "
            "after it is used, and 'last week' is read from it."
        )

    def show_sources(self) -> None:
        """The last answer's sources with their quotes."""
        turn = self.service.last_turn(self.session_id)
        if turn is None:
            self._notice("No answer yet in this conversation.")
            return
        self.console.print(view.last_sources_view(turn.question, turn.citations))

    async def ask(self, question: str) -> None:
        """Answer a question, streaming it; Ctrl-C (:meth:`interrupt`) cancels it."""
        self._answering = asyncio.create_task(self._answer(question))
        if self._interrupted:
            self._answering.cancel()
        try:
            await self._answering
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if task is not None and task.cancelling():
                raise  # we were cancelled ourselves, not just the answer
            self._notice("Cancelled. The conversation is kept.")
        except QuestionTooLongError as e:
            self._notice(
                f"That is {e.length} characters; a question may have at most {e.limit}. "
                "Nothing was asked."
            )
            return
        except NewsbotError as e:
            self._error(e)
        except Exception as e:  # a bug or a broken store: keep the conversation going
            self._error(e, unexpected=True)
        finally:
            self._answering = None
        self.console.print()

    def interrupt(self) -> None:
        """The Ctrl-C handler: cancel the answer in progress, or the one about to start."""
        if self._answering is not None:
            self._answering.cancel()
        else:
            self._interrupted = True

    def prompting(self) -> None:
        """Back at the prompt: an earlier Ctrl-C no longer applies; alerts on followed
        topics that arrived meanwhile are shown."""
        self._interrupted = False
        found = follows.follows_of(self.service)
        if found is None or not found.following(follows.CHAT):
            return
        try:
            for text in follows.drain(found):
                self.console.print(Text(view.inert(text), style="cyan"))
        except Exception as e:  # alerts must never stop the conversation
            self._error(e, unexpected=not isinstance(e, NewsbotError))

    def close(self) -> None:
        """Stop the loop answers run on."""
        if self._streams is not None:
            self._streams.close()
            self._streams = None

    async def _answer(self, question: str) -> None:
        streamed: list[str] = []
        final: Answer | None = None
        if self._streams is None:
            self._streams = BackgroundLoop()
        # The stream runs on a loop of its own: nothing it does can delay Ctrl-C here.
        # as_of only when /asof set one: any ChatService answers as of today without it.
        extra = {"as_of": self.as_of} if self.as_of is not None else {}
        events = self._streams.iterate(
            lambda: self.service.astream(question, session_id=self.session_id, **extra)
        )
        async with contextlib.aclosing(events):
            async for event in events:
                if isinstance(event, TokenEvent):
                    streamed.append(event.text)
                    self.console.print(
                        Text(view.inert(event.text), style="dim"), end="", soft_wrap=True
                    )
                    self._mid_line = True
                elif isinstance(event, FinalEvent):
                    final = event.answer
        if final is None:
            raise NewsbotError("the answer stream ended without an answer")
        self._end_line()
        same = "".join(streamed).strip() == final.text.strip()
        if streamed and not same:
            # The verified answer may drop or re-attribute what was streamed: say so.
            self.console.rule(Text("verified answer", style="dim"), style="dim")
        self.console.print(view.answer_view(final, with_text=not (streamed and same)))

    def _end_line(self) -> None:
        if self._mid_line:
            self.console.print()
            self._mid_line = False

    def _notice(self, message: str) -> None:
        self._end_line()
        self.console.print(Text(message, style="yellow"))

    def _error(self, error: Exception, *, unexpected: bool = False) -> None:
        self._end_line()
        kind = f"unexpected {type(error).__name__}: " if unexpected else ""
        self.console.print(Text(f"error: {kind}{view.inert(str(error))}", style="red"))


async def chat_loop(chat: Chat, read_line: Callable[[], Awaitable[str]]) -> int:
    """Prompt, handle, repeat until /quit or Ctrl-D; returns the exit code.

    ``read_line`` raises KeyboardInterrupt for Ctrl-C (the line is dropped) and EOFError
    for Ctrl-D. While an answer runs the terminal is in cooked mode, so Ctrl-C arrives as
    SIGINT: it cancels that answer and nothing else.
    """
    loop = asyncio.get_running_loop()
    try:
        loop.add_signal_handler(signal.SIGINT, chat.interrupt)
        installed = True
    except (NotImplementedError, RuntimeError, ValueError):  # Windows, or not the main thread
        installed = False
    try:
        while True:
            chat.prompting()
            try:
                line = await read_line()
            except KeyboardInterrupt:
                continue
            except EOFError:
                return 0
            if not await chat.handle(line):
                return 0
    finally:
        chat.close()
        if installed:
            loop.remove_signal_handler(signal.SIGINT)
