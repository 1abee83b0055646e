"""The article record every loader produces, and the text clean-up all of them share."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import unicodedata
from dataclasses import dataclass, field

# Characters that render as nothing but can carry hidden instructions: Unicode tag
# characters, zero-width and joiner characters, bidi embeddings/overrides/isolates, the BOM
# and soft hyphen.
_INVISIBLE = re.compile(
    "[\U000e0000-\U000e007f\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff\u00ad"
    "\u180e\u034f]"
)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_TITLE_CHARS = 100


@dataclass(frozen=True)
class Article:
    """One news article as read from the articles folder.

    ``id`` is stable across ingests (file stem or record id); ``date`` is an ISO date or
    None, never guessed.
    """

    id: str
    title: str
    text: str
    date: str | None = None
    source: str | None = None
    url: str | None = None
    path: str = ""
    warnings: tuple[str, ...] = field(default=())

    @property
    def content_hash(self) -> str:
        """Hash of everything that ends up in the index for this article."""
        h = hashlib.sha256()
        for part in (self.title, self.date or "", self.source or "", self.url or "", self.text):
            h.update(part.encode("utf-8"))
            h.update(b"\x00")
        return h.hexdigest()


def strip_invisible(text: str) -> tuple[str, int]:
    """Remove invisible Unicode and stray control characters; return the text and the count."""
    cleaned, n_invisible = _INVISIBLE.subn("", text)
    cleaned, n_control = _CONTROL.subn("", cleaned)
    return cleaned, n_invisible + n_control


def normalize_text(text: str) -> str:
    """NFC-normalise, unify line ends and trim trailing spaces; paragraphs are kept."""
    text = unicodedata.normalize("NFC", text).replace("\r\n", "\n").replace("\r", "\n")
    text = text.replace("\u2028", "\n").replace("\u2029", "\n\n")
    lines = [line.rstrip() for line in text.split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def title_from_text(text: str) -> str:
    """An article without a title gets its first sentence, shortened at a word boundary."""
    first = re.split(r"(?<=[.!?])\s+|\n", text.strip(), maxsplit=1)[0].strip()
    if len(first) <= _TITLE_CHARS:
        return first
    cut = first[:_TITLE_CHARS].rsplit(" ", 1)[0]
    return cut.rstrip(",;:") + "…"


def parse_date(value: object) -> str | None:
    """Return an ISO date (YYYY-MM-DD) for an ISO date or datetime, or None when it is not one."""
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if not isinstance(value, str):
        return None
    s = value.strip()
    m = re.fullmatch(r"(\d{4})-(\d{2})-(\d{2})([T ][0-9:.+\-Z]*)?", s)
    if not m:
        return None
    try:
        return dt.date(int(m[1]), int(m[2]), int(m[3])).isoformat()
    except ValueError:
        return None
