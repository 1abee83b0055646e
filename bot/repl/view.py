"""Rich renderables for the REPL. Article and model text only ever enters a ``Text`` as
plain text: it is never parsed as markup, and control characters are shown, not sent."""

from __future__ import annotations

import re
from collections.abc import Sequence

from rich.console import Console, ConsoleOptions, Group, RenderableType, RenderResult
from rich.text import Text

from bot.render import conflict_heading, conflict_value_line
from retrieval.answer import Answer, Citation, Conflict, also_line, time_stamp

# C0/C1 controls (except newline and tab) and the bidi overrides that can reorder a line.
_UNSAFE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_MARKER = r"\[\d+\]"

HELP = """\
Ask a question about the articles; a follow-up ("And when does that take effect?")
continues the conversation.

  /sources   the last answer's sources, with the sentences they are quoted from
  /asof DATE ask as if on DATE (YYYY-MM-DD): "last week" is read from it and no
             article published after it is used; /asof today goes back to today
  /reset     forget the conversation and start afresh
  /follow TOPIC, /following, /unfollow ID
             follow a topic: new feed articles on it are shown at the prompt
  /help      this help
  /quit      leave (Ctrl-D does too)

Ctrl-C cancels an answer in progress (the conversation is kept) or clears the line.
Up and down arrows recall earlier questions, also from earlier chats."""


def inert(text: str) -> str:
    """The text with control characters written as escapes (``\\x1b``), so that article
    or model text cannot move the cursor, recolour the terminal or plant a hyperlink."""
    return _UNSAFE.sub(_escape, text)


def _escape(m: re.Match[str]) -> str:
    code = ord(m.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


class Wrapped:
    """Text wrapped to the terminal, indented, without the trailing blanks rich would pad
    lines with (so a copied answer is clean)."""

    def __init__(self, text: Text, indent: int = 0) -> None:
        self.text = text
        self.indent = indent

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        for line in self.text.wrap(console, max(1, options.max_width - self.indent)):
            line.rstrip()
            yield Text(" " * self.indent) + line


def answer_body(text: str, *, style: str = "") -> Wrapped:
    """Answer text with its [n] markers picked out."""
    body = Text(inert(text), style=style)
    body.highlight_regex(_MARKER, "bold cyan")
    return Wrapped(body)


def citation_line(c: Citation) -> Text:
    """`[n] Title — Source, 2021-10-19 — url`, as ``bot.render.citation_line`` spells it."""
    line = Text()
    line.append(f"[{c.n}]", style="bold cyan")
    line.append(" ")
    line.append(inert(c.title), style="bold")
    meta = ", ".join(p for p in (c.source, c.date) if p)
    if meta:
        line.append(" — ")
        line.append(inert(meta))
    if c.url:
        line.append(" — ")
        line.append(inert(c.url), style="underline")
    return line


def quote(c: Citation) -> Wrapped:
    """The quoted sentence, indented (wrapped lines keep the indent)."""
    return Wrapped(Text(f'"{inert(c.quote)}"', style="italic"), indent=4)


def sources(citations: Sequence[Citation], heading: Text) -> Group:
    """A heading, then each source with its quote."""
    parts: list[RenderableType] = [heading]
    for c in citations:
        parts.append(Wrapped(citation_line(c)))
        if c.also:
            parts.append(Wrapped(Text(inert(also_line(c)), style="dim"), indent=4))
        parts.append(quote(c))
    return Group(*parts)


def conflict_view(conflict: Conflict) -> Group:
    """The values the sources give, each with its markers, outlets, dates and role."""
    parts: list[RenderableType] = [Text(conflict_heading(conflict), style="bold yellow")]
    for v in conflict.values:
        line = Text("  - ")
        line.append(inert(conflict_value_line(v)))
        line.highlight_regex(_MARKER, "bold cyan")
        parts.append(Wrapped(line))
    return Group(*parts)


def answer_view(answer: Answer, *, with_text: bool = True) -> Group:
    """The verified answer and its numbered sources (the text is left out when it was
    already shown as streamed)."""
    parts: list[RenderableType] = []
    if with_text:
        parts.append(answer_body(answer.text, style="italic" if answer.abstained else ""))
    if answer.conflict and not answer.abstained:
        parts += [Text(), conflict_view(answer.conflict)]
    stamp = time_stamp(answer)
    if stamp:
        parts.append(Text(inert(stamp), style="dim"))
    if answer.citations:
        parts.append(Text())
        parts.append(sources(answer.citations, Text("Sources:", style="bold")))
    return Group(*parts)


def last_sources_view(question: str, citations: Sequence[Citation]) -> RenderableType:
    """What /sources prints: the question answered, then its sources and quotes."""
    heading = Text.assemble(("Sources of: ", "bold"), inert(question))
    if not citations:
        return Text.assemble(heading, "\n", ("The answer cited no sources.", "dim"))
    return sources(citations, heading)
