"""An OpenAI-compatible chat API, so existing OpenAI clients and chat front ends work.

``POST /v1/chat/completions``: the last user message is the question; the reply is the
answer text with its [n] markers, and the citations travel in an extra top-level field
``citations`` (in the final chunk when streaming). Earlier turns: an ``X-Session-Id``
header, else the ``user`` field, names a server-side conversation; without either, the
turns in ``messages`` are replayed into a throwaway one, so follow-ups still work.
Streaming sends the answer once it is verified, never unverified draft tokens.
"""

from __future__ import annotations

import datetime as dt
import time
import uuid
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, HTTPException, Path, Request
from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictStr, field_validator

from bot.http.auth import Principal, ReadAccess, session_key
from bot.http.models import ANSWER_EXAMPLE, SESSION_ID_PATTERN, IsoDate, Question
from bot.http.problems import problem_responses
from bot.http.state import AppState, AppStateDep, IdempotencyKey, retrying
from bot.http.streaming import frame, open_stream, problem_body, sse_response
from retrieval.answer import Answer, AnswerWindow, Citation, FinalEvent, StreamEvent
from retrieval.sessions import Turn

MODEL_ID = "newsbot"
_CREATED = int(time.time())

router = APIRouter(tags=["openai"])


class TextPart(BaseModel):
    """A text content part."""

    model_config = ConfigDict(extra="ignore")

    type: Literal["text"]
    text: Question


class UserMessage(BaseModel):
    """A user turn; the last one is the question."""

    model_config = ConfigDict(extra="ignore")

    role: Literal["user"]
    content: Question | Annotated[list[TextPart], Field(min_length=1, max_length=1)]
    name: StrictStr | None = None

    def text(self) -> str:
        return self.content if isinstance(self.content, str) else self.content[0].text


class OtherMessage(BaseModel):
    """A system, developer, assistant or tool turn (only assistant text is used)."""

    model_config = ConfigDict(extra="ignore")

    role: Literal["system", "developer", "assistant", "tool"]
    content: Annotated[StrictStr, Field(max_length=1_000_000)] | list[dict[str, Any]] | None = None

    def text(self) -> str:
        if isinstance(self.content, str):
            return self.content
        parts = self.content or []
        return " ".join(str(p.get("text", "")) for p in parts if p.get("type") == "text")


Message = Annotated[UserMessage | OtherMessage, Field(discriminator="role")]


class ChatCompletionRequest(BaseModel):
    """The subset of OpenAI's request newsbot uses; other fields are accepted and ignored."""

    model_config = ConfigDict(
        extra="ignore",
        json_schema_extra={
            "examples": [
                {
                    "model": MODEL_ID,
                    "messages": [
                        {"role": "user", "content": "When is the accreditation withdrawn?"}
                    ],
                }
            ]
        },
    )

    model: Literal["newsbot"] = Field(description="Always `newsbot` (see GET /v1/models).")
    messages: list[Message] = Field(
        min_length=1,
        max_length=256,
        description="The conversation; it must hold a user message, the last of which is "
        "the question.",
        json_schema_extra={
            "contains": {
                "type": "object",
                "properties": {"role": {"const": "user"}},
                "required": ["role"],
            }
        },
    )
    stream: StrictBool = False
    user: Annotated[StrictStr, Field(min_length=1, max_length=256)] | None = Field(
        default=None, description="Names a server-side conversation (unless X-Session-Id does)."
    )
    as_of: IsoDate | None = Field(
        default=None,
        description="newsbot's extra: the day the question is asked (default: today); no "
        "article published after it is used.",
    )

    @field_validator("messages")
    @classmethod
    def _has_question(cls, messages: list[UserMessage | OtherMessage]) -> Any:
        if not any(isinstance(m, UserMessage) for m in messages):
            raise ValueError("no user message: the last user message is the question")
        return messages


class AssistantMessage(BaseModel):
    """The answer."""

    role: Literal["assistant"] = "assistant"
    content: str = Field(description="The answer text with [n] citation markers.")


class Choice(BaseModel):
    """The one choice newsbot gives."""

    index: int = 0
    message: AssistantMessage
    finish_reason: Literal["stop"] = "stop"


class ChatCompletion(BaseModel):
    """OpenAI's chat.completion, plus `citations`, `abstained` and `standalone_question`."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "chatcmpl-69a9d97092f847d19ac0fb0f7b94de01",
                    "object": "chat.completion",
                    "created": 1795847033,
                    "model": MODEL_ID,
                    "choices": [
                        {
                            "index": 0,
                            "message": {"role": "assistant", "content": ANSWER_EXAMPLE["text"]},
                            "finish_reason": "stop",
                        }
                    ],
                    "citations": ANSWER_EXAMPLE["citations"],
                    "abstained": False,
                    "standalone_question": ANSWER_EXAMPLE["standalone_question"],
                }
            ]
        }
    )

    id: str
    object: Literal["chat.completion"] = "chat.completion"
    created: int
    model: str
    choices: list[Choice]
    citations: list[Citation] = Field(description="The sources the [n] markers name.")
    abstained: bool = Field(description="True when the articles don't contain the answer.")
    standalone_question: str = Field(
        description="The question as retrieved for, after resolving a follow-up."
    )
    as_of: str | None = Field(default=None, description="Date of the newest cited article.")
    asked_on: str | None = Field(default=None, description="The day the question was asked.")
    window: AnswerWindow | None = Field(
        default=None, description="The dates the question's time expression denotes."
    )


class Delta(BaseModel):
    """What a chunk adds to the message."""

    role: Literal["assistant"] | None = None
    content: str | None = None


class ChunkChoice(BaseModel):
    """The streamed choice."""

    index: int = 0
    delta: Delta
    finish_reason: Literal["stop"] | None = None


class ChatCompletionChunk(BaseModel):
    """OpenAI's chat.completion.chunk; the final one also carries `citations`, `abstained`
    and `standalone_question`."""

    id: str
    object: Literal["chat.completion.chunk"] = "chat.completion.chunk"
    created: int
    model: str
    choices: list[ChunkChoice]
    citations: list[Citation] | None = None
    abstained: bool | None = None
    standalone_question: str | None = None
    as_of: str | None = None
    asked_on: str | None = None
    window: AnswerWindow | None = None


class ModelCard(BaseModel):
    """A model, as OpenAI lists them."""

    id: str
    object: Literal["model"] = "model"
    created: int
    owned_by: str


class ModelList(BaseModel):
    """The models: just `newsbot`."""

    object: Literal["list"] = "list"
    data: list[ModelCard]


_GUARDED = (400, 401, 408, 413, 429)
_CHUNK_EVENT = {
    "type": "object",
    "required": ["data"],
    "properties": {
        "data": {
            "anyOf": [
                {"const": "[DONE]"},
                {
                    "type": "string",
                    "contentMediaType": "application/json",
                    "contentSchema": {"$ref": "#/components/schemas/ChatCompletionChunk"},
                },
            ]
        }
    },
}


@router.get(
    "/v1/models",
    response_model=ModelList,
    summary="List models (OpenAI)",
    responses=problem_responses(*_GUARDED),
)
async def list_models(_: ReadAccess) -> ModelList:
    """The one model, `newsbot`."""
    return ModelList(data=[_card()])


@router.get(
    "/v1/models/{model}",
    response_model=ModelCard,
    summary="Retrieve a model (OpenAI)",
    responses=problem_responses(*_GUARDED, 404),
)
async def get_model(
    model: Annotated[str, Path(max_length=256, openapi_examples={"newsbot": {"value": MODEL_ID}})],
    _: ReadAccess,
) -> ModelCard:
    """`newsbot`, or 404."""
    if model != MODEL_ID:
        raise HTTPException(404)
    return _card()


def _card() -> ModelCard:
    return ModelCard(id=MODEL_ID, created=_CREATED, owned_by="newsbot")


@router.post(
    "/v1/chat/completions",
    response_model=ChatCompletion,
    summary="Chat completion (OpenAI)",
    responses={
        200: {
            "description": "A chat.completion; with `stream: true`, chat.completion.chunk "
            "server-sent events ending with `data: [DONE]`.",
            "content": {"text/event-stream": {"itemSchema": _CHUNK_EVENT}},
        },
        **problem_responses(*_GUARDED, 422, 503, 504),
    },
)
async def chat_completions(
    body: ChatCompletionRequest,
    state: AppStateDep,
    principal: ReadAccess,
    request: Request,
    x_session_id: Annotated[
        str | None,
        Header(
            alias="X-Session-Id",
            pattern=SESSION_ID_PATTERN,
            description="A server-side conversation to continue (else `user`, else the turns "
            "in `messages`).",
        ),
    ] = None,
    idempotency_key: IdempotencyKey = None,
) -> Any:
    """Answer the last user message; the reply's text carries [n] markers and the response
    an extra `citations` field."""
    question, history = _split(body.messages)
    session = _session(principal, x_session_id, body.user)
    retrying(session, idempotency_key)
    completion_id = f"chatcmpl-{uuid.uuid4().hex}"
    if not body.stream:
        answer = await state.answer(
            question,
            endpoint="chat",
            session_id=session,
            history=None if session else history,
            as_of=body.as_of,
        )
        return ChatCompletion(
            id=completion_id,
            created=int(time.time()),
            model=MODEL_ID,
            choices=[Choice(message=AssistantMessage(content=answer.text))],
            citations=answer.citations,
            abstained=answer.abstained,
            standalone_question=answer.standalone_question,
            as_of=answer.as_of,
            asked_on=answer.asked_on,
            window=answer.window,
        )
    return await _stream(
        state, question, session, history, completion_id, request.url.path, body.as_of
    )


def _split(messages: list[UserMessage | OtherMessage]) -> tuple[str, list[Turn]]:
    """The question (the last user message) and the turns before it, as history (the
    service bounds it and makes each earlier question standalone)."""
    last = max(i for i, m in enumerate(messages) if isinstance(m, UserMessage))
    turns: list[Turn] = []
    pending: str | None = None
    for m in messages[:last]:
        if isinstance(m, UserMessage):
            if pending is not None:
                turns.append(Turn(pending, "", ""))
            pending = m.text()
        elif m.role == "assistant" and pending is not None:
            turns.append(Turn(pending, "", m.text()))
            pending = None
    if pending is not None:
        turns.append(Turn(pending, "", ""))
    question = messages[last]
    assert isinstance(question, UserMessage)
    return question.text(), turns


def _session(principal: Principal, header: str | None, user: str | None) -> str | None:
    chosen = header or user
    return session_key(principal, chosen) if chosen else None


async def _stream(
    state: AppState,
    question: str,
    session: str | None,
    history: list[Turn],
    completion_id: str,
    path: str,
    as_of: dt.date | None = None,
) -> Any:
    stream = await open_stream(
        state, question, session_id=session, history=None if session else history, as_of=as_of
    )
    created = int(time.time())

    def chunk(delta: Delta, finish: Literal["stop"] | None = None, **extra: Any) -> bytes:
        choice = ChunkChoice(delta=delta, finish_reason=finish)
        body = ChatCompletionChunk(
            id=completion_id, created=created, model=MODEL_ID, choices=[choice], **extra
        )
        return frame(body.model_dump(mode="json", exclude_none=True))

    def encode(event: StreamEvent) -> list[bytes]:
        if not isinstance(event, FinalEvent):
            return []  # draft tokens are not verified yet: only the final answer is sent
        answer: Answer = event.answer
        return [
            chunk(Delta(role="assistant", content="")),
            chunk(Delta(content=answer.text)),
            chunk(
                Delta(),
                "stop",
                citations=answer.citations,
                abstained=answer.abstained,
                standalone_question=answer.standalone_question,
                as_of=answer.as_of,
                asked_on=answer.asked_on,
                window=answer.window,
            ),
        ]

    def error(status: int, code: str, detail: str) -> bytes:
        body = problem_body(status, code, detail, path)
        body["error"] = {"message": detail, "type": "server_error", "code": code, "param": None}
        return frame(body)

    return sse_response(
        stream,
        encode=encode,
        on_answer=lambda a: state.metrics.observe_answer(a, "chat"),
        trailer=[b"data: [DONE]\n\n"],
        error=error,
    )
