"""Segments: adding articles writes one small segment and leaves the others untouched; a
replaced or removed article's rows are marked deleted and never returned; BM25 over several
segments equals one built over the live chunks; merges keep the segment count bounded; the
writer decides what changed without reading a vector."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from retrieval import segments
from retrieval.config import Settings
from retrieval.embeddings import Embedder
from retrieval.ingest import ingest
from retrieval.lexical import terms
from retrieval.search_index import SearchIndex
from retrieval.segments import ArticleRow, ChunkRow, Segment
from retrieval.store import MAX_SEGMENTS, Change, IndexStore, build_lexical

TOWNS = ["Ashford", "Brindle", "Calder", "Dunmore", "Elmsworth", "Fernhill"]


def article(i: int, town: str, twist: str = "") -> str:
    return (
        f"date 2023-05-{i + 1:02d}\nThe river town of {town} held its pumpkin fair on "
        f"Saturday. Farmers brought {i + 3} prize pumpkins and {town} bakers sold {i + 20} "
        f"pies. {twist}\n"
    )


def files_of(store: IndexStore) -> dict[str, tuple[int, float, str]]:
    """Every segment file: inode, mtime and SHA-256."""
    out = {}
    for p in sorted(store.segments.rglob("*")):
        if p.is_file():
            st = p.stat()
            out[str(p)] = (st.st_ino, st.st_mtime, hashlib.sha256(p.read_bytes()).hexdigest())
    return out


@pytest.fixture
def indexed(
    tmp_path: Path, make_settings: Callable[..., Settings], embedder: Embedder
) -> tuple[Settings, Path]:
    docs = tmp_path / "docs"
    docs.mkdir()
    for i, town in enumerate(TOWNS[:4]):
        (docs / f"{town.lower()}.txt").write_text(article(i, town), encoding="utf-8")
    settings = make_settings(docs=[docs])
    ingest(settings, embedder, progress=False)
    return settings, docs


def test_adding_an_article_writes_one_segment_and_reads_no_vector(
    indexed: tuple[Settings, Path], embedder: Embedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings, docs = indexed
    store = IndexStore(settings.index_dir)
    before = files_of(store)
    old = store.read_manifest()
    new = docs / "ivybridge.txt"
    new.write_text(article(9, "Ivybridge", "Lanterns were lit on the quay."), encoding="utf-8")

    def no_reading(*args: object, **kwargs: object) -> None:
        raise AssertionError("the writer read a segment's rows or vectors")

    monkeypatch.setattr(segments, "read", no_reading)
    monkeypatch.setattr(segments, "_read_faiss", no_reading)
    report = ingest(settings, embedder, [new], progress=False)
    monkeypatch.undo()

    assert report.published and report.articles == 5
    manifest = store.read_manifest()
    assert [e["name"] for e in manifest["segments"][:-1]] == [e["name"] for e in old["segments"]]
    # The old segment's checksums are carried over, and its files were left alone.
    assert manifest["segments"][0]["artifacts"] == old["segments"][0]["artifacts"]
    after = files_of(store)
    assert {k: v for k, v in after.items() if k in before} == before
    assert manifest["segments"][-1]["counts"]["articles"] == 1
    data = store.load()
    assert sorted(data.articles) == sorted([*(t.lower() for t in TOWNS[:4]), "ivybridge"])
    assert len(data.chunk_vectors) == len(data.chunks)


def test_replaced_and_removed_articles_are_never_returned(
    indexed: tuple[Settings, Path], embedder: Embedder
) -> None:
    settings, docs = indexed
    store = IndexStore(settings.index_dir)
    first = store.read_manifest()["segments"][0]["name"]
    twist = "A rowing race on the river was won by the Brindle crew."
    (docs / "brindle.txt").write_text(article(1, "Brindle", twist), encoding="utf-8")
    (docs / "calder.txt").unlink()
    report = ingest(settings, embedder, progress=False)
    assert {f.status for f in report.files} >= {"removed", "indexed", "unchanged"}

    manifest = store.read_manifest()
    entry = next(e for e in manifest["segments"] if e["name"] == first)
    assert sorted(entry["deleted"]) == ["brindle", "calder"]
    index = SearchIndex(store.load())
    assert "calder" not in index.articles
    assert [c.article_id for c in index.chunks].count("brindle") == 1
    assert all("rowing" in c.text for c in index.chunks if c.article_id == "brindle")
    qvec = embedder.encode(["Which town held a pumpkin fair in Calder?"])[0]
    ids = [index.chunks[r].article_id for r, _ in index.dense_chunks(qvec, 10, None)]
    ids += [index.chunks[r].article_id for r, _ in index.dense_sentences(qvec, 10, None)]
    ids += [index.chunks[r].article_id for r, _ in index.bm25(["calder", "fair"], 10, None)]
    assert "calder" not in ids
    assert set(ids) == {"ashford", "brindle", "dunmore"}


def test_bm25_over_segments_equals_a_single_segment_build(
    indexed: tuple[Settings, Path], embedder: Embedder
) -> None:
    settings, docs = indexed
    store = IndexStore(settings.index_dir)
    for i, town in enumerate(TOWNS[4:], start=4):
        (docs / f"{town.lower()}.txt").write_text(article(i, town), encoding="utf-8")
        ingest(settings, embedder, [docs / f"{town.lower()}.txt"], progress=False)
    (docs / "ashford.txt").write_text(article(0, "Ashford", "Ashford fair rain."), "utf-8")
    ingest(settings, embedder, progress=False)
    assert len(store.read_manifest()["segments"]) == 4
    data = store.load()
    single = build_lexical(data.articles, data.chunks)
    assert data.lexical is not None and data.lexical.n_docs == single.n_docs == 6
    for query in (["fair"], ["ashford", "rain"], ["pumpkin", "pumpkin", "bakeri"], ["zebra"]):
        np.testing.assert_allclose(data.lexical.scores(query), single.scores(query), rtol=1e-6)
        for t in query:
            assert data.lexical.idf(t) == pytest.approx(single.idf(t))

    # Compacting gives the same live rows in one segment, and the same scores.
    report = ingest(settings, embedder, compact=True, progress=False)
    assert report.published and report.embedded == 0
    manifest = store.read_manifest()
    assert len(manifest["segments"]) == 1 and manifest["segments"][0]["deleted"] == []
    compacted = IndexStore(settings.index_dir).load()
    assert sorted(c.id for c in compacted.chunks) == sorted(c.id for c in data.chunks)
    for query in (["fair"], ["ashford", "rain"]):
        by_id = dict(zip((c.id for c in data.chunks), data.lexical.scores(query), strict=True))
        assert compacted.lexical is not None
        again = compacted.lexical.scores(query)
        for c, s in zip(compacted.chunks, again, strict=True):
            assert s == pytest.approx(by_id[c.id], rel=1e-6)
    vec = {c.id: v for c, v in zip(data.chunks, data.chunk_vectors, strict=True)}
    for c, v in zip(compacted.chunks, compacted.chunk_vectors, strict=True):
        assert np.array_equal(v, vec[c.id])


def _one_article(i: int, dim: int = 8) -> Segment:
    rng = np.random.default_rng(i)
    text = f"Report {i}: the council met about item {i} and the harbour."
    a = ArticleRow(f"a{i}", f"Title {i}", "2023-01-01", None, None, f"/d/a{i}.txt", str(i), text)
    chunk = ChunkRow(0, f"a{i}#0", a.id, 0, 0, len(text), text)
    vec = rng.normal(size=(1, dim)).astype(np.float32)
    return Segment({a.id: a}, [chunk], [], vec / np.linalg.norm(vec), np.zeros((0, dim), "f4"))


def test_merges_keep_the_segment_count_bounded_and_lose_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = IndexStore(tmp_path / "index")
    signature = {"embedding": {"dim": 8}, "chunking": {}}
    written: list[int] = []
    write = segments.write

    def counted(folder: Path, seg: Segment) -> None:
        written.append(len(seg.chunks))
        write(folder, seg)

    monkeypatch.setattr(segments, "write", counted)
    for i in range(60):
        base = store.catalog() if store.current_name() else None
        # Every third add replaces the article before it.
        delete = {f"a{i - 1}"} if i % 3 == 2 else set()
        add = _one_article(i)
        store.commit(Change(signature, {}, add=add, delete=delete, base=base))
        entries = store.read_manifest()["segments"]
        assert len(entries) <= MAX_SEGMENTS
    data = store.load()
    expected = {f"a{i}" for i in range(60) if (i + 1) % 3 != 2 or i == 59}
    assert set(data.articles) == expected
    single = build_lexical(data.articles, data.chunks)
    assert data.lexical is not None
    q = terms("council harbour item 7")
    np.testing.assert_allclose(data.lexical.scores(q), single.scores(q), rtol=1e-6)
    # Merging is amortised: rows written in all stay within a few times the rows added.
    assert sum(written) <= 6 * 60, written
    # Only segments the two kept snapshots use remain on disk.
    assert len(list(store.segments.iterdir())) <= 2 * MAX_SEGMENTS
