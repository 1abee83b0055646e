"""`newsbot chat`: a conversation with the articles in the terminal."""

from __future__ import annotations

import asyncio
import os
import sys
import threading
import uuid
from pathlib import Path

from prompt_toolkit import PromptSession
from prompt_toolkit.auto_suggest import AutoSuggestFromHistory
from prompt_toolkit.history import FileHistory, History, InMemoryHistory
from rich.console import Console
from rich.text import Text

from bot import render
from bot.repl.chat import Chat, ChatService, chat_loop
from retrieval.config import Settings
from retrieval.service import NewsService

__all__ = ["Chat", "ChatService", "chat_loop", "history_path", "run"]

PROMPT = "newsbot> "


def run(settings: Settings, session_id: str | None = None) -> int:
    """Load the index, then answer questions until /quit or Ctrl-D; returns the exit code.

    Args:
        settings: the loaded configuration.
        session_id: the conversation to continue (default: a new one).

    Returns:
        0 when the user leaves.

    Raises:
        NewsbotError: the index cannot be built or loaded.
    """
    console = Console(markup=False, emoji=False, highlight=False)
    err = Console(stderr=True, markup=False, emoji=False, highlight=False)
    service = NewsService(settings)
    err.print(Text("Loading the index and the embedding model…", style="dim"))
    report = service.ensure_index(progress=sys.stderr.isatty())
    if report is not None:
        err.print(Text(report.notice or render.ingest_text(report, verbose=False), style="dim"))
    # The one-off costs load while the user types the first question.
    threading.Thread(target=service.warm_up, name="warm-up", daemon=True).start()
    session_id = session_id or f"repl-{uuid.uuid4().hex[:12]}"
    articles = service.stats()["articles"]
    console.print(
        Text.assemble(
            ("newsbot chat", "bold"),
            f" · {articles} article{'s' if articles != 1 else ''} · session ",
            (session_id, "bold"),
            " · /help for commands, Ctrl-D to quit",
        )
    )
    chat = Chat(service, console, session_id)
    prompt: PromptSession[str] = PromptSession(
        history=_history(settings), auto_suggest=AutoSuggestFromHistory()
    )

    async def read_line() -> str:
        # SIGINT is chat_loop's (it cancels answers); at the prompt Ctrl-C is a key press.
        return await prompt.prompt_async(PROMPT, handle_sigint=False)

    return asyncio.run(chat_loop(chat, read_line))


def history_path(settings: Settings) -> Path | None:
    """Where typed questions are remembered: beside the sessions database (None when the
    sessions live in memory)."""
    if settings.sessions.path == ":memory:":
        return None
    return settings.resolve(settings.sessions.path).parent / "repl_history"


def _history(settings: Settings) -> History:
    path = history_path(settings)
    if path is None:
        return InMemoryHistory()
    path.parent.mkdir(parents=True, exist_ok=True)
    # Questions can be private: the file is the user's alone.
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600))
    return FileHistory(path)
