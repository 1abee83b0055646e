"""The outlet tests of test_outlets.py (outlets named as reporters, "the latest from X",
follow-ups that switch or keep the outlet) on the postgres backend: sources and the newest
date come from SQL there."""

from __future__ import annotations

import shutil
from collections.abc import Callable

import pytest

from retrieval.config import load_settings
from retrieval.embeddings import Embedder
from retrieval.service import NewsService
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
    shutil.copy(CORPUS, root / "corpus.jsonl")
    cfg = root / "config.yaml"
    cfg.write_text(
        "paths:\n  docs: [corpus.jsonl]\n  index_dir: index\nsessions:\n  path: ':memory:'\n",
        encoding="utf-8",
    )
    svc = NewsService(load_settings(cfg, **pg_sections(new_database())), embedder)
    svc.ensure_index(progress=False)
    assert svc.settings.store.backend == "postgres"
    return svc
