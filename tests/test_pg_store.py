"""The postgres backend against the local one: the same rankings on the same articles (also
after incremental changes), the same refusal of an index built otherwise, one writer, no
half article ever visible (a failed or killed commit leaves the previous generation), and
a database URL that never shows."""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from retrieval.config import load_settings
from retrieval.embeddings import Embedder
from retrieval.errors import (
    DatabaseUnavailableError,
    IndexMismatchError,
    IndexMissingError,
    IngestLockedError,
)
from retrieval.lexical import terms
from retrieval.search_index import Filters
from retrieval.service import NewsService
from tests.conftest import REPO, SEED
from tests.pg_support import pg_sections

CORPUS = REPO / "tests" / "data" / "time_corpus.jsonl"
QUESTIONS = [
    ("Who is the Vikings' starting quarterback?", Filters()),
    ("Who testified against Bankman-Fried?", Filters()),
    ("Why was the NATO mission suspended?", Filters()),
    ("When is the accreditation withdrawn?", Filters()),
    ("What did Apple announce?", Filters(since=dt.date(2023, 10, 5))),
    ("quarterback", Filters(until=dt.date(2023, 11, 30), sources=("test sports",))),
    ("Russia NATO mission staff", Filters(since=dt.date(2021, 1, 1), until=dt.date(2021, 12, 31))),
    ("FTX trial", Filters(articles=("ftx-wang", "ftx-jury"))),
    ("Who led the team?", Filters(sources=("Nobody",))),
]


def _docs(root: Path) -> Path:
    """The seed article and the dated corpus, split over two files."""
    docs = root / "docs"
    docs.mkdir()
    shutil.copy(SEED, docs / SEED.name)
    lines = CORPUS.read_text(encoding="utf-8").splitlines(keepends=True)
    (docs / "first.jsonl").write_text("".join(lines[:5]), encoding="utf-8")
    (docs / "second.jsonl").write_text("".join(lines[5:]), encoding="utf-8")
    return docs


def _config(root: Path, docs: Path, index: str) -> Path:
    cfg = root / f"{index}.yaml"
    cfg.write_text(
        f"paths:\n  docs: [{docs}]\n  index_dir: {index}\nsessions:\n  path: ':memory:'\n",
        encoding="utf-8",
    )
    return cfg


def _rankings(service: NewsService) -> list[list[tuple[str, float, float | None]]]:
    """Each question's hits: chunk id, fused score, BM25 score."""
    out = []
    for q, f in QUESTIONS:
        hits = service.retriever.search(q, k=8, filters=f)
        out.append([(h.chunk.id, round(h.score, 6), h.bm25) for h in hits])
    return out


def _same(local: NewsService, pg: NewsService) -> None:
    for a, b in zip(_rankings(local), _rankings(pg), strict=True):
        assert [x[:2] for x in a] == [x[:2] for x in b]
        for (_, _, s1), (_, _, s2) in zip(a, b, strict=True):
            assert (s1 is None) == (s2 is None)
            assert s1 is None or s2 == pytest.approx(s1, rel=1e-4)
    index_l, index_p = local.retriever.index, pg.retriever.index
    for t in terms("Vikings quarterback Russia NATO withdrawn accreditation zzzunseen"):
        assert index_p.idf(t) == pytest.approx(index_l.idf(t), rel=1e-9)
    assert len(index_p.chunks) == len(index_l.chunks)
    assert len(index_p.sentences) == len(index_l.sentences)
    with pg.store.connection() as conn:  # type: ignore[attr-defined]
        counts, n_chunks, total_len = conn.execute(
            "SELECT counts, n_chunks, total_len FROM index_state"
        ).fetchone()
        recount = conn.execute(
            "SELECT (SELECT count(*) FROM articles), (SELECT count(*) FROM chunks), "
            "(SELECT count(*) FROM sentences), (SELECT coalesce(sum(n_terms), 0) FROM chunks)"
        ).fetchone()
    # Commits move the counts by what they add and remove; they must equal a recount.
    assert (counts["articles"], n_chunks, counts["sentences"], total_len) == recount
    assert counts["chunks"] == n_chunks


@pytest.fixture
def pair(
    tmp_path: Path,
    embedder: Embedder,
    new_database: Callable[..., str],
) -> tuple[NewsService, NewsService, Path]:
    """A local and a postgres service over the same docs folder, both ingested."""
    docs = _docs(tmp_path)
    local = NewsService(load_settings(_config(tmp_path, docs, "index")), embedder)
    url = new_database()
    pg = NewsService(load_settings(_config(tmp_path, docs, "pg"), **pg_sections(url)), embedder)
    local.ingest(progress=False)
    pg.ingest(progress=False)
    return local, pg, docs


@pytest.mark.slow  # two ingests (~10 s each on 2 busy cores)
def test_rankings_equal_the_local_backend(pair: tuple[NewsService, NewsService, Path]) -> None:
    local, pg, _ = pair
    _same(local, pg)
    a1, a2 = (s.ask("Who is the Vikings' starting quarterback?", record=False) for s in (local, pg))
    assert a1.text == a2.text and a1.citations == a2.citations
    assert pg.stats()["articles"] == local.stats()["articles"] == 10


@pytest.mark.slow  # two ingests (~10 s each on 2 busy cores)
def test_incremental_changes_rank_as_a_fresh_local_build(
    pair: tuple[NewsService, NewsService, Path],
) -> None:
    local, pg, docs = pair
    (docs / "second.jsonl").unlink()  # four articles removed
    lines = (docs / "first.jsonl").read_text(encoding="utf-8").splitlines()
    first = json.loads(lines[0])
    first["text"] += " Cousins also ran for a touchdown in the fourth quarter."
    lines[0] = json.dumps(first)
    (docs / "first.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    shutil.copy(SEED, docs / "moved.txt")  # the seed under another file: a duplicate
    before = pg.store.current_name()
    report = pg.ingest(progress=False)
    assert report.published and pg.store.current_name() != before
    local.ingest(progress=False, rebuild=True)
    assert pg.stats()["articles"] == local.stats()["articles"] == 6
    _same(local, pg)


@pytest.mark.slow  # two ingests (~10 s each on 2 busy cores)
def test_an_index_built_otherwise_is_refused(
    pair: tuple[NewsService, NewsService, Path], embedder: Embedder, tmp_path: Path
) -> None:
    _, pg, docs = pair
    url = pg.settings.database.url
    assert url is not None
    other = load_settings(
        _config(tmp_path, docs, "pg"),
        chunking={"max_tokens": 128},
        **pg_sections(url.get_secret_value()),
    )
    with pytest.raises(IndexMismatchError, match="newsbot ingest --rebuild"):
        NewsService(other, embedder).ask("Who won?", record=False)
    with pytest.raises(IndexMismatchError):
        NewsService(other, embedder).ingest(progress=False)
    assert pg.ask("Who is the Vikings' starting quarterback?", record=False).citations


@pytest.mark.slow  # two ingests (~10 s each on 2 busy cores)
def test_a_replica_without_the_articles_never_updates_the_index(
    pair: tuple[NewsService, NewsService, Path], embedder: Embedder, tmp_path: Path
) -> None:
    _, pg, docs = pair
    url = pg.settings.database.url
    assert url is not None
    elsewhere = tmp_path / "replica"
    elsewhere.mkdir()
    cfg = elsewhere / "config.yaml"
    cfg.write_text(f"paths:\n  docs: [{docs}-missing]\n", encoding="utf-8")
    replica = NewsService(load_settings(cfg, **pg_sections(url.get_secret_value())), embedder)
    assert replica.ensure_index(progress=False) is None
    assert replica.stats()["articles"] == 10
    (docs / SEED.name).unlink()  # the worker's folder changes: the replica still only reads
    assert replica.ensure_index(progress=False) is None and replica.stats()["articles"] == 10
    assert pg.ingest(progress=False).published  # the worker (here pg) publishes it
    assert replica.refresh() and replica.stats()["articles"] == 9


@pytest.mark.slow  # two ingests (~10 s each on 2 busy cores)
def test_one_writer_at_a_time(pair: tuple[NewsService, NewsService, Path]) -> None:
    _, pg, _ = pair
    with pg.store.writer_lock(), pytest.raises(IngestLockedError, match="another ingest"):
        pg.ingest(progress=False)
    pg.ingest(progress=False)  # released


def _visible(service: NewsService) -> dict[str, int]:
    store = service.store
    with store.connection() as conn:  # type: ignore[attr-defined]
        return {
            table: conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
            for table in ("articles", "chunks", "sentences", "postings", "terms")
        }


@pytest.mark.slow  # two ingests (~10 s each on 2 busy cores)
def test_a_failed_commit_leaves_no_half_article(
    pair: tuple[NewsService, NewsService, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    local, pg, docs = pair
    from retrieval.pg import store

    insert = store._insert

    def fail_after_insert(conn: object, seg: object) -> None:
        insert(conn, seg)
        raise OSError("disk gone")

    monkeypatch.setattr(store, "_insert", fail_after_insert)
    before, name = _visible(pg), pg.store.current_name()
    (docs / "new.txt").write_text(
        "title: Ferry service resumes\n\nThe island ferry resumed service on Monday.\n",
        encoding="utf-8",
    )
    with pytest.raises(OSError, match="disk gone"):
        pg.ingest(progress=False)
    assert _visible(pg) == before and pg.store.current_name() == name
    _same(local, pg)


@pytest.mark.slow
def test_a_killed_ingest_leaves_no_half_article(
    pair: tuple[NewsService, NewsService, Path], tmp_path: Path
) -> None:
    local, pg, docs = pair
    url = pg.settings.database.url
    assert url is not None
    before, name = _visible(pg), pg.store.current_name()
    (docs / "new.txt").write_text(
        "title: Ferry service resumes\n\nThe island ferry resumed service on Monday after "
        "storms. Ferry operators said the timetable is back to normal.\n",
        encoding="utf-8",
    )
    worker = subprocess.Popen(
        [sys.executable, str(REPO / "tests" / "pg_crash_worker.py"),
         str(_config(tmp_path, docs, "pg")), url.get_secret_value()],
        stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": str(REPO)},
    )  # fmt: skip
    try:
        assert worker.stdout is not None
        assert worker.stdout.readline().strip() == "inserted"
        # Every row is written, uncommitted: no reader sees any of it.
        assert _visible(pg) == before and pg.store.current_name() == name
        hits = pg.retriever.search("When did the island ferry resume service?", k=3)
        assert all(h.article.id != "new" for h in hits)
    finally:
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=30)
    assert _visible(pg) == before and pg.store.current_name() == name
    _same(local, pg)
    report = pg.ingest(progress=False)  # the lock died with the worker
    assert report.published
    answer = pg.ask("When did the island ferry resume service?", record=False)
    assert any(c.article_id == "new" for c in answer.citations)


@pytest.mark.slow  # an ingest (~10 s on 2 busy cores)
def test_db_upgrade_creates_the_schema_once(
    new_database: Callable[..., str],
    tmp_path: Path,
    embedder: Embedder,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from bot.cli import main

    url = new_database(migrated=False)
    docs = _docs(tmp_path)
    cfg = _config(tmp_path, docs, "pg")
    cfg.write_text(
        cfg.read_text(encoding="utf-8")
        + "store:\n  backend: postgres\ndatabase:\n  url: ${NEWSBOT_DATABASE_URL}\n",
        encoding="utf-8",
    )
    monkeypatch.setenv("NEWSBOT_DATABASE_URL", url)
    with pytest.raises(IndexMissingError, match="newsbot db upgrade"):
        NewsService(load_settings(cfg), embedder).ingest(progress=False)
    assert main(["--config", str(cfg), "db", "upgrade"]) == 0
    out, err = capsys.readouterr()
    assert out == "schema version 4\n"
    assert err == (
        "applied 0001_index\napplied 0002_sessions\napplied 0003_replicas\napplied 0004_follows\n"
    )
    assert main(["--config", str(cfg), "db", "upgrade"]) == 0
    out, err = capsys.readouterr()
    assert out == "schema version 4\n" and err == ""
    service = NewsService(load_settings(cfg), embedder)
    service.ingest(progress=False)
    assert service.stats()["articles"] == 10


def test_an_unreachable_database_is_named_without_its_url(
    tmp_path: Path, embedder: Embedder, caplog: pytest.LogCaptureFixture
) -> None:
    pytest.importorskip("psycopg")
    secret = "postgresql://newsbot:s3cret-pw@127.0.0.1:1/newsbot"
    docs = _docs(tmp_path)
    settings = load_settings(_config(tmp_path, docs, "pg"), **pg_sections(secret))
    assert "s3cret" not in repr(settings) and "s3cret" not in str(settings.model_dump())
    caplog.set_level(logging.DEBUG)
    with pytest.raises(DatabaseUnavailableError) as e:
        NewsService(settings, embedder).stats()
    assert "s3cret" not in str(e.value) and "127.0.0.1" not in str(e.value)
    assert "s3cret" not in caplog.text


def test_postgres_without_a_url_is_a_config_error(tmp_path: Path) -> None:
    from retrieval.errors import ConfigError

    with pytest.raises(ConfigError, match="NEWSBOT_DATABASE_URL"):
        load_settings(_config(tmp_path, tmp_path, "pg"), store={"backend": "postgres"})


@pytest.mark.slow  # an ingest of a few feed articles
def test_replicas_collapse_the_copies_the_worker_found(
    make_settings: Callable[..., object],
    embedder: Embedder,
    new_database: Callable[..., str],
    tmp_path: Path,
) -> None:
    from retrieval.feeds.poller import Poller
    from tests.test_feeds import FEEDS, running_server
    from tests.test_feeds_collapse import QUESTION

    url = new_database()
    (tmp_path / "docs").mkdir()
    worker = Poller(NewsService(make_settings(**pg_sections(url)), embedder), FEEDS)  # type: ignore[arg-type]
    try:
        with running_server() as server:
            worker.add(server.url("/rss.xml"), "gazette")
            worker.add(server.url("/front.html"), "wire")  # an agency copy of the festival
            worker.poll()
    finally:
        worker.close()
    cfg = tmp_path / "replica.yaml"  # no articles, no feed state: only the database
    cfg.write_text("paths:\n  docs: [elsewhere]\n", encoding="utf-8")
    replica = NewsService(load_settings(cfg, **pg_sections(url)), embedder)
    articles = replica._current().index.articles
    original = next(a.id for a in articles.values() if a.title.startswith("Harbour festival"))
    copy = next(a.id for a in articles.values() if a.title.startswith("Record crowd"))
    answer, hits = replica.ask_with_hits(QUESTION, depth=10)
    assert copy not in [h.article.id for h in hits] and original in [h.article.id for h in hits]
    assert [a.article_id for a in answer.citations[0].also] == [copy]
