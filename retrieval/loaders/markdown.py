"""Markdown articles: optional YAML front matter, an optional leading ``# Heading`` as title."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from retrieval.articles import Article, parse_date, title_from_text
from retrieval.loaders.decode import Loaded, NotAnArticleError, clean, http_url, quote

_HEADING = re.compile(r"#[ \t]+(?P<title>.+?)(?:[ \t]+#+)?[ \t]*")
_FENCES = ("---", "...")


class _FrontMatterLoader(yaml.SafeLoader):
    """SafeLoader without implicit timestamps: `date: 2021-13-45` stays a string we can report."""


_FrontMatterLoader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _split_front_matter(text: str, warnings: list[str]) -> tuple[dict[str, Any], str]:
    """Return the front-matter mapping (empty when absent or broken) and the body."""
    lines = text.split("\n")
    if lines[0].strip() != "---":
        return {}, text
    end = next((i for i, line in enumerate(lines[1:], 1) if line.strip() in _FENCES), None)
    if end is None:
        warnings.append("front matter has no closing '---': read as text")
        return {}, text
    try:
        data = yaml.load("\n".join(lines[1:end]), Loader=_FrontMatterLoader)
    except (yaml.YAMLError, ValueError, RecursionError) as e:
        where = getattr(getattr(e, "problem_mark", None), "line", None)
        at = f" (line {where + 2})" if where is not None else ""
        warnings.append(f"malformed YAML front matter{at}: read as text without metadata")
        return {}, text
    if data is None:
        data = {}
    if not isinstance(data, dict):
        warnings.append("front matter is not a key: value mapping: read as text without metadata")
        return {}, text
    return data, "\n".join(lines[end + 1 :])


def _text_field(meta: dict[str, Any], key: str, warnings: list[str]) -> str | None:
    """A front-matter value usable as text (YAML may hand back numbers), else None."""
    value = meta.get(key)
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, str | int | float):
        return str(value).strip() or None
    warnings.append(f"front matter '{key}' is not text: ignored")
    return None


def load(text: str, doc_id: str, path: Path) -> Loaded:
    """Read one Markdown article; the body is kept as written."""
    text, invisible = clean(text)
    warnings: list[str] = []
    meta, body = _split_front_matter(text, warnings)
    meta = {str(k).lower(): v for k, v in meta.items()}
    title = _text_field(meta, "title", warnings)
    source = _text_field(meta, "source", warnings)
    url = _text_field(meta, "url", warnings)
    if url is not None and http_url(url) is None:
        warnings.append(f"front matter url {quote(url)} is not an http(s) URL: dropped")
        url = None
    raw_date = meta.get("date")
    date = parse_date(raw_date)
    if date is None and raw_date not in (None, ""):
        # str() only of scalars: a YAML alias bomb stays cheap until someone prints it.
        shown = quote(str(raw_date)) if isinstance(raw_date, str | int | float) else "(not text)"
        warnings.append(
            f"malformed date {shown} in the front matter of {path.name}: indexed without a date"
        )
    body = body.strip()
    first, _, rest = body.partition("\n")
    if title is None and (m := _HEADING.fullmatch(first)):
        title, body = m["title"].strip(), rest.strip()
    if not body:
        raise NotAnArticleError("no article text (only front matter or a heading)", warnings)
    article = Article(
        id=doc_id,
        # Front matter read as text starts with its fence; the title comes from what follows.
        title=title or title_from_text(re.sub(r"\A(?:-{3,}[ \t]*\n)+", "", body) or body),
        text=body,
        date=date,
        source=source,
        url=url,
        path=str(path),
        warnings=tuple(warnings),
    )
    return Loaded([article], warnings, invisible)
