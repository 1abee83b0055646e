"""schemathesis against the app's own OpenAPI, on a real uvicorn on 127.0.0.1.

Every operation is fuzzed with valid and invalid data (schemathesis's examples, coverage
and fuzzing phases) with all its checks: no 5xx, responses match their schemas and
documented status codes and content types, valid data accepted, invalid data rejected,
auth not ignored, 405 for undeclared methods. At least 1,000 requests in total.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.config import SchemathesisConfig
from test_http_support import ADMIN_KEY, LiveServer, principal, with_http

from bot.http import create_app
from retrieval.config import load_settings
from retrieval.embeddings import Embedder
from retrieval.service import NewsService

SEED = Path(__file__).resolve().parent.parent / "docs_store" / "2021-10-19-russia-nato-mission.txt"
MAX_EXAMPLES = 110  # per operation and phase; the total is asserted below
MIN_REQUESTS = 1000

sent: list[tuple[str, int]] = []  # (operation, status) of every checked request


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Iterator[LiveServer]:
    """A server over its own seed index (POST /v1/articles writes into its docs folder)."""
    root = tmp_path_factory.mktemp("fuzz")
    (root / "docs").mkdir()
    shutil.copy(SEED, root / "docs" / SEED.name)
    cfg = root / "config.yaml"
    cfg.write_text("paths:\n  docs: [docs]\n  index_dir: index\n", encoding="utf-8")
    base = load_settings(cfg)
    service = NewsService(base, embedder)
    service.ingest(progress=False)
    # No rate limit to speak of: 429s would be valid, but they would hide everything else.
    # Nor a back-off after wrong keys, which the fuzzing sends by the hundred.
    unlimited = {"rate_limit_per_minute": 1_000_000, "auth_failures_per_minute": 1_000_000}
    app = create_app(service, with_http(base, **unlimited))
    # A webhook to read (GET /v1/webhook is fuzzed before PUT); no alert ever reaches it.
    owner = f"http:{principal(app, ADMIN_KEY).id}"
    service.follows.webhooks.register(owner, "https://example.org/newsbot-alerts")
    with LiveServer(app) as server:
        yield server


def _openapi() -> dict[str, Any]:
    """The app's OpenAPI document, built without loading anything (nothing is heavy before
    the lifespan). The test below checks that the live server publishes the same one."""
    # As the fixtures do (conftest): the developer's NEWSBOT_* environment is not read.
    saved = {k: os.environ.pop(k) for k in list(os.environ) if k.startswith("NEWSBOT_")}
    try:
        with tempfile.TemporaryDirectory() as tmp:
            cfg = Path(tmp) / "config.yaml"
            cfg.write_text("{}\n", encoding="utf-8")
            paths = {"docs": [str(Path(tmp) / "docs")], "index_dir": str(Path(tmp) / "index")}
            settings = with_http(load_settings(cfg, paths=paths))
            return create_app(NewsService(settings), settings).openapi()
    finally:
        os.environ.update(saved)


OPENAPI = _openapi()
# (schemathesis.pytest.from_fixture would load it from the live server, but it fails on
# pytest 9: it sets Function._nodeid, which pytest no longer has.)
# The admin key (which may do everything), given as the scheme's credentials: schemathesis
# then also sends requests without it or with a wrong one, and expects 401.
CONFIG = SchemathesisConfig.from_dict({"auth": {"openapi": {"HTTPBearer": {"bearer": ADMIN_KEY}}}})
schema = schemathesis.openapi.from_dict(OPENAPI, config=CONFIG)


def test_the_fuzzed_schema_is_the_one_served(live: LiveServer) -> None:
    """The document fuzzed below is what the running server publishes."""
    assert httpx.get(f"{live.url}/openapi.json").json() == OPENAPI


@pytest.mark.slow
@pytest.mark.timeout(900)
@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    derandomize=True,  # the same requests in every run, so CI cannot draw a new case
    suppress_health_check=list(HealthCheck),
)
def test_openapi_conformance(case: schemathesis.Case, live: LiveServer) -> None:
    """Each generated request: all of schemathesis's checks pass."""
    response = case.call_and_validate(base_url=live.url, timeout=60)
    sent.append((case.operation.label, response.status_code))


@pytest.mark.slow
def test_at_least_1000_requests_were_checked() -> None:
    """The fuzzing above sent (and validated) at least 1,000 requests, and every operation
    was also answered successfully (the key was used, not just refused)."""
    assert sent, "run the whole module: the conformance test above records the requests"
    counts: dict[str, int] = {}
    succeeded: dict[str, int] = {}
    for label, status in sent:
        counts[label] = counts.get(label, 0) + 1
        succeeded[label] = succeeded.get(label, 0) + (200 <= status < 300)
    print(f"\nschemathesis: {len(sent)} requests checked: {counts}; 2xx: {succeeded}")
    assert len(sent) >= MIN_REQUESTS, counts
    assert all(succeeded.values()), succeeded
