"""Webhook mode and `newsbot telegram` itself: the secret header, the token from the
environment, and the real command against the fake Bot API (polling and webhook)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import shutil
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

pytest.importorskip("telegram")

from telegram import Update
from telegram.ext import TypeHandler

from bot.telegram.app import build_application, run
from bot.telegram.webhook import SECRET_HEADER, serve_webhook, webhook_config
from retrieval.config import Settings
from retrieval.errors import ConfigError
from tests.fake_bot_api import TOKEN, EchoService, FakeBotApi

REPO = Path(__file__).resolve().parent.parent
SEED = REPO / "docs_store" / "2021-10-19-russia-nato-mission.txt"
SECRET = "s3cret-Webhook_token-0123456789"
HOOK_URL = "https://bot.example.org/newsbot/hook"


def _update(update_id: int, chat_id: int, text: str) -> dict[str, Any]:
    return {
        "update_id": update_id,
        "message": {
            "message_id": 1,
            "date": int(time.time()),  # the message date is the asked-on date
            "chat": {"id": chat_id, "type": "private", "first_name": "U"},
            "from": {"id": chat_id, "is_bot": False, "first_name": "U"},
            "text": text,
        },
    }


def test_webhook_refuses_a_missing_or_wrong_secret_before_any_handler(
    make_settings: Callable[..., Settings], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    service = EchoService()
    handled: list[object] = []

    async def count(update: object, context: object) -> None:
        handled.append(update)

    async def scenario() -> None:
        async with FakeBotApi() as api:
            settings = make_settings(
                telegram={
                    "base_url": api.base_url,
                    "allow_all": True,
                    "mode": "webhook",
                    "webhook_url": HOOK_URL,
                    "webhook_secret": SECRET,
                    "webhook_port": 0,
                }
            )
            app = build_application(service, settings, TOKEN)
            app.add_handler(TypeHandler(object, count), group=-100)  # sees every update
            api.chat(5)
            stop, port = asyncio.Event(), asyncio.get_running_loop().create_future()
            task = asyncio.create_task(
                serve_webhook(app, settings.telegram, stop, ready=port.set_result)
            )
            url = f"http://127.0.0.1:{await asyncio.wait_for(port, 60)}/newsbot/hook"
            body = json.dumps(_update(1, 5, "sneaky")).encode()
            json_type = {"Content-Type": "application/json"}
            async with httpx.AsyncClient(timeout=30) as client:
                refused = [
                    await client.post(url, content=body, headers=json_type),
                    await client.post(url, content=body, headers={**json_type, SECRET_HEADER: ""}),
                    await client.post(
                        url, content=body, headers={**json_type, SECRET_HEADER: "x" * len(SECRET)}
                    ),
                    await client.post(
                        url, content=body, headers={**json_type, SECRET_HEADER: SECRET + "x"}
                    ),
                    await client.post(
                        url, content=body, headers={**json_type, SECRET_HEADER: SECRET[:-1]}
                    ),
                ]
                assert [r.status_code for r in refused] == [403] * 5
                other = await client.post(
                    url.replace("/hook", "/other"), content=body, headers={SECRET_HEADER: SECRET}
                )
                assert other.status_code == 404
                bad = await client.post(url, content=b"{not json", headers={SECRET_HEADER: SECRET})
                assert bad.status_code == 400
                good = json.dumps(_update(2, 5, "welcome")).encode()
                ok = await client.post(
                    url, content=good, headers={**json_type, SECRET_HEADER: SECRET}
                )
                assert ok.status_code == 200
            await api.wait_messages(5, 1)
            stop.set()
            await asyncio.wait_for(task, 60)
            assert api.webhook == {"url": HOOK_URL, "secret_token": SECRET}
            assert api.ok("setMyCommands")

    asyncio.run(scenario())
    # the refused update never reached a handler; the accepted one did, once
    assert [u.update_id for u in handled if isinstance(u, Update)] == [2]
    assert [q for _, q in service.calls] == ["welcome"]
    assert SECRET not in caplog.text and TOKEN not in caplog.text
    assert "setWebhook" in caplog.text


@pytest.mark.parametrize(
    ("telegram", "key"),
    [
        ({"webhook_secret": SECRET}, "telegram.webhook_url"),
        ({"webhook_url": "ftp://x.org/", "webhook_secret": SECRET}, "telegram.webhook_url"),
        ({"webhook_url": HOOK_URL}, "telegram.webhook_secret"),
        ({"webhook_url": HOOK_URL, "webhook_secret": "has spaces"}, "telegram.webhook_secret"),
        ({"webhook_url": HOOK_URL, "webhook_secret": "x" * 257}, "telegram.webhook_secret"),
    ],
)
def test_webhook_settings_are_checked(
    make_settings: Callable[..., Settings], telegram: dict[str, str], key: str
) -> None:
    settings = make_settings(telegram={"mode": "webhook", **telegram})
    with pytest.raises(ConfigError, match=key):
        webhook_config(settings.telegram)


def test_run_needs_a_token_from_the_environment(
    make_settings: Callable[..., Settings], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TELEGRAM_BOT_TOKEN", raising=False)
    with pytest.raises(ConfigError, match=r"\$TELEGRAM_BOT_TOKEN is not set"):
        run(make_settings())
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "not-a-token-value-xyz")
    with pytest.raises(ConfigError, match="does not look like a bot token") as info:
        run(make_settings())
    assert "not-a-token-value-xyz" not in str(info.value)


@contextlib.contextmanager
def fake_api_in_a_thread() -> Iterator[FakeBotApi]:
    """The fake Bot API on its own event loop, for code that runs its own (``run``)."""
    loop = asyncio.new_event_loop()
    started: list[FakeBotApi] = []
    ready = threading.Event()

    def serve() -> None:
        asyncio.set_event_loop(loop)
        started.append(loop.run_until_complete(FakeBotApi().start()))
        ready.set()
        loop.run_forever()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    assert ready.wait(60)
    try:
        yield started[0]
    finally:
        asyncio.run_coroutine_threadsafe(started[0].stop(), loop).result(60)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(60)
        loop.close()


@pytest.mark.slow  # loads the embedding model when run alone
def test_run_reports_a_token_telegram_rejects(
    seed_docs: Path, make_settings: Callable[..., Settings], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "42:AAwrongTOKENwrongTOKENwrongTOKEN")
    with fake_api_in_a_thread() as api:
        settings = make_settings([seed_docs], telegram={"base_url": api.base_url})
        with pytest.raises(ConfigError, match="Telegram rejected") as info:
            run(settings)
    assert "wrongTOKEN" not in str(info.value)
    assert [c.method for c in api.calls] == ["getMe"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["polling", "webhook"])
def test_newsbot_telegram_command_end_to_end(tmp_path: Path, mode: str) -> None:
    """The real command in a subprocess: answers, stops on a signal, never logs the token."""
    docs = tmp_path / "docs"
    docs.mkdir()
    shutil.copy(SEED, docs / SEED.name)
    config = tmp_path / "config.yaml"
    config.write_text(
        "paths:\n  docs: [docs]\n  index_dir: index\ntelegram:\n  webhook_secret: ${HOOK_SECRET}\n",
        encoding="utf-8",
    )
    port = _free_port()

    async def scenario() -> tuple[int, str]:
        async with FakeBotApi() as api:
            env = {
                **{k: v for k, v in os.environ.items() if not k.startswith("NEWSBOT_")},
                "TELEGRAM_BOT_TOKEN": TOKEN,
                "HOOK_SECRET": SECRET,
                "NEWSBOT_TELEGRAM__BASE_URL": api.base_url,
                "NEWSBOT_TELEGRAM__ALLOW_ALL": "true",
                "NEWSBOT_TELEGRAM__MODE": mode,
                "NEWSBOT_TELEGRAM__WEBHOOK_URL": HOOK_URL,
                "NEWSBOT_TELEGRAM__WEBHOOK_PORT": str(port),
                "HF_HUB_OFFLINE": "1",
                "PYTHONPATH": str(REPO),
            }
            proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bot.cli", "--config", str(config), "telegram",
                cwd=tmp_path, env=env,
                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
            )  # fmt: skip
            stderr = asyncio.create_task(proc.stderr.read())  # type: ignore[union-attr]
            try:
                if mode == "polling":
                    await api.wait_for(lambda: bool(api.ok("getUpdates")), 300, "polling")
                    api.push_text(7, "When is the accreditation withdrawn?")
                else:
                    await api.wait_for(lambda: bool(api.webhook), 300, "setWebhook")
                    api.chat(7)
                    update = json.dumps(_update(1, 7, "When is the accreditation withdrawn?"))
                    async with httpx.AsyncClient(timeout=30) as client:
                        r = await client.post(
                            f"http://127.0.0.1:{port}/newsbot/hook",
                            content=update.encode(),
                            headers={"Content-Type": "application/json", SECRET_HEADER: SECRET},
                        )
                        assert r.status_code == 200
                answer = (await api.wait_messages(7, 1, timeout=120))[0]
                assert "November 1, 2021" in answer.text
            finally:
                if proc.returncode is None:
                    proc.send_signal(signal.SIGINT if mode == "polling" else signal.SIGTERM)
                code = await asyncio.wait_for(proc.wait(), 120)
            return code, (await stderr).decode()

    code, log = asyncio.run(scenario())
    assert code == 0, log
    assert "starting the Telegram bot" in log
    assert TOKEN not in log and SECRET not in log
