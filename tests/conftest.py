"""Shared fixtures: one real embedding model per test session, small real indexes."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from retrieval.config import EmbeddingSettings, Settings, load_settings
from retrieval.embeddings import Embedder, make_embedder
from retrieval.service import NewsService
from tests.pg_support import new_database, pg_server  # noqa: F401 (one server per session)

REPO = Path(__file__).resolve().parent.parent

SEED = REPO / "docs_store" / "2021-10-19-russia-nato-mission.txt"
# The seed questions and conversations ship with the tests (tests/data/README.md).
SEED_SET = REPO / "tests" / "data" / "seed"


def run_probe(probe: str, config: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """Run a Python snippet in a fresh interpreter from the repo root, with ``config`` as
    its argument, offline, without the caller's NEWSBOT_* settings (plus ``env``)."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("NEWSBOT_")}
    clean.update(HF_HUB_OFFLINE="1", PYTHONPATH=str(REPO), **env)
    return subprocess.run(
        [sys.executable, "-c", probe, str(config)],
        cwd=REPO,
        env=clean,
        capture_output=True,
        text=True,
        timeout=120,
    )


def corpus_service(
    root: Path, corpus: Path, embedder: Embedder, **sections: dict[str, Any]
) -> NewsService:
    """A service over one corpus.jsonl copied into ``root``, its index built; ``sections``
    override the config's (e.g. tests.pg_support.pg_sections for the postgres backend)."""
    shutil.copy(corpus, root / "corpus.jsonl")
    cfg = root / "config.yaml"
    cfg.write_text("paths:\n  docs: [corpus.jsonl]\n  index_dir: index\n", encoding="utf-8")
    service = NewsService(load_settings(cfg, **sections), embedder)
    service.ingest(progress=False)
    return service


@pytest.fixture(autouse=True)
def _no_user_config(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests never read the developer's NEWSBOT_* environment."""
    for key in list(os.environ):
        if key.startswith("NEWSBOT_"):
            monkeypatch.delenv(key)


@pytest.fixture(scope="session")
def embedder() -> Embedder:
    """The real MiniLM model, loaded once for the whole session."""
    return make_embedder(EmbeddingSettings())


@pytest.fixture
def make_settings(tmp_path: Path) -> Callable[..., Settings]:
    """Settings whose articles and index live under tmp_path (sections may be overridden)."""

    def make(docs: list[Path] | None = None, **sections: dict[str, Any]) -> Settings:
        paths = {
            "docs": [str(d) for d in (docs or [tmp_path / "docs"])],
            "index_dir": str(tmp_path / "index"),
        }
        paths.update(sections.pop("paths", {}))
        empty = tmp_path / "no-config.yaml"
        empty.write_text("{}\n", encoding="utf-8")
        return load_settings(empty, paths=paths, **sections)

    return make


@pytest.fixture
def seed_docs(tmp_path: Path) -> Path:
    """A docs folder holding only the seed article."""
    docs = tmp_path / "docs"
    docs.mkdir()
    shutil.copy(SEED, docs / SEED.name)
    return docs


@pytest.fixture(scope="session")
def seed_service(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> NewsService:
    """A service over an index of the seed article, built once per session."""
    root = tmp_path_factory.mktemp("seed")
    docs = root / "docs"
    docs.mkdir()
    shutil.copy(SEED, docs / SEED.name)
    cfg = root / "config.yaml"
    cfg.write_text("paths:\n  docs: [docs]\n  index_dir: index\n", encoding="utf-8")
    service = NewsService(load_settings(cfg), embedder)
    service.ingest(progress=False)
    return service


@pytest.fixture
def service_over(
    tmp_path: Path, make_settings: Callable[..., Settings], embedder: Embedder
) -> Callable[[str, str], NewsService]:
    """A service over one article: ``text`` written to docs/``name`` and ingested."""

    def make(name: str, text: str) -> NewsService:
        docs = tmp_path / "docs"
        docs.mkdir(exist_ok=True)
        (docs / name).write_text(text, encoding="utf-8")
        service = NewsService(make_settings(), embedder)
        service.ingest(progress=False)
        return service

    return make


@pytest.fixture
def fresh_seed_service(
    make_settings: Callable[..., Settings], seed_docs: Path, embedder: Embedder
) -> NewsService:
    """A service over its own index of the seed article, for tests that change it."""
    service = NewsService(make_settings([seed_docs]), embedder)
    service.ingest(progress=False)
    return service


@pytest.fixture(scope="module")
def seed_config(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A config file whose articles are the seed; the index is built on first use."""
    root = tmp_path_factory.mktemp("seed-config")
    (root / "docs").mkdir()
    shutil.copy(SEED, root / "docs" / SEED.name)
    path = root / "config.yaml"
    path.write_text("paths:\n  docs: [docs]\n  index_dir: index\n", encoding="utf-8")
    return path


@pytest.fixture
def receiver() -> Iterator[Any]:
    """A local HTTP server that records webhook deliveries (tests/test_follows_webhooks.py)."""
    from tests.test_follows_webhooks import Receiver

    r = Receiver()
    yield r
    with contextlib.suppress(AssertionError):
        r.down()
