"""The HTTP API on a real uvicorn on 127.0.0.1: the official OpenAI client, 50 concurrent
sessions, an oversized chunked body, graceful shutdown, and `newsbot serve` itself."""

from __future__ import annotations

import asyncio
import re
import signal
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
from starlette.types import Message, Receive, Scope, Send
from test_http_support import (
    READ,
    READ_KEY,
    CountingService,
    LiveServer,
    clean_env,
    free_port,
    newsbot,
    principal,
    wait_ready,
    with_http,
)

from bot.http import create_app
from bot.http.auth import session_key
from retrieval.service import NewsService

REPO = Path(__file__).resolve().parent.parent
QUESTION = "When is the accreditation withdrawn?"
SEED_ID = "2021-10-19-russia-nato-mission"


@pytest.fixture(scope="module")
def counting(seed_service: NewsService) -> CountingService:
    return CountingService(seed_service)


@pytest.fixture(scope="module")
def live(counting: CountingService, seed_service: NewsService) -> Iterator[LiveServer]:
    app = create_app(counting, with_http(seed_service.settings, rate_limit_per_minute=100_000))
    with LiveServer(app) as server:
        yield server


# --- the official OpenAI client ------------------------------------------------------------


@pytest.fixture
def oai(live: LiveServer) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{live.url}/v1", api_key=READ_KEY, max_retries=0)


def test_openai_client_gets_the_cited_answer(oai: openai.OpenAI) -> None:
    completion = oai.chat.completions.create(
        model="newsbot", messages=[{"role": "user", "content": QUESTION}]
    )
    text = completion.choices[0].message.content
    assert text is not None and text.startswith("On November 1, 2021 [1]")
    assert completion.choices[0].finish_reason == "stop"
    citations = (completion.model_extra or {})["citations"]
    assert citations[0]["n"] == 1 and citations[0]["article_id"] == SEED_ID
    assert "November 1, 2021" in citations[0]["quote"]


def test_openai_client_streams_the_cited_answer(oai: openai.OpenAI) -> None:
    stream = oai.chat.completions.create(
        model="newsbot", messages=[{"role": "user", "content": QUESTION}], stream=True
    )
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text.startswith("On November 1, 2021 [1]")
    final = chunks[-1]
    assert final.choices[0].finish_reason == "stop"
    assert (final.model_extra or {})["citations"][0]["article_id"] == SEED_ID


def test_openai_client_models_and_errors(live: LiveServer, oai: openai.OpenAI) -> None:
    assert [m.id for m in oai.models.list()] == ["newsbot"]
    assert oai.models.retrieve("newsbot").id == "newsbot"
    with pytest.raises(openai.UnprocessableEntityError, match="limit is 1000"):
        oai.chat.completions.create(
            model="newsbot", messages=[{"role": "user", "content": "why " * 400}]
        )
    wrong = openai.OpenAI(base_url=f"{live.url}/v1", api_key="not-a-key", max_retries=0)
    with pytest.raises(openai.AuthenticationError):
        wrong.chat.completions.create(
            model="newsbot", messages=[{"role": "user", "content": QUESTION}]
        )


# --- concurrency ---------------------------------------------------------------------------


@pytest.mark.slow
def test_50_concurrent_sessions_never_see_each_other(
    live: LiveServer, counting: CountingService
) -> None:
    tokens = [f"zq{uuid.uuid4().hex[:10]}" for _ in range(50)]
    pattern = re.compile(r"zq[0-9a-f]{10}")

    async def converse(client: httpx.AsyncClient, token: str) -> list[dict[str, Any]]:
        sid = f"s-{token}"
        turns = [f"What did NATO say about {token}?", "And when did it happen?"]
        answers = []
        for question in turns:
            r = await client.post(
                "/v1/answer", json={"question": question, "session_id": sid}, headers=READ
            )
            assert r.status_code == 200, r.text
            answers.append(r.json())
        return answers

    async def main() -> list[list[dict[str, Any]]]:
        limits = httpx.Limits(max_connections=50)
        async with httpx.AsyncClient(base_url=live.url, timeout=120, limits=limits) as client:
            return await asyncio.gather(*(converse(client, t) for t in tokens))

    results = asyncio.run(main())
    for token, answers in zip(tokens, results, strict=True):
        for answer in answers:
            seen = set(pattern.findall(answer["question"] + " " + answer["standalone_question"]))
            seen |= set(pattern.findall(answer["text"]))
            assert seen <= {token}
        # The follow-up was read in its own session's context, and only in it.
        assert set(pattern.findall(answers[1]["standalone_question"])) == {token}
        reader = principal(live.app, READ_KEY)
        history = counting.sessions.history(session_key(reader, f"s-{token}"))
        assert len(history) == 2
        recorded = " ".join(f"{t.question} {t.standalone} {t.answer}" for t in history)
        assert set(pattern.findall(recorded)) == {token}


# --- limits on a real server ---------------------------------------------------------------


class _BodyMeter:
    """Counts the request body bytes the server hands to the app (outermost ASGI layer)."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.received = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def metered() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                self.received += len(message.get("body", b""))
            return message

        await self.app(scope, metered, send)


def _chunks(total_mb: int) -> Iterator[bytes]:
    block = b"x" * (1 << 20)
    yield b'{"question": "'
    for _ in range(total_mb):
        yield block


@pytest.mark.slow
def test_oversized_chunked_body_gets_413_and_is_not_read(
    seed_service: NewsService, counting: CountingService
) -> None:
    settings = with_http(seed_service.settings)
    meter = _BodyMeter(create_app(counting, settings))
    before = counting.asked
    with LiveServer(meter.app, app_wrapper=meter) as server:
        r = httpx.post(
            f"{server.url}/v1/answer",
            content=_chunks(50),  # 50 MB, no Content-Length
            headers={**READ, "content-type": "application/json"},
            timeout=120,
        )
        assert r.status_code == 413
        assert r.headers["content-type"] == "application/problem+json"
        # Reading stopped right after the cap (one more network read at most).
        cap = settings.http.max_body_bytes
        assert cap < meter.received <= cap + 1024 * 1024
        # The server keeps serving.
        ok = httpx.post(f"{server.url}/v1/answer", json={"question": QUESTION}, headers=READ)
        assert ok.status_code == 200
    assert counting.asked == before + 1


def test_wrong_key_on_a_real_server_runs_no_retrieval(
    live: LiveServer, counting: CountingService
) -> None:
    before = counting.asked
    for headers in ({}, {"Authorization": "Bearer nope"}):
        r = httpx.post(f"{live.url}/v1/answer", json={"question": QUESTION}, headers=headers)
        assert r.status_code == 401
        assert r.headers["www-authenticate"].startswith("Bearer")
    assert counting.asked == before


# --- graceful shutdown ---------------------------------------------------------------------


def test_sigterm_lets_answers_in_flight_finish(seed_service: NewsService) -> None:
    slow = CountingService(seed_service, delay=1.5)
    app = create_app(slow, with_http(seed_service.settings))
    state = app.state.newsbot
    results: list[httpx.Response] = []
    server = LiveServer(app).__enter__()
    try:
        url = server.url

        def ask() -> None:
            results.append(
                httpx.post(
                    f"{url}/v1/answer", json={"question": QUESTION}, headers=READ, timeout=60
                )
            )

        caller = threading.Thread(target=ask)
        caller.start()
        while slow.asked == 0:  # the answer is in flight
            time.sleep(0.01)
        server.server.handle_exit(signal.SIGTERM, None)  # what the signal handler does
        assert state.draining
        caller.join(timeout=30)
    finally:
        server.__exit__(None, None, None)
    assert not server.thread.is_alive()
    assert results[0].status_code == 200
    assert results[0].json()["short_answer"] == "November 1, 2021"


# --- `newsbot serve` -----------------------------------------------------------------------


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def _serve(cfg: Path, *args: str, env: dict[str, str]) -> subprocess.Popen[str]:
    return newsbot(cfg, "serve", *args, env=env)


@pytest.fixture
def serve_config(tmp_path: Path, seed_docs: Path) -> Path:
    cfg = tmp_path / "config.yaml"
    cfg.write_text(
        f"paths:\n  docs: [{seed_docs}]\n  index_dir: {tmp_path / 'index'}\n"
        f"sessions:\n  path: {tmp_path / 'sessions.sqlite'}\n",
        encoding="utf-8",
    )
    return cfg


_env = clean_env
_free_port = free_port


def test_serve_refuses_unsafe_configurations(serve_config: Path) -> None:
    no_keys = _serve(serve_config, "--port", "1", env=_env())
    out, _ = no_keys.communicate(timeout=120)
    assert no_keys.returncode == 1 and "no API keys" in out
    exposed = _serve(
        serve_config,
        "--host",
        "0.0.0.0",
        "--port",
        "1",
        env=_env(NEWSBOT_HTTP__AUTH_DISABLED="true"),
    )
    out, _ = exposed.communicate(timeout=120)
    assert exposed.returncode == 1 and "loopback" in out and "Traceback" not in out


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_newsbot_serve_end_to_end(serve_config: Path) -> None:
    """Start `newsbot serve`, answer, refuse a 50 MB chunked body without growing, SIGTERM."""
    port = _free_port()
    keys = f'["{READ_KEY}"]'
    proc = _serve(serve_config, "--port", str(port), env=_env(NEWSBOT_HTTP__API_KEYS=keys))
    url = f"http://127.0.0.1:{port}"
    try:
        wait_ready(proc, url, 300)
        r = httpx.post(f"{url}/v1/answer", json={"question": QUESTION}, headers=READ)
        assert r.json()["short_answer"] == "November 1, 2021"

        samples: list[float] = []
        stop = threading.Event()

        def sample() -> None:
            while not stop.is_set():
                samples.append(_rss_mb(proc.pid))
                time.sleep(0.005)

        baseline = _rss_mb(proc.pid)
        sampler = threading.Thread(target=sample)
        sampler.start()
        r = httpx.post(
            f"{url}/v1/answer",
            content=_chunks(50),
            headers={**READ, "content-type": "application/json"},
            timeout=120,
        )
        stop.set()
        sampler.join()
        assert r.status_code == 413
        growth = max(samples) - baseline
        print(f"\nserver RSS {baseline:.0f} MB; peak growth during the 50 MB body {growth:.1f} MB")
        assert growth < 10, f"the server's memory grew by {growth:.1f} MB"
    finally:
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=60)
    assert "draining" in out and "Finished server process" in out
    assert proc.returncode in (0, -signal.SIGTERM)
    assert READ_KEY not in out
