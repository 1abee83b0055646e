"""BM25 is stored in the segments and loaded, not rebuilt; filters are numpy masks."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np
import pytest

from retrieval.errors import IndexCorruptError
from retrieval.lexical import LexicalIndex, terms
from retrieval.search_index import Filters, SearchIndex
from retrieval.store import ArticleRow, ChunkRow, IndexStore, SnapshotData

TEXTS = [
    ("a", "2023-09-26", "Example Wire", "The harbour bridge reopened on Tuesday after repairs."),
    ("b", "2022-11-03", "City Paper", "The city library extended its opening hours."),
    ("c", None, "Example Wire", "Engineers replaced the bridge deck and two cables."),
    ("d", "2023-10-01", None, "Bridge tolls rise in October, the harbour board said."),
]


def snapshot() -> SnapshotData:
    """Four one-chunk articles with random unit vectors (no embedding model needed)."""
    rng = np.random.default_rng(7)
    articles = {
        aid: ArticleRow(aid, f"Title {aid}", date, source, None, f"/docs/{aid}.txt", aid, text)
        for aid, date, source, text in TEXTS
    }
    chunks = [
        ChunkRow(i, f"{aid}#0", aid, 0, 0, len(text), text)
        for i, (aid, _, _, text) in enumerate(TEXTS)
    ]
    vecs = rng.normal(size=(len(chunks), 8)).astype(np.float32)
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    manifest = {"embedding": {"dim": 8}, "chunking": {}}
    return SnapshotData(manifest, articles, chunks, [], {}, vecs, np.zeros((0, 8), np.float32))


def test_stored_bm25_equals_bm25s_and_loads_without_retokenising(tmp_path: Path) -> None:
    import bm25s

    store = IndexStore(tmp_path / "index")
    store.publish(snapshot())
    loaded = store.load()
    assert loaded.lexical is not None  # read from the segment's postings.npz
    index = SearchIndex(loaded)
    assert index.lexical is loaded.lexical
    corpus = [terms(f"Title {aid}\n{text}") for aid, _, _, text in TEXTS]
    reference = bm25s.BM25(k1=1.2, b=0.75)
    reference.index(corpus, show_progress=False)
    for query in (["bridg", "harbour"], ["librari"], ["bridg", "bridg"]):
        # Computed from term frequencies at query time: equal up to float32 rounding.
        np.testing.assert_allclose(
            loaded.lexical.scores(query), reference.get_scores(query), rtol=1e-6
        )
    assert not loaded.lexical.scores(["zebra"]).any()
    assert [row for row, _ in index.bm25(["bridg", "harbour"], 5, None)][:2] == [0, 3]
    # df("bridg") = 3 of 4 chunks; a term never seen gets the largest idf.
    assert index.idf("bridg") == pytest.approx(np.log(1 + (4 - 3 + 0.5) / 3.5))
    assert index.idf("zebra") > index.idf("librari") > index.idf("bridg")


def test_an_index_of_the_older_format_is_refused_with_the_rebuild_command(
    tmp_path: Path,
) -> None:
    store = IndexStore(tmp_path / "index")
    name = store.publish(snapshot())
    path = store.snapshots / name / "manifest.json"
    manifest = json.loads(path.read_text())
    manifest["format_version"] = 1  # one file set per snapshot, before segments
    path.write_text(json.dumps(manifest))
    with pytest.raises(IndexCorruptError, match=r"older newsbot.*`newsbot ingest --rebuild`"):
        store.load()


def test_lexical_arrays_that_disagree_are_refused(tmp_path: Path) -> None:
    good = LexicalIndex.build([["a"], ["b"]])
    good.save(tmp_path / "l.npz")
    assert (
        LexicalIndex.load(tmp_path / "l.npz").scores(["a"]).tolist() == good.scores(["a"]).tolist()
    )
    with pytest.raises(ValueError, match="outside the chunks"):
        LexicalIndex(["a"], np.ones(1, np.float32), np.array([5], np.int32), np.array([0, 1]), 2)
    with pytest.raises(ValueError, match="disagree"):
        LexicalIndex(
            ["a", "b"], np.ones(1, np.float32), np.array([0], np.int32), np.array([0, 1]), 2
        )


@pytest.mark.parametrize(
    ("filters", "rows"),
    [
        (Filters(), None),
        (Filters(since=dt.date(2023, 1, 1)), [0, 3]),
        (Filters(until=dt.date(2023, 9, 26)), [0, 1]),
        (Filters(since=dt.date(2023, 9, 27), until=dt.date(2023, 12, 31)), [3]),
        (Filters(sources=("example wire",)), [0, 2]),
        (Filters(sources=("City Paper", "Example Wire"), since=dt.date(2023, 1, 1)), [0]),
        (Filters(sources=("Nobody",)), []),
    ],
)
def test_filter_masks(tmp_path: Path, filters: Filters, rows: list[int] | None) -> None:
    index = SearchIndex(snapshot())
    mask = index.mask(filters)
    assert (mask is None) if rows is None else np.flatnonzero(mask).tolist() == rows


def test_sparse_scores_equal_the_dense_ones_bit_for_bit() -> None:
    from retrieval.lexical import Postings, SegmentedBM25

    rng = np.random.default_rng(1)
    words = [f"w{i}" for i in range(60)]
    docs = [list(rng.choice(words, int(rng.integers(1, 20)))) for _ in range(3000)]
    first, second = Postings.build(docs[:1500]), Postings.build(docs[1500:])
    rowmap = np.arange(1500, 3000)
    rowmap[::7] = -1  # deleted rows keep their numbers and score nothing
    bm25 = SegmentedBM25(
        [(first, np.arange(1500)), (second, rowmap)], 3000 - len(rowmap[::7]), n_rows=3000
    )
    # Short postings (the sparse path), repeated terms, unknown ones, long postings (dense).
    only_deleted = Postings.build([["gone"], ["w1"]])
    held = SegmentedBM25([(only_deleted, np.array([-1, 0]))], 1)
    assert held.sparse_scores(["gone"])[0].tolist() == []
    for query in (["w1"], ["w1", "w2", "w1", "w3"], ["w5", "nope", "w7"], words[:15], []):
        dense = bm25.scores(query)
        rows, scores = bm25.sparse_scores(query)
        assert rows.tolist() == np.flatnonzero(dense).tolist()
        assert scores.tobytes() == dense[rows].tobytes()


def test_postings_find_terms_by_their_sorted_order_as_older_files_by_a_dict(
    tmp_path: Path,
) -> None:
    """A saved segment's terms are looked up by binary search over their stored order (no
    dict built at load); a file written before that order finds the same ids."""
    from retrieval.lexical import Postings, SegmentedBM25

    docs = [["zeta", "alpha"], ["Ärger", "alpha", "b"], ["", "b2", "zz"], ["a"]]
    built = Postings.build(docs)
    built.save(tmp_path / "postings.npz")
    loaded = Postings.load(tmp_path / "postings.npz")
    with np.load(tmp_path / "postings.npz") as z:  # as an older newsbot wrote it
        np.savez(tmp_path / "old.npz", **{k: z[k] for k in z.files if k != "order"})
    older = Postings.load(tmp_path / "old.npz")
    for term in [*built.terms, "alph", "alphaa", "zzz", "", "Ä", "0"]:
        want = built.terms.index(term) if term in built.terms else None
        assert loaded.vocab.get(term) == older.vocab.get(term) == want, term
    scores = [SegmentedBM25([(p, np.arange(4))], 4).scores(["alpha", "b"]) for p in (built, loaded)]
    assert scores[0].tobytes() == scores[1].tobytes()
