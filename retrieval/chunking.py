"""Sentence-aware chunking that never exceeds the embedding model's input, measured with its
own tokenizer."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from retrieval.sentences import split_sentences

# [CLS] and [SEP]: the model adds them to every input.
SPECIAL_TOKENS = 2


@dataclass(frozen=True)
class Chunk:
    """A span of an article's text; ``sentences`` are spans inside it, ``tokens`` their
    word pieces (as counted to pack the chunk)."""

    index: int
    start: int
    end: int
    sentences: tuple[tuple[int, int], ...]
    tokens: tuple[int, ...] = ()


def embed_text(title_prefix: str, text: str) -> str:
    """What is fed to the model for a chunk: the (shortened) title, then the chunk text."""
    return f"{title_prefix}\n{text}" if title_prefix else text


def sentence_units(
    text: str, budget: int, count_batch: Callable[[Sequence[str]], list[int]]
) -> list[tuple[int, int, int]]:
    """Sentences as ``(start, end, tokens)``; a sentence over ``budget`` is cut at words."""
    spans = split_sentences(text)
    counts = count_batch([text[a:b] for a, b in spans])
    units: list[tuple[int, int, int]] = []
    for (a, b), n in zip(spans, counts, strict=True):
        if n <= budget:
            units.append((a, b, n))
        else:
            units.extend(_cut_words(text, a, b, budget, count_batch))
    return units


def _cut_words(
    text: str, start: int, end: int, budget: int, count_batch: Callable[[Sequence[str]], list[int]]
) -> list[tuple[int, int, int]]:
    words = [(m.start(), m.end()) for m in re.finditer(r"\S+", text[start:end])]
    counts = count_batch([text[start + a : start + b] for a, b in words])
    pieces: list[tuple[int, int, int]] = []
    piece_start, used = None, 0
    prev_end = 0
    for (a, b), n in zip(words, counts, strict=True):
        if piece_start is not None and used + n > budget:
            pieces.append((start + piece_start, start + prev_end, used))
            piece_start, used = None, 0
        if piece_start is None:
            piece_start = a
        if n > budget:  # one enormous "word" (a URL, base64): cut it by characters
            pieces.extend(_cut_chars(text, start + a, start + b, budget, count_batch))
            piece_start, used = None, 0
            continue
        used += n
        prev_end = b
    if piece_start is not None:
        pieces.append((start + piece_start, start + prev_end, used))
    return pieces


def _cut_chars(
    text: str, start: int, end: int, budget: int, count_batch: Callable[[Sequence[str]], list[int]]
) -> list[tuple[int, int, int]]:
    pieces = []
    step = max(1, budget)  # one word piece holds at least one character
    for a in range(start, end, step):
        b = min(end, a + step)
        pieces.append((a, b, count_batch([text[a:b]])[0]))
    return pieces


def chunk_units(units: Sequence[tuple[int, int, int]], budget: int, overlap: int) -> list[Chunk]:
    """Pack sentence units into chunks of at most ``budget`` tokens, overlapping by sentences.

    Token counts of adjacent sentences add up, since the tokenizer splits on white space
    first; callers still verify each final text.
    """
    chunks: list[Chunk] = []
    i = 0
    while i < len(units):
        j, used = i, 0
        while j < len(units) and used + units[j][2] <= budget:
            used += units[j][2]
            j += 1
        j = max(j, i + 1)
        sents = tuple((a, b) for a, b, _ in units[i:j])
        tokens = tuple(n for _, _, n in units[i:j])
        chunks.append(Chunk(len(chunks), sents[0][0], sents[-1][1], sents, tokens))
        if j >= len(units):
            break
        # Step back by the overlap, but always make progress.
        i = max(j - overlap, i + 1)
    return chunks


def chunk_article(
    text: str,
    title_prefix: str,
    max_tokens: int,
    overlap: int,
    count_batch: Callable[[Sequence[str]], list[int]],
) -> list[Chunk]:
    """Chunk an article so that ``embed_text(title_prefix, chunk)`` fits ``max_tokens``.

    Args:
        text: the article text.
        title_prefix: the title as embedded in front of every chunk (already shortened).
        max_tokens: the model's input size in word pieces, special tokens included.
        overlap: sentences repeated between consecutive chunks.
        count_batch: the model tokenizer's word-piece counter (no special tokens).

    Returns:
        The chunks, each verified to fit.
    """
    title_cost = count_batch([title_prefix])[0] if title_prefix else 0
    budget = max(1, max_tokens - SPECIAL_TOKENS - title_cost)
    while True:
        units = sentence_units(text, budget, count_batch)
        chunks = chunk_units(units, budget, overlap)
        # Verify with the real tokenizer on the exact text to be embedded; should word pieces
        # ever fail to add up, shrink the budget by the excess and chunk again.
        texts = [embed_text(title_prefix, text[c.start : c.end]) for c in chunks]
        excess = max((n + SPECIAL_TOKENS - max_tokens for n in count_batch(texts)), default=0)
        if excess <= 0:
            return chunks
        budget = max(1, budget - excess)
