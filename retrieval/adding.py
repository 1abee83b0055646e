"""Adding articles through the service (not by dropping files): check, write, index.

Added articles are written as files into ``<first docs folder>/added/``, one JSON Lines file
per article id (to a temporary file, fsynced, then renamed), so the folder stays the source
of truth: a later ``newsbot ingest`` finds them unchanged and reaches the same verdicts.

The rules, the same for this path and for a full ingest:
- An added article may replace an earlier added article with the same id, never an article
  that came from elsewhere (a curated file): that is refused, and nothing is written.
- Identical text under a second id is a duplicate of the first (see ``retrieval.ingest``).
- ``added/`` must be a real folder inside the docs folder, not a link out of it.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from retrieval.durable import write_atomically
from retrieval.errors import ArticleConflictError, InputError
from retrieval.loaders import NotAnArticleError
from retrieval.loaders import jsonl as jsonl_loader
from retrieval.loaders import text as text_loader
from retrieval.loaders.decode import decode_bytes

ADDED_FOLDER = "added"
_FIELDS = ("id", "title", "date", "source", "url", "text")


@dataclass
class Draft:
    """An article to write, or why it would not be indexed (then nothing is written)."""

    id: str
    record: dict[str, Any]
    warnings: list[str] = field(default_factory=list)
    skipped: str | None = None

    @property
    def file_name(self) -> str:
        """The file the article is written to, inside ``added/``."""
        return file_name(self.id)


def record_from_text(raw: bytes) -> tuple[dict[str, Any], list[str]]:
    """One plain-text article (optional ``title:``/``date:``/``source:``/``url:`` header
    lines, then the text) as a record, read as ``newsbot ingest`` reads a .txt file, and
    the reader's warnings. Text that holds no article comes back as it is: adding it
    reports why it was not written.

    Raises:
        InputError: the text is not UTF-8, or is empty.
    """
    try:
        decoded = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise InputError("the text is not valid UTF-8") from None
    if not decoded.strip():
        raise InputError("the text is empty")
    article_id = "http-" + hashlib.sha256(raw).hexdigest()[:16]
    try:
        loaded = text_loader.load(decoded, article_id, Path(f"{article_id}.txt"))
    except NotAnArticleError as e:
        return {"id": article_id, "text": decoded}, list(e.warnings)
    if not loaded.articles:
        return {"id": article_id, "text": decoded}, list(loaded.warnings)
    a = loaded.articles[0]
    record = {"id": article_id, "title": a.title, "date": a.date, "source": a.source}
    record.update({"url": a.url, "text": a.text})
    return {k: v for k, v in record.items() if v is not None}, list(loaded.warnings)


def draft(record: Mapping[str, Any], warnings: Sequence[str] = ()) -> Draft:
    """Read a record as ``newsbot ingest`` will read its file, before anything is written.

    A record without an id gets one derived from its text.
    """
    unknown = set(record) - set(_FIELDS)
    if unknown:
        raise InputError(f"unknown article field(s): {', '.join(sorted(unknown))}")
    clean = {k: v for k, v in record.items() if v is not None}
    if not isinstance(clean.get("text"), str):
        raise InputError("an article needs a 'text' string")
    clean.setdefault("id", "http-" + hashlib.sha256(clean["text"].encode()).hexdigest()[:16])
    result = Draft(str(clean["id"]), clean, list(warnings))
    try:
        decoded, _ = decode_bytes(jsonl_bytes(clean))
        loaded = jsonl_loader.load(decoded, result.id, Path(result.file_name))
    except NotAnArticleError as e:
        result.skipped = str(e)
        return result
    if not loaded.articles:
        result.warnings += loaded.warnings
        result.skipped = "no usable article (see the warnings)"
    return result


def jsonl_bytes(record: Mapping[str, Any]) -> bytes:
    """One record as a JSON Lines file."""
    return (json.dumps(dict(record), ensure_ascii=False) + "\n").encode("utf-8")


def file_name(article_id: str) -> str:
    """A safe, stable file name for an article id (a slug and a hash of the id)."""
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", article_id).strip("-.")[:60] or "article"
    return f"{slug}-{hashlib.sha256(article_id.encode()).hexdigest()[:8]}.jsonl"


def added_folder(docs_paths: Sequence[Path], folder: str = ADDED_FOLDER) -> Path:
    """Where added articles go: ``added/`` (or ``folder``, a relative path such as
    ``feeds/<name>``) in the first docs folder; no part of it may be a link.

    Raises:
        ArticleConflictError: no docs folder is configured, or the folder (or the docs
            folder itself, or a folder between them) is a symbolic link, which would write
            outside the docs folder.
    """
    if not docs_paths:
        raise ArticleConflictError("paths.docs is empty: nowhere to add articles")
    root = docs_paths[0]
    root = root.parent if root.is_file() else root
    parts = Path(folder).parts
    if not parts or Path(folder).is_absolute() or any(p in ("..", ".") for p in parts):
        raise ArticleConflictError(f"{folder!r} is not a folder name inside the docs folder")
    target = root.joinpath(*parts)
    chain = [root] + [root.joinpath(*parts[: i + 1]) for i in range(len(parts))]
    for p in chain:
        if p.is_symlink():
            raise ArticleConflictError(
                f"{folder}/ or its docs folder is a symbolic link; refusing to write "
                "through it (make it a real folder)"
            )
    if target.exists() and not target.is_dir():
        raise ArticleConflictError(f"{folder} in the docs folder is not a folder")
    return target


@contextmanager
def written(folder: Path, drafts: Sequence[Draft]) -> Iterator[list[Path]]:
    """Write the drafts' files; if the block fails, put every file back as it was."""
    folder.mkdir(parents=True, exist_ok=True)
    previous: dict[Path, bytes | None] = {}
    paths: list[Path] = []
    try:
        for d in drafts:
            path = folder / d.file_name
            if path not in previous:
                previous[path] = path.read_bytes() if path.is_file() else None
            write_atomically(path, jsonl_bytes(d.record))
            paths.append(path)
        yield paths
    except BaseException:
        for path, old in previous.items():
            if old is None:
                path.unlink(missing_ok=True)
            else:
                write_atomically(path, old)
        raise
