"""JSON Lines corpora: one article a line, ``{id, title, date, source, url, text}``."""

from __future__ import annotations

import codecs
import hashlib
import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, BinaryIO

from retrieval.articles import Article, parse_date, strip_invisible, title_from_text
from retrieval.loaders.decode import (
    Loaded,
    NotAnArticleError,
    clean,
    decode_bytes,
    http_url,
    quote,
)

_MB = 1024 * 1024


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


def records(
    lines: Iterable[tuple[int, str | None]], doc_id: str, path: Path, loaded: Loaded
) -> Iterator[Article]:
    """Each valid record's article, one at a time; what is wrong with a line goes to
    ``loaded.warnings`` (a line given as None was already refused by the caller)."""
    seen: set[str] = set()
    for number, line in lines:
        if line is None or not line.strip():
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
        loaded.invisible += invisible
        yield article


def load(text: str, doc_id: str, path: Path) -> Loaded:
    """Read every valid record; a broken line is skipped with a warning, never fatal."""
    loaded = Loaded([])
    # split("\n"), not splitlines(): U+2028 and friends may sit raw inside JSON strings.
    lines = enumerate(text.split("\n"), 1)
    loaded.articles.extend(records(lines, doc_id, path, loaded))
    if not loaded.articles:
        raise NotAnArticleError("no valid records", loaded.warnings)
    return loaded


class Stream:
    """A JSONL file read line by line: memory holds one record at a time, never the file.

    Iterate it for the articles; afterwards ``loaded`` holds the warnings (each oversized or
    broken record, by line) and ``sha256`` the whole file's hash. ``max_record_bytes`` caps
    one line: a longer one is reported and skipped, the rest of the file is still read.
    """

    def __init__(self, f: BinaryIO, doc_id: str, path: Path, max_record_bytes: int) -> None:
        self.f = f
        self.doc_id = doc_id
        self.path = path
        self.max_record_bytes = max_record_bytes
        self.loaded = Loaded([])
        self.skipped_records = 0
        self._hash = hashlib.sha256()
        self._cp1252 = False
        self.any_text = False  # a line with something visible on it was read

    @property
    def sha256(self) -> str:
        """The file's SHA-256 (complete once iteration has ended)."""
        return self._hash.hexdigest()

    def __iter__(self) -> Iterator[Article]:
        return records(self._lines(), self.doc_id, self.path, self.loaded)

    def _lines(self) -> Iterator[tuple[int, str | None]]:
        cap = self.max_record_bytes
        number = 0
        while raw := self.f.readline(cap + 1):
            number += 1
            self._hash.update(raw)
            size = len(raw)
            if size > cap and not raw.endswith(b"\n"):
                # Too long to be one record: skip to the end of the line, bounded memory.
                while more := self.f.readline(1 << 20):
                    self._hash.update(more)
                    size += len(more)
                    if more.endswith(b"\n"):
                        break
                self.skipped_records += 1
                self.loaded.warnings.append(
                    f"line {number}: record is {size / _MB:.1f} MB, over the "
                    f"{cap / _MB:.1f} MB limit per article (ingest.max_file_mb), record skipped"
                )
                self.any_text = True
                yield number, None
                continue
            if number == 1 and raw.startswith(codecs.BOM_UTF8):
                raw = raw[len(codecs.BOM_UTF8) :]
            try:
                line, warnings = decode_bytes(raw)
            except NotAnArticleError as e:
                if number == 1 and str(e).startswith("binary file"):
                    raise  # the file is not text at all: say so for the file, not the line
                self.loaded.warnings.append(f"line {number}: {e}, record skipped")
                self.any_text = True
                yield number, None
                continue
            if warnings and not self._cp1252:
                self._cp1252 = True
                self.loaded.warnings.extend(warnings)
            self.any_text = self.any_text or bool(strip_invisible(line)[0].strip())
            yield number, line.rstrip("\r\n")
