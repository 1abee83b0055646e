"""The app's state: the one service object, the limits around it, and readiness.

Handlers reach it through the ``AppStateDep`` dependency. The service is synchronous and
CPU-bound, so every call into it runs in a worker thread, under the per-request deadline.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Header, Request
from starlette.routing import BaseRoute

from bot.http.auth import KeyRing
from bot.http.limits import Limiter
from bot.http.metrics import Metrics
from bot.http.problems import DeadlineExceeded
from retrieval.answer import Answer
from retrieval.config import Settings
from retrieval.errors import NewsbotError
from retrieval.search_index import Filters, SearchIndex
from retrieval.service import NewsService
from retrieval.sessions import Turn, retry_key

log = logging.getLogger("newsbot.http")
T = TypeVar("T")

IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        max_length=200,
        description="With a conversation: the same key on a retried request (e.g. by a load "
        "balancer, on another replica) records its turn once and answers it as the first "
        "attempt would have been (shared sessions: store.backend postgres).",
    ),
]


def retrying(session_id: str | None, key: str | None) -> None:
    """Mark this request's turn with its retry key (see retrieval.sessions.retry_key)."""
    if session_id and key:
        # Each request runs in a task of its own: the key goes with this request only, into
        # the worker threads that read and record its session (and its stream).
        retry_key.set(key)


@dataclass
class AppState:
    """Everything a request needs besides its own input."""

    service: NewsService
    settings: Settings
    keys: KeyRing
    limiter: Limiter
    metrics: Metrics = field(init=False)
    routes: list[BaseRoute] = field(default_factory=list)
    started: bool = False
    draining: bool = False
    startup_error: NewsbotError | None = None
    ingest_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    _derived: dict[str, Any] = field(default_factory=dict)
    _derived_from: str | None = None

    def __post_init__(self) -> None:
        self.metrics = Metrics(self.index_stats)

    @property
    def timeout(self) -> float:
        return self.settings.http.request_timeout_s

    def begin_drain(self) -> None:
        """SIGTERM: /readyz turns 503; answers in flight finish (uvicorn's graceful stop)."""
        if not self.draining:
            log.info("draining: /readyz now answers 503; in-flight requests will finish")
        self.draining = True

    # --- the index ---------------------------------------------------------------------

    def loaded_index(self) -> SearchIndex | None:
        """The snapshot answers are drawn from now, or None before the first load."""
        if not self.started:
            return None
        try:
            return self.service.retriever.index
        except NewsbotError:
            return None

    def index_stats(self) -> dict[str, Any] | None:
        """Articles, chunks and snapshot of the loaded index (for /metrics)."""
        index = self.loaded_index()
        if index is None:
            return None
        return {
            "articles": len(index.articles),
            "chunks": len(index.chunks),
            "snapshot": index.name,
        }

    def per_snapshot(self, index: SearchIndex, key: str, build: Callable[[SearchIndex], T]) -> T:
        """A value derived from a snapshot, computed once per snapshot (and key)."""
        if self._derived_from != index.name:
            self._derived, self._derived_from = {}, index.name
        if key not in self._derived:
            self._derived[key] = build(index)
        value: T = self._derived[key]
        return value

    # --- answering ---------------------------------------------------------------------

    async def answer(
        self,
        question: str,
        *,
        endpoint: str,
        session_id: str | None = None,
        history: list[Turn] | None = None,
        k: int | None = None,
        filters: Filters | None = None,
        as_of: dt.date | None = None,
    ) -> Answer:
        """Answer in a worker thread, within the deadline; count it in the metrics.

        The turn is recorded only when the answer came within the deadline: a client that
        got a 504 finds its conversation as it left it.
        """
        answer = await self.run(
            self.service.ask,
            self.service.check_question(question),  # refused before a thread is used
            session_id=session_id,
            history=history,
            k=k,
            filters=filters,
            record=False,
            as_of=as_of,
        )
        if session_id:
            await asyncio.to_thread(self.service.remember, session_id, answer)
        self.metrics.observe_answer(answer, endpoint)
        return answer

    async def run(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run a blocking service call in a thread; DeadlineExceeded after the timeout.

        On timeout the thread is not killed (Python cannot): it finishes in the background
        and its result is dropped.
        """
        async with deadline(self.timeout):
            return await asyncio.to_thread(fn, *args, **kwargs)

    # --- snapshots ---------------------------------------------------------------------

    async def watch_snapshots(self, interval: float) -> None:
        """Load a snapshot published by `newsbot ingest` in the background, so that no
        request waits for it (the service would load it on the next answer otherwise)."""
        while True:
            await asyncio.sleep(interval)
            try:
                await asyncio.to_thread(self.service.refresh)
            except NewsbotError:
                pass  # no index yet: /readyz says so
            except Exception:
                log.exception("snapshot watcher")


@asynccontextmanager
async def deadline(seconds: float) -> AsyncIterator[None]:
    """Raise DeadlineExceeded (-> 504) when the block takes longer than ``seconds``."""
    try:
        async with asyncio.timeout(seconds):
            yield
    except TimeoutError:
        raise DeadlineExceeded from None


def get_state(request: Request) -> AppState:
    """The AppState of the app serving this request."""
    state = request.app.state.newsbot
    assert isinstance(state, AppState)
    return state


AppStateDep = Annotated[AppState, Depends(get_state)]
