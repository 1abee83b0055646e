"""The HTTP front end: a FastAPI app over the one NewsService, and `newsbot serve`."""

from __future__ import annotations

from bot.http.app import create_app
from bot.http.server import serve

__all__ = ["create_app", "serve"]
