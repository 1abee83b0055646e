"""Plain-text articles: optional date/title/source/url header lines at the top, then the text."""

from __future__ import annotations

import re
from pathlib import Path

from retrieval.articles import Article, parse_date, title_from_text
from retrieval.loaders.decode import Loaded, NotAnArticleError, clean, http_url, quote

# `date: <anything>` is always a header; a bare `date` needs a date-like value after it so that
# a first sentence such as "Date palms grow..." stays text. The seed's form lets the article
# continue on the same line after the date.
_DATE_COLON = re.compile(r"\s*date\s*:\s*(?P<value>.*)", re.IGNORECASE)
_DATE_BARE = re.compile(
    r"\s*(?P<header>date\s+(?P<value>\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}\S*))\s*(?P<rest>.*)",
    re.IGNORECASE,
)
_FIELD = re.compile(r"\s*(?P<key>title|source|url)\s*:\s*(?P<value>.*)", re.IGNORECASE)
_ISO_TOKEN = re.compile(r"(?P<token>\d{4}[-/]\d{1,2}[-/]\d{1,2}\S*)\s*(?P<rest>.*)")


def _parse_header(line: str) -> tuple[str, str, str, str] | None:
    """Return (key, value, header as written, text continuing on the line), or None."""
    if m := _DATE_COLON.fullmatch(line):
        if parse_date(m["value"]):  # the whole value: "Sun, 27 Nov 2022 10:00:00 GMT"
            return "date", m["value"].strip(), line.strip(), ""
        iso = _ISO_TOKEN.fullmatch(m["value"])
        if iso and parse_date(iso["token"]):
            return "date", iso["token"], line.strip(), iso["rest"]
        return "date", m["value"].strip(), line.strip(), ""
    if m := _DATE_BARE.fullmatch(line):
        return "date", m["value"], m["header"], m["rest"]
    if m := _FIELD.fullmatch(line):
        return m["key"].lower(), m["value"].strip(), line.strip(), ""
    return None


def load(text: str, doc_id: str, path: Path) -> Loaded:
    """Read one plain-text article; header lines at the top give its metadata."""
    text, invisible = clean(text)
    lines = text.split("\n")
    meta: dict[str, str] = {}
    warnings: list[str] = []
    i = 0
    while i < len(lines):
        if not lines[i].strip():  # blank lines between and after headers are allowed
            i += 1
            continue
        header = _parse_header(lines[i])
        if header is None:
            break
        key, value, written, rest = header
        if key == "date" and value:
            date = parse_date(value)
            if date is None:
                # Never guess (not from the file name, not from the text): no date at all.
                warnings.append(
                    f"malformed date header {quote(written)} in {path.name}: indexed without a date"
                )
            else:
                meta["date"] = date
        elif key == "url" and value and http_url(value) is None:
            warnings.append(f"url header {quote(value)} is not an http(s) URL: dropped")
        elif value:
            meta[key] = value
        if rest:
            lines[i] = rest
            break
        i += 1
    body = "\n".join(lines[i:]).strip()
    if not body:
        raise NotAnArticleError("no article text (only header lines)", warnings)
    article = Article(
        id=doc_id,
        title=meta.get("title") or title_from_text(body),
        text=body,
        date=meta.get("date"),
        source=meta.get("source"),
        url=meta.get("url"),
        path=str(path),
        warnings=tuple(warnings),
    )
    return Loaded([article], warnings, invisible)
