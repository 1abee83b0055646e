"""The time-aware answer tests of test_time_answers.py (date windows, sources, "latest",
timelines) on the postgres backend: filters run as SQL there."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from retrieval.embeddings import Embedder
from retrieval.service import NewsService
from tests.conftest import corpus_service
from tests.pg_support import pg_sections
from tests.test_time_answers import *  # noqa: F403 (the tests themselves, run again here)
from tests.test_time_answers import CORPUS


@pytest.fixture(scope="module")
def service(  # test_time_answers.py's fixture of that name, on the postgres backend
    tmp_path_factory: pytest.TempPathFactory,
    embedder: Embedder,
    new_database: Callable[..., str],
) -> NewsService:
    """A service over tests/data/time_corpus.jsonl, its index in PostgreSQL."""
    root = tmp_path_factory.mktemp("pg-time")
    svc = corpus_service(root, CORPUS, embedder, **pg_sections(new_database()))
    assert svc.settings.store.backend == "postgres"
    return svc
