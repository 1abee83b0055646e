"""Alerts by webhook: ``PUT/GET/DELETE /v1/webhook``, and the loop that POSTs them.

A key owner registers one URL; the answer holds the secret, shown only then. Each alert is
POSTed as JSON (:class:`WebhookEvent`: the alert's id, the alert, its text), signed with
``Newsbot-Signature: sha256=<hex HMAC-SHA256 of the raw body under the secret>``. A try
fails on anything but 2xx within ``follows.webhook_timeout_s`` (redirects are not followed);
the alert then waits ``follows.webhook_retry_s``, doubling up to ``webhook_retry_max_s``, and
holds back the key's later alerts, so they arrive in order. Delivery is at least once: an
alert the receiver took just before the server stopped comes again with the same ``id``.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import socket
import time
from importlib.metadata import PackageNotFoundError, version
from typing import Annotated, Any
from urllib.parse import urlsplit

import httpx
from fastapi import APIRouter, Body, FastAPI, Request, Response
from pydantic import BaseModel, Field

from bot.http.auth import Principal, ReadAccess
from bot.http.problems import problem, problem_responses
from bot.http.state import AppState, AppStateDep
from retrieval.follows.alerts import Alert, alert_text
from retrieval.follows.service import Follows
from retrieval.follows.settings import FollowsSettings
from retrieval.follows.webhooks import (
    ALERT_ID_HEADER,
    MAX_URL_CHARS,
    SIGNATURE_HEADER,
    URL_PATTERN,
    Webhook,
    sign,
)

log = logging.getLogger("newsbot.http")
router = APIRouter(tags=["follows"])
_GUARDED = (400, 401, 408, 413, 429)
_EXAMPLE_URL = "https://example.org/newsbot-alerts"


class WebhookRequest(BaseModel):
    """Where to POST your alerts."""

    url: str = Field(
        min_length=len("http://a"),
        max_length=MAX_URL_CHARS,
        pattern=URL_PATTERN,
        description="http(s), a host name or IPv4 address, an optional port and path; no "
        "user:password@.",
        examples=[_EXAMPLE_URL],
    )


class WebhookCreated(BaseModel):
    """The registered webhook, with the secret its deliveries are signed with (shown only
    in this answer: keep it; register again for a new one)."""

    url: str = Field(examples=[_EXAMPLE_URL])
    secret: str = Field(description="The HMAC-SHA256 key of the signature header.")
    signature_header: str = Field(default=SIGNATURE_HEADER, examples=[SIGNATURE_HEADER])
    created: float = Field(description="Unix time it was registered.")


class WebhookStatus(BaseModel):
    """The registered webhook and how its deliveries go (never the secret)."""

    url: str = Field(examples=[_EXAMPLE_URL])
    created: float
    last_success: float | None = Field(description="Unix time of the last 2xx.")
    last_error: str | None = Field(description="Why the last try failed, if it did.")
    waiting: int = Field(description="Alerts not delivered yet.")


class WebhookEvent(BaseModel):
    """What your webhook receives for each alert: the same content as ``GET /v1/alerts``
    gives, and the alert's ``id`` to de-duplicate by (a retried delivery keeps it)."""

    id: int = Field(description="The alert's id: the same on every try of one alert.")
    alert: Alert
    text: str = Field(description="The alert as plain text.")


def _chat(principal: Principal) -> str:
    return f"http:{principal.id}"


def _follows(state: Any) -> Follows | None:
    follows = getattr(state.service, "follows", None)
    return follows if isinstance(follows, Follows) else None


@router.put(
    "/v1/webhook",
    response_model=WebhookCreated,
    status_code=201,
    summary="Register the URL your alerts are POSTed to",
    responses={
        200: {"model": WebhookCreated, "description": "Replaced the URL (and the secret)."},
        **problem_responses(*_GUARDED, 422),
    },
)
async def put_webhook(
    body: Annotated[WebhookRequest, Body()],
    state: AppStateDep,
    principal: ReadAccess,
    response: Response,
) -> WebhookCreated:
    """Register (or replace) your webhook; 201 when new, 200 when replaced. Each call makes
    a new signing secret, returned only here."""
    follows = state.service.follows
    chat = _chat(principal)
    existed = await state.run(follows.webhooks.get, chat) is not None
    hook = await state.run(follows.webhooks.register, chat, body.url)
    response.status_code = 200 if existed else 201
    return WebhookCreated(url=hook.url, secret=hook.secret, created=hook.created)


@router.get(
    "/v1/webhook",
    response_model=WebhookStatus,
    summary="Your webhook and how its deliveries go",
    responses=problem_responses(*_GUARDED, 404),
)
async def get_webhook(state: AppStateDep, principal: ReadAccess, request: Request) -> Any:
    """The registered URL, the last success and error, and the alerts still waiting."""
    follows = state.service.follows
    chat = _chat(principal)
    hook = await state.run(follows.webhooks.get, chat)
    if hook is None:
        return problem(404, "no_webhook", "no webhook is registered", request.url.path)
    waiting = await state.run(follows.webhooks.waiting, chat)
    return WebhookStatus(
        url=hook.url,
        created=hook.created,
        last_success=hook.last_success,
        last_error=hook.last_error,
        waiting=waiting,
    )


@router.delete(
    "/v1/webhook",
    status_code=204,
    summary="Stop POSTing alerts (they stay available from GET /v1/alerts)",
    responses=problem_responses(*_GUARDED, 404),
)
async def delete_webhook(state: AppStateDep, principal: ReadAccess, request: Request) -> Response:
    """Unregister your webhook."""
    gone = await state.run(state.service.follows.webhooks.remove, _chat(principal))
    if not gone:
        return problem(404, "no_webhook", "no webhook is registered", request.url.path)
    return Response(status_code=204)


def document(app: FastAPI) -> None:
    """Describe the POST a webhook receives in the OpenAPI document's ``webhooks``."""

    @app.webhooks.post("alert")
    def alert(body: WebhookEvent) -> None:
        """One alert, POSTed to your URL as JSON with the headers ``Newsbot-Signature:
        sha256=<hex HMAC-SHA256 of the raw body, keyed with your secret>`` and
        ``Newsbot-Alert-Id``. Answer 2xx within `follows.webhook_timeout_s`; anything else
        is retried with backoff. Check the signature over the bytes as received, and keep
        the ids you have seen: a retry after a lost answer brings an alert again."""


# --- delivery ---------------------------------------------------------------------------


def event_body(alert: Alert) -> bytes:
    """The JSON body POSTed for an alert."""
    return WebhookEvent(id=alert.id, alert=alert, text=alert_text(alert)).model_dump_json().encode()


async def _refused_address(url: str) -> str | None:
    """Why the URL's host must not be called (it is or resolves to a private address)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as e:
        return f"cannot resolve {host}: {e}"
    for *_, sockaddr in infos:
        ip = ipaddress.ip_address(sockaddr[0])
        if not ip.is_global:
            return f"{host} is {ip}, not a public address (follows.webhook_allow_private)"
    return None


async def post_alert(
    client: httpx.AsyncClient, hook: Webhook, alert: Alert, settings: FollowsSettings
) -> str | None:
    """POST one alert; None when the receiver took it (2xx), else why not."""
    if not settings.webhook_allow_private and (refused := await _refused_address(hook.url)):
        return refused
    body = event_body(alert)
    headers = {
        "Content-Type": "application/json",
        SIGNATURE_HEADER: sign(hook.secret, body),
        ALERT_ID_HEADER: str(alert.id),
        "User-Agent": f"newsbot-webhook/{_version()}",
    }
    try:
        # httpx's timeout bounds each read; this bounds the whole exchange.
        async with asyncio.timeout(settings.webhook_timeout_s):
            async with client.stream("POST", hook.url, content=body, headers=headers) as r:
                status = r.status_code  # the body is never read: the status is the answer
    except TimeoutError:
        return f"no answer within {settings.webhook_timeout_s:g} s"
    except httpx.HTTPError as e:
        return f"{type(e).__name__}: {e}"[:300]
    return None if 200 <= status < 300 else f"HTTP {status}"


async def deliver_hook(
    client: httpx.AsyncClient, follows: Follows, hook: Webhook, settings: FollowsSettings
) -> int:
    """Deliver a key's due alerts in order, stopping at the first that fails; returns how
    many were taken."""
    taken = 0
    store = follows.webhooks
    for alert in await asyncio.to_thread(store.due, hook.chat, time.time()):
        error = await post_alert(client, hook, alert, settings)
        if error is not None:
            first, most = settings.webhook_retry_s, settings.webhook_retry_max_s
            due = await asyncio.to_thread(
                store.failed, hook.chat, alert.id, error, first, most, time.time()
            )
            log.warning(
                "webhook alert %d not delivered (%s); next try in %.0f s",
                alert.id,
                error,
                due - time.time(),
            )
            break
        await asyncio.to_thread(store.succeeded, hook.chat, alert.id)
        taken += 1
    return taken


async def deliver_once(client: httpx.AsyncClient, follows: Follows) -> int:
    """One round: when any webhook is registered, scan for new articles, then deliver every
    key's due alerts (keys side by side, each in order); returns the alerts taken."""
    hooks = await asyncio.to_thread(follows.webhooks.all)
    if not hooks:
        return 0
    if not await asyncio.to_thread(follows.claim_delivery, "webhooks"):
        return 0  # another replica delivers this round (a shared database)
    try:
        try:
            await asyncio.to_thread(follows.tick)
        except Exception:  # a failed scan must not hold back what is queued already
            log.exception("scanning for alerts failed; delivering those queued")
        settings = follows.settings
        done = await asyncio.gather(*(deliver_hook(client, follows, h, settings) for h in hooks))
        return sum(done)
    finally:
        await asyncio.to_thread(follows.release_delivery, "webhooks")


async def run(state: AppState) -> None:
    """Deliver webhook alerts every ``follows.check_every_s`` until cancelled."""
    follows = _follows(state)
    if follows is None:
        return
    settings = follows.settings
    timeout = httpx.Timeout(settings.webhook_timeout_s)
    async with httpx.AsyncClient(timeout=timeout, follow_redirects=False) as client:
        while True:
            try:
                await deliver_once(client, follows)
            except Exception:  # a bad round must not end deliveries for good
                log.exception("webhook delivery failed; retrying")
            await asyncio.sleep(settings.check_every_s)


@contextlib.asynccontextmanager
async def delivering(state: AppState) -> Any:
    """The delivery loop for the lifespan of the app."""
    task = asyncio.create_task(run(state), name="newsbot-webhooks")
    try:
        yield task
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def _version() -> str:
    try:
        return version("newsbot")
    except PackageNotFoundError:
        return "0"
