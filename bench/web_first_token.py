"""Time from Enter to the first streamed content in the web page, and the page's weight.

Starts `newsbot serve` (the config's backend; extractive by default) on a free 127.0.0.1
port over the index of the shipped `docs_store/` (built first if missing or stale), opens
the page in headless Chromium from Debian's packages (`/usr/bin/chromium`, driven by
`/usr/bin/chromedriver` through Selenium; nothing is downloaded), enters the key, and asks
each question by typing it and pressing Enter. The page marks `newsbot-first` (Performance
API) when the first streamed content arrives; the time is measured from the moment the
page starts handling the Enter key's `keydown` (a capturing listener on the window). A new
chat starts before each question so that every question is read on its own. Target: p50 at
most 300 ms.

The page weight is every byte the page loaded (document and assets, uncompressed), and
the number of requests to any other origin (target: 100 KB, 0).

Run from the repo root: `.venv/bin/python bench/web_first_token.py [--questions 20] [--json]`.
"""

from __future__ import annotations

import os

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ["SE_OFFLINE"] = "true"  # Selenium Manager must never download a browser
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import argparse
import json
import secrets
import signal
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import _measure
from http_bench import FALLBACK_QUESTIONS, free_port, load_questions, start_server

from retrieval.config import load_settings
from retrieval.service import NewsService

REPO = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
WARMUP = 3

# Records when the page starts handling the Enter keydown, in the clock performance marks
# use. Not the event's timeStamp: ChromeDriver stamps every key of one "send keys" command
# with the command's start, which would count the typing of the question as latency.
_LISTEN = """
window.__enterAt = null;
window.addEventListener('keydown', (e) => {
  if (e.key === 'Enter' && !e.shiftKey) window.__enterAt = performance.now();
}, true);
"""

# First content after Enter; the answer response's first byte after Enter; the server's
# own answer time (the Answer's timings.total, from the page's stored transcript).
_FIRST = """
const first = performance.getEntriesByName('newsbot-first').pop();
if (!first || window.__enterAt === null) return null;
const fetches = performance.getEntriesByType('resource')
  .filter((e) => e.name.endsWith('/v1/answer'));
const turns = JSON.parse(localStorage.getItem('newsbot.transcript') || '[]');
const last = turns.length ? turns[turns.length - 1].answer : null;
return {
  first: first.startTime - window.__enterAt,
  first_byte: fetches.length ? fetches.pop().responseStart - window.__enterAt : null,
  server: last && last.timings ? last.timings.total : null,
};
"""

_WEIGHT = """
const nav = performance.getEntriesByType('navigation')[0];
const res = performance.getEntriesByType('resource');
const origin = location.origin;
return {
  bytes: (nav ? nav.decodedBodySize : 0) + res.reduce((n, e) => n + e.decodedBodySize, 0),
  requests: res.length + 1,
  other_origin: res.filter((e) => !e.name.startsWith(origin + '/')).map((e) => e.name),
};
"""


def browser() -> Any:
    """Headless Chromium from the system packages."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"):
        options.add_argument(arg)
    options.add_argument("--window-size=1280,800")
    return webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)


def ask(driver: Any, question: str) -> dict[str, float]:
    """Start a new chat, type the question, press Enter; ms from Enter to first content,
    to the response's first byte, and the server's own answer time."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import WebDriverWait

    driver.find_element(By.ID, "new-chat").click()
    WebDriverWait(driver, 30).until(
        lambda d: not d.find_elements(By.CSS_SELECTOR, "#transcript > li")
    )
    driver.execute_script(
        "performance.clearMarks('newsbot-first'); performance.clearResourceTimings();"
        "window.__enterAt = null;"
    )
    box = driver.find_element(By.ID, "question")
    box.send_keys(question)
    box.send_keys(Keys.ENTER)
    settled = "#transcript > li:nth-child(1) .bot:not([aria-busy])"
    WebDriverWait(driver, 120, poll_frequency=0.02).until(
        lambda d: d.find_elements(By.CSS_SELECTOR, settled)
    )
    ms = driver.execute_script(_FIRST)
    if ms is None:
        raise SystemExit(f"no streamed content was marked for {question!r}")
    return {k: float(v) for k, v in ms.items() if v is not None}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--config", type=Path, default=REPO / "config.yaml")
    p.add_argument("--questions", type=int, default=20, help="questions asked (after warm-up)")
    p.add_argument("--threads", type=int, default=1, help="embedding.threads of the server")
    p.add_argument("--json", action="store_true", help="print the results as JSON")
    args = p.parse_args(argv)
    questions = load_questions(args.questions + WARMUP) or FALLBACK_QUESTIONS

    settings = load_settings(args.config)
    print("building the index if needed...", file=sys.stderr)
    NewsService(settings).ensure_index(progress=True)
    key = secrets.token_urlsafe(24)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    print(f"starting newsbot serve on 127.0.0.1:{port}...", file=sys.stderr)
    proc = start_server(args.config, port, key, args.threads)
    driver = None
    try:
        driver = browser()
        from selenium.webdriver.common.by import By

        driver.get(url + "/")
        field = driver.find_element(By.ID, "key-input")
        field.send_keys(key)
        field.submit()
        time.sleep(0.5)
        weight = driver.execute_script(_WEIGHT)
        driver.execute_script(_LISTEN)
        asked = [questions[i % len(questions)] for i in range(args.questions + WARMUP)]
        runs = [ask(driver, q) for q in asked][WARMUP:]
    finally:
        if driver is not None:
            driver.quit()
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
    times = [r["first"] for r in runs]
    result = {
        "questions": len(times),
        "first_content_ms": _measure.latency(times),
        "first_content_mean_ms": statistics.fmean(times),
        "first_byte_ms": _measure.latency([r["first_byte"] for r in runs if "first_byte" in r]),
        "server_answer_ms": _measure.latency([r["server"] for r in runs if "server" in r]),
        "target_ms": 300,
        "page_bytes": weight["bytes"],
        "page_requests": weight["requests"],
        "other_origin_requests": len(weight["other_origin"]),
    }
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    lat = result["first_content_ms"]
    print(f"Enter -> first streamed content, {len(times)} questions (after {WARMUP} warm-up):")
    print("  " + "  ".join(f"{k} {v:.0f}" for k, v in lat.items()) + "  (ms; target p50 <= 300)")
    for name, label in (("first_byte_ms", "response's first byte"), ("server_answer_ms", "server")):
        row = "  ".join(f"{k} {v:.0f}" for k, v in result[name].items())
        print(f"  of which: {label}: {row}")
    print(
        f"page weight: {weight['bytes']} bytes in {weight['requests']} requests "
        f"(target <= 100000); requests to other origins: {len(weight['other_origin'])}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
