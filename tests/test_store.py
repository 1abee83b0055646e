"""The index store: damaged segments and manifests are refused and never served, ingest
recovers from them, no pickle anywhere, old snapshots, segments and leftovers are collected."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import sqlite3
from collections.abc import Callable
from pathlib import Path

import faiss
import numpy as np
import pytest

from retrieval import ann
from retrieval.checksums import write_rows
from retrieval.config import Settings, load_settings
from retrieval.embeddings import Embedder
from retrieval.errors import IndexCorruptError, NewsbotError
from retrieval.segments import CATALOG, LAZY, SENTENCE_ROWS, SENTENCE_SUMS, SENTENCES, WRITTEN
from retrieval.service import NewsService
from retrieval.store import IndexStore, SnapshotData

REPO = Path(__file__).resolve().parent.parent
ARTICLES = {
    "bridge.txt": "date 2023-09-26\nThe harbour bridge reopened on Tuesday after eight months "
    "of repairs. Engineers replaced the deck and two of the main cables.\n",
    "library.txt": "date 2022-11-03\nThe city library extended its opening hours to ten in "
    "the evening. A rare atlas printed in 1587 went on display in the reading room.\n",
}
QUESTION = "When did the harbour bridge reopen?"


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> tuple[Path, Path]:
    """Two articles and an index built from them, once per module (tests damage copies)."""
    root = tmp_path_factory.mktemp("pristine")
    docs = root / "docs"
    docs.mkdir()
    for name, text in ARTICLES.items():
        (docs / name).write_text(text, encoding="utf-8")
    (root / "config.yaml").write_text("paths: {docs: [docs], index_dir: index}\n", "utf-8")
    service = NewsService(load_settings(root / "config.yaml"), embedder)
    service.ingest(progress=False)
    assert not service.ask(QUESTION).abstained
    return docs, root / "index"


@pytest.fixture
def built(
    pristine: tuple[Path, Path],
    tmp_path: Path,
    make_settings: Callable[..., Settings],
    embedder: Embedder,
) -> tuple[NewsService, Path]:
    """A service over a private copy of the pristine index, and its one segment's folder."""
    docs, index = pristine
    shutil.copytree(index, tmp_path / "index")
    service = NewsService(make_settings(docs=[docs]), embedder)
    assert service.settings.index_dir == tmp_path / "index"
    [segment] = service.store.read_manifest()["segments"]
    return service, service.store.segments / segment["name"]


def manifest_path(service: NewsService) -> Path:
    """The current snapshot's manifest."""
    return service.store.snapshots / str(service.store.current_name()) / "manifest.json"


def reseal(manifest: dict) -> dict:
    """Give an edited manifest a matching checksum of itself (a consistent forgery)."""
    body = {k: v for k, v in manifest.items() if k != "checksum"}
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return {**body, "checksum": hashlib.sha256(canonical.encode()).hexdigest()}


def flip_bit(path: Path, offset: int, bit: int = 0) -> None:
    """Flip one bit of a file in place."""
    data = bytearray(path.read_bytes())
    data[offset] ^= 1 << bit
    path.write_bytes(bytes(data))


def same(a: SnapshotData, b: SnapshotData) -> bool:
    """True when two loaded snapshots serve the same articles, chunks and vectors."""
    return (
        a.articles == b.articles
        and a.chunks == b.chunks
        and a.sentences == b.sentences
        and np.array_equal(a.chunk_vectors, b.chunk_vectors)
        and np.array_equal(a.sentence_vectors, b.sentence_vectors)
    )


def assert_never_served(service: NewsService, match: str) -> None:
    """Neither the store, a fresh service's reload nor its ask serves the damaged index."""
    with pytest.raises(IndexCorruptError, match=match):
        service.store.load()
    fresh = NewsService(service.settings, service.embedder)
    with pytest.raises(IndexCorruptError, match=match):
        fresh.reload()
    with pytest.raises(IndexCorruptError, match=match):
        fresh.ask(QUESTION)


def assert_ingest_recovers(service: NewsService, embedder: Embedder) -> None:
    """A plain ingest notices the unusable index, rebuilds it from the articles and answers."""
    before = embedder.calls
    report = service.ingest(progress=False)
    assert report.files[0].status == "rebuilt"
    assert "the current index is unusable" in report.files[0].detail
    assert report.published and embedder.calls - before == report.embedded > 0
    service.store.load()
    answer = NewsService(service.settings, embedder).ask(QUESTION)
    assert not answer.abstained
    assert answer.citations[0].article_id == "bridge"


# --- damaged files ------------------------------------------------------------------------


def test_truncated_faiss_is_refused_then_rebuilt(
    built: tuple[NewsService, Path], embedder: Embedder
) -> None:
    service, snap = built
    path = snap / "chunks.faiss"
    size = path.stat().st_size
    with path.open("r+b") as f:
        f.truncate(size // 2)
    assert_never_served(
        service, r"chunks\.faiss is truncated or altered .*`newsbot ingest --rebuild`"
    )
    assert_ingest_recovers(service, embedder)


@pytest.mark.parametrize("artifact", [a for a in WRITTEN if a not in (*LAZY, CATALOG)])
@pytest.mark.parametrize("where", ["first", "middle", "last"])
def test_bit_flip_is_refused(built: tuple[NewsService, Path], artifact: str, where: str) -> None:
    service, snap = built
    path = snap / artifact
    size = path.stat().st_size
    offset = {"first": 0, "middle": size // 2, "last": size - 1}[where]
    flip_bit(path, offset, bit=3)
    assert_never_served(service, rf"{re.escape(artifact)} is truncated or altered")


def test_bit_flip_in_the_writers_catalog_is_refused_by_the_writer(
    built: tuple[NewsService, Path], embedder: Embedder
) -> None:
    """catalog.json is read by the writer alone: a reader serves without reading it, the
    writer refuses it, and ingest rebuilds."""
    service, snap = built
    flip_bit(snap / CATALOG, (snap / CATALOG).stat().st_size // 2)
    assert not NewsService(service.settings, service.embedder).ask(QUESTION).abstained
    for deep in (False, True):
        with pytest.raises(IndexCorruptError, match=r"catalog\.json is truncated or altered"):
            IndexStore(service.store.root).catalog(deep=deep)
    assert_ingest_recovers(service, embedder)


@pytest.mark.parametrize("where", ["first", "middle", "last"])
def test_bit_flip_in_sentence_vectors_is_refused_before_a_row_is_read(
    built: tuple[NewsService, Path], embedder: Embedder, where: str
) -> None:
    """The sentence vectors are verified block by block when first read, not at load: a
    reader loads, and refuses the question that would score a damaged block's rows; a
    writer's deep check refuses the whole file, and ingest rebuilds it."""
    service, snap = built
    path = snap / SENTENCE_ROWS
    size = path.stat().st_size
    flip_bit(path, {"first": 0, "middle": size // 2, "last": size - 1}[where], bit=3)
    fresh = NewsService(service.settings, service.embedder)
    fresh.reload()
    match = rf"{re.escape(SENTENCE_ROWS)} is truncated or altered"
    with pytest.raises(IndexCorruptError, match=match):
        fresh.ask(QUESTION)
    with pytest.raises(IndexCorruptError, match=match):
        np.asarray(service.store.load().sentence_vectors)
    with pytest.raises(IndexCorruptError, match=match):
        service.store.catalog(deep=True)
    assert_ingest_recovers(service, embedder)


def test_bit_flips_in_sqlite_and_sentences_rebuilt_by_ingest(
    built: tuple[NewsService, Path], embedder: Embedder
) -> None:
    service, snap = built
    flip_bit(snap / "store.sqlite", (snap / "store.sqlite").stat().st_size // 3)
    flip_bit(snap / SENTENCE_ROWS, (snap / SENTENCE_ROWS).stat().st_size // 2)
    assert_never_served(service, "truncated or altered")
    assert_ingest_recovers(service, embedder)


def test_every_bit_flip_in_the_manifest_is_refused_or_harmless(
    built: tuple[NewsService, Path],
) -> None:
    service, _ = built
    good = service.store.load()
    path = manifest_path(service)
    original = path.read_bytes()
    outcomes = {"refused": 0, "harmless": 0}
    for offset in range(len(original)):
        flip_bit(path, offset, bit=offset % 8)
        try:
            data = service.store.load()
        except IndexCorruptError:
            outcomes["refused"] += 1
        else:
            # The manifest checksums itself: only a flip that leaves its content as it was
            # (say, in the hex digits of a \u escape) may pass.
            assert same(data, good), offset
            outcomes["harmless"] += 1
        path.write_bytes(original)
    assert outcomes["refused"] > 100 * outcomes["harmless"]


def test_missing_files_are_refused(built: tuple[NewsService, Path], embedder: Embedder) -> None:
    service, snap = built
    (snap / SENTENCE_ROWS).unlink()
    assert_never_served(service, f"{SENTENCE_ROWS} is missing")
    manifest_path(service).unlink()
    assert_never_served(service, "has no manifest")
    assert_ingest_recovers(service, embedder)


def _rewrite_artifact(
    service: NewsService, seg: Path, artifact: str, write: Callable[[Path], None]
) -> None:
    """Replace an artifact and update the manifest to match it, as a consistent forgery."""
    write(seg / artifact)
    path = manifest_path(service)
    manifest = json.loads(path.read_text(encoding="utf-8"))
    for a in (artifact, SENTENCE_SUMS) if artifact == SENTENCE_ROWS else (artifact,):
        manifest["segments"][0]["artifacts"][a] = {
            "sha256": hashlib.sha256((seg / a).read_bytes()).hexdigest(),
            "bytes": (seg / a).stat().st_size,
        }
    path.write_text(json.dumps(reseal(manifest)), encoding="utf-8")


def _l2_index(path: Path) -> None:
    faiss.write_index(faiss.IndexFlatL2(384), str(path))


def _one_vector_short(path: Path) -> None:
    """sentences.f16 one row short, with block checksums that match it."""
    rows = np.fromfile(path, dtype="<f2").reshape(-1, 384)
    write_rows(path, path.with_name(SENTENCE_SUMS), rows[:-1])


def _chunk_row_deleted(path: Path) -> None:
    con = sqlite3.connect(path)
    con.execute("DELETE FROM chunks WHERE row = (SELECT MAX(row) FROM chunks)")
    con.commit()
    con.close()


def _table_dropped(path: Path) -> None:
    con = sqlite3.connect(path)
    con.execute("DROP TABLE sentences")
    con.commit()
    con.close()


@pytest.mark.parametrize(
    ("artifact", "write", "match"),
    [
        ("chunks.faiss", _l2_index, "not an inner-product index"),
        (SENTENCE_ROWS, _one_vector_short, "counts disagree"),
        ("store.sqlite", _chunk_row_deleted, "counts disagree"),
        ("store.sqlite", _table_dropped, "unreadable: no such table"),
    ],
)
def test_consistent_but_wrong_snapshot_is_refused(
    built: tuple[NewsService, Path],
    artifact: str,
    write: Callable[[Path], None],
    match: str,
) -> None:
    service, seg = built
    _rewrite_artifact(service, seg, artifact, write)
    assert_never_served(service, match)


# --- the CURRENT pointer ------------------------------------------------------------------


@pytest.mark.parametrize(
    "content",
    [
        b"20990101T000000-00000000\n",
        b"\xff\xfe\x00\x01 not text \x9c\n",
        b"../../..\n",
        b"a\x00b\n",
    ],
    ids=["missing-snapshot", "binary", "outside", "nul"],
)
def test_garbage_current_is_a_clear_error(
    built: tuple[NewsService, Path], embedder: Embedder, content: bytes
) -> None:
    service, _ = built
    (service.store.root / "CURRENT").write_bytes(content)
    for action in (
        service.store.load,
        NewsService(service.settings, embedder).reload,
        lambda: NewsService(service.settings, embedder).ask(QUESTION),
    ):
        with pytest.raises(NewsbotError) as err:
            action()
        assert isinstance(err.value, IndexCorruptError)
        assert str(err.value)
    assert_ingest_recovers(service, embedder)


# --- no pickle ----------------------------------------------------------------------------

UNSAFE = re.compile(
    r"^\s*(import|from)\s+(c?pickle|_pickle|dill|joblib|shelve|cloudpickle)\b"
    r"|\bpickle\.\w|\bload_local\b|allow_dangerous_deserialization|allow_pickle\s*=\s*True"
    r"|\btorch\.load\(",
    re.MULTILINE,
)


def test_unsafe_pattern_catches_pickle() -> None:
    for line in (
        "import pickle",
        "from pickle import loads",
        "data = pickle.loads(blob)",
        "FAISS.load_local(path, emb, allow_dangerous_deserialization=True)",
        "np.load(path, allow_pickle=True)",
        "    import joblib",
    ):
        assert UNSAFE.search(line), line
    assert not UNSAFE.search("before FAISS reads it. No pickle.")


def test_no_pickle_on_any_load_path(built: tuple[NewsService, Path]) -> None:
    sources = sorted([*(REPO / "retrieval").rglob("*.py"), *(REPO / "bot").rglob("*.py")])
    assert len(sources) > 10
    offenders = [
        f"{p.relative_to(REPO)}: {m.group(0).strip()}"
        for p in sources
        for m in UNSAFE.finditer(p.read_text(encoding="utf-8"))
    ]
    assert offenders == []
    service, seg = built
    assert sorted(p.name for p in seg.iterdir()) == sorted(WRITTEN)
    assert [p.name for p in manifest_path(service).parent.iterdir()] == ["manifest.json"]
    for artifact in WRITTEN:
        assert not (seg / artifact).read_bytes().startswith(b"\x80")  # a pickle's first byte


# --- garbage collection -------------------------------------------------------------------


def test_old_snapshots_and_leftovers_are_collected(built: tuple[NewsService, Path]) -> None:
    service, _ = built
    store = IndexStore(service.store.root)
    data = store.load()
    names = [str(store.current_name())]
    for _ in range(5):
        names.append(store.publish(data))
        kept = sorted(p.name for p in store.snapshots.iterdir())
        # The newest two: the current one and the one readers may still be loading.
        assert kept == sorted(names[-2:])
        assert store.current_name() == names[-1]
        assert same(store.load(), data)
        # Each publish wrote one whole segment: those the two kept snapshots use remain.
        used = {e["name"] for n in kept for e in store.read_manifest(n)["segments"]}
        assert sorted(p.name for p in store.segments.iterdir()) == sorted(used)
        assert len(used) == 2
    assert len(set(names)) == len(names)

    leftovers = [
        store.snapshots / ".tmp-20200101T000000-deadbeef",
        store.segments / ".tmp-20200101T000000-deadbeef",
        store.segments / "20200101T000000000000-deadbeef",  # renamed, never listed
    ]
    for leftover in leftovers:
        leftover.mkdir()
        (leftover / "chunks.faiss").write_bytes(b"half written")
    names.append(store.publish(data))
    assert not any(p.exists() for p in leftovers)
    assert sorted(p.name for p in store.snapshots.iterdir()) == sorted(names[-2:])
    assert not NewsService(service.settings, service.embedder).ask(QUESTION).abstained


# --- the older format -----------------------------------------------------------------


def test_an_index_of_the_first_format_is_refused_then_upgraded_without_embedding(
    built: tuple[NewsService, Path], embedder: Embedder
) -> None:
    """A snapshot of one file set (before segments): readers refuse it with the rebuild
    command; the next ingest republishes its rows and vectors as one segment."""
    service, seg = built
    store = service.store
    data = store.load()
    name = "20200101T000000000000-0000abcd"
    old = store.snapshots / name
    shutil.copytree(seg, old)
    # That format kept the sentence vectors in a FAISS file.
    faiss.write_index(ann.fp16_index(np.asarray(data.sentence_vectors)), str(old / SENTENCES))
    manifest = {
        **{k: data.manifest[k] for k in ("embedding", "chunking", "files", "counts")},
        "format_version": 1,
        "artifacts": {
            a: {"sha256": hashlib.sha256((old / a).read_bytes()).hexdigest(), "bytes": 0}
            for a in ("chunks.faiss", "sentences.faiss", "store.sqlite")
        },
    }
    for a, entry in manifest["artifacts"].items():
        entry["bytes"] = (old / a).stat().st_size
    (old / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    (store.root / "CURRENT").write_text(name + "\n", encoding="utf-8")
    assert_never_served(service, r"older newsbot.*`newsbot ingest --rebuild`")

    before = embedder.calls
    report = service.ingest(progress=False)
    assert embedder.calls == before and report.embedded == 0
    assert {f.status for f in report.files} == {"unchanged"}
    assert store.read_manifest()["format_version"] == 2
    assert same(IndexStore(store.root).load(), data)
    assert not NewsService(service.settings, embedder).ask(QUESTION).abstained
