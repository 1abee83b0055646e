"""`newsbot serve`: uvicorn around the app, with the checks that must pass before binding."""

from __future__ import annotations

import copy
import math
import signal
from collections.abc import Callable
from types import FrameType

import uvicorn
from uvicorn.config import LOGGING_CONFIG

from bot.http.app import create_app
from bot.http.auth import check_bind
from bot.http.state import AppState
from retrieval.config import Settings
from retrieval.service import NewsService


class DrainingServer(uvicorn.Server):
    """On SIGTERM / SIGINT: mark the app as draining (/readyz 503), then uvicorn's graceful
    shutdown: stop accepting, let requests in flight finish, run the lifespan's shutdown."""

    def __init__(self, config: uvicorn.Config, on_exit: Callable[[], None]) -> None:
        super().__init__(config)
        self._on_exit = on_exit

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        if sig in (signal.SIGTERM, signal.SIGINT):
            self._on_exit()
        super().handle_exit(sig, frame)


def serve(settings: Settings, host: str | None = None, port: int | None = None) -> int:
    """Run the HTTP server until SIGTERM / SIGINT; 0 on a clean stop.

    Raises:
        ConfigError: no API keys (and auth not explicitly disabled), or auth disabled on a
            non-loopback host. The CLI prints the message and exits 1.
        NewsbotError: the index could not be loaded at startup.
    """
    host = host or settings.http.host
    port = settings.http.port if port is None else port
    check_bind(settings.http, host)
    app = create_app(NewsService(settings), settings)  # checks the keys (KeyRing), once
    state: AppState = app.state.newsbot
    server = DrainingServer(make_config(app, settings, host, port), state.begin_drain)
    try:
        server.run()
    except SystemExit:  # uvicorn exits this way when the lifespan startup failed
        if state.startup_error is not None:
            raise state.startup_error from None
        raise
    if state.startup_error is not None:
        raise state.startup_error
    return 0


def make_config(app: object, settings: Settings, host: str, port: int) -> uvicorn.Config:
    """uvicorn's configuration: graceful shutdown bounded by the request deadline."""
    log_config = copy.deepcopy(LOGGING_CONFIG)
    log_config["loggers"]["newsbot"] = {"handlers": ["default"], "level": "INFO"}
    return uvicorn.Config(
        app,  # type: ignore[arg-type]
        host=host,
        port=port,
        lifespan="on",
        server_header=False,
        log_config=log_config,
        timeout_graceful_shutdown=math.ceil(settings.http.request_timeout_s) + 5,
    )
