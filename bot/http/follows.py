"""Follows over HTTP: ``POST/GET/DELETE /v1/follows`` and ``GET /v1/alerts``.

A key's follows are its own (the chat is ``http:<key id>``). Alerts are polled: each call
scans for new feed articles, acknowledges the alerts up to ``after`` (the last id the caller
kept) and returns the rest, so an alert lost on the way is returned again.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Path, Query, Request, Response
from pydantic import BaseModel, Field

from bot.http.auth import Principal, ReadAccess
from bot.http.models import VISIBLE
from bot.http.problems import problem, problem_responses
from bot.http.state import AppStateDep
from retrieval.follows.alerts import Alert, alert_text
from retrieval.follows.service import Follows

router = APIRouter(tags=["follows"])
_GUARDED = (400, 401, 408, 413, 429)


class FollowRequest(BaseModel):
    """A topic to follow, in free text."""

    # The published maxLength is the configured follows.max_topic_chars (see openapi.py).
    topic: str = Field(min_length=1, max_length=2000, pattern=VISIBLE, examples=["NATO and Russia"])


class FollowResponse(BaseModel):
    """A followed topic and its id (for DELETE)."""

    id: int = Field(examples=[3])
    topic: str = Field(examples=["NATO and Russia"])
    created: float = Field(description="Unix time it was followed.")


class AlertOut(BaseModel):
    """An alert: the article as a citation (headline, outlet, date, link, quoted sentence)."""

    alert: Alert
    text: str = Field(description="The alert as plain text.")


class AlertsResponse(BaseModel):
    """Alerts not acknowledged yet, oldest first; pass the last id as ``after`` next time."""

    alerts: list[AlertOut]


def _chat(principal: Principal) -> str:
    return f"http:{principal.id}"


def _follows(state: Any) -> Follows:
    return state.service.follows


@router.post(
    "/v1/follows",
    status_code=201,
    response_model=FollowResponse,
    summary="Follow a topic",
    responses=problem_responses(*_GUARDED, 409, 422),
)
async def add_follow(
    body: Annotated[FollowRequest, Body()], state: AppStateDep, principal: ReadAccess
) -> FollowResponse:
    """Follow a topic: new feed articles on it become alerts (``GET /v1/alerts``)."""
    f = await state.run(_follows(state).follow, _chat(principal), body.topic)
    return FollowResponse(id=f.id, topic=f.topic, created=f.created)


@router.get(
    "/v1/follows",
    response_model=list[FollowResponse],
    summary="The topics you follow",
    responses=problem_responses(*_GUARDED),
)
async def list_follows(state: AppStateDep, principal: ReadAccess) -> list[FollowResponse]:
    """Your follows, oldest first."""
    found = await state.run(_follows(state).following, _chat(principal))
    return [FollowResponse(id=f.id, topic=f.topic, created=f.created) for f in found]


@router.delete(
    "/v1/follows/{follow_id}",
    status_code=204,
    summary="Stop following a topic",
    responses=problem_responses(*_GUARDED, 404, 422),
)
async def delete_follow(
    follow_id: Annotated[int, Path(ge=1)],
    state: AppStateDep,
    principal: ReadAccess,
    request: Request,
) -> Response:
    """Stop following (its undelivered alerts are dropped)."""
    gone = await state.run(_follows(state).unfollow, _chat(principal), follow_id)
    if gone is None:
        return problem(404, "no_such_follow", f"you follow no topic {follow_id}", request.url.path)
    return Response(status_code=204)


@router.get(
    "/v1/alerts",
    response_model=AlertsResponse,
    summary="New alerts on the topics you follow",
    responses=problem_responses(*_GUARDED, 422),
)
async def alerts(
    state: AppStateDep,
    principal: ReadAccess,
    after: Annotated[int, Query(ge=0, description="Acknowledge alerts up to this id.")] = 0,
) -> AlertsResponse:
    """Scan for new articles, acknowledge alerts up to ``after``, return the others."""
    follows = _follows(state)
    chat = _chat(principal)
    await state.run(follows.tick)
    if after:
        await state.run(follows.store.acknowledge, chat, after)
    pending = await state.run(follows.pending, chat)
    return AlertsResponse(
        alerts=[AlertOut(alert=a, text=alert_text(a)) for a in pending if a.chat == chat]
    )
