"""The answer tests of test_answers.py, on the postgres backend: the same questions, the
same assertions, the index in PostgreSQL (pgvector, BM25 in SQL) instead of local files."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from retrieval.config import load_settings
from retrieval.embeddings import Embedder
from retrieval.service import NewsService
from tests.conftest import SEED
from tests.pg_support import pg_sections
from tests.test_answers import *  # noqa: F403 (the tests themselves, run again here)


@pytest.fixture(scope="session")
def seed_service(  # the conftest fixture of that name, on the postgres backend
    tmp_path_factory: pytest.TempPathFactory,
    embedder: Embedder,
    new_database: Callable[..., str],
) -> NewsService:
    """A service over the seed article, its index in PostgreSQL."""
    root = tmp_path_factory.mktemp("pg-seed")
    (root / "docs").mkdir()
    shutil.copy(SEED, root / "docs" / SEED.name)
    cfg = root / "config.yaml"
    cfg.write_text("paths:\n  docs: [docs]\n  index_dir: index\n", encoding="utf-8")
    service = NewsService(load_settings(cfg, **pg_sections(new_database())), embedder)
    service.ingest(progress=False)
    assert service.settings.store.backend == "postgres"
    return service


def test_a_conversation_keeps_its_context_across_replicas(
    seed_service: NewsService, embedder: Embedder, tmp_path: Path
) -> None:
    url = seed_service.settings.database.url
    assert url is not None
    cfg = tmp_path / "config.yaml"  # a replica: another folder, no articles of its own
    cfg.write_text("paths:\n  docs: [nowhere]\n", encoding="utf-8")
    replica = NewsService(load_settings(cfg, **pg_sections(url.get_secret_value())), embedder)
    first = seed_service.ask("Who is Jens Stoltenberg?", session_id="replicas")
    follow = replica.ask("What did he decide on 6 October?", session_id="replicas")
    assert "Stoltenberg" in follow.standalone_question
    assert any(w in follow.text for w in ("withdraw", "accreditation", "eight"))
    turns = seed_service.sessions.history("replicas")
    assert [t.answer for t in turns] == [first.text, follow.text]
    replica.reset("replicas")
    assert seed_service.last_turn("replicas") is None
