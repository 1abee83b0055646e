"""RFC 9457 problem details: every error the HTTP API returns, in one shape.

``{type, title, status, detail, instance}`` plus a stable ``code``; never a traceback, a file
path or a secret. Library errors (``retrieval.errors``) are translated here, at the edge.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Match, Route
from starlette.types import Scope

from retrieval.errors import (
    ArticleConflictError,
    ConfigError,
    DatabaseUnavailableError,
    EmptyQuestionError,
    IndexCorruptError,
    IndexMismatchError,
    IndexMissingError,
    IngestLockedError,
    InputError,
    NewsbotError,
    QuestionTooLongError,
    SessionStoreError,
)
from retrieval.follows.store import FollowLimitError

log = logging.getLogger("newsbot.http")

PROBLEM_JSON = "application/problem+json"
OPENAI_PATHS = ("/v1/chat/completions", "/v1/models")


class Problem(BaseModel):
    """An RFC 9457 problem detail."""

    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={
            "examples": [
                {
                    "type": "about:blank",
                    "title": "Too Many Requests",
                    "status": 429,
                    "detail": "rate limit of 120 requests a minute exceeded; retry in 2 s",
                    "instance": "/v1/answer",
                    "code": "rate_limited",
                }
            ]
        },
    )

    type: str = Field(default="about:blank", description="Always about:blank: see `code`.")
    title: str = Field(description="The HTTP status phrase.")
    status: int = Field(description="The HTTP status code.")
    detail: str = Field(description="What went wrong, safe to show to a user.")
    instance: str = Field(description="The request path.")
    code: str = Field(description="A stable machine-readable reason, e.g. `rate_limited`.")
    errors: list[dict[str, Any]] | None = Field(
        default=None, description="For validation errors: `{loc, msg, type}` per error."
    )


class ProblemResponse(JSONResponse):
    """A JSON response with the problem+json media type."""

    media_type = PROBLEM_JSON


class DeadlineExceeded(Exception):
    """The per-request deadline (``http.request_timeout_s``) passed."""


class ApiProblem(Exception):
    """Raise to answer with a specific problem (status, code, detail, headers)."""

    def __init__(
        self,
        status: int,
        code: str,
        detail: str,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.code = code
        self.detail = detail
        self.headers = dict(headers or {})


def problem(
    status: int,
    code: str,
    detail: str,
    instance: str,
    *,
    headers: Mapping[str, str] | None = None,
    errors: list[dict[str, Any]] | None = None,
) -> ProblemResponse:
    """Build a problem+json response (used by handlers and by the ASGI middleware)."""
    title = HTTPStatus(status).phrase
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": title,
        "status": status,
        "detail": detail,
        "instance": instance,
        "code": code,
    }
    if errors is not None:
        body["errors"] = errors
    if instance.startswith(OPENAI_PATHS):
        # OpenAI clients read `error.message`; an RFC 9457 extension member carries it.
        kind = "invalid_request_error" if status < 500 else "server_error"
        body["error"] = {"message": detail, "type": kind, "code": code, "param": None}
    return ProblemResponse(body, status_code=status, headers=dict(headers or {}))


def _safe_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    """Validation errors without the rejected input (it may be large or hold secrets)."""
    out = []
    for err in exc.errors():
        out.append({"loc": [str(p) for p in err.get("loc", ())], "msg": err.get("msg", "")})
        out[-1]["type"] = err.get("type", "")
    return out


def _describe(errors: list[dict[str, Any]]) -> str:
    parts = [f"{'.'.join(e['loc'])}: {e['msg']}" for e in errors[:3]]
    more = f" (and {len(errors) - 3} more)" if len(errors) > 3 else ""
    return "; ".join(parts) + more if parts else "the request is invalid"


# Library errors whose message may name files: a fixed, safe detail is shown instead.
_INDEX_UNAVAILABLE = (
    "the article index is not available; the operator should run `newsbot ingest` "
    "(see the server log)"
)


def from_newsbot_error(exc: NewsbotError) -> ApiProblem:
    """Translate a library error into the problem the API answers with."""
    match exc:
        case EmptyQuestionError():
            return ApiProblem(422, "empty_question", str(exc))
        case QuestionTooLongError():
            return ApiProblem(422, "question_too_long", str(exc))
        case ArticleConflictError():
            return ApiProblem(409, "article_conflict", str(exc))
        case FollowLimitError():
            return ApiProblem(409, "too_many_follows", str(exc))
        case InputError():
            return ApiProblem(422, "invalid_input", str(exc))
        case IngestLockedError():
            return ApiProblem(
                409,
                "ingest_busy",
                "another ingest is running; retry shortly",
                {"Retry-After": "5"},
            )
        case IndexMissingError() | IndexMismatchError() | IndexCorruptError():
            return ApiProblem(503, "index_unavailable", _INDEX_UNAVAILABLE, {"Retry-After": "30"})
        case ConfigError():
            return ApiProblem(500, "config_error", "the server is misconfigured (see its log)")
        case DatabaseUnavailableError():
            return ApiProblem(
                503,
                "database_unavailable",
                "the database is unavailable; retry shortly",
                {"Retry-After": "5"},
            )
        case SessionStoreError():
            return ApiProblem(
                503,
                "sessions_unavailable",
                "conversation history is unavailable; retry shortly",
                {"Retry-After": "5"},
            )
        case _:
            return ApiProblem(500, "internal_error", "the request failed (see the server log)")


def install_problem_handlers(app: FastAPI) -> None:
    """Route every error, including 404, 405, validation and crashes, to problem+json."""

    async def on_http(request: Request, exc: Exception) -> ProblemResponse:
        assert isinstance(exc, StarletteHTTPException)
        code = HTTPStatus(exc.status_code).phrase.lower().replace(" ", "_").replace("-", "_")
        detail = exc.detail if isinstance(exc.detail, str) else HTTPStatus(exc.status_code).phrase
        if exc.status_code == 404:
            detail = "no such resource"
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            detail = f"method {request.method} is not allowed here"
            # Starlette names only the first route matching the path; list all of them.
            methods = allowed_methods(request.app.state.newsbot.routes, request.scope)
            headers["Allow"] = ", ".join(methods) or headers.get("Allow", "")
        return problem(exc.status_code, code, detail, request.url.path, headers=headers)

    async def on_validation(request: Request, exc: Exception) -> ProblemResponse:
        assert isinstance(exc, RequestValidationError)
        errors = _safe_errors(exc)
        return problem(422, "validation_error", _describe(errors), request.url.path, errors=errors)

    async def on_api_problem(request: Request, exc: Exception) -> ProblemResponse:
        assert isinstance(exc, ApiProblem)
        return problem(exc.status, exc.code, exc.detail, request.url.path, headers=exc.headers)

    async def on_newsbot(request: Request, exc: Exception) -> ProblemResponse:
        assert isinstance(exc, NewsbotError)
        translated = from_newsbot_error(exc)
        if translated.status >= 500:
            log.error("%s %s: %s: %s", request.method, request.url.path, type(exc).__name__, exc)
        return await on_api_problem(request, translated)

    async def on_deadline(request: Request, exc: Exception) -> ProblemResponse:
        timeout = request.app.state.newsbot.settings.http.request_timeout_s
        return problem(
            504,
            "deadline_exceeded",
            f"the answer took longer than the {timeout:g} s deadline",
            request.url.path,
        )

    async def on_crash(request: Request, exc: Exception) -> ProblemResponse:
        incident = secrets.token_hex(6)
        log.exception("incident %s: %s %s failed", incident, request.method, request.url.path)
        return problem(
            500,
            "internal_error",
            f"the request failed; the server log has the details (incident {incident})",
            request.url.path,
        )

    app.add_exception_handler(StarletteHTTPException, on_http)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(ApiProblem, on_api_problem)
    app.add_exception_handler(NewsbotError, on_newsbot)
    app.add_exception_handler(DeadlineExceeded, on_deadline)
    app.add_exception_handler(Exception, on_crash)


def allowed_methods(routes: list[BaseRoute], scope: Scope) -> list[str]:
    """Every method some route serves at this request's path."""
    methods: set[str] = set()
    for route in routes:
        if isinstance(route, Route) and route.methods and route.matches(scope)[0] != Match.NONE:
            methods |= route.methods
    return sorted(methods)


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` entries for these error statuses (problem+json bodies)."""
    return {
        status: {"model": Problem, "description": _DESCRIPTIONS.get(status, "")}
        for status in statuses
    }


_DESCRIPTIONS = {
    400: "Malformed request (e.g. a bad Content-Length).",
    401: "Missing or wrong API key (`Authorization: Bearer KEY`).",
    403: "The key may not do this (adding articles needs an admin key).",
    404: "No such resource.",
    408: "The request body did not arrive within the deadline.",
    409: "Another ingest is running.",
    413: "The request body is over `http.max_body_bytes`.",
    415: "Unsupported Content-Type.",
    422: "The request is invalid (e.g. the question is empty or too long).",
    429: "Rate limit exceeded; see Retry-After.",
    503: "The index is not available.",
    504: "The per-request deadline passed.",
}
