"""Word-level text handling shared by BM25 and the extractive answerer."""

from __future__ import annotations

import math
import re
import struct
import zipfile
from bisect import bisect_left
from collections.abc import Iterable, Iterator, Sequence
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
        _save_npz(
            path,
            self.vocab,
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


_K1, _B = 1.2, 0.75
_EMPTY = "\x00"  # what an empty chunk is indexed as (bm25s's habit, kept for equal scores)


class Postings:
    """One segment's term frequencies: BM25 without its corpus statistics, so that segments
    written at different times score together as one corpus (see :class:`SegmentedBM25`).

    Per term ``t``, ``docs[indptr[t]:indptr[t+1]]`` are the segment's chunks that hold it
    (ascending) and ``tf[...]`` how often; ``doc_len`` is each chunk's number of terms.
    """

    def __init__(
        self, terms: list[str], indptr: np.ndarray, docs: np.ndarray, tf: np.ndarray,
        doc_len: np.ndarray, order: np.ndarray | None = None,
    ) -> None:  # fmt: skip
        n_docs = len(doc_len)
        if len(indptr) != len(terms) + 1 or len(docs) != len(tf) or indptr[-1] != len(docs):
            raise ValueError("lexical postings arrays disagree")
        if len(docs) and (int(docs.min()) < 0 or int(docs.max()) >= n_docs):
            raise ValueError("lexical postings point outside the chunks")
        self.terms = terms
        self.vocab = Vocabulary(terms, order)
        self.indptr = indptr
        self.docs = docs
        self.tf = tf
        self.doc_len = doc_len

    @property
    def n_docs(self) -> int:
        """How many chunks the segment holds (deleted ones included)."""
        return len(self.doc_len)

    @classmethod
    def build(cls, docs: Sequence[list[str]]) -> Postings:
        """Count the terms of tokenised chunks (each a list of :func:`terms`)."""
        vocab: dict[str, int] = {}
        rows: list[int] = []
        cols: list[int] = []
        counts: list[int] = []
        lengths = np.zeros(len(docs), dtype=np.int32)
        for d, doc in enumerate(docs):
            doc = doc or [_EMPTY]
            lengths[d] = len(doc)
            tally: dict[int, int] = {}
            for t in doc:
                i = vocab.setdefault(t, len(vocab))
                tally[i] = tally.get(i, 0) + 1
            rows += tally.keys()
            cols += [d] * len(tally)
            counts += tally.values()
        return cls._from_triples(
            list(vocab), np.array(rows, np.int64), np.array(cols, np.int64),
            np.array(counts, np.float32), lengths,
        )  # fmt: skip

    @classmethod
    def _from_triples(
        cls, terms: list[str], term_ids: np.ndarray, docs: np.ndarray, tf: np.ndarray,
        doc_len: np.ndarray,
    ) -> Postings:  # fmt: skip
        order = np.lexsort((docs, term_ids))
        indptr = np.zeros(len(terms) + 1, dtype=np.int64)
        np.cumsum(np.bincount(term_ids, minlength=len(terms)), out=indptr[1:])
        return cls(
            terms, indptr, docs[order].astype(np.int32), tf[order].astype(np.float32), doc_len
        )

    @classmethod
    def merge(cls, parts: Sequence[tuple[Postings, np.ndarray]]) -> Postings:
        """One segment's postings from several, keeping the chunks each ``keep`` mask marks
        (renumbered in order, part after part)."""
        vocab: dict[str, int] = {}
        ids, docs, tfs, lens = [], [], [], []
        offset = 0
        for p, keep in parts:
            gid = np.array([vocab.setdefault(t, len(vocab)) for t in p.terms], dtype=np.int64)
            new_doc = np.cumsum(keep) - 1 + offset
            term_of = np.repeat(np.arange(len(p.terms)), np.diff(p.indptr))
            alive = keep[p.docs]
            ids.append(gid[term_of[alive]])
            docs.append(new_doc[p.docs[alive]])
            tfs.append(p.tf[alive])
            lens.append(p.doc_len[keep])
            offset += int(keep.sum())
        used = np.zeros(len(vocab), dtype=bool)
        term_ids = np.concatenate(ids) if ids else np.zeros(0, np.int64)
        used[term_ids] = True
        # Terms only deleted chunks held are dropped, as a fresh build would not know them.
        remap = np.cumsum(used) - 1
        terms = [t for t, i in vocab.items() if used[i]]
        return cls._from_triples(
            terms, remap[term_ids], np.concatenate(docs) if docs else np.zeros(0, np.int64),
            np.concatenate(tfs) if tfs else np.zeros(0, np.float32),
            np.concatenate(lens).astype(np.int32) if lens else np.zeros(0, np.int32),
        )  # fmt: skip

    def save(self, path: Path) -> None:
        """Write the arrays as one uncompressed .npz (no pickle)."""
        _save_npz(
            path, self.terms, indptr=self.indptr, docs=self.docs, tf=self.tf,
            doc_len=self.doc_len, order=self.vocab.sorted_order(),
        )  # fmt: skip

    @classmethod
    def load(cls, path: Path) -> Postings:
        """Read what :meth:`save` wrote (the caller has verified the file's checksum)."""
        z = mapped_npz(path)
        raw = z["vocab"].tobytes().decode("utf-8")
        return cls(
            raw.split("\n") if raw else [],
            z["indptr"].astype(np.int64, copy=False),
            z["docs"].astype(np.int32, copy=False),
            z["tf"].astype(np.float32, copy=False),
            z["doc_len"].astype(np.int32, copy=False),
            # Files written before the sorted order: a dict, built when first asked.
            z["order"].astype(np.int64, copy=False) if "order" in z else None,
        )


class Vocabulary:
    """A segment's term -> term id, looked up by binary search over the terms' sorted order
    (stored with the postings), so that loading a segment builds no dict of its terms (at a
    million chunks, over a million terms: seconds of a cold load). Without an order, a dict
    is built on the first lookup."""

    def __init__(self, terms: list[str], order: np.ndarray | None) -> None:
        if order is not None and len(order) != len(terms):
            raise ValueError("lexical postings arrays disagree")
        self._terms, self._order = terms, order
        # As a list, so that a lookup's ~20 steps stay in C (numpy scalars cost ~µs each).
        self._ids = None if order is None else order.tolist()
        self._dict: dict[str, int] | None = None

    def get(self, term: str) -> int | None:
        """The term's id, or None when the segment does not hold it."""
        if self._ids is None:
            if self._dict is None:
                self._dict = {t: i for i, t in enumerate(self._terms)}
            return self._dict.get(term)
        terms, ids = self._terms, self._ids
        at = bisect_left(ids, term, key=terms.__getitem__)
        if at < len(ids) and terms[i := ids[at]] == term:
            return i
        return None

    def sorted_order(self) -> np.ndarray:
        """The term ids in the order of their terms."""
        if self._order is None:
            self._order = np.array(
                sorted(range(len(self._terms)), key=self._terms.__getitem__), dtype=np.int64
            )
        return self._order


class SegmentedBM25:
    """BM25 (Lucene variant, k1 1.2, b 0.75) over the live chunks of several segments, with
    the statistics of all of them together (document count, document frequencies, average
    length), so that scores equal those of one index built over the live chunks alone.

    ``rowmaps[i][d]`` is the row of segment ``i``'s chunk ``d`` in the snapshot, or -1 when
    it is deleted. ``n_docs`` is the number of live chunks; ``n_rows`` (default ``n_docs``)
    the number of snapshot rows, when deleted rows keep theirs (then they score 0).
    """

    def __init__(
        self, parts: Sequence[tuple[Postings, np.ndarray]], n_docs: int, n_rows: int | None = None
    ) -> None:
        self.parts = [(p, m, m >= 0) for p, m in parts]
        # A segment with no deleted chunk sits at one offset: its rows are docs + offset
        # (no gather through its row map at every query).
        self._offsets = [_offset_of(m) for _, m in parts]
        self.n_docs = n_docs
        self.n_rows = n_docs if n_rows is None else n_rows
        norm = np.zeros(self.n_rows, dtype=np.float64)
        total = 0
        for p, m, alive in self.parts:
            total += int(p.doc_len[alive].sum())
            norm[m[alive]] = p.doc_len[alive]
        avgdl = total / n_docs if n_docs else 1.0
        # k1 * (1 - b + b * |d| / avgdl), per snapshot row: the tf denominator's fixed part.
        self._norm = _K1 * ((1 - _B) + _B * norm / avgdl)
        self._unseen = math.log(1 + (max(1, n_docs) + 0.5) / 0.5)
        self._idf: dict[str, float] = {}

    def _df(self, term: str) -> int:
        df = 0
        for p, _, alive in self.parts:
            i = p.vocab.get(term)
            if i is not None:
                df += int(alive[p.docs[p.indptr[i] : p.indptr[i + 1]]].sum())
        return df

    def idf(self, term: str) -> float:
        """BM25's inverse document frequency of a term over the live chunks."""
        if term not in self._idf:
            df = self._df(term)
            self._idf[term] = (
                self._unseen if df == 0 else math.log(1 + (self.n_docs - df + 0.5) / (df + 0.5))
            )
        return self._idf[term]

    def scores(self, query_terms: Sequence[str]) -> np.ndarray:
        """BM25 of every live chunk for the query (a repeated term counts again)."""
        out = np.zeros(self.n_rows, dtype=np.float32)
        for rows, gains in self._gains(query_terms):
            out[rows] += gains
        return out

    def sparse_scores(self, query_terms: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """The rows that hold a query term (ascending) and their BM25, equal to
        :meth:`scores` at those rows (the same float32 additions in the same order): the
        cost follows the query terms' postings, not the size of the index."""
        gains = list(self._gains(query_terms))
        if not gains:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        total = sum(len(r) for r, _ in gains)
        if total * 4 > self.n_rows:  # postings as long as the index: one dense pass is cheaper
            out = self.scores(query_terms)
            rows = np.flatnonzero(out)
            return rows, out[rows]
        every = np.concatenate([r for r, _ in gains])
        if not len(every):  # only deleted rows held the terms
            return every.astype(np.int64), np.zeros(0, dtype=np.float32)
        # A stable sort keeps each row's gains in the order scores() adds them.
        order = np.argsort(every, kind="stable")
        every, gain = every[order], np.concatenate([g for _, g in gains])[order]
        first = np.flatnonzero(np.r_[True, every[1:] != every[:-1]])
        size = np.diff(np.r_[first, len(every)])
        acc = gain[first].copy()
        for j in range(1, int(size.max())):  # at most one round per query term
            more = size > j
            acc[more] += gain[first[more] + j]
        return every[first], acc

    def _gains(self, query_terms: Sequence[str]) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Per query term and segment: the live rows that hold it and what it adds to their
        score (float32), in the order :meth:`scores` adds them."""
        for t in query_terms:
            idf = None
            for (p, m, _), offset in zip(self.parts, self._offsets, strict=True):
                i = p.vocab.get(t)
                if i is None:
                    continue
                lo, hi = p.indptr[i], p.indptr[i + 1]
                if offset is not None:
                    rows, tf = p.docs[lo:hi].astype(np.int64) + offset, p.tf[lo:hi]
                else:
                    rows = m[p.docs[lo:hi]]
                    ok = rows >= 0
                    rows, tf = rows[ok], p.tf[lo:hi][ok]
                idf = self.idf(t) if idf is None else idf
                yield rows, (idf * tf / (tf + self._norm[rows])).astype(np.float32)


def _offset_of(rowmap: np.ndarray) -> int | None:
    """The offset of a row map that is ``arange(n) + offset`` (no deleted row), else None."""
    if not len(rowmap) or rowmap[0] < 0 or not bool((np.diff(rowmap) == 1).all()):
        return None
    return int(rowmap[0])


def mapped_npz(path: Path) -> dict[str, np.ndarray]:
    """The arrays of an uncompressed .npz (what :func:`_save_npz` writes), memory-mapped
    where they lie in the file instead of copied: at a million chunks the postings are
    ~170 MB, of which a question reads its terms' few. No pickle: object arrays are refused.
    """
    out: dict[str, np.ndarray] = {}
    with zipfile.ZipFile(path) as zf, path.open("rb") as raw:
        for info in zf.infolist():
            if info.compress_type != zipfile.ZIP_STORED or not info.filename.endswith(".npy"):
                raise ValueError(f"{path.name}: {info.filename} is not a stored .npy")
            raw.seek(info.header_offset + 26)  # the local header's name and extra lengths
            name_len, extra_len = struct.unpack("<HH", raw.read(4))
            raw.seek(info.header_offset + 30 + name_len + extra_len)
            version = np.lib.format.read_magic(raw)
            if version == (1, 0):
                shape, fortran, dtype = np.lib.format.read_array_header_1_0(raw)
            else:
                shape, fortran, dtype = np.lib.format.read_array_header_2_0(raw)
            if dtype.hasobject:
                raise ValueError(f"{path.name}: {info.filename} holds Python objects")
            key = info.filename[: -len(".npy")]
            if not int(np.prod(shape)):
                out[key] = np.zeros(shape, dtype=dtype)
                continue
            # A plain ndarray view of the map (slicing a np.memmap costs ~0.1 ms a slice).
            out[key] = np.memmap(
                path, dtype=dtype, mode="r", offset=raw.tell(), shape=shape,
                order="F" if fortran else "C",
            ).view(np.ndarray)  # fmt: skip
    return out


def _save_npz(path: Path, vocab: Iterable[str], **arrays: np.ndarray) -> None:
    """Write a vocabulary (newline-joined UTF-8 bytes) and arrays as one uncompressed .npz."""
    joined = "\n".join(vocab).encode("utf-8")
    with path.open("wb") as f:
        # (numpy's stub types **kwds as its allow_pickle flag; these are arrays)
        np.savez(f, vocab=np.frombuffer(joined, dtype=np.uint8), **arrays)  # type: ignore[arg-type]
