"""Checksums of index files: whole files verified before anything parses them, and rows of a
large file verified block by block the first time a reader touches them.

A manifest entry names its algorithm: ``{"xxh3_128": hex, "bytes": n}`` for what this
newsbot writes, ``{"sha256": hex, "bytes": n}`` for segments written before. Both only
detect damage (the manifest checksums itself, and nothing here is a signature): XXH3 reads
~3 GB/s per core here where SHA-256 reads ~0.3-0.75, and at a million chunks hashing
3 GB with SHA-256 was most of a cold load.

:class:`CheckedRows` serves the rows of a raw array file (memory-mapped, never parsed: no
header, no pickle) whose blocks of ``BLOCK_ROWS`` rows each have an XXH3-64 digest in a small
side file, itself verified whole. A load then reads neither the rows nor their checksums
up front; a question reads and verifies only the blocks of the rows it scores (sentence
vectors: a few dozen chunks' sentences), each once per process. A damaged block is refused
(:class:`IndexCorruptError`) before a row of it is returned.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import xxhash

from retrieval.errors import IndexCorruptError

ALGORITHM = "xxh3_128"  # what new files get
_HASHES: dict[str, Callable[[], Any]] = {"xxh3_128": xxhash.xxh3_128, "sha256": hashlib.sha256}
BLOCK_ROWS = 256  # rows per verified block (sentences: 192 KiB, ~0.1 ms to hash)
_READ = 1 << 22


def digest_file(path: Path, algorithm: str = ALGORITHM) -> str:
    """The file's digest (hex), read in blocks (hashlib and xxhash let go of the GIL)."""
    h = _HASHES[algorithm]()
    with path.open("rb") as f:
        while block := f.read(_READ):
            h.update(block)
    return str(h.hexdigest())


def file_entry(path: Path) -> dict[str, Any]:
    """A manifest entry for a file just written: its digest and size."""
    return {ALGORITHM: digest_file(path), "bytes": path.stat().st_size}


def algorithm_of(entry: Mapping[str, Any]) -> str:
    """The algorithm a manifest entry's digest was made with."""
    for name in _HASHES:
        if name in entry:
            return name
    raise KeyError("no known checksum in the manifest entry")


def expected(entry: Mapping[str, Any]) -> str:
    """The digest a manifest entry records (of whichever algorithm)."""
    return str(entry[algorithm_of(entry)])


def matches(path: Path, entry: Mapping[str, Any]) -> bool:
    """True when the file's digest is the one its manifest entry records."""
    return digest_file(path, algorithm_of(entry)) == expected(entry)


def block_sums(rows: np.ndarray, block_rows: int = BLOCK_ROWS) -> np.ndarray:
    """The XXH3-64 digest of each block of ``block_rows`` rows of a C-contiguous array."""
    data = np.ascontiguousarray(rows)
    raw = data.view(np.uint8).reshape(len(data), data.itemsize * int(np.prod(data.shape[1:])))
    n_blocks = -(-len(rows) // block_rows)
    step = block_rows
    sums = [xxhash.xxh3_64_intdigest(raw[b * step : (b + 1) * step].data) for b in range(n_blocks)]
    return np.array(sums, dtype="<u8")


def write_rows(path: Path, sums_path: Path, rows: np.ndarray) -> None:
    """Write rows as a raw little-endian array file and their block digests beside it."""
    data = np.ascontiguousarray(rows, dtype=rows.dtype.newbyteorder("<"))
    data.tofile(path)
    block_sums(data).tofile(sums_path)


class CheckedRows:
    """A raw array file's rows (memory-mapped), each block verified against its digest the
    first time a row of it is read; indexed as a numpy array is by a segment's readers (a
    row, a slice, rows, a boolean mask; ``np.asarray`` for all of them, which verifies every
    block). Reads return copies."""

    def __init__(
        self, path: Path, dtype: np.dtype[Any], dim: int, sums: np.ndarray, damaged: str
    ) -> None:
        size = path.stat().st_size
        row_bytes = dtype.itemsize * dim
        if size % row_bytes:
            raise ValueError(f"{path.name} holds no whole rows of dimension {dim}")
        n = size // row_bytes
        if len(sums) != -(-n // BLOCK_ROWS):
            raise ValueError(f"{path.name} and its block checksums disagree")
        # A plain ndarray view of the map (slicing a np.memmap costs ~0.1 ms a slice).
        self._rows = (
            np.memmap(path, dtype=dtype, mode="r", shape=(n, dim)).view(np.ndarray)
            if n
            else np.zeros((0, dim), dtype=dtype)
        )
        self._sums = sums
        self._ok = np.zeros(len(sums), dtype=bool)
        self._damaged = damaged
        self._lock = threading.Lock()
        self.shape = (n, dim)
        self.dtype = dtype
        self.ndim = 2

    def __len__(self) -> int:
        return self.shape[0]

    def verify(self, blocks: np.ndarray) -> None:
        """Verify these blocks (those not verified yet); refuse a damaged one."""
        todo = blocks[~self._ok[blocks]]
        if not len(todo):
            return
        raw = self._rows.view(np.uint8)
        with self._lock:
            for b in np.unique(todo):
                if self._ok[b]:
                    continue
                block = raw[b * BLOCK_ROWS : (b + 1) * BLOCK_ROWS]
                if xxhash.xxh3_64_intdigest(block.data) != int(self._sums[b]):
                    raise IndexCorruptError(self._damaged)
                self._ok[b] = True

    def __getitem__(self, key: Any) -> np.ndarray:
        n = self.shape[0]
        if isinstance(key, (int, np.integer)):
            row = int(key) + n if int(key) < 0 else int(key)
            if not 0 <= row < n:
                raise IndexError(f"row {key} out of range 0..{n - 1}")
            self.verify(np.array([row // BLOCK_ROWS]))
            return np.array(self._rows[row])
        if isinstance(key, slice):
            rows = np.arange(*key.indices(n))
        else:
            rows = np.asarray(key)
            if rows.dtype == bool:
                if rows.shape != (n,):
                    raise IndexError("boolean mask of the wrong length")
                rows = np.flatnonzero(rows)
            else:
                rows = rows.astype(np.int64, copy=False).reshape(-1)
                rows = np.where(rows < 0, rows + n, rows)
                if len(rows) and (int(rows.min()) < 0 or int(rows.max()) >= n):
                    raise IndexError(f"row out of range 0..{n - 1}")
        self.verify(rows // BLOCK_ROWS)
        return np.asarray(self._rows[rows])

    def __array__(self, dtype: Any = None, copy: object = None) -> np.ndarray:
        self.verify(np.arange(len(self._sums)))
        out = np.array(self._rows)
        return out if dtype is None else out.astype(dtype)

    def astype(self, dtype: Any, copy: bool = True) -> np.ndarray:
        """Every row (verified) as ``dtype``."""
        return np.asarray(self).astype(dtype)
