"""A segment's chunk search structure: exact (flat) or approximate (HNSW, IVF), how it is
built, checked after reading, and searched under a filter.

Which kind a segment gets is decided when it is written (``index.kind``; ``auto``: exact
below ``index.ann_min_chunks`` chunks, IVF from there) and recorded in its manifest entry,
so that a reader knows what chunks.faiss must hold. Every kind keeps the exact vectors once
in memory: flat and HNSW in a flat storage that the reader lends to numpy; IVF in its
inverted lists, read back by row through its direct map (:class:`IVFRows`).

Why auto picks IVF: on bench/scale.py's vectors (real MiniLM vectors plus noise, so tight
clusters) at 100k, HNSW (M 16, efSearch 64-512) found 0.32-0.62 of the exact top 10 and
IVF (4·sqrt(n) lists, 8-16 probed) 0.98-1.0, both under 1 ms: an IVF list is a cluster,
searched exactly. How many lists a search probes: :func:`probes`.

A filtered search (a date window, sources, deleted rows) never returns a row outside the
filter, and returns k rows when k pass it: the ANN is asked with an ``IDSelector`` and a
search depth grown with the filter's selectivity; when the filter lets few rows through, or
the ANN found fewer than k, the rows that pass are searched exactly instead.

FAISS runs a single query on all OpenMP threads by default; with busy cores the threads wait
on each other (73 → 7 ms for a 11k flat search on this 2-core machine), so searches run on
one thread (:func:`one_thread`; the setting is per calling thread and restored after).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any, Literal

import faiss
import numpy as np

Kind = Literal["flat", "hnsw", "ivf"]
KINDS: tuple[Kind, ...] = ("flat", "hnsw", "ivf")
HNSW_M = 16  # graph degree (recall@10 0.99 at 100k on random clustered 384-d vectors)
HNSW_EF_CONSTRUCTION = 40
HNSW_EF_SEARCH = 64
MAX_EF_SEARCH = 2048
IVF_LISTS = 2  # lists per sqrt(rows)
# Lists probed: a share of them, at least IVF_MIN_PROBES. A reader sets it on every IVF
# segment it reads (older files recorded 1/32 of the lists). On bench/scale.py's vectors,
# recall@10 against exact search was 1.0 down to 24 probes at 1M (2,000 lists; 16: 0.94) and
# down to 10 at 100k (632 lists; 8: 0.98); at 1M, 32 probes instead of 63 cut a search from
# ~6.7 to ~1.7 ms.
IVF_PROBE_SHARE = 1 / 64
IVF_MIN_PROBES = 16
# Below this share of a segment's rows passing a filter, the rows that pass are searched
# exactly: the graph would have to walk past too many rows that do not (bench/scale.py).
EXACT_BELOW_SHARE = 0.02


def resolve(kind: str, n_chunks: int, ann_min: int) -> Kind:
    """The kind a segment of ``n_chunks`` gets for the configured ``kind``."""
    if kind == "auto":
        return "ivf" if n_chunks >= ann_min else "flat"
    for known in KINDS:
        if kind == known:
            return known
    raise ValueError(f"unknown index kind {kind!r}")


def build(vectors: np.ndarray, kind: Kind) -> faiss.Index:
    """An inner-product index of the unit vectors (a copy of them) of that kind."""
    x = np.ascontiguousarray(vectors, dtype=np.float32)
    n, d = x.shape
    index: faiss.Index
    if kind == "hnsw" and n:
        index = faiss.IndexHNSWFlat(d, HNSW_M, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
        index.hnsw.efSearch = HNSW_EF_SEARCH
    elif kind == "ivf" and n:
        nlist = max(1, min(int(IVF_LISTS * np.sqrt(n)), n // 39))
        index = faiss.IndexIVFFlat(faiss.IndexFlatIP(d), d, nlist, faiss.METRIC_INNER_PRODUCT)
        index.cp.niter = 10  # k-means: 10 rounds settle the lists of clustered vectors
        rng = np.random.default_rng(0)
        sample = x if n <= nlist * 40 else x[np.sort(rng.choice(n, nlist * 40, replace=False))]
        index.train(sample)
        index.nprobe = probes(nlist)
        index.make_direct_map()  # rows are read back by id
    else:
        index = faiss.IndexFlatIP(d)
    if n:
        index.add(x)
    return index


def probes(nlist: int) -> int:
    """How many of an IVF index's ``nlist`` lists a search probes."""
    return min(nlist, max(IVF_MIN_PROBES, int(np.ceil(nlist * IVF_PROBE_SHARE))))


def check(index: Any, kind: Kind, dim: int) -> Any:
    """The index read from a segment file (``faiss.read_index`` gives the most derived
    class; a downcast proxy would not own it), refused unless it is of the kind its manifest
    entry records, inner product, of dimension ``dim``."""
    wanted: dict[str, Any] = {
        "flat": faiss.IndexFlat, "hnsw": faiss.IndexHNSWFlat, "ivf": faiss.IndexIVFFlat,
    }  # fmt: skip
    if (
        not isinstance(index, wanted[kind])
        or index.d != dim
        or index.metric_type != faiss.METRIC_INNER_PRODUCT
    ):
        raise ValueError(
            f"chunks.faiss is not an inner-product index of kind {kind}, dimension {dim}"
        )
    if kind == "ivf":
        if index.direct_map.type == faiss.DirectMap.NoMap:  # type: ignore[attr-defined]
            raise ValueError("chunks.faiss is an ivf index without its direct map")
        index.nprobe = probes(index.nlist)  # this reader's depth, whatever the file says
    return index


def kind_of(index: Any) -> Kind:
    """The kind of a (downcast) index."""
    if isinstance(index, faiss.IndexHNSWFlat):
        return "hnsw"
    if isinstance(index, faiss.IndexIVFFlat):
        return "ivf"
    return "flat"


def exact_part(index: Any) -> faiss.Index:
    """What searches the index's rows exactly: the index itself, or an HNSW's flat storage
    (an IVF is searched exactly by probing every list)."""
    if isinstance(index, faiss.IndexHNSWFlat):
        return faiss.downcast_index(index.storage)
    return index


class _Owner:
    """Lends numpy a FAISS index's storage and keeps the index alive while numpy uses it."""

    def __init__(self, raw: np.ndarray, index: faiss.Index) -> None:
        self.__array_interface__ = raw.__array_interface__
        self.index = index


def vectors_of(index: Any) -> np.ndarray:
    """The index's vectors by row, read-only: a view of a flat (or HNSW's flat) storage, no
    copy; the view keeps the index alive, and the index is never added to afterwards. An
    IVF's are read by row from its lists (:class:`IVFRows`)."""
    n, d = int(index.ntotal), int(index.d)
    if n == 0:
        return np.zeros((0, d), dtype=np.float32)
    if isinstance(index, faiss.IndexIVFFlat):
        return IVFRows(index)  # type: ignore[return-value]
    flat: Any = exact_part(index)
    raw = faiss.rev_swig_ptr(flat.get_xb(), n * d)
    view = np.asarray(_Owner(raw, index)).reshape(n, d)  # the index owns its storage
    view.flags.writeable = False
    return view


class IVFRows:
    """An IVF index's vectors by row, as far as a segment's readers index them (a row, a
    slice, rows, a boolean mask; ``np.asarray`` for all of them): read from its lists
    through the direct map, so that they are held once."""

    dtype = np.dtype(np.float32)

    def __init__(self, index: Any) -> None:
        self.index = index
        self.shape = (int(index.ntotal), int(index.d))

    def __len__(self) -> int:
        return self.shape[0]

    def __getitem__(self, key: Any) -> np.ndarray:
        if isinstance(key, (int, np.integer)):
            return self[np.array([int(key)])][0]
        rows = self._rows(key)
        if not len(rows):
            return np.zeros((0, self.shape[1]), dtype=np.float32)
        return self.index.reconstruct_batch(np.ascontiguousarray(rows, dtype=np.int64))

    def _rows(self, key: Any) -> np.ndarray:
        """The row numbers a key selects, checked (a per-row read never builds an array of
        every row: at 1M rows that cost ~2 ms a vector)."""
        n = self.shape[0]
        if isinstance(key, slice):
            return np.arange(*key.indices(n))
        rows = np.asarray(key)
        if rows.dtype == bool:
            if rows.shape != (n,):
                raise IndexError("boolean mask of the wrong length")
            return np.flatnonzero(rows)
        rows = rows.astype(np.int64, copy=False).reshape(-1)
        rows = np.where(rows < 0, rows + n, rows)
        if len(rows) and (int(rows.min()) < 0 or int(rows.max()) >= n):
            raise IndexError(f"row out of range 0..{n - 1}")
        return rows

    def __array__(self, dtype: object = None, copy: object = None) -> np.ndarray:
        out = self.index.reconstruct_n(0, self.shape[0])
        return out if dtype is None else out.astype(dtype)


def fp16_index(vectors: np.ndarray) -> faiss.IndexScalarQuantizer:
    """The vectors stored as IEEE half floats in a FAISS file: how segments written before
    sentences.f16 kept their sentence vectors (read back by :func:`fp16_vectors`)."""
    d = vectors.shape[1]
    index = faiss.IndexScalarQuantizer(d, faiss.ScalarQuantizer.QT_fp16, faiss.METRIC_INNER_PRODUCT)
    half = np.ascontiguousarray(vectors, dtype=np.float16)
    if len(half):
        faiss.copy_array_to_vector(half.reshape(-1).view(np.uint8), index.codes)
        index.ntotal = len(half)
    return index


def fp16_vectors(index: Any) -> np.ndarray:
    """A half-float index's vectors as a read-only float16 view of its codes (no copy)."""
    n, d = int(index.ntotal), int(index.d)
    if n == 0:
        return np.zeros((0, d), dtype=np.float16)
    raw = faiss.rev_swig_ptr(index.codes.data(), n * d * 2)
    view = np.asarray(_Owner(raw, index)).view(np.float16).reshape(n, d)
    view.flags.writeable = False
    return view


@contextlib.contextmanager
def one_thread() -> Iterator[None]:
    """Run FAISS on one OpenMP thread in this thread (see the module doc)."""
    before = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(1)
    try:
        yield
    finally:
        faiss.omp_set_num_threads(before)


def search(
    index: Any, qvec: np.ndarray, k: int, allowed: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray]:
    """The top ``k`` rows allowed (all when ``allowed`` is None) by inner product: scores and
    rows, best first; k of them when k are allowed."""
    n = int(index.ntotal)
    passing = n if allowed is None else int(np.count_nonzero(allowed))
    k = min(k, passing)
    if k <= 0:
        return np.zeros(0, dtype=np.float32), np.zeros(0, dtype=np.int64)
    q = np.ascontiguousarray(qvec, dtype=np.float32).reshape(1, -1)
    sel = None
    bits = None
    if passing < n:
        assert allowed is not None
        # A bitmap of the allowed rows (bit i of byte i // 8): cheap to build and to test.
        bits = np.packbits(allowed, bitorder="little")
        sel = faiss.IDSelectorBitmap(len(bits), faiss.swig_ptr(bits))
    kind = kind_of(index)
    if kind != "flat" and passing >= EXACT_BELOW_SHARE * n:
        scores, ids = index.search(q, k, params=_ann_params(index, kind, k, passing / n, sel))
        if int((ids[0] >= 0).sum()) >= k:
            return scores[0], ids[0]
    # Exact over the rows that pass (the keyword form keeps the selector alive as long as
    # the parameters; ``bits`` stays alive in this frame).
    params: Any
    if kind == "ivf":
        params = faiss.SearchParametersIVF(sel=sel, nprobe=index.nlist)  # type: ignore[call-arg]
    else:
        params = None if sel is None else faiss.SearchParameters(sel=sel)  # type: ignore[call-arg]
    scores, ids = exact_part(index).search(q, k, params=params)
    del bits
    keep = ids[0] >= 0
    return scores[0][keep], ids[0][keep]


def _ann_params(index: Any, kind: Kind, k: int, share: float, sel: Any) -> Any:
    """Search parameters that dig deeper the fewer rows pass the filter."""
    if kind == "hnsw":
        ef = min(MAX_EF_SEARCH, int(max(index.hnsw.efSearch, k) / share))
        return faiss.SearchParametersHNSW(sel=sel, efSearch=ef)  # type: ignore[attr-defined]
    nprobe = min(index.nlist, int(np.ceil(index.nprobe / share)))
    return faiss.SearchParametersIVF(sel=sel, nprobe=nprobe)  # type: ignore[call-arg]
