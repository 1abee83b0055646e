"""Three postgres `newsbot serve` replicas behind a round-robin proxy against one local-backend
`newsbot serve`, in one run (issue 22): requests/s, p50 and p95 of `POST /v1/answer` at
concurrency 8 on the same corpus and questions; and ingest throughput, postgres vs local.

The corpus is the first ``--articles`` paragraphs of squad_dev_a, the questions those of its
questions whose evidence is among them. Both setups sit behind the same small threaded proxy
written here (one upstream for local, three for postgres), so that both pay the same hop;
rounds alternate between the setups, so that load from other processes falls on both alike.
Every server runs with ``embedding.threads`` ``--threads`` (default 1). The PostgreSQL
server is ``--database-url`` (default $NEWSBOT_DATABASE_URL), else a private pgserver one on
this machine; its newsbot tables are emptied by the rebuild.

Targets: 3 replicas' throughput ≥ 1 local replica's; ingest into PostgreSQL ≥ 80 % of the
local backend's throughput. Ingest is timed as wall seconds (the load of other processes
drifts into them) and as CPU seconds, the server's included (what a quiet machine would
turn into wall time), rebuilding each backend ``--ingest-runs`` times in alternating order.

Run from the repo root:
``PYTHONPATH=.:bench HF_HUB_OFFLINE=1 nice -n 5 .venv/bin/python bench/pg_replicas.py``
"""

from __future__ import annotations

import os

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import argparse
import asyncio
import contextlib
import json
import secrets
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import _measure
import httpx
from http_bench import free_port, start_server
from pg_backend import database, timing_commits

from retrieval.config import load_settings
from retrieval.embeddings import make_embedder
from retrieval.evaluation import load_questions
from retrieval.pg.migrate import upgrade_database
from retrieval.service import NewsService
from tests.rr_proxy import RoundRobinProxy

REPO = Path(__file__).resolve().parent.parent
DEFAULT_DATASET = REPO.parent / "shared" / "eval" / "squad_dev_a"


async def load(
    url: str, key: str, questions: list[str], concurrency: int, total: int, start: int
) -> tuple[list[float], float]:
    """``total`` one-off questions from ``concurrency`` clients: latencies (ms), wall (s)."""
    headers = {"Authorization": f"Bearer {key}"}
    latencies: list[float] = []
    counter = iter(range(start, start + total))
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)

    async def client_loop(client: httpx.AsyncClient) -> None:
        for i in counter:
            t0 = time.perf_counter()
            r = await client.post(
                "/v1/answer", json={"question": questions[i % len(questions)]}, headers=headers
            )
            latencies.append((time.perf_counter() - t0) * 1000)
            r.raise_for_status()

    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=300) as client:
        t0 = time.perf_counter()
        await asyncio.gather(*(client_loop(client) for _ in range(concurrency)))
        return latencies, time.perf_counter() - t0


def _subset(dataset: Path, n_articles: int, n_questions: int, folder: Path) -> list[str]:
    """Write the first ``n_articles`` of the corpus to ``folder``; the questions they answer."""
    lines = (dataset / "corpus.jsonl").read_text(encoding="utf-8").splitlines()[:n_articles]
    folder.mkdir(parents=True)
    (folder / "corpus.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    ids = {json.loads(line)["id"] for line in lines}
    asked = load_questions(dataset / "questions.jsonl")
    return [q.question for q in asked if set(q.evidence_ids) & ids][:n_questions]


def _config(path: Path, docs: Path, index: Path, postgres: bool) -> Path:
    text = f"paths:\n  docs: [{docs}]\n  index_dir: {index}\nsessions:\n  path: ':memory:'\n"
    if postgres:
        text += "store:\n  backend: postgres\ndatabase:\n  url: ${NEWSBOT_DATABASE_URL}\n"
    path.write_text(text, encoding="utf-8")
    return path


def _server_cpu(url: str) -> float | None:
    """CPU seconds the PostgreSQL server at ``url`` has used so far (its postmaster, the
    backends it reaped, the live ones); None when it is not a local pgserver one."""
    import psutil

    folder = url.partition("host=")[2].split("&")[0]
    for proc in psutil.process_iter(["name", "cmdline"]):
        cmdline = " ".join(proc.info["cmdline"] or [])
        if proc.info["name"] == "postgres" and folder and folder in cmdline and " -D " in cmdline:
            t = proc.cpu_times()
            total = t.user + t.system + t.children_user + t.children_system
            for child in proc.children(recursive=True):
                with contextlib.suppress(psutil.Error):
                    c = child.cpu_times()
                    total += c.user + c.system
            return total
    return None


def ingest_both(configs: dict[str, Path], url: str, runs: int) -> dict[str, Any]:
    """Rebuild each backend's index from the same articles, ``runs`` times, alternating
    the order (local first, then postgres first, ...): wall, CPU and commit seconds summed
    over the runs. CPU counts this process and, for postgres, the database server too."""
    totals = {n: {"wall_s": 0.0, "cpu_s": 0.0, "server_cpu_s": 0.0} for n in configs}
    commits: dict[str, float] = {}
    settings = {n: load_settings(cfg) for n, cfg in configs.items()}
    embedder = make_embedder(settings["local"].embedding)
    embedder.encode(["warm up"])
    chunks = 0
    with timing_commits(commits):
        for r in range(runs):
            for name in list(configs) if r % 2 == 0 else list(reversed(configs)):
                service = NewsService(settings[name], embedder)
                s0 = _server_cpu(url) or 0.0
                t0, c0 = time.perf_counter(), time.process_time()
                report = service.ingest(rebuild=True, progress=False)
                wall = time.perf_counter() - t0
                totals[name]["wall_s"] += wall
                totals[name]["cpu_s"] += time.process_time() - c0
                if name == "postgres":
                    totals[name]["server_cpu_s"] += (_server_cpu(url) or 0.0) - s0
                    service.store.close()  # type: ignore[attr-defined]
                chunks = report.chunks
                print(f"{name}: ingested {chunks} chunks in {wall:.1f} s", file=sys.stderr)
    out: dict[str, Any] = {"runs": runs, "chunks": chunks}
    for name, t in totals.items():
        out[name] = {k: round(v, 1) for k, v in t.items()}
        out[name]["chunks_per_s"] = round(runs * chunks / t["wall_s"], 2)
    out["local"]["commit_s"] = round(commits.get("IndexStore", 0.0), 2)
    out["postgres"]["commit_s"] = round(commits.get("PgStore", 0.0), 2)
    out["postgres_over_local_wall"] = round(out["local"]["wall_s"] / out["postgres"]["wall_s"], 3)
    local_cpu = totals["local"]["cpu_s"]
    pg_cpu = totals["postgres"]["cpu_s"] + totals["postgres"]["server_cpu_s"]
    out["postgres_over_local_cpu"] = round(local_cpu / pg_cpu, 3)
    return out


def serve_both(
    configs: dict[str, Path], questions: list[str], args: argparse.Namespace
) -> dict[str, Any]:
    """Throughput at ``args.concurrency``: 1 local replica vs 3 postgres ones, alternating."""
    key = secrets.token_urlsafe(24)
    replicas = {"local": 1, "postgres": 3}
    procs: list[subprocess.Popen[bytes]] = []
    proxies: dict[str, RoundRobinProxy] = {}
    try:
        for name, n in replicas.items():
            ports = [free_port() for _ in range(n)]
            print(f"starting {n} {name} replica(s)...", file=sys.stderr)
            procs += [start_server(configs[name], p, key, args.threads) for p in ports]
            proxies[name] = RoundRobinProxy(ports, timeout=300).start()
        for name, proxy in proxies.items():  # warm every replica up (round robin)
            asyncio.run(load(proxy.url, key, questions, replicas[name], 4 * replicas[name], 0))
        runs: dict[str, tuple[list[float], float]] = {n: ([], 0.0) for n in replicas}
        for r in range(args.rounds):
            order = list(replicas) if r % 2 == 0 else list(reversed(replicas))
            for name in order:
                ms, wall = asyncio.run(
                    load(proxies[name].url, key, questions, args.concurrency, args.requests,
                         r * args.requests)
                )  # fmt: skip
                runs[name] = (runs[name][0] + ms, runs[name][1] + wall)
                print(f"round {r + 1}: {name} {len(ms) / wall:.2f} req/s", file=sys.stderr)
    finally:
        for proxy in proxies.values():
            proxy.close()
        for proc in procs:
            proc.send_signal(signal.SIGTERM)
        for proc in procs:
            proc.wait(timeout=60)
    out: dict[str, Any] = {}
    for name, (ms, wall) in runs.items():
        out[name] = {
            "replicas": replicas[name],
            "requests": len(ms),
            "rps": round(len(ms) / wall, 2),
            **{k: round(v, 1) for k, v in _measure.latency(ms).items()},
        }
    out["postgres_over_local_rps"] = round(out["postgres"]["rps"] / out["local"]["rps"], 3)
    return out


def main(argv: list[str] | None = None) -> int:
    """Ingest the same articles into both backends, then load both setups."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--dataset", type=Path, default=DEFAULT_DATASET)
    p.add_argument("--articles", type=int, default=200, help="first N corpus paragraphs")
    p.add_argument("--questions", type=int, default=200, help="distinct questions, cycled")
    p.add_argument("--requests", type=int, default=120, help="requests per setup per round")
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--ingest-runs", type=int, default=2, help="rebuilds per backend")
    p.add_argument("--concurrency", type=int, default=8)
    p.add_argument("--threads", type=int, default=1, help="embedding.threads of the servers")
    p.add_argument("--database-url", default=os.environ.get("NEWSBOT_DATABASE_URL"))
    args = p.parse_args(argv)
    load_before = os.getloadavg()
    with database(args.database_url) as url, tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        questions = _subset(args.dataset, args.articles, args.questions, root / "docs")
        os.environ["NEWSBOT_DATABASE_URL"] = url  # the replicas' config names it, not holds it
        configs = {
            "local": _config(root / "local.yaml", root / "docs", root / "index", False),
            "postgres": _config(root / "pg.yaml", root / "docs", root / "index-pg", True),
        }
        upgrade_database(load_settings(configs["postgres"]).database)
        ingest = ingest_both(configs, url, args.ingest_runs)
        serve = serve_both(configs, questions, args)
    result = {
        "dataset": str(args.dataset),
        "articles": args.articles,
        "questions": len(questions),
        "concurrency": args.concurrency,
        "embedding_threads": args.threads,
        "cpus": os.cpu_count(),
        "load_average_before": [round(x, 2) for x in load_before],
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
        "ingest": ingest,
        "serve": serve,
    }
    print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
