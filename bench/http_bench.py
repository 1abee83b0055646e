"""Throughput and latency of `POST /v1/answer` on loopback, next to the in-process answer time.

Starts `newsbot serve` (extractive backend) as a subprocess on a free 127.0.0.1 port over the
index of the shipped `docs_store/` (built first if missing or stale), measures warm
`service.ask` in this process, then sends a fixed number of requests at each concurrency
(keep-alive connections, one per concurrent client) and prints requests per second, p50 and
p95. At concurrency 1 each HTTP request is paired with an in-process call on the same
question, interleaved, so that load from other processes falls on both alike. Target: p50
at concurrency 1 at most twice the in-process p50.

Run from the repo root: `.venv/bin/python bench/http_bench.py [--requests 200] [--json]`.
"""

from __future__ import annotations

import os

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import argparse
import asyncio
import json
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import _measure
import httpx

from retrieval.config import load_settings
from retrieval.service import NewsService

REPO = Path(__file__).resolve().parent.parent
QUESTIONS = REPO.parent / "shared" / "eval" / "multihop_sample" / "questions.jsonl"
FALLBACK_QUESTIONS = [
    "When is the accreditation withdrawn?",
    "How many Russian diplomats did NATO expel?",
    "Who is the Russian foreign minister quoted in the article?",
    "What did the NATO official say the expelled men were?",
]


def load_questions(limit: int) -> list[str]:
    """Questions about the shipped articles (the multihop sample), else the seed's."""
    if QUESTIONS.exists():
        lines = QUESTIONS.read_text(encoding="utf-8").splitlines()
        qs = [json.loads(line)["question"] for line in lines if line.strip()]
        return qs[:limit]
    return FALLBACK_QUESTIONS


def paired(
    service: NewsService, url: str, key: str, questions: list[str], n: int
) -> tuple[list[float], list[float], list[float]]:
    """Concurrency 1, interleaved question by question (so that load from other processes
    falls on both alike): in-process `service.ask` ms, HTTP round trip ms, server-side ms.

    The in-process call runs in a worker thread, as the server runs it.
    """
    headers = {"Authorization": f"Bearer {key}"}
    local: list[float] = []
    remote: list[float] = []
    server: list[float] = []
    with httpx.Client(base_url=url, timeout=120) as client, ThreadPoolExecutor(1) as worker:
        for q in questions[:5]:  # warm up both
            worker.submit(service.ask, q).result()
            client.post("/v1/answer", json={"question": q}, headers=headers).raise_for_status()
        for i in range(n):
            q = questions[i % len(questions)]
            t0 = time.perf_counter()
            worker.submit(service.ask, q).result()
            local.append((time.perf_counter() - t0) * 1000)
            t0 = time.perf_counter()
            r = client.post("/v1/answer", json={"question": q}, headers=headers)
            remote.append((time.perf_counter() - t0) * 1000)
            r.raise_for_status()
            server.append(r.json()["timings"]["total"])
    return local, remote, server


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(config: Path, port: int, key: str, threads: int) -> subprocess.Popen[bytes]:
    """`newsbot serve` on 127.0.0.1, ready (or an error)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSBOT_HTTP__")}
    env["NEWSBOT_HTTP__API_KEYS"] = json.dumps([key])
    env["NEWSBOT_EMBEDDING__THREADS"] = str(threads)
    env["NEWSBOT_HTTP__RATE_LIMIT_PER_MINUTE"] = "1000000"
    command = [sys.executable, "-m", "bot.cli", "--config", str(config), "serve"]
    proc = subprocess.Popen(
        [*command, "--host", "127.0.0.1", "--port", str(port)],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            err = proc.stderr.read().decode() if proc.stderr else ""
            raise SystemExit(f"newsbot serve exited:\n{err}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200:
                return proc
        except httpx.TransportError:
            pass
        time.sleep(0.5)
    proc.kill()
    raise SystemExit("newsbot serve did not become ready")


async def load(
    url: str, key: str, questions: list[str], concurrency: int, total: int
) -> dict[str, Any]:
    """``total`` requests from ``concurrency`` clients; latencies, server time, throughput."""
    headers = {"Authorization": f"Bearer {key}"}
    latencies: list[float] = []
    server_ms: list[float] = []
    counter = iter(range(total))
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)

    async def client_loop(client: httpx.AsyncClient) -> None:
        for i in counter:
            body = {"question": questions[i % len(questions)]}
            t0 = time.perf_counter()
            r = await client.post("/v1/answer", json=body, headers=headers)
            latencies.append((time.perf_counter() - t0) * 1000)
            r.raise_for_status()
            server_ms.append(r.json()["timings"]["total"])

    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=120) as client:
        for q in questions[: max(5, concurrency)]:  # open the connections, warm up
            (
                await client.post("/v1/answer", json={"question": q}, headers=headers)
            ).raise_for_status()
        t0 = time.perf_counter()
        await asyncio.gather(*(client_loop(client) for _ in range(concurrency)))
        wall = time.perf_counter() - t0
    return {
        "concurrency": concurrency,
        "requests": total,
        "rps": total / wall,
        **_measure.latency(latencies),
        "server_p50_ms": _measure.percentile(server_ms, 50),
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--config", type=Path, default=REPO / "config.yaml")
    p.add_argument("--requests", type=int, default=200, help="requests per concurrency level")
    p.add_argument(
        "--concurrency", default="1,8,32", help="levels besides 1 (always measured, paired)"
    )
    p.add_argument("--questions", type=int, default=60, help="distinct questions, cycled")
    p.add_argument(
        "--threads",
        type=int,
        default=1,
        help="embedding.threads for both the server and the in-process service (default 1; "
        "0 = torch's default, which on a loaded 2-core machine made the in-process calls "
        "of this benchmark ~20x slower than the same calls in the server)",
    )
    p.add_argument("--json", action="store_true", help="print the results as JSON")
    args = p.parse_args(argv)
    levels = [int(c) for c in args.concurrency.split(",")]
    questions = load_questions(args.questions)

    settings = load_settings(args.config, embedding={"threads": args.threads})
    service = NewsService(settings)
    print("loading the model and the index (building it if needed)...", file=sys.stderr)
    service.ensure_index(progress=True)
    stats = service.stats()
    key = secrets.token_urlsafe(24)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    print(f"starting newsbot serve on 127.0.0.1:{port}...", file=sys.stderr)
    proc = start_server(args.config, port, key, args.threads)
    try:
        print("concurrency 1, paired with in-process calls...", file=sys.stderr)
        local, remote, server = paired(service, url, key, questions, args.requests)
        rows = [
            {
                "concurrency": 1,
                "requests": len(remote),
                "rps": 1000 / statistics.fmean(remote),
                **_measure.latency(remote),
                "server_p50_ms": _measure.percentile(server, 50),
            }
        ]
        for c in levels:
            if c != 1:
                print(f"concurrency {c}...", file=sys.stderr)
                rows.append(asyncio.run(load(url, key, questions, c, args.requests)))
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)

    local_p50 = _measure.percentile(local, 50)
    result = {
        "index": {"articles": stats["articles"], "chunks": stats["chunks"]},
        "questions": len(questions),
        "in_process": {"requests": len(local), **_measure.latency(local)},
        "http": rows,
        "target_p50_c1_over_in_process": rows[0]["p50_ms"] / local_p50,
    }
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    print(
        f"\nindex: {stats['articles']} articles, {stats['chunks']} chunks; "
        f"{len(questions)} distinct questions; {args.requests} requests per row; "
        f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}; "
        f"embedding.threads {settings.embedding.threads or 'torch default'}\n"
    )
    print("| where | concurrency | req/s | p50 ms | p95 ms | server p50 ms | p50 / in-process |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    lp50, lp95 = result["in_process"]["p50_ms"], result["in_process"]["p95_ms"]
    print(
        f"| in-process `service.ask` | 1 | {1000 / lp50:.1f} | {lp50:.1f} | {lp95:.1f} | - | 1.00 |"
    )
    for r in rows:
        print(
            f"| HTTP `/v1/answer` | {r['concurrency']} | {r['rps']:.1f} | {r['p50_ms']:.1f} | "
            f"{r['p95_ms']:.1f} | {r['server_p50_ms']:.1f} | {r['p50_ms'] / lp50:.2f} |"
        )
    ratio = result["target_p50_c1_over_in_process"]
    verdict = "met" if ratio <= 2 else "NOT met"
    print(f"\ntarget p50(c=1) <= 2 x in-process p50: {ratio:.2f}x, {verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
