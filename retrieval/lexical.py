"""Word-level text handling shared by BM25 and the extractive answerer."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

import numpy as np
import Stemmer

_WORD = re.compile(r"\w+")
STOPWORDS = frozenset(
    """a about above after again against all am an and any are as at be because been before
    being below between both but by can could did do does doing down during each few for
    from further had has have having he her here hers herself him himself his how i if in
    into is it its itself just me more most my myself no nor not now of off on once only or
    other our ours ourselves out over own s same she should so some such t than that the
    their theirs them themselves then there these they this those through to too under until
    up very was we were what when where which while who whom why will with would you your
    yours yourself yourselves also said says did does according one""".split()
)
_stemmer = Stemmer.Stemmer("english")


@lru_cache(maxsize=65536)
def _stem(word: str) -> str:
    return str(_stemmer.stemWord(word))


def words(text: str) -> list[str]:
    """Lower-cased word tokens."""
    return _WORD.findall(text.lower())


def terms(text: str) -> list[str]:
    """Stemmed content terms: no stop words, no one-letter words (digits are kept)."""
    return [_stem(w) for w in words(text) if _content(w)]


def term_spans(text: str) -> list[tuple[str, int]]:
    """Like :func:`terms`, each with the offset where its word starts."""
    return [(_stem(w), m.start()) for m in _WORD.finditer(text) if _content(w := m.group().lower())]


def _content(word: str) -> bool:
    return word not in STOPWORDS and (len(word) > 1 or word.isdigit())


class LexicalIndex:
    """BM25 (Lucene variant, k1 1.2, b 0.75) over the chunks as plain arrays, so that a
    snapshot stores it and a reader loads it without re-tokenising anything.

    Per term ``t``, ``data[indptr[t]:indptr[t+1]]`` are its BM25 contributions to the chunks
    ``indices[...]`` (bm25s's eager score matrix). A term's document frequency is its number
    of entries, so its IDF needs no extra array.
    """

    def __init__(
        self,
        terms: list[str],
        data: np.ndarray,
        indices: np.ndarray,
        indptr: np.ndarray,
        n_docs: int,
    ) -> None:
        if len(indptr) != len(terms) + 1 or len(data) != len(indices) or indptr[-1] != len(data):
            raise ValueError("lexical index arrays disagree")
        if len(indices) and (int(indices.min()) < 0 or int(indices.max()) >= n_docs):
            raise ValueError("lexical index points outside the chunks")
        self.vocab = {t: i for i, t in enumerate(terms)}
        self.data = data
        self.indices = indices
        self.indptr = indptr
        self.n_docs = n_docs
        self._unseen = math.log(1 + (max(1, n_docs) + 0.5) / 0.5)

    @classmethod
    def build(cls, docs: Sequence[list[str]]) -> LexicalIndex:
        """Index tokenised chunks (each a list of :func:`terms`; empty ones get a placeholder)."""
        import bm25s  # the writer's side only: readers load the arrays

        corpus = [doc or ["\x00"] for doc in docs]
        if not corpus:
            empty = np.zeros(0, dtype=np.float32)
            return cls([], empty, np.zeros(0, np.int32), np.zeros(1, np.int64), 0)
        bm25 = bm25s.BM25(k1=1.2, b=0.75)
        bm25.index(corpus, show_progress=False)
        s = bm25.scores
        # bm25s adds "" to its vocabulary after the scored terms, with no row of its own.
        n_terms = len(s["indptr"]) - 1
        by_id = sorted(
            (kv for kv in bm25.vocab_dict.items() if kv[1] < n_terms), key=lambda kv: kv[1]
        )
        if [i for _, i in by_id] != list(range(n_terms)):
            raise ValueError("bm25s vocabulary ids are not contiguous")
        return cls(
            [t for t, _ in by_id],
            np.asarray(s["data"], dtype=np.float32),
            np.asarray(s["indices"], dtype=np.int32),
            np.asarray(s["indptr"], dtype=np.int64),
            len(corpus),
        )

    def scores(self, query_terms: Sequence[str]) -> np.ndarray:
        """BM25 of every chunk for the query (a repeated term counts again, as in bm25s)."""
        out = np.zeros(self.n_docs, dtype=np.float32)
        for t in query_terms:
            i = self.vocab.get(t)
            if i is not None:
                lo, hi = self.indptr[i], self.indptr[i + 1]
                # One entry per chunk within a term: plain fancy-index addition is exact.
                out[self.indices[lo:hi]] += self.data[lo:hi]
        return out

    def idf(self, term: str) -> float:
        """BM25's inverse document frequency of a term over the chunks."""
        i = self.vocab.get(term)
        if i is None:
            return self._unseen
        df = int(self.indptr[i + 1] - self.indptr[i])
        return math.log(1 + (self.n_docs - df + 0.5) / (df + 0.5))

    def save(self, path: Path) -> None:
        """Write the arrays as one uncompressed .npz (no pickle: object arrays are refused)."""
        vocab = "\n".join(self.vocab).encode("utf-8")
        with path.open("wb") as f:
            np.savez(
                f,
                vocab=np.frombuffer(vocab, dtype=np.uint8),
                data=self.data,
                indices=self.indices,
                indptr=self.indptr,
                n_docs=np.array([self.n_docs], dtype=np.int64),
            )

    @classmethod
    def load(cls, path: Path) -> LexicalIndex:
        """Read what :meth:`save` wrote (the caller has verified the file's checksum)."""
        with np.load(path, allow_pickle=False) as z:
            raw = z["vocab"].tobytes().decode("utf-8")
            terms = raw.split("\n") if raw else []
            return cls(
                terms,
                z["data"].astype(np.float32, copy=False),
                z["indices"].astype(np.int32, copy=False),
                z["indptr"].astype(np.int64, copy=False),
                int(z["n_docs"][0]),
            )
