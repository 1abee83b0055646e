"""An article page's text (trafilatura) and published date (htmldate, never guessed)."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from retrieval.articles import normalize_text, parse_date

# trafilatura and htmldate log every page they find odd; the report says what matters.
for _name in ("trafilatura", "htmldate", "courlan"):
    logging.getLogger(_name).setLevel(logging.ERROR)


@dataclass
class Page:
    """What a page gave: its text (None when there is no article), title, date, site."""

    text: str | None
    title: str | None
    date: str | None
    site: str | None


def extract_page(html: bytes | str, url: str) -> Page:
    """Extract an article page; comments, scripts and navigation are left out."""
    import trafilatura
    from htmldate import find_date

    doc = trafilatura.bare_extraction(
        html, url=url, include_comments=False, include_tables=False, with_metadata=True
    )
    text = title = site = None
    if doc is not None:
        body = getattr(doc, "text", None)
        text = normalize_text(body) if body else None
        title = getattr(doc, "title", None) or None
        site = getattr(doc, "sitename", None) or None
    date = None
    try:
        # original_date: the published date, not the updated one; no extensive search, so
        # a date is read from the page's metadata or markup, never guessed from any number.
        found = find_date(
            html, url=url, original_date=True, extensive_search=False, outputformat="%Y-%m-%d"
        )
        date = parse_date(found) if found else None
    except (ValueError, TypeError):
        date = None
    return Page(text or None, title, date, site)
