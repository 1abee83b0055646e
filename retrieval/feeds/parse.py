"""Feeds read with feedparser from bytes (it never fetches), and feed discovery in pages."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any

import feedparser
import lxml.html

from retrieval.articles import normalize_text, parse_date
from retrieval.feeds.identity import absolute_http_url

_FEED_TYPES = ("application/rss+xml", "application/atom+xml", "application/feed+xml")


class NotAFeedError(Exception):
    """The bytes hold no feed (malformed XML, or an HTML page); the message says which."""


@dataclass
class Entry:
    """One feed entry, its links resolved and unusable ones dropped."""

    guid: str | None
    link: str | None
    title: str | None
    summary: str
    published: str | None  # ISO date, never guessed
    updated: str | None
    warnings: list[str] = field(default_factory=list)


@dataclass
class ParsedFeed:
    """A feed's title and entries, with what was wrong but survivable."""

    title: str | None
    entries: list[Entry]
    warnings: list[str] = field(default_factory=list)


def parse_feed(body: bytes, url: str, content_type: str = "") -> ParsedFeed:
    """Read a feed from its bytes; relative links resolve against ``url``.

    Raises:
        NotAFeedError: no RSS/Atom in the bytes (an HTML page, malformed XML).
    """
    headers = {"content-location": url}
    if content_type:
        headers["content-type"] = content_type
    # Bytes, never a string: feedparser would take a string for a URL or a file name.
    d = feedparser.parse(body, response_headers=headers, sanitize_html=True)
    warnings: list[str] = []
    if not d.get("version"):
        kind = "an HTML page" if _looks_html(body) else "not RSS or Atom"
        problem = f": {_one_line(d.get('bozo_exception'))}" if d.get("bozo") else ""
        raise NotAFeedError(f"{kind}, not a feed{problem}")
    if d.get("bozo"):
        exc = d.get("bozo_exception")
        if not d.entries:
            raise NotAFeedError(f"malformed feed: {_one_line(exc)}")
        warnings.append(f"feed read despite an error: {_one_line(exc)}")
    base = d.feed.get("link") or url
    entries = [_entry(e, url, base) for e in d.entries]
    return ParsedFeed(d.feed.get("title") or None, entries, warnings)


def _entry(e: Any, url: str, base: str) -> Entry:
    warnings: list[str] = []
    raw_link = e.get("link")
    link = absolute_http_url(raw_link, url) or absolute_http_url(raw_link, base)
    if raw_link and link is None:
        warnings.append(f"link {raw_link[:80]!r} is not an http(s) URL: dropped")
    summary = ""
    if e.get("content"):
        summary = max((c.get("value", "") for c in e.content), key=len)
    summary = summary if len(summary) > len(e.get("summary", "")) else e.get("summary", "")
    return Entry(
        guid=e.get("id") or None,
        link=link,
        title=" ".join((e.get("title") or "").split()) or None,
        summary=html_to_text(summary),
        published=_date(e, "published"),
        updated=_date(e, "updated"),
        warnings=warnings,
    )


def _date(e: Any, key: str) -> str | None:
    # dict.get: feedparser's own get() answers "updated" with the published date.
    parsed = dict.get(e, f"{key}_parsed")
    if parsed:
        try:
            return dt.date(parsed.tm_year, parsed.tm_mon, parsed.tm_mday).isoformat()
        except ValueError:
            return None
    return parse_date(dict.get(e, key))


def html_to_text(fragment: str) -> str:
    """The visible text of an HTML fragment (script and style dropped), paragraphs kept."""
    if not fragment.strip():
        return ""
    if "<" not in fragment:
        return normalize_text(fragment)
    try:
        root = lxml.html.fragment_fromstring(fragment, create_parent="div")
    except (ValueError, lxml.etree.ParserError):
        return ""
    for bad in root.xpath("//script|//style|//noscript"):
        bad.drop_tree()
    for block in root.xpath("//p|//br|//div|//li|//h1|//h2|//h3|//h4|//blockquote"):
        block.tail = "\n\n" + (block.tail or "")
    return normalize_text(root.text_content())


def discover_feed(html: bytes, url: str) -> str | None:
    """The first RSS/Atom feed a page announces with ``<link rel="alternate">``, or None."""
    try:
        doc = lxml.html.document_fromstring(html)
    except (ValueError, lxml.etree.ParserError):
        return None
    for link in doc.xpath("//link[@href]"):
        rel = (link.get("rel") or "").lower().split()
        kind = (link.get("type") or "").lower().split(";")[0].strip()
        if "alternate" in rel and kind in _FEED_TYPES:
            found = absolute_http_url(link.get("href"), url)
            if found:
                return found
    return None


def _looks_html(body: bytes) -> bool:
    head = body[:2048].lower()
    return b"<html" in head or b"<!doctype html" in head


def _one_line(exc: object) -> str:
    return re.sub(r"\s+", " ", str(exc or "unknown error"))[:200]
