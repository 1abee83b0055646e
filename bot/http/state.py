"""The app's state: the one service object, the limits around it, and readiness.

Handlers reach it through the ``AppStateDep`` dependency. The service is synchronous and
CPU-bound, so every call into it runs in a worker thread, under the per-request deadline.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Request
from starlette.routing import BaseRoute

from bot.http.auth import KeyRing
from bot.http.limits import RateLimiter
from bot.http.metrics import Metrics
from bot.http.problems import ApiProblem, DeadlineExceeded
from retrieval.answer import Answer, FinalEvent, StreamEvent
from retrieval.config import Settings
from retrieval.errors import NewsbotError
from retrieval.search_index import Filters, SearchIndex
from retrieval.service import NewsService
from retrieval.sessions import Turn

log = logging.getLogger("newsbot.http")
T = TypeVar("T")


@dataclass
class AppState:
    """Everything a request needs besides its own input."""

    service: NewsService
    settings: Settings
    keys: KeyRing
    limiter: RateLimiter
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

    def check_question(self, question: str) -> str:
        """The question, whitespace-normalised, within the cap; checked before embedding."""
        normalised = " ".join(question.split())
        limit = self.settings.answer.max_question_chars
        if not normalised:
            raise ApiProblem(422, "empty_question", "the question is empty")
        if len(normalised) > limit:
            raise ApiProblem(
                422,
                "question_too_long",
                f"the question is {len(normalised)} characters; the limit is {limit}",
            )
        return normalised

    async def answer(
        self,
        question: str,
        *,
        endpoint: str,
        session_id: str | None = None,
        k: int | None = None,
        filters: Filters | None = None,
        history: list[Turn] | None = None,
    ) -> Answer:
        """Answer in a worker thread, within the deadline; count it in the metrics."""
        question = self.check_question(question)
        if history:
            answer = await self.run(
                _ask_with_history, self.service, question, history, k=k, filters=filters
            )
        else:
            answer = await self.run(
                self.service.ask, question, session_id=session_id, k=k, filters=filters
            )
        self.metrics.observe_answer(answer, endpoint)
        return answer

    def astream(
        self,
        question: str,
        *,
        session_id: str | None = None,
        k: int | None = None,
        filters: Filters | None = None,
        history: list[Turn] | None = None,
    ) -> AsyncIterator[StreamEvent]:
        """The service's event stream (a replayed conversation gives the final event only)."""
        if not history:
            return self.service.astream(question, session_id=session_id, k=k, filters=filters)
        return self._replayed(question, history, k, filters)

    async def _replayed(
        self, question: str, history: list[Turn], k: int | None, filters: Filters | None
    ) -> AsyncIterator[StreamEvent]:
        answer = await asyncio.to_thread(
            _ask_with_history, self.service, question, history, k=k, filters=filters
        )
        yield FinalEvent(answer)

    async def run(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run a blocking service call in a thread; DeadlineExceeded after the timeout.

        On timeout the thread is not killed (Python cannot): it finishes in the background
        and its result is dropped.
        """
        async with deadline(self.timeout):
            return await asyncio.to_thread(fn, *args, **kwargs)

    # --- snapshots ---------------------------------------------------------------------

    async def watch_snapshots(self, interval: float) -> None:
        """Pick up a snapshot published by `newsbot ingest` without a restart."""
        failed: str | None = None
        while True:
            await asyncio.sleep(interval)
            try:
                if await asyncio.to_thread(self.service.reload):
                    log.info("loaded index snapshot %s", self.service.store.current_name())
                failed = None
            except NewsbotError as e:
                name = self.service.store.current_name()
                if name != failed:  # log each bad snapshot once, keep serving the old one
                    log.error("cannot load index snapshot %s (still serving the old): %s", name, e)
                    failed = name
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


def _ask_with_history(
    service: NewsService,
    question: str,
    history: list[Turn],
    *,
    k: int | None,
    filters: Filters | None,
) -> Answer:
    """Answer a follow-up whose conversation came with the request (OpenAI-style clients
    resend it each time): replay it into a throwaway session, ask, forget the session."""
    session_id = f"http-ephemeral:{uuid.uuid4().hex}"
    try:
        for turn in history[-service.settings.sessions.max_turns :]:
            service.sessions.append(session_id, turn)
        return service.ask(question, session_id=session_id, k=k, filters=filters)
    finally:
        service.reset(session_id)


def get_state(request: Request) -> AppState:
    """The AppState of the app serving this request."""
    state = request.app.state.newsbot
    assert isinstance(state, AppState)
    return state


AppStateDep = Annotated[AppState, Depends(get_state)]
