"""Request and response bodies of the JSON API (the Answer itself is retrieval.answer.Answer).

Request fields are strictly typed (no "5" for 5, no 0 for a date) so that the OpenAPI
schema says exactly what is accepted. The question's ``maxLength`` in the published schema
is the configured ``answer.max_question_chars`` (see ``openapi.py``); the model itself only
holds the hard ceiling.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictStr,
)

from retrieval.ingest import ReportStatus

QUESTION_CEILING = 100_000
"""Hard ceiling of a question's length (the config's upper bound)."""

LIMIT_MARKER = "x-newsbot-question-limit"
"""Schema marker: this string's maxLength is the configured question limit."""

# At least one character that str.split() keeps: the service normalises whitespace that
# way, and JSON Schema's \\S (ECMA / Rust regex) misses \\x1c-\\x1f, which Python calls space.
_SPACES = "".join(f"\\u{ord(c):04x}" for c in map(chr, range(0x3001)) if c.isspace())
VISIBLE = f"[^{_SPACES}]"
HTTP_URL = f"^https?://[^{_SPACES}\\u0000-\\u001f\\u007f]+$"  # no spaces, no controls

_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _iso_date_only(value: object) -> object:
    if isinstance(value, str) and _ISO_DATE.fullmatch(value):
        return value
    raise ValueError("expected an ISO date, YYYY-MM-DD")


def _json_integer(value: object) -> object:
    # JSON Schema counts 1.0 as an integer; a string or a bool is not one.
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    raise ValueError("expected an integer")


IsoDate = Annotated[
    dt.date, BeforeValidator(_iso_date_only), Field(json_schema_extra={"format": "date"})
]

SESSION_ID_PATTERN = r"^[A-Za-z0-9._~:@-]{1,128}$"
SessionId = Annotated[
    StrictStr,
    Field(
        pattern=SESSION_ID_PATTERN,
        description="Your conversation id: 1-128 of letters, digits and . _ ~ : @ -. "
        "Sessions are private to the API key that created them.",
        examples=["7d9c6b0e-demo"],
    ),
]

Question = Annotated[
    StrictStr,
    Field(
        min_length=1,
        max_length=QUESTION_CEILING,
        pattern=VISIBLE,
        description="The question (at most `answer.max_question_chars` characters).",
        json_schema_extra={LIMIT_MARKER: True},
    ),
]


class AnswerRequest(BaseModel):
    """A question, optionally in a conversation and restricted by date or source."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"question": "When is the accreditation withdrawn?"},
                {
                    "question": "And who announced it?",
                    "session_id": "7d9c6b0e-demo",
                    "k": 5,
                    "since": "2021-01-01",
                    "until": "2021-12-31",
                    "sources": ["Reuters"],
                    "as_of": "2021-10-20",
                    "stream": False,
                },
            ]
        },
    )

    question: Question
    session_id: SessionId | None = Field(
        default=None,
        description="Continue this conversation: a follow-up is read in its context and the "
        "turn is recorded. Omit for a one-off question.",
    )
    k: Annotated[int, Field(ge=1, le=50), BeforeValidator(_json_integer)] | None = Field(
        default=None, description="Chunks to retrieve (default: retrieval.k)."
    )
    since: IsoDate | None = Field(default=None, description="Only articles from this date on.")
    until: IsoDate | None = Field(default=None, description="Only articles up to this date.")
    sources: list[Annotated[StrictStr, Field(min_length=1, max_length=200)]] = Field(
        default_factory=list,
        max_length=20,
        description="Only articles from these sources (case-insensitive).",
    )
    as_of: IsoDate | None = Field(
        default=None,
        description="The day the question is asked (default: today): its time expressions "
        "('last week') are read against it, and no article published after it is used.",
    )
    stream: StrictBool = Field(
        default=False,
        description="Answer as server-sent events: `token` events (draft text, not yet "
        "verified), then one `answer` event with the final Answer, then `done`.",
    )


ANSWER_EXAMPLE: dict[str, Any] = {
    "question": "When is the accreditation withdrawn?",
    "standalone_question": "When is the accreditation withdrawn?",
    "text": "November 1, 2021 [1]\n\nThe accreditation of its employees shall be withdrawn on "
    "November 1, 2021,” it added. [1]",
    "short_answer": "November 1, 2021",
    "citations": [
        {
            "n": 1,
            "article_id": "2021-10-19-russia-nato-mission",
            "title": "Russia has suspended its North Atlantic Treaty Organization (NATO) mission "
            "in response to the…",
            "date": "2021-10-19",
            "source": None,
            "url": None,
            "quote": "The accreditation of its employees shall be withdrawn on November 1, 2021,” "
            "it added.",
            "chunk_id": "2021-10-19-russia-nato-mission#2",
            "score": 0.8044,
        }
    ],
    "abstained": False,
    "confidence": 1.7044,
    "timings": {"embed": 11.2, "retrieve": 2.1, "answer": 1.6, "total": 14.9},
}
"""A real answer from the shipped seed article, for the OpenAPI document."""


class Health(BaseModel):
    """The process is alive."""

    status: Literal["ok"] = "ok"


class Readiness(BaseModel):
    """The index is loaded and is the current snapshot."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"status": "ready", "snapshot": "snap-000012"}]}
    )

    status: Literal["ready"] = "ready"
    snapshot: str = Field(description="The index snapshot answers are drawn from.")


class ArticleSummary(BaseModel):
    """One indexed article."""

    id: str = Field(examples=["2021-10-19-russia-nato-mission"])
    title: str
    date: str | None = Field(default=None, description="ISO date, or null when unknown.")
    source: str | None = None
    url: str | None = None
    chunks: int = Field(description="How many chunks of it are indexed.")


class ArticlePage(BaseModel):
    """A page of the indexed articles, newest first."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "total": 1,
                    "offset": 0,
                    "limit": 50,
                    "snapshot": "20261128T062349399364-d6cd9840",
                    "items": [
                        {
                            "id": "2021-10-19-russia-nato-mission",
                            "title": "Russia has suspended its North Atlantic Treaty "
                            "Organization (NATO) mission in response to the…",
                            "date": "2021-10-19",
                            "source": None,
                            "url": None,
                            "chunks": 3,
                        }
                    ],
                }
            ]
        }
    )

    total: int = Field(description="Articles in the index (after the source filter).")
    offset: int
    limit: int
    snapshot: str
    items: list[ArticleSummary]


class ArticleIn(BaseModel):
    """An article to add; it is written to `<docs>/added/` and indexed incrementally."""

    model_config = ConfigDict(extra="forbid")

    id: (
        Annotated[
            StrictStr,
            Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._:/@+-]{0,199}$"),
        ]
        | None
    ) = Field(
        default=None,
        description="Stable id; posting the same id again replaces the article. "
        "Default: derived from the text.",
    )
    title: Annotated[StrictStr, Field(max_length=500)] | None = Field(
        default=None, description="Default: the first sentence, shortened."
    )
    date: IsoDate | None = None
    source: Annotated[StrictStr, Field(max_length=200)] | None = None
    url: Annotated[StrictStr, Field(max_length=2000, pattern=HTTP_URL)] | None = None
    text: Annotated[StrictStr, Field(min_length=1, pattern=VISIBLE)]


class ArticlesIn(BaseModel):
    """Articles to add, as JSON."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "articles": [
                        {
                            "id": "2024-05-01-example",
                            "title": "Example headline",
                            "date": "2024-05-01",
                            "source": "Example News",
                            "url": "https://example.com/2024/05/01/example",
                            "text": "The council approved the budget on Tuesday.",
                        }
                    ]
                }
            ]
        },
    )

    articles: list[ArticleIn] = Field(min_length=1, max_length=100)


class FileStatus(BaseModel):
    """What ingest did with one added file."""

    file: str = Field(description="Relative to the docs folder, e.g. added/x.jsonl.")
    status: ReportStatus = Field(
        description="What ingest did: indexed, unchanged, duplicate, skipped, removed, or "
        "rebuilt (the index itself, rebuilt because it was unusable)."
    )
    detail: str = ""
    warnings: list[str] = Field(default_factory=list)
    article_ids: list[str] = Field(default_factory=list)


class IngestResponse(BaseModel):
    """The ingest report for the added articles."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "snapshot": "snap-000013",
                    "published": True,
                    "articles": 331,
                    "chunks": 2051,
                    "embedded": 4,
                    "invisible_stripped": 0,
                    "files": [
                        {
                            "file": "added/2024-05-01-example-3f2a9c1b.jsonl",
                            "status": "indexed",
                            "detail": "1 article",
                            "warnings": [],
                            "article_ids": ["2024-05-01-example"],
                        }
                    ],
                }
            ]
        }
    )

    snapshot: str | None = Field(description="The snapshot now current.")
    published: bool = Field(description="False when nothing changed.")
    articles: int = Field(description="Articles in the index now.")
    chunks: int
    embedded: int = Field(description="Texts embedded by this request.")
    invisible_stripped: int
    files: list[FileStatus]


def examples_of(model: type[BaseModel]) -> dict[str, Any]:
    """The model's examples as OpenAPI ``openapi_examples`` (for request bodies)."""
    extra = model.model_config.get("json_schema_extra")
    examples = extra.get("examples") if isinstance(extra, dict) else None
    if not isinstance(examples, list):
        return {}
    return {f"example {i + 1}": {"value": v} for i, v in enumerate(examples)}
