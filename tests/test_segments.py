"""Segments: adding articles writes one small segment and leaves the others untouched; a
replaced or removed article's rows are marked deleted and never returned; BM25 over several
segments equals one built over the live chunks; merges keep the segment count bounded; the
writer decides what changed without reading a vector."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import faiss
import numpy as np
import pytest

from retrieval import ann, segments
from retrieval.catalog import SegmentCatalog, hash_owner, ids_below
from retrieval.config import Settings
from retrieval.embeddings import Embedder
from retrieval.errors import IndexCorruptError
from retrieval.ingest import ingest
from retrieval.lexical import terms
from retrieval.manifest import checksum
from retrieval.search_index import Filters, SearchIndex
from retrieval.segments import ArticleRow, ChunkRow, Segment, SentenceRow
from retrieval.service import NewsService
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

    def counted(folder: Path, seg: Segment, *args: Any) -> None:
        written.append(len(seg.chunks))
        write(folder, seg, *args)

    monkeypatch.setattr(segments, "write", counted)
    for i in range(60):
        base = store.catalog() if store.current_name() else None
        # Every third add replaces the article before it.
        delete = {f"a{i - 1}"} if i % 3 == 2 else set()
        add = _one_article(i)
        store.commit(Change(signature, {}, add=add, delete=delete, base=base))
        entries = store.read_manifest()["segments"]
        assert len(entries) <= MAX_SEGMENTS
        # A reader opens every snapshot: a merged segment may now stand before an older
        # one holding a deleted copy of its article, and the live copy still counts.
        assert set(SearchIndex(store.open()).articles) == set(store.load().articles)
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


# --- a snapshot searched as its segments ---------------------------------------------------

SOURCES = ["Wire", "Post", "Herald"]


def _segment(ids: list[str], rng: np.random.Generator, pool: np.ndarray) -> Segment:
    """Articles of 1-3 chunks of 1-3 sentences each; some chunk vectors are pool vectors
    shared by several chunks (exact ties), the others and every sentence vector random."""
    articles, chunks, sentences, cvecs, svecs = {}, [], [], [], []
    for aid in ids:
        n = int(aid[1:])
        words = [f"harbour{n % 4}", f"council{n % 3}", f"item{n}", "report"]
        text = " ".join(words * 3) + "."
        date = None if n % 5 == 4 else f"202{n % 4}-0{1 + n % 9}-1{n % 10}"
        articles[aid] = ArticleRow(
            aid, f"Title {n}", date, SOURCES[n % 3], None, f"/d/{aid}.txt", aid, text
        )
        for idx in range(1 + n % 3):
            row = len(chunks)
            chunks.append(ChunkRow(row, f"{aid}#{idx}", aid, idx, 0, len(text), text))
            for _ in range(1 + (n + idx) % 3):
                sentences.append(SentenceRow(len(sentences), row, 0, len(text)))
    for vecs, count, shared in ((cvecs, len(chunks), 0.3), (svecs, len(sentences), 0.0)):
        for _ in range(count):
            v = pool[rng.integers(len(pool))] if rng.random() < shared else rng.normal(size=8)
            vecs.append(v / np.linalg.norm(v))
    return Segment(
        articles, chunks, sentences, np.array(cvecs, "f4"), np.array(svecs, "f4").reshape(-1, 8)
    )


@pytest.fixture
def segmented(tmp_path: Path) -> IndexStore:
    """A store of five segments, with articles replaced and removed in most of them."""
    store = IndexStore(tmp_path / "index")
    signature = {"embedding": {"dim": 8}, "chunking": {}}
    rng = np.random.default_rng(7)
    pool = rng.normal(size=(4, 8))
    plan = [
        (range(0, 12), set()),
        (range(12, 20), {"a3", "a5"}),
        (range(20, 26), {"a13"}),
        (range(26, 30), set()),
        (range(30, 36), {"a21", "a0", "a27"}),
    ]
    for round_, (ids, delete) in enumerate(plan):
        base = store.catalog() if store.current_name() else None
        # An article replaced: its old rows deleted, its new ones in the new segment.
        again = sorted(delete)[:1] if round_ == 4 else []
        add = _segment([f"a{i}" for i in ids] + again, rng, pool)
        store.commit(Change(signature, {}, add=add, delete=delete, base=base))
    assert len(store.read_manifest()["segments"]) == 5
    return store


def assert_same_up_to_ties(got: list[tuple[str, float]], want: list[tuple[str, float]]) -> None:
    """Equal rankings, but for which of several chunks with the last score made the cut."""
    assert [s for _, s in got] == [s for _, s in want]
    last = got[-1][1] if got else None
    assert [h for h in got if h[1] != last] == [h for h in want if h[1] != last]


def assert_same_up_to_rounding(got: list[tuple[str, float]], want: list[tuple[str, float]]) -> None:
    """Equal rankings of scores computed over differently laid out rows: BLAS may sum in
    another order, so scores agree to float32 rounding and equal-scored rows may swap."""
    np.testing.assert_allclose([s for _, s in got], [s for _, s in want], rtol=1e-6, atol=1e-7)
    last = round(got[-1][1], 5) if got else None

    def ranked(hits: list[tuple[str, float]]) -> list[tuple[float, str]]:
        return sorted((-round(s, 5), i) for i, s in hits if round(s, 5) != last)

    assert ranked(got) == ranked(want)


def test_search_over_segments_equals_one_flat_index_of_the_live_rows(
    segmented: IndexStore,
) -> None:
    parted = SearchIndex(segmented.open())
    flat = SearchIndex(segmented.load())  # the live rows renumbered into one segment
    assert len(parted.parts) == 5 and sum(p.alive is not None for p in parted.parts) >= 2
    assert len(flat.parts) == 1
    assert [c.id for c in parted.chunks] == [c.id for c in flat.chunks]
    assert len(parted.chunks) == len(flat.chunks) and len(parted.sentences) == len(flat.sentences)
    assert parted.articles == flat.articles
    for c, f in zip(parted.chunks, flat.chunks, strict=True):
        assert parted.chunks[c.row] == c
        assert np.array_equal(parted.chunk_vectors[c.row], flat.chunk_vectors[f.row])
        rows, frows = parted.sentences_of[c.row], flat.sentences_of[f.row]
        assert len(rows) == len(frows)
        assert np.array_equal(parted.sentence_vectors[rows], flat.sentence_vectors[frows])
        assert all(parted.sentences[r].chunk_row == c.row for r in rows)
    rng = np.random.default_rng(1)
    pool = np.random.default_rng(7).normal(size=(4, 8))
    queries = [rng.normal(size=8) for _ in range(6)] + [pool[0], pool[2]]  # ties on pool rows
    filters = [
        Filters(),
        Filters(since=dt.date(2021, 1, 1)),
        Filters(until=dt.date(2022, 6, 1), undated=True),
        Filters(sources=("post", "Herald")),
        Filters(articles=("a1", "a13", "a14", "a30", "a35")),
        Filters(sources=("Nobody",)),
    ]
    every_p, every_f = [c.row for c in parted.chunks], [c.row for c in flat.chunks]
    for q in queries:
        qvec = (q / np.linalg.norm(q)).astype(np.float32)
        for f in filters:
            mp, mf = parted.mask(f), flat.mask(f)
            assert (mp is None) == (mf is None)
            live = len(flat.chunks) if mf is None else int(mf.sum())
            for k in (1, 3, 10, 200):
                got = [(parted.chunks[r].id, s) for r, s in parted.dense_chunks(qvec, k, mp)]
                want = [(flat.chunks[r].id, s) for r, s in flat.dense_chunks(qvec, k, mf)]
                assert_same_up_to_ties(got, want)
                assert len(got) == min(k, live)  # k results when k live ones pass
                # Sentences scored inside the same chunks (here: all) rank them alike.
                rows = parted.dense_sentences(qvec, k, mp, among=every_p)
                got = [(parted.chunks[r].id, s) for r, s in rows]
                rows = flat.dense_sentences(qvec, k, mf, among=every_f)
                want = [(flat.chunks[r].id, s) for r, s in rows]
                assert_same_up_to_rounding(got, want)
                assert len(got) == min(k, live)
                for query in (["harbour1", "item3"], ["council2"], ["report"]):
                    got = [(parted.chunks[r].id, s) for r, s in parted.bm25(query, k, mp)]
                    want = [(flat.chunks[r].id, s) for r, s in flat.bm25(query, k, mf)]
                    assert [i for i, _ in got] == [i for i, _ in want]
                    np.testing.assert_allclose([s for _, s in got], [s for _, s in want], 1e-6)


def test_deleted_rows_are_never_returned_and_k_results_still_come(segmented: IndexStore) -> None:
    index = SearchIndex(segmented.open())
    deleted = {"a3", "a5", "a13", "a21", "a27"}  # a0 was replaced: its new rows are live
    assert not deleted & set(index.articles) and "a0" in index.articles
    assert [c.article_id for c in index.chunks].count("a0") == 1
    everything = len(index.chunks)
    qvec = np.ones(8, dtype=np.float32) / np.sqrt(8)
    rows = index.dense_chunks(qvec, 1000, None)
    assert len(rows) == everything
    assert not {index.chunks[r].article_id for r, _ in rows} & deleted
    found = index.dense_sentences(qvec, 1000, None) + index.bm25(["report"], 1000, None)
    assert not {index.chunks[r].article_id for r, _ in found} & deleted


def test_reload_after_an_append_reuses_the_segments_it_has(
    indexed: tuple[Settings, Path], embedder: Embedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings, docs = indexed
    service = NewsService(settings, embedder)
    service.reload()
    before = [p.index for p in service._current().index.parts]
    reads: list[str] = []
    read = segments.read

    def counted(folder: Path, *args: Any, **kwargs: Any) -> Segment:
        reads.append(folder.name)
        return read(folder, *args, **kwargs)

    monkeypatch.setattr(segments, "read", counted)
    new = docs / "ivybridge.txt"
    new.write_text(article(9, "Ivybridge", "Lanterns were lit on the quay."), encoding="utf-8")
    ingest(settings, embedder, [new], progress=False)
    # A replaced article changes the first segment's deletions, not the segment.
    twist = "A rowing race on the river was won by the Brindle crew."
    (docs / "brindle.txt").write_text(article(1, "Brindle", twist), encoding="utf-8")
    ingest(settings, embedder, progress=False)
    assert service.reload()
    index = service._current().index
    names = [e["name"] for e in service.store.read_manifest()["segments"]]
    assert len(index.parts) == len(names) == 3
    # The segment it had is the very object it built before; only the two new were read.
    assert index.parts[0].index is before[0]
    assert reads == names[1:]
    assert index.parts[0].alive is not None and not index.parts[0].alive.all()
    qvec = embedder.encode(["Who won the rowing race on the river?"])[0]
    hits = service.retriever.search("Who won the rowing race on the river?", qvec=qvec, k=3)
    assert hits[0].chunk.article_id == "brindle" and "rowing" in hits[0].chunk.text
    assert [c.article_id for c in index.chunks].count("brindle") == 1
    # One copy of the vectors: each segment's are a view of its FAISS index's own storage.
    for p in index.parts:
        faiss_index, vectors = p.index.chunk_index, p.index.seg.chunk_vectors
        storage = faiss.rev_swig_ptr(faiss_index.get_xb(), faiss_index.ntotal * faiss_index.d)
        assert np.shares_memory(vectors, storage) and not vectors.flags.writeable


def test_segments_written_before_columns_npz_read_the_same(segmented: IndexStore) -> None:
    before = SearchIndex(segmented.open())
    name = segmented.current_name()
    assert name is not None
    path = segmented.snapshots / name / "manifest.json"
    manifest = json.loads(path.read_text(encoding="utf-8"))
    for e in manifest["segments"]:  # as an older newsbot wrote them: no columns.npz
        del e["artifacts"][segments.COLUMNS]
        (segmented.segments / e["name"] / segments.COLUMNS).unlink()
    manifest["checksum"] = checksum(manifest)
    path.write_text(json.dumps(manifest), encoding="utf-8")
    after = SearchIndex(IndexStore(segmented.root).open())
    assert list(after.chunks) == list(before.chunks)
    assert list(after.sentences) == list(before.sentences)
    assert after.articles == before.articles
    window = Filters(since=dt.date(2021, 1, 1), sources=("post", "Herald"))
    assert np.array_equal(after.mask(window), before.mask(window))
    qvec = np.ones(8, dtype=np.float32) / np.sqrt(8)
    assert after.dense_chunks(qvec, 20, None) == before.dense_chunks(qvec, 20, None)


def test_the_writers_catalog_finds_articles_by_path_and_hash(segmented: IndexStore) -> None:
    base = segmented.catalog()
    assert "a3" not in base.articles and "a0" in base.articles and "a1" in base.articles
    assert len(base.articles) == len(list(base.articles)) == len(set(base.articles))
    moved = Change({"embedding": {"dim": 8}, "chunking": {}}, {}, paths={"a1": "/e/a1.txt"})
    moved.base = base
    segmented.commit(moved)
    cat = segmented.catalog()
    assert cat.articles["a1"].path == "/e/a1.txt"
    assert ids_below(cat.articles, [Path("/e")], lambda p: p.startswith("/e/")) == {"a1"}
    under_d = ids_below(cat.articles, [Path("/d")], lambda p: p.startswith("/d/"))
    assert under_d == set(cat.articles) - {"a1"}  # deleted ones are not there
    assert hash_owner(cat.articles, set())("a2") == "a2"  # the fixture's hash is the id
    assert hash_owner(cat.articles, {"a2"})("a2") is None
    assert hash_owner(cat.articles, set())("a3") is None  # deleted
    plain = dict(cat.articles.items())  # what the PostgreSQL store gives: walked
    assert ids_below(plain, [Path("/e")], lambda p: p.startswith("/e/")) == {"a1"}
    assert cat.where["a0"] == cat.manifest["segments"][-1]["name"]  # replaced in the last


def test_a_segment_catalog_lists_every_article_of_a_text_held_twice() -> None:
    def row(aid: str, h: str) -> ArticleRow:
        return ArticleRow(aid, aid, None, None, None, f"/d/{aid}.txt", h, "")

    cat = SegmentCatalog({a: row(a, h) for a, h in (("x", "h1"), ("y", "h2"), ("z", "h1"))}, {})
    assert cat.ids_with("h1") == ["x", "z"] and cat.ids_with("h2") == ["y"]
    assert cat.ids_with("h3") == []
    assert sorted(cat.ids_at(["/d/y.txt"], ["/d/"])) == ["x", "y", "y", "z"]


def test_segments_written_before_sentences_f16_read_the_same(segmented: IndexStore) -> None:
    """Segments of an older newsbot (sentence vectors in sentences.faiss, SHA-256
    checksums) are verified and read, and search the same as today's."""
    before = SearchIndex(segmented.open())
    name = segmented.current_name()
    assert name is not None
    path = segmented.snapshots / name / "manifest.json"
    manifest = json.loads(path.read_text(encoding="utf-8"))
    for e in manifest["segments"]:
        folder = segmented.segments / e["name"]
        half = np.fromfile(folder / segments.SENTENCE_ROWS, dtype="<f2").reshape(-1, 8)
        faiss.write_index(ann.fp16_index(half), str(folder / segments.SENTENCES))
        for a in (segments.SENTENCE_ROWS, segments.SENTENCE_SUMS):
            (folder / a).unlink()
        e["artifacts"] = {
            a: {"sha256": hashlib.sha256((folder / a).read_bytes()).hexdigest(),
                "bytes": (folder / a).stat().st_size}
            for a in segments.ARTIFACTS if (folder / a).exists()
        }  # fmt: skip
    manifest["checksum"] = checksum(manifest)
    path.write_text(json.dumps(manifest), encoding="utf-8")
    after = SearchIndex(IndexStore(segmented.root).open())
    assert list(after.sentences) == list(before.sentences)
    every = np.arange(len(before.sentences))
    assert np.array_equal(after.sentence_vectors[every], before.sentence_vectors[every])
    qvec = np.ones(8, dtype=np.float32) / np.sqrt(8)
    among = [c.row for c in before.chunks]
    assert after.dense_sentences(qvec, 20, None, among) == before.dense_sentences(
        qvec, 20, None, among
    )
    # A damaged older file is refused as before (whole, at load).
    sentences = segmented.segments / manifest["segments"][0]["name"] / segments.SENTENCES
    raw = bytearray(sentences.read_bytes())
    raw[len(raw) // 2] ^= 1
    sentences.write_bytes(bytes(raw))
    with pytest.raises(IndexCorruptError, match=r"sentences\.faiss is truncated or altered"):
        IndexStore(segmented.root).open()
