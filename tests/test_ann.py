"""Approximate chunk search (index.kind): an ANN finds what exact search finds where it must,
a filter is never crossed and still yields k rows when k pass it, deleted rows never come
back, a damaged ANN file is refused by its checksum before FAISS reads it, and index.kind
is validated."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pytest

from retrieval import ann
from retrieval.config import load_settings
from retrieval.errors import ConfigError, IndexCorruptError
from retrieval.search_index import Filters, SearchIndex
from retrieval.segments import ArticleRow, ChunkRow, Segment, SentenceRow
from retrieval.store import Change, IndexStore

DIM = 16


def clustered(n: int, seed: int = 0) -> np.ndarray:
    """Unit vectors around the same 20 centres (questions too), as embeddings cluster."""
    centres = np.random.default_rng(0).normal(size=(20, DIM))
    rng = np.random.default_rng(seed)
    x = centres[rng.integers(20, size=n)] + rng.normal(0, 0.3, size=(n, DIM))
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


@pytest.mark.parametrize("kind", ["hnsw", "ivf"])
def test_ann_top1_of_a_stored_vector_is_that_row_as_exact_search_finds(kind: ann.Kind) -> None:
    x = clustered(3000)
    index, flat = ann.build(x, kind), ann.build(x, "flat")
    assert ann.kind_of(index) == kind
    for row in range(0, 3000, 97):
        _, got = ann.search(index, x[row], 1, None)
        _, want = ann.search(flat, x[row], 1, None)
        assert got.tolist() == want.tolist() == [row]
    # Its vectors by row are the stored ones (a view for hnsw, a copy for ivf).
    np.testing.assert_array_equal(ann.vectors_of(index), x)


@pytest.mark.parametrize("kind", ["flat", "hnsw", "ivf"])
@pytest.mark.parametrize("share", [0.6, 0.1, 0.01, 0.001])
def test_filtered_search_stays_inside_the_filter_and_returns_k(
    kind: ann.Kind, share: float
) -> None:
    x = clustered(4000, seed=1)
    index = ann.build(x, kind)
    rng = np.random.default_rng(2)
    allowed = rng.random(4000) < share
    passing = int(allowed.sum())
    assert passing > 0
    for q in clustered(10, seed=3):
        for k in (1, 10, 50):
            scores, rows = ann.search(index, q, k, allowed)
            assert len(rows) == min(k, passing)
            assert allowed[rows].all()
            # Best first, and the best of the allowed rows is first.
            assert list(scores) == sorted(scores, reverse=True)
            exact = np.flatnonzero(allowed)[np.argsort(-(x[allowed] @ q))[:k]]
            if kind == "flat" or share < ann.EXACT_BELOW_SHARE:  # searched exactly
                assert rows.tolist() == exact.tolist()
            else:  # approximate, but close
                assert len(set(rows.tolist()) & set(exact.tolist())) >= 0.8 * len(exact)


def _segment(ids: range, seed: int) -> Segment:
    """One chunk of two sentences per article; dated 2020-2023 by id."""
    rng = np.random.default_rng(seed)
    articles, chunks, sentences = {}, [], []
    for n in ids:
        aid = f"a{n}"
        text = f"Report {n} on the harbour. The council met."
        articles[aid] = ArticleRow(
            aid, f"Title {n}", f"202{n % 4}-05-01", "Wire", None, f"/d/{aid}.txt", aid, text
        )
        row = len(chunks)
        chunks.append(ChunkRow(row, f"{aid}#0", aid, 0, 0, len(text), text))
        sentences += [SentenceRow(len(sentences) + j, row, 0, len(text)) for j in range(2)]
    cvecs = clustered(len(chunks), seed)
    svecs = np.repeat(cvecs, 2, axis=0) + rng.normal(0, 0.05, size=(2 * len(chunks), DIM))
    svecs /= np.linalg.norm(svecs, axis=1, keepdims=True)
    return Segment(articles, chunks, sentences, cvecs, svecs.astype(np.float32))


KINDS = {"auto": ["ivf", "ivf", "flat"], "hnsw": ["hnsw", "hnsw", "hnsw"]}


@pytest.fixture(params=sorted(KINDS))
def ann_store(tmp_path: Path, request: pytest.FixtureRequest) -> IndexStore:
    """Three segments, with deletions: with auto (ivf from 300 chunks) two ivf and a flat
    one; or three hnsw."""
    store = IndexStore(tmp_path / "index", kind=request.param, ann_min=300)
    signature = {"embedding": {"dim": DIM}, "chunking": {}}
    plan = [(range(0, 600), set()), (range(600, 1000), {"a5", "a6"}), (range(1000, 1100), set())]
    for seed, (ids, delete) in enumerate(plan):
        base = store.catalog() if store.current_name() else None
        deleted = delete | ({f"a{i}" for i in range(700, 720)} if seed == 2 else set())
        store.commit(Change(signature, {}, add=_segment(ids, seed), delete=deleted, base=base))
    return store


def test_the_manifest_records_each_segments_kind_and_readers_load_it(
    ann_store: IndexStore,
) -> None:
    entries = ann_store.read_manifest()["segments"]
    kinds = KINDS[ann_store.kind]
    assert [e["kind"] for e in entries] == kinds
    index = SearchIndex(ann_store.open())
    assert [p.index.kind for p in index.parts] == kinds
    # Each segment's vectors by row are the ones written.
    for seed, (p, n) in enumerate(zip(index.parts, (600, 400, 100), strict=True)):
        written = clustered(n, seed)
        np.testing.assert_array_equal(np.asarray(p.index.seg.chunk_vectors), written)
        np.testing.assert_array_equal(index.chunk_vectors[p.chunk0 + 7], written[7])
    # Sentences are kept as half floats.
    assert all(p.index.seg.sentence_vectors.dtype == np.float16 for p in index.parts)


def test_deleted_rows_never_return_and_filtered_ann_search_gives_k(ann_store: IndexStore) -> None:
    index = SearchIndex(ann_store.open())
    deleted = {"a5", "a6"} | {f"a{i}" for i in range(700, 720)}
    assert not deleted & set(index.articles)
    window = Filters(since=dt.date(2021, 1, 1), until=dt.date(2021, 12, 31))
    for q in clustered(20, seed=9):
        for filters in (Filters(), window):
            mask = index.mask(filters)
            passing = len(index.chunks) if mask is None else int(mask.sum())
            rows = index.dense_chunks(q, 50, mask)
            assert len(rows) == min(50, passing)
            found = [index.chunks[r] for r, _ in rows]
            found += [index.chunks[r] for r, _ in index.dense_sentences(q, 50, mask)]
            assert not {c.article_id for c in found} & deleted
            if filters:
                assert all(index.articles[c.article_id].date.startswith("2021") for c in found)
    # Every live row is reachable, none deleted.
    everything = index.dense_chunks(clustered(1, seed=5)[0], 5000, None)
    assert len(everything) == len(index.chunks) == 1100 - 22


def test_sentences_are_scored_inside_the_given_chunks_only(ann_store: IndexStore) -> None:
    index = SearchIndex(ann_store.open())
    q = clustered(1, seed=4)[0]
    among = [3, 650, 1050, 1049, 705]  # 705 is deleted
    got = index.dense_sentences(q, 10, None, among=among)
    assert sorted(r for r, _ in got) == [3, 650, 1049, 1050]
    for row, score in got:
        best = index.sentence_vectors[index.sentences_of[row]].astype(np.float32) @ q
        assert score == pytest.approx(float(best.max()), abs=1e-6)
    assert [s for _, s in got] == sorted((s for _, s in got), reverse=True)


def test_a_damaged_ann_file_is_refused_by_its_checksum(ann_store: IndexStore) -> None:
    entry = ann_store.read_manifest()["segments"][0]
    assert entry["kind"] in ("ivf", "hnsw")
    path = ann_store.segments / entry["name"] / "chunks.faiss"
    raw = bytearray(path.read_bytes())
    raw[len(raw) // 2] ^= 0xFF  # same size: only the checksum tells
    path.write_bytes(bytes(raw))
    with pytest.raises(IndexCorruptError, match="checksum mismatch"):
        IndexStore(ann_store.root).open()


def test_index_kind_is_validated(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text("index:\n  kind: annoy\n  ann_min_chunks: 0\n", encoding="utf-8")
    with pytest.raises(ConfigError) as e:
        load_settings(path)
    message = str(e.value)
    assert "index.kind" in message and "'auto', 'flat', 'hnsw' or 'ivf'" in message
    assert "index.ann_min_chunks" in message
    path.write_text("index:\n  kind: hnsw\n", encoding="utf-8")
    assert load_settings(path).index.kind == "hnsw"
    assert load_settings(tmp_path / "config.yaml").index.ann_min_chunks == 50_000
