"""Stateless replicas on one PostgreSQL (issue 22): a worker runs the real `newsbot ingest`,
three real `newsbot serve` replicas answer behind a tiny round-robin proxy written here.

The proxy sends each request to the next replica; when that replica cannot be reached or
drops the connection (a replica killed with -9), it sends the same request to the next one,
as nginx's ``proxy_next_upstream error`` does. The clients send an ``Idempotency-Key`` with
each turn, so that a turn retried after its first attempt was recorded is recorded once.

Each replica has a folder (config, sessions file) of its own and no articles: all they share
is the database. The replicas are started once for the module; the kill -9 test runs last.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import signal
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from test_http_support import READ, READ_KEY, clean_env, free_port, newsbot, wait_ready

from bot.http.auth import Principal, key_id, session_key
from tests.conftest import REPO, SEED
from tests.pg_support import stopped
from tests.rr_proxy import RoundRobinProxy

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

CORPUS = REPO / "tests" / "data" / "time_corpus.jsonl"
# (article, a question about it, a follow-up that is about it only in its conversation, a
# word the follow-up's standalone question carries from the first turn). Asked alone, the
# follow-ups of the first three cite another article.
TOPICS = [
    ("pixel", "What did Google unveil?", "What chip does it have?", "Google"),
    ("ftx-wang", "Who is Gary Wang?", "What did he say?", "Gary Wang"),
    ("ftx-ellison", "Who is Caroline Ellison?", "What did she say?", "Caroline Ellison"),
    ("scary-fast", "What did Apple show at its Scary Fast event?", "How long did it last?",
     "Apple"),
    ("vikings-nov", "Who is Joshua Dobbs?", "How many times was he sacked?", ""),
]  # fmt: skip
FERRY_QUESTION = "When did the island ferry resume service?"


# --- the cluster ---------------------------------------------------------------------------


@dataclass
class Cluster:
    """The database, the worker's folder and config, the replicas and the proxy."""

    db: str
    server: str  # the session server's URL (to stop and start it)
    docs: Path
    worker: Path
    env: dict[str, str]
    replicas: list[subprocess.Popen[str]]
    urls: list[str]
    proxy: RoundRobinProxy
    logs: list[Path] = field(default_factory=list)

    def ingest(self) -> None:
        """Run the worker's `newsbot ingest` to the end."""
        proc = newsbot(self.worker, "ingest", env=self.env)
        out, _ = proc.communicate(timeout=600)
        assert proc.returncode == 0, out

    def session(self, sid: str) -> str:
        """The key the replicas store an HTTP session under (the read key's identity)."""
        import psycopg

        with psycopg.connect(self.db) as conn:
            (secret,) = conn.execute(
                "SELECT secret FROM server_secrets WHERE name = 'http-key-identity'"
            ).fetchone()
        return session_key(Principal(key_id(bytes(secret), READ_KEY), False), sid)

    def turns(self, sid: str) -> list[tuple[str, str, str]]:
        """A session's recorded turns: (question, standalone, first cited article)."""
        import psycopg

        with psycopg.connect(self.db) as conn:
            rows = conn.execute(
                "SELECT question, standalone, citations FROM turns WHERE session_id = %s "
                "ORDER BY id",
                (self.session(sid),),
            ).fetchall()
        return [(q, s, (json.loads(c) or [{}])[0].get("article_id", "")) for q, s, c in rows]


def _config(folder: Path, docs: Path | str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    cfg = folder / "config.yaml"
    cfg.write_text(
        f"paths:\n  docs: [{docs}]\n  index_dir: index\nsessions:\n  path: sessions.sqlite\n"
        "store:\n  backend: postgres\ndatabase:\n  url: ${NEWSBOT_DATABASE_URL}\n"
        "http:\n  rate_limit_per_minute: 100000\n",
        encoding="utf-8",
    )
    return cfg


@pytest.fixture(scope="module")
def cluster(
    tmp_path_factory: pytest.TempPathFactory, pg_server: str, new_database: Any
) -> Iterator[Cluster]:
    root = tmp_path_factory.mktemp("replicas")
    docs = root / "worker" / "docs"
    docs.mkdir(parents=True)
    shutil.copy(SEED, docs / SEED.name)
    shutil.copy(CORPUS, docs / CORPUS.name)
    db = new_database()
    env = clean_env(NEWSBOT_DATABASE_URL=db, NEWSBOT_HTTP__API_KEYS=json.dumps([READ_KEY]))
    worker = _config(root / "worker", docs)
    ports = [free_port() for _ in range(3)]
    procs: list[subprocess.Popen[str]] = []
    logs = [root / f"replica{i}.log" for i in range(3)]
    proxy = RoundRobinProxy(ports)
    c = Cluster(db, pg_server, docs, worker, env, procs, [], proxy, logs)
    c.ingest()
    try:
        for i, port in enumerate(ports):
            cfg = _config(root / f"replica{i}", "no-articles-here")
            procs.append(newsbot(cfg, "serve", "--port", str(port), env=env, log=logs[i]))
            c.urls.append(f"http://127.0.0.1:{port}")
        for proc, url in zip(procs, c.urls, strict=True):
            wait_ready(proc, url, 300)
        with proxy:
            yield c
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in procs:
            proc.wait(timeout=60)


# --- helpers -------------------------------------------------------------------------------


def _ask(url: str, question: str, sid: str | None = None) -> httpx.Response:
    """POST /v1/answer (a turn of ``sid`` when given), with an Idempotency-Key."""
    body: dict[str, Any] = {"question": question}
    if sid:
        body["session_id"] = sid
    headers = {**READ, "Idempotency-Key": uuid.uuid4().hex}
    return httpx.post(f"{url}/v1/answer", json=body, headers=headers, timeout=120)


def _cited(answer: dict[str, Any]) -> str:
    """The article the answer cites first ('' for none)."""
    return str(answer["citations"][0]["article_id"]) if answer["citations"] else ""


def _ferry_article() -> str:
    """A new article long enough for several chunks; its first sentence answers the question."""
    days = " ".join(
        f"On day {i} of the new timetable the ferry carried {120 + 7 * i} passengers and "
        f"{30 + i} cars between the island and the mainland harbour."
        for i in range(1, 41)
    )
    return (
        "title: Island ferry back in service\ndate: 2024-03-04\nsource: Test Coast\n\n"
        "The island ferry resumed service on Monday after a week of storms. " + days + "\n"
    )


# --- the tests (in this order: the last one kills a replica) -------------------------------


def test_a_conversation_keeps_its_context_across_replicas(cluster: Cluster) -> None:
    article, first, follow, word = TOPICS[0]
    sid = f"a-{uuid.uuid4().hex}"
    r1 = _ask(cluster.proxy.url, first, sid)
    r2 = _ask(cluster.proxy.url, follow, sid)
    assert r1.status_code == r2.status_code == 200, (r1.text, r2.text)
    assert r1.headers["x-replica"] != r2.headers["x-replica"]  # two replicas answered
    a1, a2 = r1.json(), r2.json()
    assert _cited(a1) == _cited(a2) == article
    assert word in a2["standalone_question"]  # read with the turn another replica answered
    alone = _ask(cluster.proxy.url, follow)  # the same words out of the conversation
    assert alone.status_code == 200 and _cited(alone.json()) != article
    assert [(q, art) for q, _, art in cluster.turns(sid)] == [(first, article), (follow, article)]


def test_50_concurrent_sessions_never_see_each_other(cluster: Cluster) -> None:
    words = {w for *_, w in TOPICS if w}

    async def converse(client: httpx.AsyncClient, n: int) -> tuple[str, int, list[Any]]:
        sid = f"b{n}-{uuid.uuid4().hex[:8]}"
        answers = []
        for question in TOPICS[n % len(TOPICS)][1:3]:
            r = await client.post(
                "/v1/answer",
                json={"question": question, "session_id": sid},
                headers={**READ, "Idempotency-Key": uuid.uuid4().hex},
            )
            assert r.status_code == 200, r.text
            answers.append(r.json())
        return sid, n % len(TOPICS), answers

    async def main() -> list[tuple[str, int, list[Any]]]:
        limits = httpx.Limits(max_connections=50)
        async with httpx.AsyncClient(
            base_url=cluster.proxy.url, timeout=300, limits=limits
        ) as client:
            return await asyncio.gather(*(converse(client, n) for n in range(50)))

    results = asyncio.run(main())
    for sid, topic, (a1, a2) in results:
        article, first, follow, word = TOPICS[topic]
        assert _cited(a1) == _cited(a2) == article, sid
        others = {w for w in words - {word} if w not in word}
        assert not any(w in a2["standalone_question"] for w in others), a2["standalone_question"]
        assert word in a2["standalone_question"]
        assert [(q, art) for q, _, art in cluster.turns(sid)] == [
            (first, article),
            (follow, article),
        ]


def test_a_new_article_reaches_every_replica_whole_within_5_s(cluster: Cluster) -> None:
    before = _ask(cluster.proxy.url, FERRY_QUESTION)
    assert before.status_code == 200 and _cited(before.json()) != "ferry"
    (cluster.docs / "ferry.txt").write_text(_ferry_article(), encoding="utf-8")
    listed: list[int] = []  # the new article's chunk count, each time a replica listed it
    stop = threading.Event()

    def watch(url: str) -> None:
        with httpx.Client(base_url=url, headers=READ, timeout=60) as client:
            while not stop.is_set():
                page = client.get("/v1/articles", params={"limit": 500}).json()
                listed.extend(a["chunks"] for a in page["items"] if a["id"] == "ferry")
                time.sleep(0.05)

    watchers = [threading.Thread(target=watch, args=(url,)) for url in cluster.urls]
    for t in watchers:
        t.start()
    try:
        cluster.ingest()  # the worker, while the replicas answer and list
        committed = time.monotonic()
        late = set(range(len(cluster.urls)))
        while late and time.monotonic() - committed < 5.0:
            for i in sorted(late):
                asked = time.monotonic()
                r = _ask(cluster.urls[i], FERRY_QUESTION)
                if r.status_code == 200 and _cited(r.json()) == "ferry":
                    assert asked - committed <= 5.0
                    late.discard(i)
            time.sleep(0.1)
        assert not late, f"replicas {sorted(late)} did not answer from the new article in 5 s"
        time.sleep(0.5)  # the watchers list it a few more times
    finally:
        stop.set()
        for t in watchers:
            t.join(timeout=60)
    import psycopg

    with psycopg.connect(cluster.db) as conn:
        (n,) = conn.execute("SELECT count(*) FROM chunks WHERE article_id = 'ferry'").fetchone()
    assert n >= 3
    assert listed and set(listed) == {n}  # never a part of its chunks


def test_a_database_restart_is_a_clear_503_then_every_replica_serves_again(
    cluster: Cluster,
) -> None:
    question = TOPICS[1][1]
    targets = [*cluster.urls, cluster.proxy.url]
    with stopped(cluster.server):
        down: list[httpx.Response] = [None] * len(targets)  # type: ignore[list-item]

        def ask(i: int) -> None:
            down[i] = _ask(targets[i], question, sid=f"e-{i}")

        askers = [threading.Thread(target=ask, args=(i,)) for i in range(len(targets))]
        for t in askers:
            t.start()
        for t in askers:
            t.join(timeout=120)
    for r in down:
        assert r.status_code == 503, r.text
        assert r.headers["content-type"] == "application/problem+json"
        assert r.json()["code"] == "database_unavailable" and r.headers["retry-after"]
        assert "postgresql" not in r.text and "Traceback" not in r.text
    deadline = time.monotonic() + 60
    for url in targets:
        while (r := _ask(url, question)).status_code != 200:
            assert time.monotonic() < deadline, r.text
            time.sleep(0.5)
        assert _cited(r.json()) == TOPICS[1][0]
    assert all(p.poll() is None for p in cluster.replicas)


def test_a_replica_killed_under_load_loses_no_request(cluster: Cluster) -> None:
    victim = cluster.replicas[2]
    retried = cluster.proxy.retried
    results: list[tuple[str, int, int]] = []  # session, topic, status
    answered = threading.Semaphore(0)

    def client(w: int) -> None:
        with httpx.Client(base_url=cluster.proxy.url, timeout=300) as c:
            for n in range(w * 3, w * 3 + 3):
                sid = f"c{n}-{uuid.uuid4().hex[:8]}"
                for question in TOPICS[n % len(TOPICS)][1:3]:
                    r = c.post(
                        "/v1/answer",
                        json={"question": question, "session_id": sid},
                        headers={**READ, "Idempotency-Key": uuid.uuid4().hex},
                    )
                    results.append((sid, n % len(TOPICS), r.status_code))
                    answered.release()

    clients = [threading.Thread(target=client, args=(w,)) for w in range(8)]
    for t in clients:
        t.start()
    for _ in range(8):  # under way: 8 answers back, 8 requests in flight
        assert answered.acquire(timeout=300)
    victim.send_signal(signal.SIGKILL)
    for t in clients:
        t.join(timeout=600)
    assert victim.wait(timeout=30) == -signal.SIGKILL
    assert len(results) == 8 * 3 * 2
    assert all(status == 200 for *_, status in results), results
    assert cluster.proxy.retried > retried  # requests met the dead replica, and were retried
    for sid, topic in {(sid, topic) for sid, topic, _ in results}:
        article, first, follow, _ = TOPICS[topic]
        turns = [(q, art) for q, _, art in cluster.turns(sid)]
        assert turns == [(first, article), (follow, article)], sid  # each turn once
    assert all(p.poll() is None for p in cluster.replicas if p is not victim)
