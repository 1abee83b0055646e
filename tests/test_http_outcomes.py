"""Every HTTP status tells what happened: a 504 answer leaves the conversation as it was,
adding articles is not cut half-way by the deadline, a refused id writes nothing, and a
chat client's history is bounded before it is condensed."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from test_http_support import ADMIN, READ, CountingService, with_http

from bot.http import create_app
from retrieval.config import Settings
from retrieval.service import NewsService

SEED_ID = "2021-10-19-russia-nato-mission"
QUESTION = "When is the accreditation withdrawn?"


@pytest.fixture
def service(fresh_seed_service: NewsService) -> NewsService:
    return fresh_seed_service


def _client(service: Any, settings: Settings, **http: Any) -> TestClient:
    app = create_app(service, with_http(settings, **http), reload_interval=0.2)
    return TestClient(app, raise_server_exceptions=False)


def test_an_answer_past_the_deadline_is_not_recorded(service: NewsService) -> None:
    slow = CountingService(service, delay=1.0)
    with _client(slow, service.settings, request_timeout_s=0.2) as client:
        r = client.post(
            "/v1/answer", json={"question": QUESTION, "session_id": "late"}, headers=READ
        )
        assert r.status_code == 504
        time.sleep(1.5)  # the abandoned answer finishes in its thread meanwhile
        assert slow.asked == 1
        slow.delay = 0.0
        ok = client.post(
            "/v1/answer",
            json={"question": "Who is Jens Stoltenberg?", "session_id": "on-time"},
            headers=READ,
        )
        assert ok.status_code == 200
    owned = [s for s in _sessions(service) if s.endswith(":late")]
    assert owned == [] and any(s.endswith(":on-time") for s in _sessions(service))


def _sessions(service: NewsService) -> list[str]:
    con = service.sessions._con  # type: ignore[attr-defined]
    return [row[0] for row in con.execute("SELECT DISTINCT session_id FROM turns")]


def test_adding_articles_is_not_cut_by_the_deadline(service: NewsService) -> None:
    article = {"id": "zorblat", "text": "The Zorblat council approved 42 million on Tuesday."}
    # Embedding the article takes longer than this deadline: the answer must still be the
    # real outcome, not a 504 after which the article appears anyway.
    with _client(service, service.settings, request_timeout_s=0.01) as client:
        r = client.post("/v1/articles", json={"articles": [article]}, headers=ADMIN)
        assert r.status_code == 200, r.text
        assert r.json()["files"][0]["status"] == "indexed"


def test_a_curated_id_is_refused_with_409_and_nothing_written(
    service: NewsService, seed_docs: Path
) -> None:
    with _client(service, service.settings) as client:
        r = client.post(
            "/v1/articles",
            json={"articles": [{"id": SEED_ID, "text": "Fake news."}]},
            headers=ADMIN,
        )
        assert r.status_code == 409 and r.json()["code"] == "article_conflict", r.text
        assert "/tmp" not in r.text
        assert not (seed_docs / "added").exists() or not any((seed_docs / "added").iterdir())
        answer = client.post("/v1/answer", json={"question": QUESTION}, headers=READ).json()
        assert answer["short_answer"] == "November 1, 2021"


def test_a_symlinked_added_folder_gets_409(
    service: NewsService, seed_docs: Path, tmp_path: Path
) -> None:
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (seed_docs / "added").symlink_to(outside)
    with _client(service, service.settings) as client:
        r = client.post("/v1/articles", json={"articles": [{"text": "Hello."}]}, headers=ADMIN)
        assert r.status_code == 409 and str(tmp_path) not in r.text
    assert list(outside.iterdir()) == []


def test_chat_history_is_bounded_before_condensing(service: NewsService) -> None:
    huge = "NATO Russia mission accreditation " * 2_900  # ~99 kB
    messages = [
        {"role": "user", "content": huge},
        {"role": "assistant", "content": huge},
        {"role": "user", "content": "And why?"},
    ]
    with _client(service, service.settings) as client:
        r = client.post(
            "/v1/chat/completions", json={"model": "newsbot", "messages": messages}, headers=READ
        )
    assert r.status_code == 200, r.text
    limit = service.settings.answer.max_question_chars
    assert len(r.json()["standalone_question"]) <= limit
