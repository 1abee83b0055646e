"""Telegram HTML rendering of answers, and splitting into messages Telegram accepts.

Every article and model string is escaped; the only markup is what this module writes.
Telegram limits a message to 4,096 UTF-16 code units, so lengths here are counted in those
units, on the markup itself (an upper bound on the text Telegram sees after parsing it).
Long output is rendered paragraph by paragraph and the paragraphs are packed into messages,
so a split never falls inside a tag or an entity.
"""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from urllib.parse import urlsplit

from bot.render import conflict_heading, conflict_value_line
from retrieval.answer import Answer, Citation, also_line, time_stamp

MAX_MESSAGE = 4096  # UTF-16 code units per message
MAX_PARTS = 8  # messages one answer may take; more is cut with a note
MAX_HREF = 1024  # escaped href length; longer URLs are shown unlinked
TRUNCATED = "<i>(The answer was too long to show in full.)</i>"

Measure = Callable[[str], int]  # the size of a string once sent, in UTF-16 code units


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units, as Telegram counts."""
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def escaped_len(text: str) -> int:
    """UTF-16 length of ``esc(text)``, without building it."""
    return utf16_len(text) + 4 * text.count("&") + 3 * (text.count("<") + text.count(">"))


def esc(text: str) -> str:
    """Escape text for Telegram HTML (only &, < and > need it outside attributes)."""
    return html.escape(text, quote=False)


# --- splitting plain text --------------------------------------------------------------

# Boundaries, best first: after a blank line, after a line break, after a sentence end,
# after any whitespace. Each match ends where the next part should start.
_BOUNDARIES = (
    re.compile(r"\n[ \t\r\f\v]*\n\s*"),
    re.compile(r"\n\s*"),
    re.compile(r"[.!?…。！？][\"'”’»)\]]*\s+"),
    re.compile(r"\s+"),
)
_NO_BREAK_BEFORE = {"\u200c", "\u200d", "\u20e3"}


def _joins_previous(ch: str) -> bool:
    """True when ``ch`` belongs to the character before it (combining marks, ZWJ, emoji
    modifiers, variation selectors, tag characters)."""
    cp = ord(ch)
    return (
        ch in _NO_BREAK_BEFORE
        or unicodedata.category(ch) in ("Mn", "Me", "Mc")
        or 0xFE00 <= cp <= 0xFE0F
        or 0xE0100 <= cp <= 0xE01EF
        or 0x1F3FB <= cp <= 0x1F3FF
        or 0xE0020 <= cp <= 0xE007F
    )


def _is_regional(ch: str) -> bool:
    return 0x1F1E6 <= ord(ch) <= 0x1F1FF


def _safe_break(text: str, i: int) -> bool:
    """May ``text`` be cut before index ``i`` without tearing a visible character apart?"""
    before, after = text[i - 1], text[i]
    if _joins_previous(after) or before == "\u200d":
        return False
    if before == "\r" and after == "\n":
        return False
    return not (_is_regional(before) and _is_regional(after))


def _take(text: str, start: int, budget: int, measure: Measure) -> int:
    """Where the part of ``text`` that begins at ``start`` should end (an index), so that
    it measures at most ``budget`` units.

    Prefers, in order, a paragraph, line, sentence or word boundary in the second half of
    what fits, then any word boundary, then a point that splits no visible character, and
    finally any code point (a surrogate pair is one code point here, so never split).
    """
    hi = min(len(text), start + budget)  # every character is at least one unit
    if measure(text[start:hi]) <= budget:
        end = hi
    else:  # the longest prefix that fits; measure grows with the prefix
        lo = start
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if measure(text[start:mid]) <= budget:
                lo = mid
            else:
                hi = mid - 1
        end = lo
    if end == len(text):
        return end
    if end == start:
        return start + 1  # budget below one character: never loop forever
    half = start + (end - start) // 2
    last = 0
    for pattern in _BOUNDARIES:
        last = 0
        for m in pattern.finditer(text, start, end):
            last = m.end()
        if last >= half:
            return last
    if last > start:  # the last pattern is any whitespace
        return last
    for i in range(end, max(start, end - 64), -1):
        if _safe_break(text, i):
            return i
    return end


def split_text(text: str, limit: int = MAX_MESSAGE, measure: Measure = utf16_len) -> list[str]:
    """Split text into parts of at most ``limit`` units that join back to ``text``.

    Args:
        text: any text.
        limit: the largest part, in the units ``measure`` counts (UTF-16 code units).
        measure: the size of a string once sent.

    Returns:
        The parts, in order; ``"".join(parts) == text``.
    """
    parts, start = [], 0
    while start < len(text):
        end = _take(text, start, limit, measure)
        parts.append(text[start:end])
        start = end
    return parts


# --- rendering -------------------------------------------------------------------------


@dataclass(frozen=True)
class Run:
    """Plain text, escaped when rendered, wrapped in markup this module wrote."""

    text: str
    open: str = ""
    close: str = ""

    def html(self) -> str:
        return f"{self.open}{esc(self.text)}{self.close}"


@dataclass(frozen=True)
class Block:
    """A paragraph or a line: runs rendered together; ``sep`` goes before it in a message."""

    runs: tuple[Run, ...]
    sep: str = "\n\n"

    def html(self) -> str:
        return "".join(r.html() for r in self.runs)


def safe_url(url: str | None) -> str | None:
    """The URL when it may be linked: http(s), a host, no credentials, no spaces, not huge."""
    if not url:
        return None
    url = url.strip()
    if len(url) > MAX_HREF:
        return None
    if any(ch.isspace() or unicodedata.category(ch) in ("Cc", "Cf") for ch in url):
        return None
    try:
        parts = urlsplit(url)
        if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
            return None
        if parts.username is not None or parts.password is not None:
            return None
        _ = parts.port  # raises ValueError on a malformed port
    except ValueError:
        return None
    return url if utf16_len(_href(url)) <= MAX_HREF else None


def _href(url: str) -> str:
    return html.escape(url, quote=False).replace('"', "&quot;")


def link(text: str, url: str | None) -> Run:
    """``text`` linked to ``url`` when the URL is safe to link, else plain."""
    ok = safe_url(url)
    return Run(text, f'<a href="{_href(ok)}">', "</a>") if ok else Run(text)


def paragraphs(text: str) -> list[str]:
    """Non-blank paragraphs (separated by blank lines), without surrounding whitespace."""
    return [p.strip() for p in re.split(r"\n[ \t\r\f\v]*\n", text) if p.strip()]


def _meta(c: Citation) -> str:
    return ", ".join(p for p in (c.source, c.date) if p and p != "(unknown)")


def citation_block(c: Citation) -> Block:
    """``1. <a>Title</a> — Source, 2021-10-19``, the title linked only to a safe URL."""
    runs = [Run(f"{c.n}. "), link(c.title.strip() or "(untitled)", c.url)]
    meta = _meta(c)
    if meta:
        runs.append(Run(f" — {meta}"))
    if c.also:
        runs.append(Run(f"\n    {also_line(c)}", "<i>", "</i>"))
    return Block(tuple(runs), sep="\n")


def answer_blocks(answer: Answer) -> list[Block]:
    """The answer's paragraphs, then its sources as a numbered list."""
    blocks = [Block((Run(p),)) for p in paragraphs(answer.text)]
    if not blocks:
        blocks = [Block((Run("(no answer)", "<i>", "</i>"),))]
    if answer.conflict and not answer.abstained:
        blocks.append(Block((Run(conflict_heading(answer.conflict), "<b>", "</b>"),)))
        blocks.extend(
            Block((Run(f"• {conflict_value_line(v)}"),), sep="\n") for v in answer.conflict.values
        )
    stamp = time_stamp(answer)
    if stamp:
        blocks.append(Block((Run(stamp, "<i>", "</i>"),)))
    if answer.citations and not answer.abstained:
        blocks.append(Block((Run("Sources", "<b>", "</b>"),)))
        blocks.extend(citation_block(c) for c in answer.citations)
    return blocks


def answer_html(answer: Answer, max_parts: int | None = MAX_PARTS) -> list[str]:
    """The answer as Telegram HTML messages, each valid on its own."""
    return pack(answer_blocks(answer), max_parts=max_parts)


def _quote_block(c: Citation) -> list[Block]:
    quote = c.quote.strip()
    return [Block((Run(quote, "<blockquote>", "</blockquote>"),), sep="\n")] if quote else []


def sources_html(citations: Sequence[Citation]) -> list[str]:
    """Every source of an answer with its quote (for /sources)."""
    blocks = [Block((Run("Sources of my last answer", "<b>", "</b>"),))]
    for c in citations:
        blocks.append(replace(citation_block(c), sep="\n\n"))
        blocks.extend(_quote_block(c))
    return pack(blocks)


def quote_html(c: Citation) -> list[str]:
    """One source's quote under its title (for an inline button)."""
    head = [Run(f"[{c.n}] ", "<b>", "</b>"), link(c.title.strip() or "(untitled)", c.url)]
    meta = _meta(c)
    if meta:
        head.append(Run(f" — {meta}"))
    return pack([Block(tuple(head)), *_quote_block(c)])


# --- packing ---------------------------------------------------------------------------


def _split_block(block: Block, limit: int) -> Iterator[str]:
    """Render a block too long for one message as several, cutting only plain text."""
    cur, used = "", 0
    for run in block.runs:
        overhead = utf16_len(run.open) + utf16_len(run.close)
        text, start = run.text, 0
        while start < len(text):
            room = limit - used - overhead
            end = _take(text, start, room, escaped_len) if room > 0 else start
            if end < len(text) and cur and room < max(limit // 4, 16):
                yield cur  # start the long run on a fresh message rather than a sliver
                cur, used = "", 0
                continue
            piece = Run(text[start:end], run.open, run.close).html()
            cur += piece
            used += utf16_len(piece)
            start = end
            if start < len(text):
                yield cur
                cur, used = "", 0
    if cur:
        yield cur


def _messages(blocks: Iterable[Block], limit: int) -> Iterator[str]:
    cur, used = "", 0
    for block in blocks:
        rendered = block.html()
        size = utf16_len(rendered)
        if size <= limit:
            sep = utf16_len(block.sep)
            if cur and used + sep + size <= limit:
                cur += block.sep + rendered
                used += sep + size
                continue
            if cur:
                yield cur
            cur, used = rendered, size
            continue
        if cur:
            yield cur
            cur, used = "", 0
        yield from _split_block(block, limit)
    if cur:
        yield cur


def pack(
    blocks: Iterable[Block], limit: int = MAX_MESSAGE, max_parts: int | None = MAX_PARTS
) -> list[str]:
    """Join rendered blocks into as few messages of at most ``limit`` units as possible.

    Blocks are never cut unless one alone is longer than a message; then only its plain
    text is cut (see :func:`split_text`), each piece re-wrapped in the block's markup.
    Beyond ``max_parts`` messages the rest is dropped and the last says so.
    """
    messages: list[str] = []
    for message in _messages(blocks, limit):
        if html_to_plain(message).strip():
            messages.append(message.strip())
        if max_parts is not None and len(messages) > max_parts:
            return [*messages[: max_parts - 1], TRUNCATED]
    return messages


# --- plain-text fallback ---------------------------------------------------------------

_LINK = re.compile(r'<a href="([^"]*)">(.*?)</a>', re.S)
_TAG = re.compile(r"<[^>]*>")


def html_to_plain(markup: str) -> str:
    """Our own markup as plain text: tags dropped, links as ``title (url)``, unescaped."""
    text = _LINK.sub(lambda m: f"{m.group(2)} ({m.group(1)})", markup)
    return html.unescape(_TAG.sub("", text))


def plain_parts(markup: str, limit: int = MAX_MESSAGE) -> list[str]:
    """One HTML message as plain-text messages (for when Telegram cannot parse it)."""
    return [p for p in split_text(html_to_plain(markup), limit) if p.strip()]


def preview_text(text: str, limit: int = MAX_MESSAGE) -> str:
    """A streaming preview as plain text that fits one message (cut with an ellipsis)."""
    text = text.strip()
    if utf16_len(text) <= limit:
        return text
    return split_text(text, limit - 2)[0].rstrip() + " …"
