"""The JSON API: answers, sessions, and the probes (/healthz, /readyz, /metrics)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Path, Request, Response

from bot.http.auth import ReadAccess, session_key
from bot.http.models import (
    ANSWER_EXAMPLE,
    SESSION_ID_PATTERN,
    AnswerRequest,
    Health,
    Readiness,
    examples_of,
)
from bot.http.problems import problem, problem_responses
from bot.http.state import AppStateDep, IdempotencyKey, retrying
from bot.http.streaming import frame, open_stream, problem_body, sse_response
from retrieval.answer import Answer, FinalEvent, StreamEvent, TokenEvent
from retrieval.search_index import Filters

router = APIRouter()

_GUARDED = (400, 401, 408, 413, 429)


def _event(name: str, data: dict[str, Any] | None) -> dict[str, Any]:
    properties: dict[str, Any] = {"event": {"const": name}, "data": {"type": "string"}}
    if data is not None:
        properties["data"].update(contentMediaType="application/json", contentSchema=data)
    return {"type": "object", "required": ["event", "data"], "properties": properties}


_SSE_DOC: dict[str, Any] = {
    "text/event-stream": {
        "itemSchema": {
            "oneOf": [
                _event(
                    "token",
                    {
                        "type": "object",
                        "required": ["text"],
                        "properties": {"text": {"type": "string"}},
                    },
                ),
                _event("answer", {"$ref": "#/components/schemas/Answer"}),
                _event("done", {"type": "object"}),
                _event("error", {"$ref": "#/components/schemas/Problem"}),
            ]
        },
        "example": 'event: answer\ndata: {"question": "...", "text": "... [1]", ...}\n\n'
        "event: done\ndata: {}\n\n",
    }
}


@router.post(
    "/v1/answer",
    response_model=Answer,
    summary="Answer a question from the articles, with citations",
    tags=["answers"],
    responses={
        200: {
            "description": "The Answer as JSON; with `stream: true`, server-sent events.",
            "content": {"application/json": {"example": ANSWER_EXAMPLE}, **_SSE_DOC},
        },
        **problem_responses(*_GUARDED, 422, 503, 504),
    },
)
async def answer(
    body: Annotated[AnswerRequest, Body(openapi_examples=examples_of(AnswerRequest))],
    state: AppStateDep,
    principal: ReadAccess,
    request: Request,
    idempotency_key: IdempotencyKey = None,
) -> Any:
    """Answer from the indexed articles: text with [n] markers and the citations they name,
    or an abstention when the articles don't say."""
    session = session_key(principal, body.session_id) if body.session_id else None
    retrying(session, idempotency_key)
    filters = Filters(body.since, body.until, tuple(body.sources))
    if not body.stream:
        return await state.answer(
            body.question,
            endpoint="answer",
            session_id=session,
            k=body.k,
            filters=filters,
            as_of=body.as_of,
        )
    stream = await open_stream(
        state, body.question, session_id=session, k=body.k, filters=filters, as_of=body.as_of
    )
    path = request.url.path
    return sse_response(
        stream,
        encode=_encode,
        on_answer=lambda a: state.metrics.observe_answer(a, "answer"),
        trailer=[frame({}, event="done")],
        error=lambda status, code, detail: frame(
            problem_body(status, code, detail, path), event="error"
        ),
    )


def _encode(event: StreamEvent) -> list[bytes]:
    if isinstance(event, TokenEvent):
        return [frame({"text": event.text}, event="token")]
    assert isinstance(event, FinalEvent)
    return [frame(event.answer.model_dump(mode="json"), event="answer")]


@router.post(
    "/v1/sessions/{session_id}/reset",
    status_code=204,
    summary="Forget a conversation",
    tags=["answers"],
    responses=problem_responses(*_GUARDED, 422),
)
async def reset_session(
    session_id: Annotated[str, Path(pattern=SESSION_ID_PATTERN, examples=["7d9c6b0e-demo"])],
    state: AppStateDep,
    principal: ReadAccess,
) -> Response:
    """Forget the turns of one of your conversations (idempotent)."""
    await state.run(state.service.reset, session_key(principal, session_id))
    return Response(status_code=204)


@router.get("/healthz", response_model=Health, summary="Liveness", tags=["probes"])
async def healthz() -> Health:
    """The process is alive (no key needed)."""
    return Health()


@router.get(
    "/readyz",
    response_model=Readiness,
    summary="Readiness",
    tags=["probes"],
    responses=problem_responses(503),
)
async def readyz(state: AppStateDep, request: Request) -> Any:
    """Ready when the index is loaded and is the current snapshot; 503 while starting,
    while a newer snapshot is being loaded, and while draining after SIGTERM."""
    path = request.url.path
    if state.draining:
        return problem(503, "draining", "the server is shutting down", path)
    index = state.loaded_index()
    if index is None:
        return problem(503, "not_ready", "the index is not loaded yet", path)
    current = await state.run(state.service.store.current_name)
    if current != index.name:
        return problem(503, "reloading", "a newer index snapshot is being loaded", path)
    return Readiness(snapshot=index.name)


@router.get(
    "/metrics",
    summary="Prometheus metrics",
    tags=["probes"],
    response_class=Response,
    responses={
        200: {"content": {"text/plain": {"schema": {"type": "string"}}}},
        **problem_responses(*_GUARDED),
    },
)
async def metrics(state: AppStateDep, _: ReadAccess) -> Response:
    """Requests and latencies by route and status, answers, abstentions, index size."""
    return Response(state.metrics.render(), media_type="text/plain; version=0.0.4; charset=utf-8")
