"""Feed to chat: seconds from a matching article appearing in a feed to its alert reaching
the chat, with the real poller and the real Telegram bot on loopback.

What runs, in one process (as `newsbot telegram --watch` runs it): the feed watcher
(``BackgroundWatcher``, its own service over the index, polling every ``--every``), and the
real PTB Application from ``build_application`` long polling the local fake Bot API that the
tests use (``tests/fake_bot_api.py``), with its alert loop (``follows.check_every_s``). A
local feed server on 127.0.0.1 (``tests/feed_server.py``) serves one RSS feed.

A chat follows one topic per trial (sent as `/follow …` through the fake Bot API). Each
trial waits a random part of the poll interval (so the article lands at a random phase of
the watcher's cycle), adds one article on that trial's topic to the feed, and measures:

- ``latency``: from the feed serving the article to the fake Bot API receiving the alert's
  sendMessage (the target: at most one poll interval + 5 s);
- ``wait``: of which, until the watcher fetched the feed (bounded by the interval);
- ``after_fetch``: the rest (parse, embed, publish the snapshot, the bot's scan, the send).

The embedding model is loaded once and shared by both services (a real `--watch` process
loads it twice; that costs memory, not latency).

Run from the repo root:
`HF_HUB_OFFLINE=1 .venv/bin/python bench/alert_latency.py [--trials 5] [--every 10s] [--json]`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from retrieval.config import Settings, load_settings
from retrieval.embeddings import Embedder, make_embedder
from retrieval.feeds.settings import parse_every
from retrieval.feeds.watch import BackgroundWatcher
from retrieval.service import NewsService
from tests.fake_bot_api import FakeBotApi, run_bot
from tests.feed_server import FeedServer, Route, serving

SEED = Path(__file__).resolve().parents[1] / "docs_store" / "2021-10-19-russia-nato-mission.txt"
CHAT = 870_001
FEED = "/feed.xml"
# (topic followed, headline, summary): one story per trial, on topics far apart.
STORIES = [
    (
        "volcano eruption",
        "Volcano erupts on Mount Kora, villages evacuated",
        "Mount Kora erupted before dawn on Wednesday, sending ash four kilometres high. "
        "Civil protection evacuated six villages on its southern slope.",
    ),
    (
        "bridge collapse",
        "Old river bridge collapses after week of floods",
        "A section of the 1930s river bridge at Harlow collapsed into the swollen river on "
        "Monday night. Engineers had closed it to traffic two days earlier.",
    ),
    (
        "chess championship",
        "Teenager wins national chess championship",
        "A sixteen-year-old from Tamsby won the national chess championship on Sunday, "
        "beating the title holder in the final round with the black pieces.",
    ),
    (
        "satellite launch",
        "Weather satellite launched from northern spaceport",
        "A rocket carrying a new weather satellite lifted off from the northern spaceport "
        "on Friday. The satellite will watch storms over the Atlantic.",
    ),
    (
        "bank merger",
        "Two regional banks agree to merge",
        "Fjord Savings and Coastline Bank agreed on Tuesday to merge into the country's "
        "fifth-largest lender. Shareholders will vote on the deal in March.",
    ),
    (
        "measles outbreak",
        "Measles outbreak closes two primary schools",
        "Health officials confirmed 14 cases of measles in the eastern district on Thursday "
        "and closed two primary schools for a week. Vaccination clinics open on Saturday.",
    ),
    (
        "marathon record",
        "Course record falls at the city marathon",
        "Runners set a new course record at the city marathon on Sunday, finishing in two "
        "hours and four minutes in cool, still weather.",
    ),
    (
        "train derailment",
        "Freight train derails near Elm Junction",
        "Nine wagons of a freight train left the rails near Elm Junction on Wednesday "
        "morning. No one was hurt, and the line will stay closed until Friday.",
    ),
]
BASELINE = (
    "Town council approves new library budget",
    "The town council approved the budget for the new library on Monday evening.",
)


def _rss(items: list[tuple[str, str, str]]) -> bytes:
    """An RSS feed of (guid, headline, summary) items, newest first."""
    body = "".join(
        f"<item><title>{escape(t)}</title><link>http://HOST/a/{g}.html</link>"
        f'<guid isPermaLink="false">{g}</guid>'
        f"<pubDate>Wed, 02 Dec 2026 0{i % 10}:00:00 GMT</pubDate>"
        f"<description>{escape(s)}</description></item>"
        for i, (g, t, s) in enumerate(reversed(items))
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>Loopback Herald</title><link>http://HOST/</link>{body}</channel></rss>"
    ).encode()


def _settings(root: Path, feed_url: str, api_url: str, every: str, check_s: float) -> Settings:
    (root / "docs").mkdir()
    shutil.copy(SEED, root / "docs" / SEED.name)
    cfg = root / "config.yaml"
    cfg.write_text("paths:\n  docs: [docs]\n  index_dir: index\n", encoding="utf-8")
    feeds = {"urls": [feed_url], "every": every, "per_host_delay_s": 0, "fetch_pages": False}
    return load_settings(
        cfg,
        feeds=feeds,
        follows={"check_every_s": check_s},
        telegram={"base_url": api_url, "allow_all": True},
    )


def _fetched_after(server: FeedServer, t0: float) -> float | None:
    """When the feed was first answered with a body (200) after ``t0``."""
    for (path, status, _), (_, at) in zip(server.log, server.answered, strict=True):
        if path == FEED and status == 200 and at >= t0:
            return at
    return None


async def _alert_at(api: FakeBotApi, headline: str, timeout: float) -> float:
    """When the fake Bot API accepted the alert naming ``headline``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for call in api.calls:
            text = str(call.params.get("text", ""))
            if call.method == "sendMessage" and call.outcome == "ok" and headline in text:
                return call.at
        await asyncio.sleep(0.02)
    raise TimeoutError(f"no alert for {headline!r} within {timeout:.0f} s")


async def run(trials: int, every: str, check_s: float, seed: int) -> dict[str, Any]:
    """Run the trials; returns the numbers."""
    every_s = parse_every(every)
    rng = random.Random(seed)
    embedder: Embedder | None = None
    items = [("baseline", *BASELINE)]
    results: list[dict[str, float]] = []
    with tempfile.TemporaryDirectory() as tmp, serving() as server:
        server.put(
            FEED,
            Route(_rss(items).replace(b"http://HOST", server.base.encode()), "application/rss+xml"),
        )
        async with FakeBotApi() as api:
            settings = _settings(Path(tmp), server.url(FEED), api.base_url, every, check_s)
            embedder = make_embedder(settings.embedding)
            service = NewsService(settings, embedder)
            await asyncio.to_thread(service.ensure_index, progress=False)
            watcher = await asyncio.to_thread(
                BackgroundWatcher(settings, settings.feeds, embedder).start
            )
            try:
                async with run_bot(service, settings) as app:
                    from bot.telegram.follows import start_alerts

                    start_alerts(app)
                    for topic, _, _ in STORIES[:trials]:
                        api.push_text(CHAT, f"/follow {topic}")
                    await api.wait_messages(CHAT, trials)
                    for n, (_, headline, summary) in enumerate(STORIES[:trials]):
                        await asyncio.sleep(rng.uniform(0, every_s))
                        items.append((f"story-{n}", headline, summary))
                        body = _rss(items).replace(b"http://HOST", server.base.encode())
                        t0 = time.monotonic()
                        server.put(FEED, Route(body, "application/rss+xml"))
                        t1 = await _alert_at(api, headline, every_s + 120)
                        fetched = _fetched_after(server, t0) or t1
                        results.append(
                            {"latency": t1 - t0, "wait": fetched - t0, "after_fetch": t1 - fetched}
                        )
                        print(f"trial {n + 1}: {results[-1]['latency']:.2f} s", file=sys.stderr)
            finally:
                await asyncio.to_thread(watcher.stop)
    return _summary(results, every_s, check_s)


def _summary(results: list[dict[str, float]], every_s: float, check_s: float) -> dict[str, Any]:
    def stats(key: str) -> dict[str, float]:
        values = [r[key] for r in results]
        return {"p50": round(statistics.median(values), 2), "max": round(max(values), 2)}

    target = every_s + 5
    latency = stats("latency")
    return {
        "trials": len(results),
        "every_s": every_s,
        "check_every_s": check_s,
        "target_s": target,
        "latency_s": latency,
        "wait_s": stats("wait"),
        "after_fetch_s": stats("after_fetch"),
        "per_trial_s": [round(r["latency"], 2) for r in results],
        "met": latency["max"] <= target,
    }


def main() -> int:
    """Parse arguments, run, print the numbers."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--trials", type=int, default=5, choices=range(1, len(STORIES) + 1))
    ap.add_argument("--every", default="10s", help="the feeds' poll interval (default 10s)")
    ap.add_argument(
        "--check-every", type=float, default=None, help="follows.check_every_s (default: config's)"
    )
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    from retrieval.follows.settings import FollowsSettings

    check_s = args.check_every or FollowsSettings().check_every_s
    out = asyncio.run(run(args.trials, args.every, check_s, args.seed))
    if args.json:
        print(json.dumps(out, indent=2))
    else:
        lat, tgt = out["latency_s"], out["target_s"]
        print(
            f"feed → chat over {out['trials']} trials (poll every {out['every_s']:.0f} s, "
            f"alerts checked every {out['check_every_s']} s): p50 {lat['p50']} s, "
            f"max {lat['max']} s (target ≤ {tgt:.0f} s: {'met' if out['met'] else 'MISSED'}); "
            f"waiting for the poll p50 {out['wait_s']['p50']} s, after the fetch p50 "
            f"{out['after_fetch_s']['p50']} s (max {out['after_fetch_s']['max']} s)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
