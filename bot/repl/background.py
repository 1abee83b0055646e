"""A private event loop in a daemon thread, where the REPL runs the service's answer
streams. Whatever a backend does inside its stream (CPU work, a blocking call, a database
locked by another process), the REPL's own loop stays free to act on Ctrl-C at once."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from typing import Any, TypeVar

T = TypeVar("T")


class BackgroundLoop:
    """An event loop running in a thread of its own until :meth:`close`."""

    def __init__(self) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="newsbot-repl-answers", daemon=True
        )
        self._thread.start()

    async def iterate(self, make: Callable[[], AsyncIterator[T]]) -> AsyncGenerator[T, None]:
        """Iterate ``make()`` on the background loop, yielding its items on the caller's
        loop; cancelling or closing this iterator cancels that one."""
        here = asyncio.get_running_loop()
        items: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()

        def put(kind: str, value: object) -> None:
            with contextlib.suppress(RuntimeError):  # the caller's loop is gone: no one listens
                here.call_soon_threadsafe(items.put_nowait, (kind, value))

        async def pump() -> None:
            try:
                async for item in make():
                    put("item", item)
            except Exception as e:
                put("error", e)
            else:
                put("end", None)

        future = asyncio.run_coroutine_threadsafe(pump(), self._loop)
        try:
            while True:
                kind, value = await items.get()
                if kind == "end":
                    return
                if kind == "error":
                    raise value
                yield value
        finally:
            future.cancel()

    def close(self) -> None:
        """Cancel what still runs there and stop the loop (a thread still busy with a
        cancelled answer is left to finish on its own)."""
        if self._loop.is_closed():
            return
        with contextlib.suppress(TimeoutError):  # a backend blocks that loop: leave it be
            asyncio.run_coroutine_threadsafe(_cancel_all(), self._loop).result(timeout=2)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=1)
        if not self._thread.is_alive():
            self._loop.close()


async def _cancel_all() -> None:
    tasks = asyncio.all_tasks() - {asyncio.current_task()}
    for task in tasks:
        task.cancel()
    if tasks:
        await asyncio.wait(tasks, timeout=1)
