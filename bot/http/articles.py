"""Listing the indexed articles, and adding articles (admin key): the HTTP side of
:meth:`retrieval.service.NewsService.add_articles` (parsing the body, shaping the report)."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError

from bot.http.auth import AdminAccess, ReadAccess
from bot.http.models import (
    VISIBLE,
    ArticlePage,
    ArticlesIn,
    ArticleSummary,
    FileStatus,
    IngestResponse,
)
from bot.http.problems import ApiProblem, problem_responses
from bot.http.state import AppStateDep, deadline
from retrieval.adding import record_from_text
from retrieval.errors import IndexMissingError
from retrieval.ingest import IngestReport
from retrieval.search_index import SearchIndex

router = APIRouter(tags=["articles"])


@router.get(
    "/v1/articles",
    response_model=ArticlePage,
    summary="List the indexed articles",
    responses=problem_responses(400, 401, 408, 413, 422, 429, 503),
)
async def list_articles(
    state: AppStateDep,
    _: ReadAccess,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    source: Annotated[
        str | None, Query(min_length=1, max_length=200, description="Only this source.")
    ] = None,
) -> ArticlePage:
    """A page of the indexed articles, newest first: id, title, date, source, chunk count."""
    index = state.loaded_index()
    if index is None:
        raise IndexMissingError("the index is not loaded")
    items = state.per_snapshot(index, "articles", _summaries)
    if source is not None:
        wanted = source.casefold()
        items = [a for a in items if (a.source or "").casefold() == wanted]
    return ArticlePage(
        total=len(items),
        offset=offset,
        limit=limit,
        snapshot=index.name,
        items=items[offset : offset + limit],
    )


def _summaries(index: SearchIndex) -> list[ArticleSummary]:
    counts: dict[str, int] = {}
    for chunk in index.chunks:
        counts[chunk.article_id] = counts.get(chunk.article_id, 0) + 1
    arts = sorted(index.articles.values(), key=lambda a: a.id)
    arts.sort(key=lambda a: a.date or "", reverse=True)  # newest first, undated last
    return [
        ArticleSummary(
            id=a.id,
            title=a.title,
            date=a.date,
            source=a.source,
            url=a.url,
            chunks=counts.get(a.id, 0),
        )
        for a in arts
    ]


_BODY_DOC: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": {"$ref": "#/components/schemas/ArticlesIn"}},
            "text/plain": {
                "schema": {"type": "string", "minLength": 1, "pattern": VISIBLE},
                "example": "title: Example headline\ndate: 2024-05-01\nsource: Example News\n\n"
                "The council approved the budget on Tuesday.",
            },
        },
    }
}


@router.post(
    "/v1/articles",
    response_model=IngestResponse,
    summary="Add articles (admin key)",
    openapi_extra=_BODY_DOC,
    responses=problem_responses(400, 401, 403, 408, 409, 413, 415, 422, 429, 503, 504),
)
async def add_articles(request: Request, state: AppStateDep, _: AdminAccess) -> IngestResponse:
    """Add articles as JSON (`{"articles": [{id?, title?, date?, source?, url?, text}]}`) or
    as one plain-text article (optional `title:` / `date:` / `source:` / `url:` header lines,
    then the text). They are indexed incrementally; the response is the ingest report, with
    the articles that could not be used (e.g. no visible text) reported as skipped.

    An id that belongs to an article from another file than `added/` is refused (409) and
    nothing is written. A 504 means the request waited too long for another ingest and
    nothing changed: once writing starts, the request runs to the end and reports it."""
    records, warnings = _parse(await request.body(), request.headers.get("content-type", ""))
    async with deadline(state.timeout):
        await state.ingest_lock.acquire()
    try:
        # Not cut by the deadline: a status must tell what happened to the articles.
        report = await asyncio.shield(asyncio.to_thread(state.service.add_articles, records))
    finally:
        state.ingest_lock.release()
    return _response(report, state.settings.docs_paths[0], warnings)


def _parse(raw: bytes, content_type: str) -> tuple[list[dict[str, Any]], list[str]]:
    """The body's articles as records, and warnings from reading a plain-text one."""
    media = content_type.split(";")[0].strip().lower()
    if media == "application/json" or (media.startswith("application/") and "+json" in media):
        try:
            parsed = ArticlesIn.model_validate_json(raw)
        except ValidationError as e:
            errors = e.errors(include_url=False, include_input=False)
            raise RequestValidationError(
                [{**err, "loc": ("body", *err["loc"])} for err in errors]
            ) from None
        return [a.model_dump(mode="json", exclude_none=True) for a in parsed.articles], []
    if media == "text/plain":
        record, warnings = record_from_text(raw)
        return [record], warnings
    raise ApiProblem(415, "unsupported_media_type", "send application/json or text/plain (UTF-8)")


def _response(report: IngestReport, docs: Path, warnings: list[str]) -> IngestResponse:
    root = docs.parent if docs.is_file() else docs
    prefixes = {str(root) + os.sep, str(root.resolve()) + os.sep}

    def rel(text: str) -> str:  # never show the server's file system
        for prefix in prefixes:
            text = text.replace(prefix, "")
        return text

    files = [
        FileStatus(
            file=rel(f.path),
            status=f.status,
            detail=rel(f.detail),
            warnings=[*warnings, *(rel(w) for w in f.warnings)],
            article_ids=f.article_ids,
        )
        for f in report.files
    ]
    return IngestResponse(
        snapshot=report.snapshot,
        published=report.published,
        articles=report.articles,
        chunks=report.chunks,
        embedded=report.embedded,
        invisible_stripped=report.invisible_stripped,
        files=files,
    )
