"""Real news exports: a JSONL corpus over ingest.max_file_mb is read line by line, with the cap
applying to each article; `newsbot eval` refuses a corpus that indexed nothing."""

from __future__ import annotations

import hashlib
import json
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import pytest

from bot.cli import main
from retrieval.config import Settings
from retrieval.embeddings import Embedder
from retrieval.loaders import jsonl, read_file
from retrieval.scan import fingerprint
from retrieval.service import NewsService

MB = 1024 * 1024
PARAGRAPH = (
    "The harbour authority said on Tuesday that the new container terminal would open in "
    "spring, after two years of delays caused by dredging disputes and a shortage of cranes. "
)


def article(i: int, size: int) -> dict[str, str]:
    """One export record of about ``size`` bytes of text."""
    text = f"Story {i}. " + PARAGRAPH * max(1, size // len(PARAGRAPH))
    return {
        "id": f"story-{i}",
        "title": f"Harbour news {i}",
        "date": "2023-10-01",
        "source": "Example Wire",
        "url": f"https://example.com/{i}",
        "text": text,
    }


def write_export(path: Path, n: int, size: int) -> None:
    """Write ``n`` records of about ``size`` bytes each, streamed (never all in memory)."""
    with path.open("w", encoding="utf-8") as f:
        for i in range(n):
            f.write(json.dumps(article(i, size)) + "\n")


def test_an_export_over_max_file_mb_is_read_article_by_article(tmp_path: Path) -> None:
    path = tmp_path / "corpus.jsonl"
    write_export(path, 828, 9_300)  # 828 articles in 7.5 MB, as the real export
    assert 7 * MB < path.stat().st_size < 8 * MB
    result = read_file(path, tmp_path, 5 * MB)
    assert result.skipped is None
    assert len(result.articles) == 828 and result.warnings == []
    assert result.articles[827].id == "story-827"
    # What ingest records and what is_stale() recomputes agree: the file is hashed whole.
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    assert result.sha256 == digest == fingerprint(path, 5 * MB)


def test_a_too_big_article_is_reported_and_skipped(tmp_path: Path) -> None:
    path = tmp_path / "corpus.jsonl"
    lines = [json.dumps(article(i, size)) for i, size in enumerate([500, 50_000, 500])]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = read_file(path, tmp_path, 20_000)
    assert [a.id for a in result.articles] == ["story-0", "story-2"]
    assert result.warnings == [
        "line 2: record is 0.0 MB, over the 0.0 MB limit per article (ingest.max_file_mb), "
        "record skipped"
    ]


def test_ingest_reports_the_export_per_article(
    tmp_path: Path, make_settings: Callable[..., Settings], embedder: Embedder
) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    lines = [json.dumps(article(i, size)) for i, size in enumerate([300, 30_000, 300])]
    (docs / "wire.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    # A cap below the file's size (32 KB) but above each kept article's.
    service = NewsService(make_settings([docs], ingest={"max_file_mb": 10_000 / MB}), embedder)
    report = service.ingest(progress=False)
    [wire] = report.files
    assert (wire.status, wire.detail) == (
        "indexed",
        "2 articles, 1 record skipped (2 new or changed)",
    )
    assert wire.warnings[0].startswith("line 2: record is ")
    assert report.articles == 2
    assert not service.is_stale()  # the manifest holds the whole file's hash


def test_eval_refuses_a_corpus_that_indexed_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], embedder: Embedder
) -> None:
    dataset = tmp_path / "broken_set"
    dataset.mkdir()
    (dataset / "corpus.jsonl").write_text('{"title": "no text"}\nnot json\n', encoding="utf-8")
    question = {"id": "q1", "question": "When?", "answers": ["Monday"], "answerable": True}
    (dataset / "questions.jsonl").write_text(json.dumps(question) + "\n", encoding="utf-8")
    config = tmp_path / "config.yaml"
    config.write_text("sessions:\n  path: ':memory:'\n", encoding="utf-8")
    code = main(["--config", str(config), "eval", str(dataset), "--json"])
    out, err = capsys.readouterr()
    assert code == 1 and out == ""
    assert "corpus.jsonl: no valid records" in err  # the ingest report, on stderr
    assert "line 2: invalid JSON, record skipped" in err
    assert "gave no article to index" in err and "refusing to score an empty index" in err


def test_eval_refuses_configured_articles_that_indexed_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], embedder: Embedder
) -> None:
    # A dataset without corpus.jsonl is scored on the configured articles; a config whose
    # article folder is empty (say, relative paths resolved against another folder) must not
    # score every question as an abstention.
    dataset = tmp_path / "seedlike"
    dataset.mkdir()
    question = {"id": "q1", "question": "When?", "answers": ["Monday"], "answerable": True}
    (dataset / "questions.jsonl").write_text(json.dumps(question) + "\n", encoding="utf-8")
    (tmp_path / "empty_store").mkdir()
    config = tmp_path / "config.yaml"
    config.write_text(
        "paths:\n  docs: [empty_store]\n  index_dir: index\nsessions:\n  path: ':memory:'\n",
        encoding="utf-8",
    )
    code = main(["--config", str(config), "eval", str(dataset), "--json"])
    out, err = capsys.readouterr()
    assert code == 1 and out == ""
    assert "empty_store" in err and "refusing to score an empty index" in err


@pytest.mark.slow
def test_reading_a_100_mb_export_keeps_memory_flat(tmp_path: Path) -> None:
    path = tmp_path / "corpus.jsonl"
    write_export(path, 20_000, 5_300)
    assert path.stat().st_size >= 100 * MB
    tracemalloc.start()
    try:
        with path.open("rb") as f:
            stream = jsonl.Stream(f, "corpus", path, 5 * MB)
            count = sum(1 for _ in stream)  # each article dropped once counted
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert count == 20_000 and stream.loaded.warnings == []
    # One record (~5 KB) at a time, plus the ids seen (for duplicates): far below the file.
    assert peak < 8 * MB, f"peak {peak / MB:.1f} MB while reading a 100 MB export"
