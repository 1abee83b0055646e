"""JSON Lines corpora: one article a line, ``{id, title, date, source, url, text}``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from retrieval.articles import Article, parse_date, title_from_text
from retrieval.loaders.decode import Loaded, NotAnArticleError, clean, http_url, quote


def _string(record: dict[str, Any], key: str) -> tuple[str | None, int]:
    """A cleaned string field (None when absent, not a string or blank) and invisibles removed."""
    value = record.get(key)
    if isinstance(value, int) and not isinstance(value, bool) and key == "id":
        value = str(value)
    if not isinstance(value, str):
        return None, 0
    cleaned, n = clean(value)
    return cleaned or None, n


def _article(
    record: dict[str, Any], fallback_id: str, path: Path, warn: list[str]
) -> tuple[Article, int] | None:
    """Build one record's article, or None (with a warning) when it has no usable text."""
    text, n_text = _string(record, "text")
    if text is None:
        warn.append("no non-empty string 'text', record skipped")
        return None
    fields: dict[str, str | None] = {}
    invisible = n_text
    for key in ("id", "title", "source", "url", "date"):
        fields[key], n = _string(record, key)
        invisible += n
    if fields["url"] is not None and http_url(fields["url"]) is None:
        warn.append(f"url {quote(fields['url'])} is not an http(s) URL: dropped")
        fields["url"] = None
    date = parse_date(fields["date"])
    if date is None and record.get("date") not in (None, ""):
        # Shown with the file here and the line by load(): never guessed, always findable.
        shown = quote(str(record["date"]))
        warn.append(f"malformed date {shown} in {path.name}: indexed without a date")
    article = Article(
        id=fields["id"] or fallback_id,
        title=fields["title"] or title_from_text(text),
        text=text,
        date=date,
        source=fields["source"],
        url=fields["url"],
        path=str(path),
        warnings=tuple(warn),
    )
    return article, invisible


def load(text: str, doc_id: str, path: Path) -> Loaded:
    """Read every valid record; a broken line is skipped with a warning, never fatal."""
    loaded = Loaded([])
    seen: set[str] = set()
    # split("\n"), not splitlines(): U+2028 and friends may sit raw inside JSON strings.
    for number, line in enumerate(text.split("\n"), 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except (ValueError, RecursionError):
            loaded.warnings.append(f"line {number}: invalid JSON, record skipped")
            continue
        if not isinstance(record, dict):
            loaded.warnings.append(f"line {number}: not a JSON object, record skipped")
            continue
        warn: list[str] = []
        built = _article(record, f"{doc_id}#{number}", path, warn)
        loaded.warnings.extend(f"line {number}: {w}" for w in warn)
        if built is None:
            continue
        article, invisible = built
        if article.id in seen:
            loaded.warnings.append(
                f"line {number}: duplicate id {quote(article.id)} in this file, record skipped"
            )
            continue
        seen.add(article.id)
        loaded.articles.append(article)
        loaded.invisible += invisible
    if not loaded.articles:
        raise NotAnArticleError("no valid records", loaded.warnings)
    return loaded
