"""The HTTP API in process (FastAPI's TestClient), over real indexes and the real model:
every endpoint, keys, limits, problem+json errors, SSE, sessions, articles."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from test_http_support import (
    ADMIN,
    ADMIN_KEY,
    READ,
    READ_KEY,
    CountingService,
    principal,
    with_http,
)

from bot.http import create_app
from bot.http.auth import check_bind, is_loopback, session_key
from bot.http.limits import RateLimiter
from retrieval.config import HttpSettings, Settings
from retrieval.embeddings import Embedder
from retrieval.errors import ConfigError, IndexCorruptError
from retrieval.service import NewsService

QUESTION = "When is the accreditation withdrawn?"
SEED_ID = "2021-10-19-russia-nato-mission"


def client_for(service: Any, settings: Settings, **http: Any) -> TestClient:
    """A TestClient over an app with keys; use it as a context manager (runs the lifespan)."""
    app = create_app(service, with_http(settings, **http), reload_interval=0.2)
    return TestClient(app, raise_server_exceptions=False)


@pytest.fixture(scope="module")
def counting(seed_service: NewsService) -> CountingService:
    return CountingService(seed_service)


@pytest.fixture(scope="module")
def client(counting: CountingService, seed_service: NewsService) -> Iterator[TestClient]:
    with client_for(counting, seed_service.settings, rate_limit_per_minute=100_000) as c:
        yield c


def events(body: str) -> list[tuple[str | None, str]]:
    """Parse a text/event-stream body into (event, data) pairs."""
    out = []
    for block in body.strip().split("\n\n"):
        name, data = None, []
        for line in block.split("\n"):
            if line.startswith("event: "):
                name = line[len("event: ") :]
            elif line.startswith("data: "):
                data.append(line[len("data: ") :])
        out.append((name, "\n".join(data)))
    return out


def assert_problem(response: Any, status: int, code: str | None = None) -> dict[str, Any]:
    """An RFC 9457 problem, with no traceback and no file system path in it."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert {"type", "title", "status", "detail", "instance"} <= set(body)
    assert body["status"] == status
    assert body["instance"].startswith("/")
    if code is not None:
        assert body["code"] == code
    assert "Traceback" not in response.text
    assert "/tmp" not in response.text and "/work" not in response.text
    return body


# --- answers -------------------------------------------------------------------------------


def test_answer_is_cited(client: TestClient) -> None:
    r = client.post("/v1/answer", json={"question": QUESTION}, headers=READ)
    assert r.status_code == 200
    answer = r.json()
    assert answer["short_answer"] == "November 1, 2021"
    assert "[1]" in answer["text"]
    assert not answer["abstained"]
    first = answer["citations"][0]
    assert first["n"] == 1
    assert first["article_id"] == SEED_ID
    assert "November 1, 2021" in first["quote"]
    assert first["date"] == "2021-10-19"
    assert set(answer["timings"]) == {"embed", "retrieve", "answer", "total"}


def test_unanswerable_question_abstains(client: TestClient) -> None:
    r = client.post("/v1/answer", json={"question": "Who won the 2021 Super Bowl?"}, headers=READ)
    assert r.status_code == 200
    assert r.json()["abstained"] is True
    assert r.json()["citations"] == []


def test_filters_restrict_the_articles(client: TestClient) -> None:
    for extra in ({"since": "2022-01-01"}, {"until": "2020-12-31"}, {"sources": ["Nobody"]}):
        r = client.post("/v1/answer", json={"question": QUESTION, **extra}, headers=READ)
        assert r.status_code == 200
        assert r.json()["abstained"] is True, extra
    inside = {"question": QUESTION, "since": "2021-10-01", "until": "2021-10-31", "k": 3}
    r = client.post("/v1/answer", json=inside, headers=READ)
    assert r.json()["citations"][0]["article_id"] == SEED_ID


def test_stream_sends_the_answer_then_done(client: TestClient) -> None:
    r = client.post("/v1/answer", json={"question": QUESTION, "stream": True}, headers=READ)
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/event-stream")
    parsed = events(r.text)
    names = [name for name, _ in parsed]
    assert names[-2:] == ["answer", "done"]
    assert set(names[:-2]) <= {"token"}
    answer = json.loads(parsed[-2][1])
    assert answer["short_answer"] == "November 1, 2021"
    assert answer["citations"][0]["article_id"] == SEED_ID


def test_stream_errors_before_the_first_event_are_problems(client: TestClient) -> None:
    r = client.post("/v1/answer", json={"question": "x" * 1001, "stream": True}, headers=READ)
    assert_problem(r, 422, "question_too_long")


def test_sessions_carry_follow_ups_are_private_and_reset(
    client: TestClient, counting: CountingService
) -> None:
    sid = f"conv-{time.monotonic_ns()}"
    first = {"question": "Who is Jens Stoltenberg?", "session_id": sid}
    assert client.post("/v1/answer", json=first, headers=READ).status_code == 200
    follow = {"question": "What did he decide on 6 October?", "session_id": sid}
    r = client.post("/v1/answer", json=follow, headers=READ)
    assert r.json()["standalone_question"] == "What did Jens Stoltenberg decide on 6 October?"
    history = counting.sessions.history(session_key(principal(client.app, READ_KEY), sid))
    assert [t.question for t in history] == [first["question"], follow["question"]]

    # Another key using the same session id has a conversation of its own.
    r = client.post("/v1/answer", json=follow, headers=ADMIN)
    assert r.json()["standalone_question"] == follow["question"]

    r = client.post(f"/v1/sessions/{sid}/reset", headers=READ)
    assert r.status_code == 204
    assert counting.sessions.history(session_key(principal(client.app, READ_KEY), sid)) == []
    assert len(counting.sessions.history(session_key(principal(client.app, ADMIN_KEY), sid))) == 1
    r = client.post("/v1/answer", json=follow, headers=READ)
    assert r.json()["standalone_question"] == follow["question"]


def test_bad_session_ids_are_refused(client: TestClient) -> None:
    r = client.post("/v1/answer", json={"question": QUESTION, "session_id": "a b"}, headers=READ)
    assert_problem(r, 422, "validation_error")
    assert_problem(client.post("/v1/sessions/a%20b/reset", headers=READ), 422)


# --- keys ----------------------------------------------------------------------------------


def test_missing_or_wrong_key_gets_401_before_any_work(
    client: TestClient, counting: CountingService
) -> None:
    before = counting.asked
    answers_before = _metric(client, "newsbot_answers_total", 'endpoint="answer"')
    for headers, code in (
        ({}, "missing_key"),
        ({"Authorization": "Bearer wrong-key-0123456789abcdef"}, "invalid_key"),
        ({"Authorization": f"Basic {READ_KEY}"}, "invalid_key"),
        ({"Authorization": f"Bearer {READ_KEY}x"}, "invalid_key"),
    ):
        r = client.post("/v1/answer", json={"question": QUESTION}, headers=headers)
        body = assert_problem(r, 401, code)
        assert r.headers["www-authenticate"].startswith('Bearer realm="newsbot"')
        assert READ_KEY not in r.text and "wrong-key" not in r.text
        assert body["detail"]
    # Not even the body is looked at: broken JSON with no key is a 401, not a 422.
    r = client.post(
        "/v1/answer", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert_problem(r, 401)
    for path in ("/v1/articles", "/v1/models", "/metrics", "/v1/nowhere"):
        assert_problem(client.get(path), 401)
    assert counting.asked == before
    assert _metric(client, "newsbot_answers_total", 'endpoint="answer"') == answers_before


def test_probes_and_docs_need_no_key(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/readyz").status_code == 200
    assert client.get("/openapi.json").status_code == 200
    assert "swagger" in client.get("/docs").text.lower()


def test_adding_articles_needs_an_admin_key(client: TestClient) -> None:
    article = {"articles": [{"text": "Some text."}]}
    r = client.post("/v1/articles", json=article, headers=READ)
    assert_problem(r, 403, "forbidden")
    assert 'error="insufficient_scope"' in r.headers["www-authenticate"]


def test_no_keys_is_refused_unless_auth_is_explicitly_disabled(
    seed_service: NewsService,
) -> None:
    with pytest.raises(ConfigError, match="no API keys"):
        create_app(seed_service, seed_service.settings)
    with pytest.raises(ConfigError, match="empty"):
        create_app(seed_service, with_http(seed_service.settings, api_keys=[" "]))
    open_app = create_app(seed_service, with_http(seed_service.settings, auth_disabled=True))
    with TestClient(open_app) as c:
        assert c.post("/v1/answer", json={"question": QUESTION}).status_code == 200


# --- limits --------------------------------------------------------------------------------


def test_rate_limit_is_per_key_with_retry_after(seed_service: NewsService) -> None:
    with client_for(seed_service, seed_service.settings, rate_limit_per_minute=3) as c:
        for _ in range(3):
            assert c.get("/v1/models", headers=READ).status_code == 200
        r = c.get("/v1/models", headers=READ)
        assert_problem(r, 429, "rate_limited")
        assert 1 <= int(r.headers["retry-after"]) <= 20
        assert c.get("/v1/models", headers=ADMIN).status_code == 200  # another key's bucket
        assert c.get("/healthz").status_code == 200  # probes are not limited


def test_token_bucket_refills_at_the_configured_rate() -> None:
    now = [0.0]
    limiter = RateLimiter(60, clock=lambda: now[0])  # one a second, bursts of 60
    assert all(limiter.hit("k") == 0.0 for _ in range(60))
    wait = limiter.hit("k")
    assert wait == pytest.approx(1.0)
    now[0] += 0.5
    assert limiter.hit("k") == pytest.approx(0.5)
    now[0] += 0.5
    assert limiter.hit("k") == 0.0
    assert limiter.hit("other") == 0.0


def test_only_loopback_hosts_may_serve_without_keys() -> None:
    for host in ("127.0.0.1", "127.0.0.2", "::1", "[::1]", "localhost"):
        assert is_loopback(host), host
    for host in ("0.0.0.0", "::", "192.168.1.20", "example.com", ""):
        assert not is_loopback(host), host
    open_http = HttpSettings(auth_disabled=True)
    check_bind(open_http, "127.0.0.1")
    with pytest.raises(ConfigError, match="loopback"):
        check_bind(open_http, "0.0.0.0")
    check_bind(HttpSettings(api_keys=[READ_KEY]), "0.0.0.0")  # keys: any address


def test_body_over_the_cap_gets_413(client: TestClient, counting: CountingService) -> None:
    before = counting.asked
    big = {"question": QUESTION, "sources": ["x" * 200] * 20, "pad": "y" * 2_000_000}
    r = client.post("/v1/answer", json=big, headers=READ)
    assert_problem(r, 413, "body_too_large")

    def chunks() -> Iterator[bytes]:  # no Content-Length: counted as it arrives
        yield b'{"question": "'
        for _ in range(40):
            yield b"z" * 65536
        yield b'"}'

    r = client.post(
        "/v1/answer", content=chunks(), headers={**READ, "content-type": "application/json"}
    )
    assert_problem(r, 413, "body_too_large")
    assert counting.asked == before


def test_question_length_is_capped_before_any_embedding(
    client: TestClient, counting: CountingService
) -> None:
    before = counting.asked
    body = assert_problem(
        client.post("/v1/answer", json={"question": "why " * 300}, headers=READ),
        422,
        "question_too_long",
    )
    assert "limit is 1000" in body["detail"]
    for blank in ("", "   ", "\x1c\u3000"):
        r = client.post("/v1/answer", json={"question": blank}, headers=READ)
        assert_problem(r, 422)
    assert counting.asked == before


def test_deadline_gives_504(seed_service: NewsService) -> None:
    slow = CountingService(seed_service, delay=1.5)
    with client_for(slow, seed_service.settings, request_timeout_s=0.3) as c:
        r = c.post("/v1/answer", json={"question": QUESTION}, headers=READ)
        assert_problem(r, 504, "deadline_exceeded")
        r = c.post("/v1/answer", json={"question": QUESTION, "stream": True}, headers=READ)
        assert_problem(r, 504, "deadline_exceeded")


# --- errors are problem+json ---------------------------------------------------------------


def test_every_error_is_problem_json(client: TestClient) -> None:
    assert_problem(client.get("/v1/nowhere", headers=READ), 404, "not_found")
    r = client.delete("/v1/articles", headers=READ)
    assert_problem(r, 405, "method_not_allowed")
    assert set(r.headers["allow"].split(", ")) >= {"GET", "POST"}
    r = client.post("/v1/answer", json={"question": QUESTION, "k": "5"}, headers=READ)
    body = assert_problem(r, 422, "validation_error")
    assert body["errors"][0]["loc"] == ["body", "k"]
    assert "input" not in body["errors"][0]
    r = client.post(
        "/v1/answer", content=b"{oops", headers={**READ, "content-type": "application/json"}
    )
    assert_problem(r, 422, "validation_error")
    r = client.post("/v1/answer", json={"question": QUESTION, "extra": 1}, headers=READ)
    assert_problem(r, 422)
    r = client.post("/v1/answer", headers={**READ, "content-length": "12x"})
    assert_problem(r, 400, "bad_request")


class _Broken(CountingService):
    """The real service, failing the way a bug or a damaged index would."""

    def __init__(self, service: NewsService, error: Exception) -> None:
        super().__init__(service)
        self.error = error

    def ask(self, question: str, **kwargs: Any) -> Any:
        raise self.error


def test_crashes_and_index_errors_leak_nothing(seed_service: NewsService) -> None:
    secret = RuntimeError(f"boom at /etc/newsbot/{READ_KEY}")
    with client_for(_Broken(seed_service, secret), seed_service.settings) as c:
        r = c.post("/v1/answer", json={"question": QUESTION}, headers=READ)
        body = assert_problem(r, 500, "internal_error")
        assert "boom" not in r.text and READ_KEY not in r.text
        assert "incident" in body["detail"]
    corrupt = IndexCorruptError("/work/index/snapshots/x/chunks.faiss: checksum mismatch")
    with client_for(_Broken(seed_service, corrupt), seed_service.settings) as c:
        r = c.post("/v1/answer", json={"question": QUESTION}, headers=READ)
        assert_problem(r, 503, "index_unavailable")
        assert "chunks.faiss" not in r.text


# --- probes, metrics, CORS, OpenAPI --------------------------------------------------------


def _metric(client: TestClient, name: str, labels: str = "") -> float:
    text = client.get("/metrics", headers=READ).text
    for line in text.splitlines():
        if line.startswith(name) and labels in line:
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_metrics(client: TestClient) -> None:
    assert client.post("/v1/answer", json={"question": QUESTION}, headers=READ).status_code == 200
    client.post("/v1/answer", json={"question": "Who won the 2021 Super Bowl?"}, headers=READ)
    client.get("/v1/models")
    r = client.get("/metrics", headers=READ)
    assert r.headers["content-type"].startswith("text/plain")
    text = r.text
    assert 'newsbot_http_requests_total{method="POST",route="/v1/answer",status="200"}' in text
    assert 'newsbot_http_requests_total{method="GET",route="/v1/models",status="401"}' in text
    assert any(
        line.startswith("newsbot_http_request_duration_seconds_bucket") and "/v1/answer" in line
        for line in text.splitlines()
    )
    assert _metric(client, "newsbot_answers_total", 'endpoint="answer"') >= 2
    assert _metric(client, "newsbot_abstentions_total", 'endpoint="answer"') >= 1
    assert _metric(client, "newsbot_index_articles") == 1
    assert _metric(client, "newsbot_index_chunks") >= 1


def test_each_app_has_its_own_registry(seed_service: NewsService) -> None:
    with (
        client_for(seed_service, seed_service.settings) as a,
        client_for(seed_service, seed_service.settings) as b,
    ):
        a.get("/v1/models", headers=READ)
        assert "/v1/models" in a.get("/metrics", headers=READ).text
        assert 'route="/v1/models"' not in b.get("/metrics", headers=READ).text


def test_readyz_reports_the_snapshot_and_turns_503_when_draining(
    seed_service: NewsService,
) -> None:
    with client_for(seed_service, seed_service.settings) as c:
        r = c.get("/readyz")
        assert r.json() == {"status": "ready", "snapshot": seed_service.store.current_name()}
        c.app.state.newsbot.begin_drain()  # what SIGTERM does  # type: ignore[attr-defined]
        assert_problem(c.get("/readyz"), 503, "draining")
        assert c.post("/v1/answer", json={"question": QUESTION}, headers=READ).status_code == 200


def test_cors_is_off_unless_origins_are_listed(seed_service: NewsService) -> None:
    preflight = {
        "Origin": "https://example.org",
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization,content-type",
    }
    with client_for(seed_service, seed_service.settings) as c:
        r = c.options("/v1/answer", headers=preflight)
        assert "access-control-allow-origin" not in r.headers
        r = c.get("/healthz", headers={"Origin": "https://example.org"})
        assert "access-control-allow-origin" not in r.headers
    with client_for(seed_service, seed_service.settings, cors_origins=["https://example.org"]) as c:
        r = c.options("/v1/answer", headers=preflight)
        assert r.status_code == 200
        assert r.headers["access-control-allow-origin"] == "https://example.org"
        r = c.options("/v1/answer", headers={**preflight, "Origin": "https://evil.example"})
        assert "access-control-allow-origin" not in r.headers


def test_openapi_documents_examples_keys_and_problems(client: TestClient) -> None:
    doc = client.get("/openapi.json").json()
    schemas = doc["components"]["schemas"]
    assert schemas["AnswerRequest"]["examples"][0]["question"] == QUESTION
    assert schemas["AnswerRequest"]["properties"]["question"]["maxLength"] == 1000
    assert doc["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
    answer_op = doc["paths"]["/v1/answer"]["post"]
    assert answer_op["security"] == [{"HTTPBearer": []}]
    assert answer_op["requestBody"]["content"]["application/json"]["examples"]
    assert "text/event-stream" in answer_op["responses"]["200"]["content"]
    for path_item in doc["paths"].values():
        for op in path_item.values():
            for status, response in op["responses"].items():
                if int(status) >= 400:
                    assert list(response["content"]) == ["application/problem+json"]
    assert "HTTPValidationError" not in schemas


# --- articles ------------------------------------------------------------------------------


def test_articles_are_listed_with_chunk_counts(client: TestClient) -> None:
    r = client.get("/v1/articles", headers=READ)
    page = r.json()
    assert page["total"] == 1 and page["offset"] == 0 and page["limit"] == 50
    item = page["items"][0]
    assert item["id"] == SEED_ID and item["date"] == "2021-10-19" and item["chunks"] >= 1
    assert client.get("/v1/articles?offset=1", headers=READ).json()["items"] == []
    assert client.get("/v1/articles?source=nobody", headers=READ).json()["total"] == 0
    assert_problem(client.get("/v1/articles?limit=0", headers=READ), 422)


@pytest.fixture
def fresh(
    make_settings: Callable[..., Settings], seed_docs: Path, embedder: Embedder
) -> Iterator[tuple[TestClient, NewsService]]:
    """An app over its own small index in tmp (articles get added to it)."""
    settings = make_settings([seed_docs])
    service = NewsService(settings, embedder)
    service.ingest(progress=False)
    with client_for(service, settings) as c:
        yield c, service


def test_adding_articles_as_json(fresh: tuple[TestClient, NewsService], seed_docs: Path) -> None:
    client, service = fresh
    article = {
        "id": "2024-05-01-zorblat",
        "title": "Zorblat council approves budget",
        "date": "2024-05-01",
        "source": "Example News",
        "url": "https://example.com/zorblat",
        "text": "The Zorblat council approved a budget of 42 million crowns on Tuesday. "
        "The mayor said the money would go to the new tram line.",
    }
    r = client.post("/v1/articles", json={"articles": [article]}, headers=ADMIN)
    assert r.status_code == 200, r.text
    report = r.json()
    assert report["published"] and report["articles"] == 2 and report["embedded"] > 0
    [status] = report["files"]
    assert status["status"] == "indexed" and status["article_ids"] == [article["id"]]
    assert status["file"].startswith("added/") and status["file"].endswith(".jsonl")
    assert str(seed_docs) not in r.text
    written = seed_docs / status["file"]
    assert json.loads(written.read_text(encoding="utf-8"))["id"] == article["id"]

    listed = client.get("/v1/articles", headers=READ).json()
    assert [a["id"] for a in listed["items"]] == [article["id"], SEED_ID]  # newest first
    assert listed["items"][0]["source"] == "Example News"

    q = {"question": "What budget did the Zorblat council approve on Tuesday?"}
    answer = client.post("/v1/answer", json=q, headers=READ).json()
    assert "42 million" in answer["text"]
    assert answer["citations"][0]["article_id"] == article["id"]
    assert answer["citations"][0]["url"] == "https://example.com/zorblat"

    # The same article again changes nothing; a later `newsbot ingest` finds it unchanged.
    again = client.post("/v1/articles", json={"articles": [article]}, headers=ADMIN).json()
    assert again["published"] is False and again["files"][0]["status"] == "unchanged"
    assert not service.is_stale()


def test_adding_an_article_as_text(fresh: tuple[TestClient, NewsService]) -> None:
    client, _ = fresh
    text = (
        "title: Quarble festival moved\ndate: 2023-07-14\nsource: Example News\n\n"
        "The Quarble festival will move to the harbour in August, the organisers said."
    )
    r = client.post(
        "/v1/articles", content=text.encode(), headers={**ADMIN, "content-type": "text/plain"}
    )
    assert r.status_code == 200, r.text
    [status] = r.json()["files"]
    assert status["status"] == "indexed"
    items = client.get("/v1/articles", headers=READ).json()["items"]
    added = next(a for a in items if a["id"] == status["article_ids"][0])
    assert added["title"] == "Quarble festival moved" and added["date"] == "2023-07-14"


def test_adding_articles_validates_first(fresh: tuple[TestClient, NewsService]) -> None:
    client, service = fresh
    snapshot = service.store.current_name()
    bad_bodies: list[tuple[bytes, str, int]] = [
        (b'{"articles": []}', "application/json", 422),
        (b'{"articles": [{"text": "   "}]}', "application/json", 422),
        (b'{"articles": [{"text": "x", "date": "yesterday"}]}', "application/json", 422),
        (b'{"articles": [{"text": "x", "url": "javascript:alert(1)"}]}', "application/json", 422),
        (b'{"articles": [{"text": "x", "id": "../../etc/passwd"}]}', "application/json", 422),
        (b"{broken", "application/json", 422),
        (b"\xff\xfe not utf-8", "text/plain", 422),
        (b"   \n", "text/plain", 422),
        (b"<p>hi</p>", "text/html", 415),
    ]
    for body, ctype, status in bad_bodies:
        r = client.post("/v1/articles", content=body, headers={**ADMIN, "content-type": ctype})
        assert_problem(r, status)
    assert service.store.current_name() == snapshot


def test_articles_without_usable_text_are_reported_not_written(
    fresh: tuple[TestClient, NewsService], seed_docs: Path
) -> None:
    client, service = fresh
    snapshot = service.store.current_name()
    invisible = {"articles": [{"id": "ghost", "text": "\u200b\u200d\u2060"}]}
    r = client.post("/v1/articles", json=invisible, headers=ADMIN)
    assert r.status_code == 200
    [status] = r.json()["files"]
    assert status["status"] == "skipped" and status["detail"].startswith("not written")
    r = client.post(
        "/v1/articles", content=b"\x12", headers={**ADMIN, "content-type": "text/plain"}
    )
    assert r.status_code == 200 and r.json()["files"][0]["status"] == "skipped"
    assert r.json()["published"] is False
    assert not (seed_docs / "added").exists()
    assert service.store.current_name() == snapshot


def test_a_snapshot_published_elsewhere_is_picked_up(
    fresh: tuple[TestClient, NewsService], seed_docs: Path, embedder: Embedder
) -> None:
    client, service = fresh
    before = client.get("/readyz").json()["snapshot"]
    (seed_docs / "plonk.txt").write_text(
        "date 2022-02-02\nThe Plonk bridge reopened after 17 months of repairs.\n", encoding="utf-8"
    )
    NewsService(service.settings, embedder).ingest(progress=False)  # like `newsbot ingest`
    deadline = time.monotonic() + 30
    while client.get("/readyz").json().get("snapshot", before) == before:
        assert time.monotonic() < deadline, "the new snapshot was not picked up"
        time.sleep(0.1)
    ids = [a["id"] for a in client.get("/v1/articles", headers=READ).json()["items"]]
    assert "plonk" in ids


# --- OpenAI-compatible API -----------------------------------------------------------------


def _chat(messages: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    return {"model": "newsbot", "messages": messages, **extra}


def test_chat_completion_returns_the_cited_answer(client: TestClient) -> None:
    r = client.post(
        "/v1/chat/completions", json=_chat([{"role": "user", "content": QUESTION}]), headers=READ
    )
    assert r.status_code == 200
    body = r.json()
    assert body["object"] == "chat.completion" and body["model"] == "newsbot"
    assert body["choices"][0]["message"]["content"].startswith("On November 1, 2021 [1]")
    assert body["choices"][0]["finish_reason"] == "stop"
    assert body["citations"][0]["article_id"] == SEED_ID
    assert body["abstained"] is False


def test_chat_stream_ends_with_citations_and_done(client: TestClient) -> None:
    messages = [
        {"role": "system", "content": "You are helpful."},
        {"role": "user", "content": [{"type": "text", "text": QUESTION}]},
    ]
    r = client.post("/v1/chat/completions", json=_chat(messages, stream=True), headers=READ)
    assert r.status_code == 200
    frames = [data for _, data in events(r.text)]
    assert frames[-1] == "[DONE]"
    chunks = [json.loads(f) for f in frames[:-1]]
    assert all(c["object"] == "chat.completion.chunk" for c in chunks)
    text = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks)
    assert text.startswith("On November 1, 2021 [1]")
    assert chunks[-1]["choices"][0]["finish_reason"] == "stop"
    assert chunks[-1]["citations"][0]["article_id"] == SEED_ID


def test_chat_follow_ups_from_messages_or_a_session(
    client: TestClient, counting: CountingService
) -> None:
    follow = "What did he decide on 6 October?"
    replayed = [
        {"role": "user", "content": "Who is Jens Stoltenberg?"},
        {"role": "assistant", "content": "NATO Secretary-General Jens Stoltenberg [1]"},
        {"role": "user", "content": follow},
    ]
    body = client.post("/v1/chat/completions", json=_chat(replayed), headers=READ).json()
    assert body["standalone_question"] == "What did Jens Stoltenberg decide on 6 October?"
    alone = client.post(
        "/v1/chat/completions", json=_chat([{"role": "user", "content": follow}]), headers=READ
    ).json()
    assert alone["standalone_question"] == follow

    sid = f"chat-{time.monotonic_ns()}"
    for headers, payload in (
        ({**READ, "X-Session-Id": sid}, {}),
        (READ, {"user": f"user-{sid}"}),
    ):
        first = _chat([{"role": "user", "content": "Who is Jens Stoltenberg?"}], **payload)
        client.post("/v1/chat/completions", json=first, headers=headers)
        second = _chat([{"role": "user", "content": follow}], **payload)
        body = client.post("/v1/chat/completions", json=second, headers=headers).json()
        assert body["standalone_question"] == "What did Jens Stoltenberg decide on 6 October?"
    assert len(counting.sessions.history(session_key(principal(client.app, READ_KEY), sid))) == 2


def test_chat_requests_are_validated(client: TestClient) -> None:
    cases = [
        _chat([{"role": "system", "content": "no question here"}]),
        _chat([]),
        {"model": "gpt-4o", "messages": [{"role": "user", "content": QUESTION}]},
        _chat([{"role": "user", "content": "x" * 1001}]),
        _chat([{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "x"}}]}]),
    ]
    for payload in cases:
        r = client.post("/v1/chat/completions", json=payload, headers=READ)
        body = assert_problem(r, 422)
        assert body["error"]["message"] == body["detail"]  # what OpenAI clients show


def test_models(client: TestClient) -> None:
    listed = client.get("/v1/models", headers=READ).json()
    assert listed["object"] == "list" and [m["id"] for m in listed["data"]] == ["newsbot"]
    assert client.get("/v1/models/newsbot", headers=READ).json()["id"] == "newsbot"
    assert_problem(client.get("/v1/models/gpt-4o", headers=READ), 404)
