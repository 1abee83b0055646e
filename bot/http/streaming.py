"""Server-sent events over the service's answer stream, under the per-request deadline.

The first event is awaited before the response starts, so an error up to then (a bad
question, a missing index, the deadline) is still a proper problem+json status. After
that, an error becomes a final ``error`` event carrying the problem.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

from fastapi.sse import EventSourceResponse, format_sse_event

from bot.http.problems import DeadlineExceeded, from_newsbot_error
from bot.http.state import AppState
from retrieval.answer import Answer, FinalEvent, StreamEvent
from retrieval.errors import NewsbotError
from retrieval.search_index import Filters
from retrieval.sessions import Turn

log = logging.getLogger("newsbot.http")

Encoder = Callable[[StreamEvent], list[bytes]]
"""Turns one service event into SSE frames (the JSON API and the OpenAI API differ)."""

ErrorEncoder = Callable[[int, str, str], bytes]
"""Turns (status, code, detail) into the frame that ends a failed stream."""


@dataclass
class OpenStream:
    """An answer stream whose first event has arrived (before any byte was sent)."""

    first: StreamEvent
    events: AsyncIterator[StreamEvent]
    deadline: float  # event loop time
    delivered: Callable[[Answer], None]  # records the turn once the answer was sent


async def open_stream(
    state: AppState,
    question: str,
    *,
    session_id: str | None,
    k: int | None = None,
    filters: Filters | None = None,
    history: list[Turn] | None = None,
    as_of: dt.date | None = None,
) -> OpenStream:
    """Start the answer stream and wait for its first event (errors still raise)."""
    service = state.service
    events = service.astream(
        service.check_question(question),
        session_id=session_id,
        history=history,
        k=k,
        filters=filters,
        record=False,
        as_of=as_of,
    )
    loop_deadline = asyncio.get_running_loop().time() + state.timeout
    first = await _next(events, loop_deadline)
    if first is None:
        raise RuntimeError("the answer stream ended without a final answer")

    def delivered(answer: Answer) -> None:
        if session_id:
            service.remember(session_id, answer)

    return OpenStream(first, events, loop_deadline, delivered)


async def _next(events: AsyncIterator[StreamEvent], at: float) -> StreamEvent | None:
    try:
        async with asyncio.timeout_at(at):
            return await anext(events)
    except StopAsyncIteration:
        return None
    except TimeoutError:
        raise DeadlineExceeded from None


def sse_response(
    stream: OpenStream,
    *,
    encode: Encoder,
    on_answer: Callable[[Answer], None],
    trailer: list[bytes],
    error: ErrorEncoder,
) -> EventSourceResponse:
    """Stream the events as SSE, then the trailer frames."""
    events = stream.events

    async def body() -> AsyncIterator[bytes]:
        event: StreamEvent | None = stream.first
        try:
            while event is not None:
                for frame in encode(event):
                    yield frame
                if isinstance(event, FinalEvent):
                    on_answer(event.answer)
                    await asyncio.to_thread(stream.delivered, event.answer)
                    break
                event = await _next(events, stream.deadline)
            for frame in trailer:
                yield frame
        except DeadlineExceeded:
            yield error(504, "deadline_exceeded", "the answer took longer than the deadline")
        except NewsbotError as e:
            p = from_newsbot_error(e)
            yield error(p.status, p.code, p.detail)
        except Exception:
            log.exception("answer stream failed")
            yield error(500, "internal_error", "the answer failed (see the server log)")
        finally:
            aclose = getattr(events, "aclose", None)
            if aclose is not None:
                await aclose()

    return EventSourceResponse(
        body(), headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    )


def frame(data: Any, event: str | None = None) -> bytes:
    """One SSE frame with JSON data."""
    return format_sse_event(data_str=json.dumps(data, ensure_ascii=False), event=event)


def problem_body(status: int, code: str, detail: str, path: str) -> dict[str, Any]:
    """An RFC 9457 problem as a dict, for failures after the stream began."""
    return {
        "type": "about:blank",
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
        "instance": path,
        "code": code,
    }
