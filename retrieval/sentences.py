"""A rule-based sentence splitter that keeps character offsets into the original text."""

from __future__ import annotations

import re

# Tokens that end in a period without ending a sentence.
_ABBREVIATIONS = frozenset(
    """mr mrs ms dr prof sr jr st mt gen col lt sgt capt cmdr adm gov sen rep rev hon pres inc
    ltd co corp bros vs etc al fig no nos vol pp approx est dept univ assn ave blvd jan feb
    mar apr jun jul aug sep sept oct nov dec e.g i.e u.s u.k u.n a.m p.m d.c""".split()
)
# A candidate boundary: terminal punctuation, optional closing quotes/brackets, whitespace.
_BOUNDARY = re.compile(r"[.!?…]+[\"'”’)\]]*(?=\s+)")
_NEXT_START = re.compile(r"\s+[\"'“‘(\[]*[A-Z0-9À-ÖØ-Þ]")
# How far back an open parenthesis still holds a period ("(Pharm."): a longer aside is a
# stray "(", or parentheses that hold sentences of their own.
_PARENTHESIS_REACH = 40
_INITIALS = re.compile(r"(?:[^\W\d_]\.)*[^\W\d_]")
# A blank line, a list item, or a line break ("Russia-NATO relations\nNotably"), unless the next
# line goes on in lower case or digits: that is the same sentence, wrapped ("a text file\nthat
# goes on", SQuAD's "O\n2 molecules" for a subscript).
_PARAGRAPH = re.compile(r"\n\s*\n|\n(?=\s*[-*•]\s)|\n(?![ \t]*[a-z0-9ß-ÿ])")


def split_sentences(text: str) -> list[tuple[int, int]]:
    """Split text into sentences.

    Args:
        text: the article text.

    Returns:
        ``(start, end)`` character spans, in order, trimmed of surrounding white space. A
        line break ends a sentence unless the next line goes on in lower case or digits, and
        no sentence ends inside parentheses: "the Doctor of Pharmacy (Pharm. D.) degree".
    """
    spans: list[tuple[int, int]] = []
    pos = 0
    for para in _PARAGRAPH.finditer(text + "\n"):
        _split_block(text, pos, para.start(), spans)
        pos = para.end()
    return spans


def _split_block(text: str, start: int, end: int, out: list[tuple[int, int]]) -> None:
    sent_start = start
    for m in _BOUNDARY.finditer(text, start, end):
        stop = m.end()
        if not _NEXT_START.match(text, stop, end) or _is_abbreviation(text, sent_start, m.start()):
            continue
        if _open_parenthesis(text, sent_start, m.start()):
            continue
        _emit(text, sent_start, stop, out)
        sent_start = stop
    _emit(text, sent_start, end, out)


def _is_abbreviation(text: str, sent_start: int, dot: int) -> bool:
    if text[dot] != ".":
        return False
    word = re.search(r"[\w.'’]*$", text[sent_start:dot])
    token = word.group(0).lower() if word else ""
    if not token or "'" in token or "’" in token:
        return False  # "Israel's." and "don't." end in a letter, not an initial
    # Initials such as "J. K. Rowling", "J.J. Daniel" or "U.S." end no sentence.
    return token in _ABBREVIATIONS or _INITIALS.fullmatch(token) is not None


def _open_parenthesis(text: str, sent_start: int, dot: int) -> bool:
    """A parenthesis opened in this sentence, at most _PARENTHESIS_REACH characters before
    ``dot``, is not closed by then."""
    opened = text.rfind("(", sent_start, dot)
    return opened >= 0 and dot - opened <= _PARENTHESIS_REACH and ")" not in text[opened:dot]


def _emit(text: str, start: int, end: int, out: list[tuple[int, int]]) -> None:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    if end > start:
        out.append((start, end))
