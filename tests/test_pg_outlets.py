"""The outlet tests of test_outlets.py (outlets named as reporters, "the latest from X",
follow-ups that switch or keep the outlet) on the postgres backend: sources and the newest
date come from SQL there."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from retrieval.embeddings import Embedder
from retrieval.service import NewsService
from tests.conftest import corpus_service
from tests.pg_support import pg_sections
from tests.test_outlets import *  # noqa: F403 (the tests themselves, run again here)
from tests.test_outlets import CORPUS


@pytest.fixture(scope="module")
def service(  # test_outlets.py's fixture of that name, on the postgres backend
    tmp_path_factory: pytest.TempPathFactory,
    embedder: Embedder,
    new_database: Callable[..., str],
) -> NewsService:
    """A service over tests/data/outlets_corpus.jsonl, its index in PostgreSQL."""
    root = tmp_path_factory.mktemp("pg-outlets")
    svc = corpus_service(root, CORPUS, embedder, **pg_sections(new_database()))
    assert svc.settings.store.backend == "postgres"
    return svc
