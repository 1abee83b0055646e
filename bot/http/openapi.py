"""The published OpenAPI document: FastAPI's, finished with what only the config knows.

- A question's ``maxLength`` is the configured ``answer.max_question_chars``, a followed
  topic's ``follows.max_topic_chars``.
- Every error response is ``application/problem+json`` with the Problem schema (FastAPI
  would document ``application/json`` and its own validation-error shape).
- The ``webhooks`` (what a key owner's URL receives) list what the receiver answers.
- Models only named in hand-written parts (the JSON body of ``POST /v1/articles``, parsed
  by hand since it also takes text/plain; the chunks of a chat stream) join the components.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from bot.http.models import LIMIT_MARKER, ArticlesIn
from bot.http.openai_compat import ChatCompletionChunk
from bot.http.problems import PROBLEM_JSON
from retrieval.config import Settings

_PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}
_RECEIVER_ANSWERS = (
    "Any 2xx takes the alert; any other status, a redirect, or no answer within "
    "follows.webhook_timeout_s is retried with backoff."
)


def install_openapi(app: FastAPI, settings: Settings) -> None:
    """Replace ``app.openapi`` with the finished document (built once, then cached)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
                webhooks=app.webhooks.routes,
                tags=app.openapi_tags,
            )
            app.openapi_schema = finish(
                schema, settings.answer.max_question_chars, settings.follows.max_topic_chars
            )
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def finish(
    schema: dict[str, Any], question_limit: int, topic_limit: int | None = None
) -> dict[str, Any]:
    """Apply the configured limits, problem+json errors and the extra components."""
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    topic = components.get("FollowRequest", {}).get("properties", {}).get("topic")
    if topic is not None and topic_limit is not None:
        topic["maxLength"] = topic_limit
    for model in (ArticlesIn, ChatCompletionChunk):  # documented, not declared by a route
        extra = model.model_json_schema(ref_template="#/components/schemas/{model}")
        components.update(extra.pop("$defs", {}))
        components[model.__name__] = extra
    _apply_limit(schema, question_limit)
    for path_item in schema.get("paths", {}).values():
        for operation in path_item.values():
            for status, response in operation.get("responses", {}).items():
                if status.isdigit() and int(status) >= 400:
                    response["content"] = {PROBLEM_JSON: {"schema": dict(_PROBLEM_REF)}}
                    if int(status) == 422 and response.get("description") == "Validation Error":
                        response["description"] = "The request is invalid."
    for path_item in schema.get("webhooks", {}).values():
        for operation in path_item.values():  # what the receiver answers, not newsbot
            operation["responses"] = {"200": {"description": _RECEIVER_ANSWERS}}
    for unused in ("HTTPValidationError", "ValidationError"):
        components.pop(unused, None)
    return schema


def _apply_limit(node: Any, limit: int) -> None:
    if isinstance(node, dict):
        if node.pop(LIMIT_MARKER, False):
            node["maxLength"] = limit
        for value in node.values():
            _apply_limit(value, limit)
    elif isinstance(node, list):
        for value in node:
            _apply_limit(value, limit)
