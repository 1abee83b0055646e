"""Ingest: every file reported, re-ingest embeds nothing, edits and deletions touch only their
article, scoping, locking, manifest binding and chunk sizes, on small real indexes."""

from __future__ import annotations

import json
import os
import random
import shutil
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from retrieval.answering.extractive import ExtractiveAnswerer
from retrieval.chunking import embed_text
from retrieval.config import ABSTAIN_THRESHOLDS, Settings, load_settings
from retrieval.embeddings import Embedder
from retrieval.errors import IndexMismatchError, IngestLockedError
from retrieval.ingest import TITLE_WEIGHT, IngestReport
from retrieval.sentences import split_sentences
from retrieval.service import NewsService
from retrieval.store import SnapshotData
from tests.conftest import run_probe
from tests.hostile import INVISIBLE_COUNT, MAX_BYTES, SEED_NAME, make_hostile_folder

MakeSettings = Callable[..., Settings]
DATA = Path(__file__).parent / "data"

ARTICLES = {
    "harbour.txt": (
        "date 2023-04-02\n"
        "title: Harbour festival draws record crowds\n\n"
        "The harbour festival opened on Saturday with a parade of fishing boats. "
        "The ferry captain Ingrid Solheim counted forty-two dolphins near the breakwater. "
        "Food stalls sold grilled mackerel and saffron buns until midnight. "
        "A brass band from Tromsø played sea shanties on the quay. "
        "Organisers said eleven thousand visitors came, a record.\n"
    ),
    "observatory.txt": (
        "date 2023-01-15\n"
        "The mountain observatory installed a new spectrograph built in Leiden. "
        "Astronomers there measured the rotation of a distant quasar for the first time. "
        "Snow closed the access road for nine days in January. "
        "The director, Amara Okafor, thanked the volunteer cooks. "
        "Public viewing nights resume in June.\n"
    ),
    "library.txt": (
        "date 2022-11-03\n"
        "The city library extended its opening hours to ten in the evening. "
        "A rare atlas printed in 1587 went on display in the reading room. "
        "Children can now borrow telescopes and sewing machines. "
        "The librarians counted three hundred new members in a week. "
        "A chess club meets there every Thursday.\n"
    ),
    "vineyard.txt": (
        "date 2023-07-19\n"
        "Hailstorms damaged half of the Riesling vines in the valley on Tuesday. "
        "Growers expect the smallest harvest since 1991. "
        "Insurance assessors arrived by helicopter on Wednesday. "
        "The cooperative will buy grapes from neighbouring villages. "
        "Wine prices are likely to rise next spring.\n"
    ),
}
DOLPHINS = "The ferry captain Ingrid Solheim counted forty-two dolphins near the breakwater. "
PELICAN = "A pelican named Bartholomew snatched the mayor's sandwich during the ribbon cutting. "
# Small chunks, so that every article spans several and an edit can shrink or grow them.
SMALL_CHUNKS = {"max_tokens": 48, "title_tokens": 8}

JSONL = [
    {"id": "r1", "title": "Tram line opens", "date": "2023-03-01", "text": "The new tram line "
     "to the airport opened on Monday. Trips take nineteen minutes."},
    {"id": "r2", "title": "Zoo welcomes twins", "date": "2023-03-02", "text": "The zoo "
     "announced the birth of twin red pandas. Keepers named them Maple and Birch."},
    {"id": "r3", "title": "Marathon rerouted", "date": "2023-03-03", "text": "The spring "
     "marathon will avoid the old bridge this year. Runners will cross the river twice."},
]  # fmt: skip


def write_docs(docs: Path, files: dict[str, str]) -> Path:
    """Write article files into docs (created if needed)."""
    docs.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (docs / name).write_text(text, encoding="utf-8")
    return docs


def write_jsonl(path: Path, records: list[dict[str, str]]) -> None:
    """Write records as JSON Lines."""
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")


def chunks_by_article(data: SnapshotData) -> dict[str, list[tuple[str, str]]]:
    """``{article id: [(chunk id, chunk text), ...]}`` in chunk order."""
    out: dict[str, list[tuple[str, str]]] = {}
    for c in data.chunks:
        out.setdefault(c.article_id, []).append((c.id, c.text))
    return out


def vectors_of(data: SnapshotData, article_id: str) -> np.ndarray:
    """The chunk vectors of one article, in chunk order."""
    return data.chunk_vectors[[c.row for c in data.chunks if c.article_id == article_id]]


def embedded_texts(embedder: Embedder, settings: Settings, data: SnapshotData, aid: str) -> set:
    """The distinct texts ingest must embed for one article: its chunks (with the title prefix)
    and its sentences."""
    a = data.articles[aid]
    prefix = embedder.truncate(a.title, settings.chunking.title_tokens)
    rows = {c.row for c in data.chunks if c.article_id == aid}
    texts = {embed_text(prefix, c.text) for c in data.chunks if c.row in rows}
    return texts | {a.text[s.start : s.end] for s in data.sentences if s.chunk_row in rows}


def by_name(report: IngestReport) -> dict[str, str]:
    """``{file name: status}``; fails if a file is reported twice."""
    names = Counter(Path(f.path).name for f in report.files)
    assert max(names.values()) == 1, names
    return {Path(f.path).name: f.status for f in report.files}


def found(service: NewsService, question: str, k: int = 20) -> list[str]:
    """The texts of the chunks retrieved for a question."""
    return [h.chunk.text for h in service.retriever.search(question, k=k)]


@pytest.fixture
def news(
    tmp_path: Path, make_settings: MakeSettings, embedder: Embedder
) -> tuple[NewsService, Path, IngestReport]:
    """A service over four small articles with several chunks each, freshly ingested."""
    docs = write_docs(tmp_path / "docs", ARTICLES)
    service = NewsService(make_settings(docs=[docs], chunking=SMALL_CHUNKS), embedder)
    report = service.ingest(progress=False)
    assert all(n > 1 for n in Counter(c.article_id for c in service.store.load().chunks).values())
    return service, docs, report


# --- the hostile folder -------------------------------------------------------------------


@pytest.fixture(scope="module")
def hostile_build(
    tmp_path_factory: pytest.TempPathFactory, embedder: Embedder
) -> tuple[Path, Path, dict[str, str], IngestReport]:
    """The hostile folder and an index built from it, once per module (tests use copies)."""
    root = tmp_path_factory.mktemp("hostile")
    expected = make_hostile_folder(root / "docs")
    config = root / "config.yaml"
    config.write_text("paths: {docs: [docs], index_dir: index}\n", encoding="utf-8")
    settings = load_settings(config, ingest={"max_file_mb": MAX_BYTES / (1024 * 1024)})
    assert int(settings.ingest.max_file_mb * 1024 * 1024) == MAX_BYTES
    report = NewsService(settings, embedder).ingest(progress=False)
    return root / "docs", root / "index", expected, report


@pytest.fixture
def hostile(
    hostile_build: tuple[Path, Path, dict[str, str], IngestReport],
    tmp_path: Path,
    make_settings: MakeSettings,
    embedder: Embedder,
) -> tuple[NewsService, Path, dict[str, str], IngestReport]:
    """A service over a private copy of the hostile index, with the first ingest's report."""
    docs, index, expected, report = hostile_build
    shutil.copytree(index, tmp_path / "index")
    settings = make_settings(docs=[docs], ingest={"max_file_mb": MAX_BYTES / (1024 * 1024)})
    return NewsService(settings, embedder), docs, expected, report


def test_hostile_folder_reports_every_file(hostile: tuple) -> None:
    service, docs, expected, report = hostile
    assert sorted(p.name for p in docs.iterdir()) == sorted(expected)
    assert by_name(report) == expected
    files = {Path(f.path).name: f for f in report.files}
    for name, status in expected.items():
        if status == "skipped":
            assert files[name].detail.strip(), name
    assert files["dup_b.txt"].detail == "duplicate of dup_a"
    assert files["big.txt"].detail.startswith("file is 20.0 MB, over the 5.0 MB limit")
    assert report.invisible_stripped == INVISIBLE_COUNT
    assert report.published and report.snapshot == service.store.current_name()

    data = service.store.load()
    assert "dup_a" in data.articles and "dup_b" not in data.articles
    assert data.articles["bad_date"].date is None
    assert data.articles["bad_date"].text.startswith("The harbour reopened after the storm")
    assert any("malformed date" in w for w in files["bad_date.txt"].warnings)
    assert data.articles["invisible"].text == (
        "The city council confirmed the budget on Monday. Spending on parks will rise next year."
    )
    stats = service.stats()
    assert stats["articles"] == len(data.articles) == 11
    assert stats["undated_articles"] == 2  # bad_date and no_date, never guessed

    answer = service.ask("Why did Russia suspend its NATO mission?")
    assert not answer.abstained
    assert answer.citations[0].article_id == Path(SEED_NAME).stem
    assert not service.is_stale()


def test_reingest_unchanged_embeds_nothing(hostile: tuple, embedder: Embedder) -> None:
    service, _, expected, first = hostile
    before = embedder.calls
    again = service.ingest(progress=False)
    assert embedder.calls - before == 0
    assert again.embedded == 0
    assert again.published is False
    assert again.snapshot == first.snapshot == service.store.current_name()
    assert by_name(again) == {n: "unchanged" if s == "indexed" else s for n, s in expected.items()}
    assert [f.detail for f in again.files if f.status != "unchanged"] == [
        f.detail for f in first.files if f.status != "indexed"
    ]


# --- incremental changes ------------------------------------------------------------------


def test_edit_replaces_only_that_articles_chunks(
    news: tuple[NewsService, Path, IngestReport], embedder: Embedder
) -> None:
    service, docs, first = news
    assert DOLPHINS.strip() in found(service, "how many dolphins did the ferry captain count")[0]
    old = service.store.load()
    full = first.embedded
    assert full == sum(
        len(embedded_texts(embedder, service.settings, old, a)) for a in old.articles
    )

    path = docs / "harbour.txt"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace(DOLPHINS, PELICAN), encoding="utf-8")
    assert service.is_stale()
    before = embedder.calls
    report = service.ingest(progress=False)
    delta = embedder.calls - before

    new = service.store.load()
    assert report.published and new.name != old.name
    assert by_name(report) == {
        "harbour.txt": "indexed",
        "observatory.txt": "unchanged",
        "library.txt": "unchanged",
        "vineyard.txt": "unchanged",
    }
    assert 0 < delta < full
    assert (
        delta == report.embedded == len(embedded_texts(embedder, service.settings, new, "harbour"))
    )
    old_chunks, new_chunks = chunks_by_article(old), chunks_by_article(new)
    assert new_chunks["harbour"] != old_chunks["harbour"]
    for aid in ("observatory", "library", "vineyard"):
        assert new_chunks[aid] == old_chunks[aid]
        assert np.array_equal(vectors_of(new, aid), vectors_of(old, aid))
    ids = [c.id for c in new.chunks]
    assert len(ids) == len(set(ids))
    assert [c.id for c in new.chunks if c.article_id == "harbour"] == [
        f"harbour#{i}" for i in range(len(new_chunks["harbour"]))
    ]

    assert not any("dolphins" in c.text for c in new.chunks)
    assert not any("dolphins" in t for t in found(service, "how many dolphins did the captain see"))
    assert "Bartholomew" in found(service, "the pelican that snatched the mayor's sandwich")[0]


def test_deleted_article_disappears(
    news: tuple[NewsService, Path, IngestReport], embedder: Embedder
) -> None:
    service, docs, first = news
    assert "Riesling" in found(service, "hail damage to the Riesling vines")[0]
    (docs / "vineyard.txt").unlink()
    before = embedder.calls
    report = service.ingest(progress=False)
    assert embedder.calls - before == 0
    assert report.published and report.snapshot != first.snapshot
    removed = [f for f in report.files if f.status == "removed"]
    assert [(Path(f.path).name, f.detail) for f in removed] == [
        ("vineyard.txt", "article vineyard removed")
    ]
    data = service.store.load()
    assert sorted(data.articles) == ["harbour", "library", "observatory"]
    assert not any(c.article_id == "vineyard" for c in data.chunks)
    assert all(
        h.article.id != "vineyard" and "Riesling" not in h.chunk.text
        for h in service.retriever.search("hail damage to the Riesling vines", k=20)
    )
    assert not service.is_stale()


def test_explicit_path_keeps_configured_articles(
    news: tuple[NewsService, Path, IngestReport], tmp_path: Path, embedder: Embedder
) -> None:
    service, _, _ = news
    old = service.store.load()
    extra = write_docs(
        tmp_path / "extra",
        {"museum.txt": "The maritime museum restored a Viking longship found in a peat bog.\n"},
    )
    before = embedder.calls
    report = service.ingest([extra / "museum.txt"], progress=False)
    new = service.store.load()
    assert by_name(report) == {"museum.txt": "indexed"}  # the configured docs are not touched
    assert sorted(new.articles) == sorted([*old.articles, "museum"])
    old_chunks, new_chunks = chunks_by_article(old), chunks_by_article(new)
    assert {a: new_chunks[a] for a in old_chunks} == old_chunks
    assert embedder.calls - before == len(embedded_texts(embedder, service.settings, new, "museum"))
    assert "longship" in found(service, "Viking longship restored by the museum")[0]

    # A plain ingest of the configured docs keeps the article from elsewhere.
    before = embedder.calls
    again = service.ingest(progress=False)
    assert embedder.calls - before == 0
    assert again.published is False
    assert "museum" in service.store.load().articles


def test_jsonl_one_record_changed_reembeds_only_it(
    tmp_path: Path, make_settings: MakeSettings, embedder: Embedder
) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    write_jsonl(docs / "wire.jsonl", JSONL)
    service = NewsService(make_settings(docs=[docs]), embedder)
    service.ingest(progress=False)
    old = service.store.load()

    changed = [dict(r) for r in JSONL]
    changed[1]["text"] = (
        "The zoo announced the birth of twin snow leopards. Keepers named them Frost."
    )
    write_jsonl(docs / "wire.jsonl", changed)
    before = embedder.calls
    report = service.ingest(progress=False)
    delta = embedder.calls - before
    new = service.store.load()

    assert [(f.status, f.detail) for f in report.files] == [
        ("indexed", "3 articles (1 new or changed)")
    ]
    assert delta == len(embedded_texts(embedder, service.settings, new, "r2")) > 0
    for aid in ("r1", "r3"):
        assert chunks_by_article(new)[aid] == chunks_by_article(old)[aid]
        assert np.array_equal(vectors_of(new, aid), vectors_of(old, aid))
    assert "Frost" in found(service, "what were the snow leopard cubs named")[0]
    assert not any("Maple" in c.text for c in new.chunks)


def test_rebuild_embeds_everything_again(
    news: tuple[NewsService, Path, IngestReport], embedder: Embedder
) -> None:
    service, _, first = news
    old = service.store.load()
    before = embedder.calls
    report = service.ingest(rebuild=True, progress=False)
    assert embedder.calls - before == first.embedded == report.embedded > 0
    assert report.published and report.snapshot != first.snapshot
    assert set(by_name(report).values()) == {"indexed"}
    new = service.store.load()
    assert chunks_by_article(new) == chunks_by_article(old)
    np.testing.assert_allclose(new.chunk_vectors, old.chunk_vectors, atol=1e-5)


# --- id clashes across scopes -------------------------------------------------------------


def test_explicit_path_with_a_configured_articles_id(
    news: tuple[NewsService, Path, IngestReport], tmp_path: Path
) -> None:
    service, docs, _ = news
    extra = write_docs(
        tmp_path / "extra",
        {"harbour.txt": "The harbour authority fined a yacht owner for mooring on the slipway.\n"},
    )
    report = service.ingest([extra / "harbour.txt"], progress=False)
    data = service.store.load()
    ids = [c.id for c in data.chunks]
    assert len(ids) == len(set(ids))
    assert data.articles["harbour"].path == str(extra / "harbour.txt")
    assert "slipway" in data.articles["harbour"].text
    assert [Path(f.path).name for f in report.files] == ["harbour.txt"]
    assert any(str(docs / "harbour.txt") in w for w in report.files[0].warnings)

    # The configured folder takes its article back on the next plain ingest.
    service.ingest(progress=False)
    data = service.store.load()
    assert data.articles["harbour"].path == str(docs / "harbour.txt")
    assert not any("slipway" in c.text for c in data.chunks)
    assert len({c.id for c in data.chunks}) == len(data.chunks)


def test_moved_docs_folder(
    news: tuple[NewsService, Path, IngestReport],
    tmp_path: Path,
    make_settings: MakeSettings,
    embedder: Embedder,
) -> None:
    service, docs, _ = news
    old = service.store.load()
    moved = tmp_path / "moved"
    shutil.move(docs, moved)
    service = NewsService(make_settings(docs=[moved], chunking=SMALL_CHUNKS), embedder)
    before = embedder.calls
    service.ingest(progress=False)
    assert embedder.calls - before == 0  # same articles, same ids: vectors reused
    data = service.store.load()
    assert chunks_by_article(data) == chunks_by_article(old)
    assert {a.path for a in data.articles.values()} == {str(moved / n) for n in ARTICLES}
    assert not service.is_stale()

    (moved / "library.txt").unlink()
    report = service.ingest(progress=False)
    assert [Path(f.path).name for f in report.files if f.status == "removed"] == ["library.txt"]
    assert "library" not in service.store.load().articles


# --- locking and binding ------------------------------------------------------------------


def test_second_ingest_is_refused_while_one_runs(
    news: tuple[NewsService, Path, IngestReport], embedder: Embedder
) -> None:
    service, docs, first = news
    (docs / "library.txt").unlink()
    before = embedder.calls
    with service.store.writer_lock(), pytest.raises(IngestLockedError) as err:
        service.ingest(progress=False)
    message = str(err.value)
    assert "another ingest is writing this index" in message
    assert f"pid {os.getpid()}" in message
    assert "wait for it to finish" in message
    assert embedder.calls == before
    assert service.store.current_name() == first.snapshot
    # Once the lock is free, ingest runs.
    assert service.ingest(progress=False).published


def test_index_built_with_other_chunking_is_refused(
    tmp_path: Path, make_settings: MakeSettings, embedder: Embedder
) -> None:
    docs = write_docs(tmp_path / "docs", ARTICLES)
    built = NewsService(make_settings(docs=[docs], chunking={"overlap_sentences": 1}), embedder)
    first = built.ingest(progress=False)
    other = NewsService(make_settings(docs=[docs], chunking={"overlap_sentences": 0}), embedder)
    for action in (other.reload, lambda: other.ingest(progress=False)):
        with pytest.raises(IndexMismatchError) as err:
            action()
        assert "overlap_sentences" in str(err.value)
        assert "`newsbot ingest --rebuild`" in str(err.value)
    assert other.store.current_name() == first.snapshot

    report = other.ingest(rebuild=True, progress=False)
    assert report.published
    assert other.store.load().manifest["chunking"]["overlap_sentences"] == 0
    assert not other.ask("When did the harbour festival open?").abstained
    with pytest.raises(IndexMismatchError):
        NewsService(built.settings, embedder).reload()


# --- chunk vectors made from sentence vectors ---------------------------------------------


def test_chunk_vectors_from_sentences_embed_each_text_once_and_bind_the_index(
    tmp_path: Path, make_settings: MakeSettings, embedder: Embedder
) -> None:
    docs = write_docs(tmp_path / "docs", ARTICLES)
    settings = make_settings(
        docs=[docs], chunking=SMALL_CHUNKS, embedding={"chunks": "from_sentences"}
    )
    service = NewsService(settings, embedder)
    before = embedder.calls
    report = service.ingest(progress=False)
    data = service.store.load()
    title_tokens = settings.chunking.title_tokens
    title_of = {aid: embedder.truncate(a.title, title_tokens) for aid, a in data.articles.items()}
    sentence_of = {
        s.row: data.articles[c.article_id].text[s.start : s.end]
        for c in data.chunks
        for s in data.sentences
        if s.chunk_row == c.row
    }
    # Each distinct sentence and title is embedded once, and nothing else (no chunk pass).
    texts = set(sentence_of.values()) | {t for t in title_of.values() if t}
    assert report.embedded == len(texts) == embedder.calls - before
    assert len(data.chunks) > len(data.articles)  # several chunks per article: a real mean

    own = dict(zip(sorted(texts), embedder.encode(sorted(texts)), strict=True))
    for s in data.sentences:
        np.testing.assert_allclose(data.sentence_vectors[s.row], own[sentence_of[s.row]], atol=1e-4)
    for c in data.chunks:
        parts = [sentence_of[s.row] for s in data.sentences if s.chunk_row == c.row]
        weights = [float(embedder.count_tokens(t)) for t in parts]
        if title_of[c.article_id]:
            parts.append(title_of[c.article_id])
            weights.append(TITLE_WEIGHT * embedder.count_tokens(title_of[c.article_id]))
        mean = np.asarray(weights) @ np.stack([own[t] for t in parts])
        np.testing.assert_allclose(
            data.chunk_vectors[c.row], mean / np.linalg.norm(mean), atol=1e-4
        )

    answer = service.ask("When did the harbour festival open?")
    assert not answer.abstained and answer.citations
    assert data.manifest["embedding"]["chunks"] == "from_sentences"
    # Its best evidence scores run higher: the answerer abstains at its own threshold.
    answerer = service._current().answerer
    assert isinstance(answerer, ExtractiveAnswerer)
    assert answerer.settings.threshold == ABSTAIN_THRESHOLDS["from_sentences"]
    # Chunk vectors made one way are never mixed with vectors made the other way.
    with pytest.raises(IndexMismatchError, match="chunks"):
        NewsService(make_settings(docs=[docs], chunking=SMALL_CHUNKS), embedder).reload()


INDEX_DIGEST = (
    "import hashlib, sys\n"
    "import numpy as np\n"
    "from retrieval.config import load_settings\n"
    "from retrieval.embeddings import make_embedder\n"
    "from retrieval.service import NewsService\n"
    "settings = load_settings(sys.argv[1])\n"
    "service = NewsService(settings, make_embedder(settings.embedding))\n"
    "service.ingest(progress=False)\n"
    "data = service.store.load()\n"
    "digest = hashlib.sha256(np.ascontiguousarray(data.chunk_vectors).tobytes())\n"
    "digest.update(np.ascontiguousarray(data.sentence_vectors).tobytes())\n"
    "print(digest.hexdigest())\n"
)


@pytest.mark.slow
def test_an_int8_index_is_the_same_in_every_process(tmp_path: Path) -> None:
    """int8 activations are quantised per batch, so a text's vector depends on its batch:
    texts are batched in a fixed order, not in a set's per-process hash order."""
    # Sentences of one length: only a fixed order decides which are batched together.
    lots = " ".join(f"Lot {n} sold for {n + 200} crowns." for n in range(100, 124))
    docs = write_docs(tmp_path / "docs", {**ARTICLES, "auction.txt": f"Auction\n\n{lots}\n"})
    digests = set()
    for seed in ("1", "2", "3"):
        cfg = tmp_path / f"config-{seed}.yaml"
        cfg.write_text(
            f"paths:\n  docs: [{docs}]\n  index_dir: index-{seed}\n"
            "embedding:\n  backend: onnx\n  precision: int8\n  chunks: from_sentences\n"
            "  batch_size: 4\n",
            encoding="utf-8",
        )
        done = run_probe(INDEX_DIGEST, cfg, PYTHONHASHSEED=seed)
        assert done.returncode == 0, done.stderr
        digests.add(done.stdout.strip())
    assert len(digests) == 1


def test_batches_run_at_once_give_each_text_the_vector_it_gets_alone(
    embedder: Embedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Several model calls at once (each writing its own rows), in small batches, give the
    vectors of one text per call, one call at a time (fp32: padding is masked out)."""
    records = (DATA / "conflicts" / "corpus.jsonl").read_text(encoding="utf-8").splitlines()
    text = " ".join(json.loads(r)["text"] for r in records)
    texts = [text[a:b] for a, b in split_sentences(text)][:40]
    texts.append(text)  # longer than the model's input: truncated alike
    spans = [[(0, len(t) // 2), (len(t) // 2, len(t))] for t in texts]
    monkeypatch.setattr(embedder, "workers", 1)
    monkeypatch.setattr(embedder, "batch_size", 1)
    alone = embedder.encode(texts)
    alone_spans = embedder.encode_spans(texts, spans)
    monkeypatch.setattr(embedder, "workers", 3)
    monkeypatch.setattr(embedder, "batch_size", 4)
    np.testing.assert_allclose(embedder.encode(texts), alone, atol=2e-6)
    vecs, span_vecs = embedder.encode_spans(texts, spans)
    np.testing.assert_allclose(vecs, alone_spans[0], atol=2e-6)
    for got, want in zip(span_vecs, alone_spans[1], strict=True):
        np.testing.assert_allclose(got, want, atol=2e-6)


# --- chunk sizes --------------------------------------------------------------------------


def test_chunks_fit_the_model_and_cover_the_text(
    tmp_path: Path, make_settings: MakeSettings, embedder: Embedder
) -> None:
    rng = random.Random(7)
    vocab = "river council budget harbour pumpkin ferry naïve Zürich 1587 quasar".split()
    files = {
        # One 2,000-word "sentence": it must be cut at words.
        "run_on.txt": " ".join(rng.choice(vocab) for _ in range(2000)) + "\n",
        # One word of hundreds of word pieces: it must be cut inside the word.
        "url.txt": "See the report at https://example.com/"
        + "".join(rng.choice("abcdefghijklmnopqrstuvwxyz0123456789%-_") for _ in range(1500))
        + " for details. The council will vote next week.\n",
        # No spaces at all, one word piece per character.
        "cjk.txt": "date 2023-05-05\n" + "东京都知事选举结果公布" * 30 + "\n",
        "long_title.md": "---\ntitle: " + " ".join(vocab * 12) + "\n---\n\n"
        + " ".join(rng.choice(vocab) for _ in range(40)) + ".\n",
    }  # fmt: skip
    docs = write_docs(tmp_path / "docs", files)
    shutil.copy(Path(__file__).resolve().parent.parent / "docs_store" / SEED_NAME, docs)
    settings = make_settings(docs=[docs])
    service = NewsService(settings, embedder)
    report = service.ingest(progress=False)
    assert set(by_name(report).values()) == {"indexed"}
    data = service.store.load()
    assert len(data.articles) == len(files) + 1

    from transformers import AutoTokenizer

    # The model's own tokenizer as transformers loads it, not the counter ingest uses.
    hf = AutoTokenizer.from_pretrained(str(embedder.path), local_files_only=True)
    limit = embedder.max_seq_length
    assert limit == 256
    longest = 0
    sentences: dict[int, list[tuple[int, int]]] = {}
    for s in data.sentences:
        sentences.setdefault(s.chunk_row, []).append((s.start, s.end))
    for aid, article in data.articles.items():
        prefix = embedder.truncate(article.title, settings.chunking.title_tokens)
        assert len(hf(prefix, add_special_tokens=False)["input_ids"]) <= 24
        covered = np.zeros(len(article.text), dtype=bool)
        for c in (c for c in data.chunks if c.article_id == aid):
            assert c.text == article.text[c.start : c.end]
            ids = hf(embed_text(prefix, c.text), truncation=False)["input_ids"]
            assert len(ids) <= limit, (c.id, len(ids))
            longest = max(longest, len(ids))
            assert embedder.count_tokens(embed_text(prefix, c.text)) + 2 == len(ids)
            for s_start, s_end in sentences[c.row]:
                assert c.start <= s_start < s_end <= c.end
                assert len(hf(article.text[s_start:s_end], truncation=False)["input_ids"]) <= limit
            covered[c.start : c.end] = True
        # No text is silently dropped: every visible character is in some chunk.
        missed = [ch for ch, ok in zip(article.text, covered, strict=True) if not ok]
        assert "".join(missed).strip() == "", aid
    assert longest > limit - 16  # chunks are packed up to the limit, so the check has teeth
    per = Counter(c.article_id for c in data.chunks)
    assert per["run_on"] > 5 and per["url"] > 2 and per["cjk"] > 1
