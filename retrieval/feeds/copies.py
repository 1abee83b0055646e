"""Copies of one story (syndicated, re-headlined, truncated, boilerplate added) found with
MinHash LSH and confirmed by exact overlap of word shingles.

Candidates come from LSH over MinHash signatures (datasketch); each candidate is verified on
the exact shingle sets, so LSH only has to be generous. A copy joins the story of the
article it copies. Signatures are stored as plain uint64 arrays, never pickled.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
from datasketch import MinHash, MinHashLSH

NUM_PERM = 128
SHINGLE_WORDS = 3
# LSH finds pairs whose estimated Jaccard may be this low (a short story with a long
# boilerplate tail still comes back as a candidate); the exact check decides.
LSH_THRESHOLD = 0.1
# Verified copy (tuned with bench/copies.py): nearly all of the shorter text's shingles are
# in the longer one (truncation, a dropped paragraph, boilerplate added) and the two share a
# real part of their whole. 0.9, not 0.8: templated articles differing in one word are not
# copies.
MIN_CONTAINMENT = 0.9
MIN_JACCARD = 0.15
# Or simply most of the two texts in common (an agency copy with a dateline, boilerplate and
# a paragraph dropped has no one-sided containment left, but keeps most of its shingles).
SAME_JACCARD = 0.5
MIN_SHINGLES = 8  # shorter texts are too small to tell a copy from a shared quote

_WORD = re.compile(r"\w+")


def shingles(text: str, k: int = SHINGLE_WORDS) -> set[str]:
    """The text's lower-cased word k-grams (accents and punctuation ignored)."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    words = _WORD.findall(folded)
    if len(words) < k:
        return {" ".join(words)} if words else set()
    return {" ".join(words[i : i + k]) for i in range(len(words) - k + 1)}


def signature(shingle_set: Iterable[str]) -> np.ndarray:
    """The MinHash signature of a shingle set, as a uint64 array (safe to store)."""
    m = MinHash(num_perm=NUM_PERM)
    m.update_batch([s.encode("utf-8") for s in shingle_set])
    return np.asarray(m.hashvalues, dtype=np.uint64)


def overlap(a: set[str], b: set[str]) -> tuple[float, float]:
    """Exact (Jaccard, containment of the smaller set) of two shingle sets."""
    if not a or not b:
        return 0.0, 0.0
    inter = len(a & b)
    return inter / len(a | b), inter / min(len(a), len(b))


def is_copy(a: set[str], b: set[str]) -> bool:
    """True when two shingle sets are copies of one text (the exact check)."""
    if min(len(a), len(b)) < MIN_SHINGLES:
        return a == b and bool(a)
    jaccard, containment = overlap(a, b)
    return jaccard >= SAME_JACCARD or (containment >= MIN_CONTAINMENT and jaccard >= MIN_JACCARD)


@dataclass
class Member:
    """An article known to the detector, and the story it belongs to."""

    key: str
    story: str
    shingles: set[str]


class CopyDetector:
    """Assigns each added text to a story: the story of a verified copy, else its own."""

    def __init__(self) -> None:
        self._lsh = MinHashLSH(threshold=LSH_THRESHOLD, num_perm=NUM_PERM)
        self._members: dict[str, Member] = {}

    def __contains__(self, key: str) -> bool:
        return key in self._members

    def story_of(self, key: str) -> str | None:
        """The story id of a known article, or None."""
        m = self._members.get(key)
        return m.story if m else None

    def find(self, text: str, sig: np.ndarray | None = None) -> list[tuple[str, float]]:
        """Known articles that ``text`` is a copy of, as ``(key, jaccard)``, best first."""
        sh = shingles(text)
        sig = signature(sh) if sig is None else sig
        found = []
        for key in self._lsh.query(_minhash(sig)):
            member = self._members[key]
            if is_copy(sh, member.shingles):
                found.append((key, overlap(sh, member.shingles)[0]))
        return sorted(found, key=lambda kv: (-kv[1], kv[0]))

    def add(
        self, key: str, text: str, sig: np.ndarray | None = None, story: str | None = None
    ) -> str:
        """Add an article (replacing an earlier version of ``key``); returns its story id.

        ``story`` forces the story (reloading stored state); otherwise the article joins
        the story of its best verified copy, or starts its own.
        """
        self.remove(key)
        sh = shingles(text)
        sig = signature(sh) if sig is None else sig
        if story is None:
            matches = self.find(text, sig)
            story = self._members[matches[0][0]].story if matches else key
        self._members[key] = Member(key, story, sh)
        self._lsh.insert(key, _minhash(sig))
        return story

    def remove(self, key: str) -> None:
        """Forget an article (its story keeps its other members)."""
        if key in self._members:
            self._lsh.remove(key)
            del self._members[key]


def _minhash(sig: np.ndarray) -> MinHash:
    return MinHash(num_perm=NUM_PERM, hashvalues=sig)
