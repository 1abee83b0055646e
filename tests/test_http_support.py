"""Helpers for the HTTP tests (no tests here): settings with keys, a real uvicorn on
127.0.0.1 in a thread, and a service wrapper that counts the answers it was asked for."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from fastapi import FastAPI
from pydantic import SecretStr

from bot.http.auth import Principal
from bot.http.server import DrainingServer
from bot.http.state import AppState
from retrieval.answer import Answer, FinalEvent, StreamEvent
from retrieval.config import HttpSettings, Settings
from retrieval.service import NewsService

REPO = Path(__file__).resolve().parent.parent
READ_KEY = "read-key-0123456789abcdef"
ADMIN_KEY = "admin-key-0123456789abcdef"
READ = {"Authorization": f"Bearer {READ_KEY}"}
ADMIN = {"Authorization": f"Bearer {ADMIN_KEY}"}


def with_http(settings: Settings, **http: Any) -> Settings:
    """A copy of the settings with API keys (and any other http.* values)."""
    values: dict[str, Any] = {
        "api_keys": [SecretStr(READ_KEY)],
        "admin_keys": [SecretStr(ADMIN_KEY)],
    }
    values.update(http)
    return settings.model_copy(update={"http": HttpSettings(**values)})


def principal(app: Any, key: str) -> Principal:
    """Who a configured key authenticates as in this app (its id is derived from the key)."""
    found = app.state.newsbot.keys.authenticate(key)
    assert isinstance(found, Principal)
    return found


class CountingService:
    """The real service, counting the questions that reached it (a wrapper, not a mock)."""

    def __init__(self, service: NewsService, delay: float = 0.0) -> None:
        self._service = service
        self.delay = delay
        self.asked = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._service, name)

    def ask(self, question: str, **kwargs: Any) -> Answer:
        self.asked += 1
        if self.delay:
            time.sleep(self.delay)
        return self._service.ask(question, **kwargs)

    async def astream(self, question: str, **kwargs: Any) -> AsyncIterator[StreamEvent]:
        # As the extractive service streams: the whole answer, from a worker thread.
        yield FinalEvent(await asyncio.to_thread(self.ask, question, **kwargs))


class LiveServer:
    """A real uvicorn (the same DrainingServer `newsbot serve` uses) on a free loopback port."""

    def __init__(self, app: FastAPI, app_wrapper: Any = None, **config: Any) -> None:
        self.app = app
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        state: AppState = app.state.newsbot
        served = app_wrapper or app  # e.g. an ASGI layer the test puts around the app
        cfg = uvicorn.Config(served, lifespan="on", log_level="warning", **config)
        self.server = DrainingServer(cfg, state.begin_drain)
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True
        )

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 120
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=60)
        self.sock.close()


def wait_ready(proc: subprocess.Popen[str], url: str, seconds: float) -> None:
    """Wait until a `newsbot serve` subprocess answers /readyz with 200 (it must not exit)."""
    # Loading the model on a busy machine is slow; a hang is what this bound catches.
    deadline = time.monotonic() + seconds
    while True:
        assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
        assert time.monotonic() < deadline, "newsbot serve did not get ready"
        try:
            if httpx.get(f"{url}/readyz").status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.5)


def free_port() -> int:
    """A TCP port free on 127.0.0.1 just now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def clean_env(**extra: str) -> dict[str, str]:
    """The environment for a `newsbot` subprocess: offline, none of the caller's NEWSBOT_*."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSBOT_")}
    env.update(HF_HUB_OFFLINE="1", TOKENIZERS_PARALLELISM="false", **extra)
    return env


def newsbot(
    cfg: Path, *args: str, env: dict[str, str], log: Path | None = None
) -> subprocess.Popen[str]:
    """`newsbot --config CFG ARGS...` from this checkout, its output (both streams) in a
    pipe, or in the file ``log`` (for a server that talks for long: a full pipe stalls it)."""
    with open(log, "w") if log else contextlib.nullcontext(subprocess.PIPE) as out:
        return subprocess.Popen(
            [sys.executable, "-m", "bot.cli", "--config", str(cfg), *args],
            cwd=REPO,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            text=True,
        )
