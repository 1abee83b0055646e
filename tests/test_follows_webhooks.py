"""Alerts by webhook: URLs refused and accepted, the signed POST a local receiver on
127.0.0.1 gets (once, with a valid signature), retries while the receiver is down (then
once), order, restarts between queueing and delivery (no loss, no duplicate), and
``PUT/GET/DELETE /v1/webhook``."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from retrieval.answer import Citation
from retrieval.config import Settings
from retrieval.embeddings import Embedder
from retrieval.errors import InputError
from retrieval.follows.alerts import Alert
from retrieval.follows.store import FollowStore, Match
from retrieval.follows.webhooks import URL_PATTERN, WebhookStore, backoff, check_url, sign
from retrieval.service import NewsService

FAST_RETRY = {"check_every_s": 0.1, "webhook_retry_s": 0.2, "webhook_allow_private": True}


class Receiver:
    """A webhook receiver on 127.0.0.1: records every POST; ``status`` is what it answers.
    :meth:`down` closes its socket (connections are refused), :meth:`up` listens again on
    the same port."""

    def __init__(self, status: int = 200) -> None:
        self.status = status
        self.delay_s = 0.0  # before answering
        self.got: list[tuple[dict[str, str], bytes]] = []
        self.answered: list[int] = []  # the status answered to each POST in ``got``
        self.port = 0
        self._httpd: ThreadingHTTPServer | None = None
        self.up()

    def up(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                receiver.got.append(({k.lower(): v for k, v in self.headers.items()}, body))
                receiver.answered.append(receiver.status)
                time.sleep(receiver.delay_s)
                self.send_response(receiver.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self._httpd = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._httpd.daemon_threads = True
        self.port = self._httpd.server_address[1]
        threading.Thread(target=self._httpd.serve_forever, daemon=True).start()

    def down(self) -> None:
        assert self._httpd is not None
        self._httpd.shutdown()
        self._httpd.server_close()
        self._httpd = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook?team=news"

    def events(self) -> list[dict[str, Any]]:
        return [json.loads(body) for _, body in self.got]


def _alert(chat: str, follow_id: int, title: str) -> Alert:
    c = Citation(
        n=1,
        article_id=title,
        title=title,
        date="2026-12-01",
        source="Island Courier",
        url="https://example.org/" + title.replace(" ", "-"),
        quote=f"{title} happened.",
        chunk_id=f"{title}#0",
        score=0.9,
    )
    return Alert(chat=chat, follow_id=follow_id, topic="ferries", citation=c)


def _queue(store: FollowStore, chat: str, titles: list[str]) -> None:
    matches = [Match(chat, 1, f"story:{t}", _alert(chat, 1, t)) for t in titles]
    store.record(matches, cursor=0, per_hour=100, now=time.time())


def _valid(secret: str, headers: dict[str, str], body: bytes) -> bool:
    want = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(headers["newsbot-signature"], want)


# --- URLs, signatures, backoff ------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "https://example.org/hooks/newsbot",
        "http://127.0.0.1:8080/hook?team=news&x=@y",
        "https://hooks.example.org",
        "https://example.org:65535/",
    ],
)
def test_plain_http_urls_are_accepted(url: str) -> None:
    assert check_url(url) == url


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("ftp://example.org/hook", "http:// or https://"),
        ("file:///etc/passwd", "http:// or https://"),
        ("https://user:secret@example.org/hook", "credentials"),
        ("https://token@example.org/", "credentials"),
        ("https://example.org:99999/", "not a webhook URL"),
        ("https://exa mple.org/", "not a webhook URL"),
        ("https://[::1]/", "not a webhook URL"),
        ("https://example.org/" + "a" * 2048, "the limit is 2048"),
    ],
)
def test_other_urls_are_refused_with_the_reason(url: str, reason: str) -> None:
    with pytest.raises(InputError, match=reason.replace("/", ".").replace(":", ".")):
        check_url(url)


def test_the_published_pattern_is_the_check() -> None:
    import re

    pattern = re.compile(URL_PATTERN)
    for url in ("https://a.b/c", "http://x:1?q", "https://u:p@x/", "https://x:0/", "https://x/ y"):
        try:
            check_url(url)
            accepted = True
        except InputError:
            accepted = False
        assert accepted == bool(pattern.fullmatch(url)), url


def test_signature_and_backoff() -> None:
    body = b'{"id": 1}'
    assert sign("whsec_k", body) == (
        "sha256=" + hmac.new(b"whsec_k", body, hashlib.sha256).hexdigest()
    )
    assert [backoff(n, 5, 60) for n in (1, 2, 3, 4, 5)] == [5, 10, 20, 40, 60]


def test_a_registration_has_its_own_secret_and_a_failure_holds_back_later_alerts(
    tmp_path: Path,
) -> None:
    store = FollowStore(tmp_path / "s.sqlite")
    hooks = WebhookStore(store)
    first = hooks.register("http:k1", "https://example.org/a", now=10)
    again = hooks.register("http:k1", "https://example.org/b", now=20)
    assert first.secret != again.secret and first.secret.startswith("whsec_")
    assert hooks.get("http:k1") == again and hooks.all() == [again]
    _queue(store, "http:k1", ["A", "B"])
    _queue(store, "http:k2", ["C"])
    a, b = hooks.due("http:k1", now=30)
    assert [a.citation.title, b.citation.title] == ["A", "B"]  # type: ignore[union-attr]
    assert hooks.failed("http:k1", a.id, "HTTP 503", 5, 60, now=30) == 35
    assert hooks.due("http:k1", now=34) == []  # B waits behind A
    assert hooks.failed("http:k1", a.id, "HTTP 503", 5, 60, now=35) == 45
    assert hooks.attempts(a.id) == 2 and hooks.get("http:k1").last_error == "HTTP 503"  # type: ignore[union-attr]
    assert [x.id for x in hooks.due("http:k1", now=45)] == [a.id, b.id]
    hooks.succeeded("http:k1", a.id, now=46)
    assert [x.id for x in hooks.due("http:k1", now=46)] == [b.id]
    assert hooks.waiting("http:k1") == 1 and hooks.get("http:k1").last_error is None  # type: ignore[union-attr]
    assert hooks.remove("http:k1") and not hooks.remove("http:k1")
    assert [x.citation.title for x in store.pending("http:k1")] == ["B"]  # type: ignore[union-attr]


# --- delivery to a local receiver ------------------------------------------------------------


@pytest.fixture
def quick(make_settings: Callable[..., Settings], tmp_path: Path) -> Settings:
    (tmp_path / "docs").mkdir(exist_ok=True)
    return make_settings(follows=FAST_RETRY)


def _rounds(service: NewsService, n: int, pause: float = 0.0) -> int:
    """``n`` delivery rounds of the HTTP server's loop, without the server."""
    from bot.http.webhooks import deliver_once

    async def go() -> int:
        taken = 0
        async with httpx.AsyncClient(timeout=2, follow_redirects=False) as client:
            for _ in range(n):
                taken += await deliver_once(client, service.follows)
                await asyncio.sleep(pause)
        return taken

    return asyncio.run(go())


def test_an_alert_is_posted_once_signed_with_the_registration_secret(
    quick: Settings, receiver: Receiver
) -> None:
    service = NewsService(quick)
    hook = service.follows.webhooks.register("http:k1", receiver.url)
    _queue(service.follows.store, "http:k1", ["Ferry strike", "Strike ends"])
    _queue(service.follows.store, "http:k2", ["Not theirs"])  # no webhook: stays for polling
    assert _rounds(service, 3) == 2
    assert [e["alert"]["citation"]["title"] for e in receiver.events()] == [
        "Ferry strike",
        "Strike ends",
    ]
    for headers, body in receiver.got:
        assert _valid(hook.secret, headers, body)
        assert headers["content-type"] == "application/json"
        assert headers["newsbot-alert-id"] == str(json.loads(body)["id"])
    first = receiver.events()[0]
    assert first["id"] == first["alert"]["id"] and first["text"].startswith("New on ferries")
    c = first["alert"]["citation"]
    assert (c["source"], c["date"], c["quote"], c["url"]) == (
        "Island Courier",
        "2026-12-01",
        "Ferry strike happened.",
        "https://example.org/Ferry-strike",
    )
    assert service.follows.pending("http:k1") == []
    assert [a.citation.title for a in service.follows.pending("http:k2")] == ["Not theirs"]  # type: ignore[union-attr]


def test_a_receiver_down_then_up_gets_every_alert_once_in_order(
    quick: Settings, receiver: Receiver
) -> None:
    service = NewsService(quick)
    hooks = service.follows.webhooks
    hooks.register("http:k1", receiver.url)
    _queue(service.follows.store, "http:k1", ["One", "Two", "Three"])
    receiver.down()
    assert _rounds(service, 2, pause=0.3) == 0  # refused twice: the second after the backoff
    assert hooks.attempts(service.follows.pending("http:k1")[0].id) == 2
    assert "ConnectError" in (hooks.get("http:k1").last_error or "")  # type: ignore[union-attr]
    receiver.up()
    receiver.status = 503  # up, but failing: not taken, retried
    _until(service, lambda: bool(receiver.got))
    receiver.status = 200
    _until(service, lambda: not service.follows.pending("http:k1"))
    titles = [e["alert"]["citation"]["title"] for e in receiver.events()]
    assert list(zip(titles, receiver.answered, strict=True)) == [
        ("One", 503),
        ("One", 200),
        ("Two", 200),
        ("Three", 200),
    ]
    ids = [e["id"] for e in receiver.events()]
    assert ids[0] == ids[1] and len(set(ids)) == 3  # the retry keeps the alert's id
    assert hooks.get("http:k1").last_error is None  # type: ignore[union-attr]


def _until(service: NewsService, done: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not done():
        assert time.monotonic() < deadline, "timed out"
        _rounds(service, 1, pause=0.1)


def test_a_failing_scan_does_not_hold_back_queued_alerts(
    quick: Settings, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    service = NewsService(quick)
    service.follows.webhooks.register("http:k1", receiver.url)
    _queue(service.follows.store, "http:k1", ["One"])

    def broken(now: float | None = None) -> int:
        raise RuntimeError("the index is gone")

    monkeypatch.setattr(service.follows, "tick", broken)
    assert _rounds(service, 1) == 1 and len(receiver.got) == 1


def test_a_receiver_that_does_not_answer_in_time_is_retried(
    make_settings: Callable[..., Settings], tmp_path: Path, receiver: Receiver
) -> None:
    (tmp_path / "docs").mkdir(exist_ok=True)
    cfg = {**FAST_RETRY, "webhook_timeout_s": 0.3, "webhook_retry_s": 60}
    service = NewsService(make_settings(follows=cfg))
    service.follows.webhooks.register("http:k1", receiver.url)
    _queue(service.follows.store, "http:k1", ["One"])
    receiver.delay_s = 2.0
    assert _rounds(service, 1) == 0 and len(receiver.got) == 1
    (alert,) = service.follows.pending("http:k1")
    assert service.follows.webhooks.attempts(alert.id) == 1


def test_a_private_address_is_refused_unless_allowed(
    make_settings: Callable[..., Settings], tmp_path: Path, receiver: Receiver
) -> None:
    (tmp_path / "docs").mkdir(exist_ok=True)
    service = NewsService(make_settings(follows={"webhook_retry_s": 60}))
    service.follows.webhooks.register("http:k1", receiver.url)
    _queue(service.follows.store, "http:k1", ["One"])
    assert _rounds(service, 1) == 0 and receiver.got == []
    error = service.follows.webhooks.get("http:k1").last_error or ""  # type: ignore[union-attr]
    assert "127.0.0.1, not a public address" in error


# --- over HTTP, with restarts ------------------------------------------------------------------


@pytest.fixture
def served(
    make_settings: Callable[..., Settings], seed_docs: Path, embedder: Embedder
) -> tuple[Settings, Embedder]:
    return make_settings([seed_docs], follows=FAST_RETRY), embedder


def _wait(predicate: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_webhook_endpoints_and_restarts_lose_nothing_and_repeat_nothing(
    served: tuple[Settings, Embedder], receiver: Receiver
) -> None:
    from test_http_support import ADMIN, READ, principal

    from tests.test_http_api import client_for

    settings, embedder = served
    service = NewsService(settings, embedder)
    with client_for(service, settings) as client:
        assert client.get("/v1/webhook", headers=READ).status_code == 404
        for bad in ("ftp://x.org/", "https://u:p@x.org/", "https://x.org/" + "a" * 2100):
            r = client.put("/v1/webhook", json={"url": bad}, headers=READ)
            assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json"
        r = client.put("/v1/webhook", json={"url": receiver.url}, headers=READ)
        assert r.status_code == 201, r.text
        secret = r.json()["secret"]
        assert r.json()["signature_header"] == "Newsbot-Signature"
        status = client.get("/v1/webhook", headers=READ).json()
        assert status["url"] == receiver.url and "secret" not in status and status["waiting"] == 0
        chat = f"http:{principal(client.app, 'read-key-0123456789abcdef').id}"
        other = client.put("/v1/webhook", json={"url": receiver.url + "&admin"}, headers=ADMIN)
        assert other.status_code == 201 and other.json()["secret"] != secret  # per key
        receiver.down()
        _queue(service.follows.store, chat, ["Queued before the restart"])
        _wait(lambda: (service.follows.webhooks.get(chat).last_error or "") != "")  # type: ignore[union-attr]
        assert client.get("/v1/webhook", headers=READ).json()["waiting"] == 1
    # Stopped with the alert still queued; the receiver comes back, the server restarts.
    receiver.up()
    service = NewsService(settings, embedder)
    with client_for(service, settings) as client:
        _wait(lambda: len(receiver.got) == 1)
        time.sleep(0.5)  # a few more delivery rounds
        assert client.get("/v1/webhook", headers=READ).json()["waiting"] == 0
    service = NewsService(settings, embedder)
    with client_for(service, settings) as client:
        time.sleep(0.5)
        ((headers, body),) = receiver.got  # once, with a valid signature
        assert _valid(secret, headers, body)
        assert json.loads(body)["alert"]["citation"]["title"] == "Queued before the restart"
        assert client.delete("/v1/webhook", headers=READ).status_code == 204
        assert client.delete("/v1/webhook", headers=READ).status_code == 404
        assert client.get("/v1/webhook", headers=READ).status_code == 404


@pytest.mark.slow
def test_a_followed_topic_in_a_polled_feed_reaches_the_webhook_once_with_its_citation(
    served: tuple[Settings, Embedder], receiver: Receiver
) -> None:
    from test_http_support import READ

    from tests.test_follows import STRIKE_QUOTE, _poll, feed_server
    from tests.test_http_api import client_for

    settings, embedder = served
    service = NewsService(settings, embedder)
    with feed_server() as feeds, client_for(service, settings) as client:
        assert client.post("/v1/follows", json={"topic": "ferry strike"}, headers=READ).is_success
        secret = client.put("/v1/webhook", json={"url": receiver.url}, headers=READ).json()[
            "secret"
        ]
        time.sleep(0.5)  # the first scan starts from now
        _poll(settings, embedder, feeds.url("/news.xml"))
        _wait(lambda: len(receiver.got) == 1, timeout=60)
        _poll(settings, embedder, feeds.url("/wire.xml"))  # a copy of the same story
        time.sleep(1.0)
    ((headers, body),) = receiver.got
    assert _valid(secret, headers, body)
    c = json.loads(body)["alert"]["citation"]
    assert c["title"] == "Ferry strike halts island crossings" and c["source"] == "Island Courier"
    assert c["quote"].startswith(STRIKE_QUOTE) and c["url"] == feeds.url(
        "/courier/ferry-strike.html"
    )
