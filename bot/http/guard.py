"""The guard: a pure ASGI middleware that runs before routing, body parsing and retrieval.

In order: back-off after wrong keys (429), API key (401 / 403), per-key rate limit (429),
then the request body, counted on
the bytes actually received (a chunked body without Content-Length included): over
``http.max_body_bytes`` it answers 413 at once and stops reading, so memory stays bounded by
the cap. A body that does not arrive within the deadline gets 408. The accepted body is
handed to the app as one message.

Wrong keys are throttled per client address: each 401 for a wrong key spends a token of a
bucket of ``http.auth_failures_per_minute``; while that bucket is empty, every request from the
address that needs a key gets 429 with Retry-After, before its key is even looked at, so a
correct key is no way round it (else 200-or-429 would still tell a guesser when it hit).
A correct key does not clear the count either: a holder of a read key could otherwise
interleave it with guesses at an admin key. Missing keys are not counted (no guess was
made). The 401 itself takes the same time whatever the key. The address is uvicorn's
``client``: behind a reverse proxy on the same host, uvicorn takes it from
X-Forwarded-For (its default ``forwarded_allow_ips`` is 127.0.0.1).

With ``store.backend: postgres`` both limits are buckets in the database that every replica
shares (each look-up runs in a worker thread, off the event loop); while the database is
unreachable the guard answers 503 problem+json, as the endpoints do.
"""

from __future__ import annotations

import asyncio

from starlette.datastructures import Headers, MutableHeaders
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bot.http.auth import (
    ANONYMOUS,
    MAX_KEY_CHARS,
    PRINCIPAL_KEY,
    KeyRing,
    Principal,
    Role,
    required_role,
)
from bot.http.limits import Limiter, off_loop, retry_after
from bot.http.problems import from_newsbot_error, problem
from retrieval.config import HttpSettings
from retrieval.errors import DatabaseUnavailableError

_CHALLENGE = 'Bearer realm="newsbot"'


class _TooLarge(Exception):
    pass


class GuardMiddleware:
    """Authentication, rate limit and body cap, before the app sees the request."""

    def __init__(
        self,
        app: ASGIApp,
        keys: KeyRing,
        limiter: Limiter,
        http: HttpSettings,
        failures: Limiter,
    ) -> None:
        self.app = app
        self.keys = keys
        self.limiter = limiter
        self.failures = failures  # wrong keys, per client address
        self.max_body = http.max_body_bytes
        self.timeout = http.request_timeout_s
        self.per_minute = http.rate_limit_per_minute

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        send = _with_safety_headers(send)
        path: str = scope["path"]
        headers = Headers(scope=scope)
        role = required_role(scope["method"], path)
        if role is not None:
            try:
                refused = await self._admit(scope, headers, role)
            except DatabaseUnavailableError as e:  # limits shared by replicas live there
                p = from_newsbot_error(e)
                refused = problem(p.status, p.code, p.detail, path, headers=p.headers)
            if refused is not None:
                return await refused(scope, receive, send)
        return await self._pass_body(scope, receive, send, headers)

    async def _admit(self, scope: Scope, headers: Headers, role: Role) -> Response | None:
        """Back-off, key, role and rate limit: the refusal, or None when admitted (the
        principal is then in the scope)."""
        path: str = scope["path"]
        address = _client_address(scope)
        if not self.keys.auth_disabled and (
            backoff := await off_loop(self.failures, self.failures.wait, address)
        ):
            seconds = retry_after(backoff)
            return problem(
                429,
                "too_many_wrong_keys",
                f"too many wrong API keys from this address; retry in {seconds} s",
                path,
                headers={"Retry-After": seconds},
            )
        principal = self._authenticate(headers, scope)
        if principal is None:
            wrong = "authorization" in headers
            if wrong:
                await off_loop(self.failures, self.failures.hit, address)
            challenge = _CHALLENGE + (', error="invalid_token"' if wrong else "")
            detail = "wrong API key" if wrong else "missing API key (Authorization: Bearer KEY)"
            code = "invalid_key" if wrong else "missing_key"
            return problem(401, code, detail, path, headers={"WWW-Authenticate": challenge})
        if role is Role.ADMIN and not principal.admin:
            challenge = _CHALLENGE + ', error="insufficient_scope"'
            return problem(
                403,
                "forbidden",
                "adding articles needs an admin key (http.admin_keys)",
                path,
                headers={"WWW-Authenticate": challenge},
            )
        wait = await off_loop(self.limiter, self.limiter.hit, principal.id)
        if wait:
            return problem(
                429,
                "rate_limited",
                f"rate limit of {self.per_minute} requests a minute exceeded; "
                f"retry in {retry_after(wait)} s",
                path,
                headers={"Retry-After": retry_after(wait)},
            )
        scope[PRINCIPAL_KEY] = principal
        return None

    async def _pass_body(
        self, scope: Scope, receive: Receive, send: Send, headers: Headers
    ) -> None:
        """Read the body within the cap and the deadline, then hand the request on."""
        path: str = scope["path"]
        length = headers.get("content-length")
        if length is not None:
            if not length.isdigit():
                response = problem(400, "bad_request", "invalid Content-Length", path)
                return await response(scope, receive, send)
            if int(length) > self.max_body:
                return await self._too_large(scope, receive, send)
        try:
            async with asyncio.timeout(self.timeout):
                body, disconnected = await self._read_body(receive)
        except _TooLarge:
            return await self._too_large(scope, receive, send)
        except TimeoutError:
            response = problem(
                408, "body_timeout", f"the request body took over {self.timeout:g} s", path
            )
            return await response(scope, receive, send)
        if disconnected:
            return None
        await self.app(scope, _replay(body, receive), send)
        return None

    def _authenticate(self, headers: Headers, scope: Scope) -> Principal | None:
        if self.keys.auth_disabled:
            client = scope.get("client")
            return Principal(f"anonymous@{client[0]}", True) if client else ANONYMOUS
        scheme, _, token = headers.get("authorization", "").partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token or len(token) > MAX_KEY_CHARS:
            return None
        return self.keys.authenticate(token)

    async def _read_body(self, receive: Receive) -> tuple[bytes, bool]:
        """The whole body, or _TooLarge as soon as more than the cap has arrived."""
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return b"", True
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body:
                raise _TooLarge
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks), False

    async def _too_large(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = problem(
            413,
            "body_too_large",
            f"the request body is over the {self.max_body} byte limit (http.max_body_bytes)",
            scope["path"],
            # The rest of the body is never read: the connection cannot be reused.
            headers={"Connection": "close"},
        )
        await response(scope, receive, send)


def _client_address(scope: Scope) -> str:
    """The client's address (no port: a new connection is the same client)."""
    client = scope.get("client")
    return str(client[0]) if client else "unknown"


def _replay(body: bytes, receive: Receive) -> Receive:
    """A receive that yields the buffered body once, then defers to the server's."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


def _with_safety_headers(send: Send) -> Send:
    async def wrapped(message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = MutableHeaders(scope=message)
            headers.setdefault("X-Content-Type-Options", "nosniff")
            headers.setdefault("Cache-Control", "no-store")
        await send(message)

    return wrapped
