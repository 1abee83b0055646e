"""HTML pages: main text, title, site and canonical URL via trafilatura; dates from metadata."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from retrieval.articles import Article, parse_date, title_from_text
from retrieval.loaders.decode import Loaded, NotAnArticleError, clean, http_url, quote

if TYPE_CHECKING:
    from lxml.html import HtmlElement

# Publication-date keys of <meta property|name|itemprop>. Only these count: trafilatura's own
# date comes from htmldate, which also guesses from URLs and from dates in the text.
_DATE_KEYS = frozenset(
    {
        "article:published_time",
        "og:published_time",
        "datepublished",
        "date",
        "pubdate",
        "publishdate",
        "publish-date",
        "publish_date",
        "dc.date",
        "dc.date.issued",
        "dcterms.date",
        "dcterms.issued",
        "dcterms.created",
        "citation_publication_date",
        "parsely-pub-date",
        "sailthru.date",
    }
)


def _json_ld_dates(data: Any) -> Iterator[Any]:
    """Every ``datePublished`` in a JSON-LD document, walked without recursion."""
    stack = [data]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if "datePublished" in node:
                yield node["datePublished"]
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(reversed(node))


def _metadata_date(tree: HtmlElement) -> tuple[str | None, str | None]:
    """The page's publication date from <meta> or JSON-LD, and the raw value when unreadable."""
    raw: str | None = None
    for meta in tree.iter("meta"):
        key = meta.get("property") or meta.get("name") or meta.get("itemprop") or ""
        if key.strip().lower() in _DATE_KEYS:
            value = meta.get("content") or ""
            if date := parse_date(value):
                return date, None
            raw = raw or value
    for script in tree.iter("script"):
        if (script.get("type") or "").strip().lower() != "application/ld+json":
            continue
        try:
            data = json.loads(script.text or "")
        except (ValueError, RecursionError):
            continue
        for value in _json_ld_dates(data):
            if date := parse_date(value):
                return date, None
            raw = raw or str(value)
    return None, raw


def _extract(text: str) -> tuple[dict[str, Any], str | None, str | None]:
    """Run trafilatura (imported here: it is slow to import) on a page already in memory."""
    import trafilatura

    tree = trafilatura.load_html(text)
    if tree is None:
        return {}, None, None
    date, raw_date = _metadata_date(tree)
    # Given a parsed tree, trafilatura never fetches anything.
    doc = trafilatura.bare_extraction(
        tree,
        with_metadata=True,
        include_comments=False,
        date_extraction_params={"extensive_search": False, "original_date": True},
    )
    if doc is None:
        return {}, date, raw_date
    return (doc if isinstance(doc, dict) else doc.as_dict()), date, raw_date


def load(text: str, doc_id: str, path: Path) -> Loaded:
    """Read the main article of one HTML page."""
    try:
        fields, date, raw_date = _extract(text)
    except Exception as e:  # a third-party parser on hostile input: any failure means no article
        raise NotAnArticleError(f"could not parse the HTML ({type(e).__name__})") from e
    invisible = 0
    values: dict[str, str | None] = {}
    for key in ("text", "title", "sitename", "url"):
        value = fields.get(key)
        cleaned, n = clean(value) if isinstance(value, str) else ("", 0)
        values[key], invisible = cleaned or None, invisible + n
    body, title = values["text"], values["title"]
    if body and title:
        # trafilatura keeps the <h1> as the first line; the title is stored apart already.
        first, _, rest = body.partition("\n")
        body = rest.strip() if first.strip() == title and rest.strip() else body
    if not body:
        raise NotAnArticleError("no article text found in the HTML")
    warnings: list[str] = []
    if raw_date and not date:
        warnings.append(
            f"malformed page date {quote(raw_date)} in {path.name}: indexed without a date"
        )
    url = values["url"] and http_url(values["url"])
    article = Article(
        id=doc_id,
        title=title or title_from_text(body),
        text=body,
        date=date,
        source=values["sitename"],
        url=url or None,
        path=str(path),
        warnings=tuple(warnings),
    )
    return Loaded([article], warnings, invisible)
