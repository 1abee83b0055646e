"""Checksums of index files: a raw rows file is verified block by block as its rows are read
(a damaged block is refused before a row of it is returned, the others still read), and both
checksum algorithms a manifest may name are verified."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest

from retrieval.checksums import BLOCK_ROWS, CheckedRows, file_entry, matches, write_rows
from retrieval.errors import IndexCorruptError


def _rows(tmp_path: Path, n: int = 5 * BLOCK_ROWS + 7) -> tuple[np.ndarray, Path, Path]:
    rows = np.random.default_rng(3).normal(size=(n, 6)).astype(np.float16)
    data, sums = tmp_path / "rows.f16", tmp_path / "rows.sums"
    write_rows(data, sums, rows)
    return rows, data, sums


def _open(data: Path, sums: Path) -> CheckedRows:
    return CheckedRows(data, np.dtype("<f2"), 6, np.fromfile(sums, dtype="<u8"), "rows damaged")


def test_rows_read_back_as_written_by_every_kind_of_index(tmp_path: Path) -> None:
    rows, data, sums = _rows(tmp_path)
    got = _open(data, sums)
    assert got.shape == rows.shape and len(got) == len(rows)
    assert np.array_equal(got[3], rows[3]) and np.array_equal(got[-1], rows[-1])
    assert np.array_equal(got[10:600:7], rows[10:600:7])
    picks = np.array([1200, 2, 2, 700])
    assert np.array_equal(got[picks], rows[picks])
    mask = np.arange(len(rows)) % 3 == 0
    assert np.array_equal(got[mask], rows[mask])
    assert np.array_equal(np.asarray(got), rows)
    assert np.array_equal(np.concatenate([got, got]), np.concatenate([rows, rows]))
    with pytest.raises(IndexError):
        got[len(rows)]


def test_a_damaged_block_is_refused_and_only_when_read(tmp_path: Path) -> None:
    rows, data, sums = _rows(tmp_path)
    row_bytes = rows.itemsize * rows.shape[1]
    raw = bytearray(data.read_bytes())
    raw[(3 * BLOCK_ROWS + 5) * row_bytes + 1] ^= 0x10  # a row in the fourth block
    data.write_bytes(bytes(raw))
    got = _open(data, sums)  # opening reads no row
    assert np.array_equal(got[: 3 * BLOCK_ROWS], rows[: 3 * BLOCK_ROWS])
    assert np.array_equal(got[4 * BLOCK_ROWS], rows[4 * BLOCK_ROWS])
    for key in (3 * BLOCK_ROWS, np.array([0, 3 * BLOCK_ROWS + 200]), slice(None)):
        with pytest.raises(IndexCorruptError, match="rows damaged"):
            got[key]
    with pytest.raises(IndexCorruptError, match="rows damaged"):
        np.asarray(got)


def test_rows_and_checksums_that_disagree_in_length_are_refused(tmp_path: Path) -> None:
    _, data, sums = _rows(tmp_path)
    with pytest.raises(ValueError, match="disagree"):
        CheckedRows(data, np.dtype("<f2"), 6, np.fromfile(sums, dtype="<u8")[:-1], "x")
    with pytest.raises(ValueError, match="no whole rows"):
        CheckedRows(data, np.dtype("<f2"), 7, np.fromfile(sums, dtype="<u8"), "x")


def test_new_entries_are_xxh3_and_older_sha256_entries_still_verify(tmp_path: Path) -> None:
    path = tmp_path / "f.bin"
    path.write_bytes(b"newsbot" * 1000)
    entry = file_entry(path)
    assert set(entry) == {"xxh3_128", "bytes"} and entry["bytes"] == 7000
    old = {"sha256": hashlib.sha256(path.read_bytes()).hexdigest(), "bytes": 7000}
    assert matches(path, entry) and matches(path, old)
    path.write_bytes(b"newsbot" * 999 + b"newsbo!")
    assert not matches(path, entry) and not matches(path, old)
