"""Listing the indexed articles, and adding articles (admin key) with an incremental ingest.

Added articles are written as files into ``<first docs path>/added/``, one JSON Lines file
per article id (written to a temporary file, fsynced, then renamed), so the folder stays the
source of truth: a later ``newsbot ingest`` finds them unchanged. Posting the same id again
replaces that article.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError

from bot.http.auth import AdminAccess, ReadAccess
from bot.http.models import (
    VISIBLE,
    ArticleIn,
    ArticlePage,
    ArticlesIn,
    ArticleSummary,
    FileStatus,
    IngestResponse,
)
from bot.http.problems import ApiProblem, problem_responses
from bot.http.state import AppState, AppStateDep, deadline
from retrieval.errors import IndexMissingError
from retrieval.ingest import IngestReport
from retrieval.loaders import NotAnArticleError
from retrieval.loaders import jsonl as jsonl_loader
from retrieval.loaders import text as text_loader
from retrieval.loaders.decode import decode_bytes
from retrieval.search_index import SearchIndex

router = APIRouter(tags=["articles"])

ADDED_FOLDER = "added"


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
    the articles that could not be used (e.g. no visible text) reported as skipped."""
    drafts = _parse(await request.body(), request.headers.get("content-type", ""))
    folder = added_folder(state)
    skipped = [
        FileStatus(
            file=f"{ADDED_FOLDER}/{_file_name(d.id)}",
            status="skipped",
            detail=f"not written: {d.skipped}",
            warnings=d.warnings,
        )
        for d in drafts
        if d.skipped
    ]
    usable = {d.id: d for d in drafts if not d.skipped}  # a repeated id: the last one wins
    if not usable:
        return _nothing_added(state, skipped)
    async with deadline(state.timeout), state.ingest_lock:
        records = [d.record for d in usable.values()]
        files = await state.run(_write_all, folder, records)
        report = await state.run(state.service.ingest, files, progress=False)
    notes = {str(folder / _file_name(d.id)): d.warnings for d in usable.values()}
    return _response(report, folder.parent, notes, skipped)


@dataclass
class _Draft:
    """An article to write, or why it would not be indexed (then nothing is written)."""

    id: str
    record: dict[str, Any]
    warnings: list[str] = field(default_factory=list)
    skipped: str | None = None


def _parse(raw: bytes, content_type: str) -> list[_Draft]:
    media = content_type.split(";")[0].strip().lower()
    if media == "application/json" or (media.startswith("application/") and "+json" in media):
        try:
            parsed = ArticlesIn.model_validate_json(raw)
        except ValidationError as e:
            errors = e.errors(include_url=False, include_input=False)
            raise RequestValidationError(
                [{**err, "loc": ("body", *err["loc"])} for err in errors]
            ) from None
        return [_checked(_record(a)) for a in parsed.articles]
    if media == "text/plain":
        return [_text_draft(raw)]
    raise ApiProblem(415, "unsupported_media_type", "send application/json or text/plain (UTF-8)")


def _record(article: ArticleIn) -> dict[str, Any]:
    record: dict[str, Any] = {
        "id": article.id or "http-" + hashlib.sha256(article.text.encode()).hexdigest()[:16],
        "title": article.title,
        "date": article.date.isoformat() if article.date else None,
        "source": article.source,
        "url": article.url,
        "text": article.text,
    }
    return {k: v for k, v in record.items() if v is not None}


def _checked(record: dict[str, Any], warnings: list[str] | None = None) -> _Draft:
    """Read the record as `newsbot ingest` will read its file, before writing anything."""
    draft = _Draft(record["id"], record, list(warnings or []))
    try:
        decoded, _ = decode_bytes(_jsonl(record))
        loaded = jsonl_loader.load(decoded, record["id"], Path(_file_name(record["id"])))
    except NotAnArticleError as e:
        draft.skipped = str(e)
        return draft
    if not loaded.articles:
        draft.warnings += loaded.warnings
        draft.skipped = "no usable article (see the warnings)"
    return draft


def _text_draft(raw: bytes) -> _Draft:
    article_id = "http-" + hashlib.sha256(raw).hexdigest()[:16]
    try:
        decoded = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ApiProblem(422, "not_utf8", "the text is not valid UTF-8") from None
    if not decoded.strip():
        raise ApiProblem(422, "empty_article", "the text is empty")
    try:
        # The plain-text loader reads the header lines, as `newsbot ingest` would.
        loaded = text_loader.load(decoded, article_id, Path(f"{article_id}.txt"))
    except NotAnArticleError as e:
        return _Draft(article_id, {}, list(e.warnings), str(e))
    if not loaded.articles:
        return _Draft(article_id, {}, list(loaded.warnings), "no article in the text")
    a = loaded.articles[0]
    record = {"id": article_id, "title": a.title, "date": a.date, "source": a.source}
    record.update({"url": a.url, "text": a.text})
    return _checked({k: v for k, v in record.items() if v is not None}, loaded.warnings)


def _jsonl(record: dict[str, Any]) -> bytes:
    return (json.dumps(record, ensure_ascii=False) + "\n").encode("utf-8")


def added_folder(state: AppState) -> Path:
    """Where added articles are written: ``added/`` in the first configured docs folder."""
    docs = state.settings.docs_paths
    if not docs:
        raise ApiProblem(409, "no_docs_folder", "paths.docs is empty: nowhere to add articles")
    root = docs[0]
    return (root.parent if root.is_file() else root) / ADDED_FOLDER


def _file_name(article_id: str) -> str:
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", article_id).strip("-.")[:60] or "article"
    return f"{slug}-{hashlib.sha256(article_id.encode()).hexdigest()[:8]}.jsonl"


def _write_all(folder: Path, records: list[dict[str, Any]]) -> list[Path]:
    paths = []
    for record in records:
        path = folder / _file_name(record["id"])
        write_atomically(path, _jsonl(record))
        paths.append(path)
    return paths


def write_atomically(path: Path, data: bytes) -> None:
    """Write a file so that readers see the old or the new content, never a part."""
    staging = path.parent / ".tmp"  # a dot folder: ingest never reads it
    staging.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=staging, suffix=".part")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def _response(
    report: IngestReport,
    docs_root: Path,
    notes: dict[str, list[str]],
    skipped: list[FileStatus],
) -> IngestResponse:
    prefix = str(docs_root.resolve()) + os.sep

    def rel(text: str) -> str:  # never show the server's file system
        return text.replace(prefix, "")

    files = [
        FileStatus(
            file=rel(f.path),
            status=f.status,
            detail=rel(f.detail),
            warnings=[*notes.get(f.path, []), *(rel(w) for w in f.warnings)],
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
        files=[*files, *skipped],
    )


def _nothing_added(state: AppState, skipped: list[FileStatus]) -> IngestResponse:
    index = state.loaded_index()
    if index is None:
        raise IndexMissingError("the index is not loaded")
    return IngestResponse(
        snapshot=index.name,
        published=False,
        articles=len(index.articles),
        chunks=len(index.chunks),
        embedded=0,
        invisible_stripped=0,
        files=skipped,
    )
