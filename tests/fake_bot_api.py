"""A local fake of the Telegram Bot API, for running the real PTB ``Application`` in tests.

It serves ``http://127.0.0.1:<port>/bot<token>/<method>`` in the test's own event loop
(tornado, which ships with ``python-telegram-bot[webhooks]``), records every call, keeps the
chats' messages, and checks what the bot sends the way Telegram does: HTML in the subset
Telegram accepts (see :func:`parse_telegram_html`), at most 4,096 UTF-16 units once parsed,
callback data at most 64 bytes. Faults can be injected per method: 429 with ``retry_after``,
timeouts (the request hangs past the client's read timeout), and parse errors.

Also here: :class:`EchoService`, a fake answer service whose answers repeat the question,
so tests can tell which answer belongs to which question.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import html
import json
import random
import re
import time
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import tornado.web
from tornado.httpserver import HTTPServer
from tornado.iostream import StreamClosedError
from tornado.netutil import bind_sockets

from retrieval.answer import Answer, Citation, FinalEvent, StreamEvent, TokenEvent
from retrieval.service import check_question
from retrieval.sessions import Turn

TOKEN = "123456789:AAHfakeTOKENfakeTOKENfakeTOKEN_xyz-42"
BOT_ID = 123456789
BOT_USERNAME = "newsbot_test_bot"
MAX_LEN = 4096

# --- Telegram's HTML subset ------------------------------------------------------------


class HtmlError(ValueError):
    """The markup is not valid Telegram HTML."""


_SIMPLE_TAGS = {"b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "tg-spoiler"}
_ALL_TAGS = _SIMPLE_TAGS | {"span", "a", "code", "pre", "blockquote"}
_TAG = re.compile(r'<(/?)([a-z][a-z-]*)((?:\s+[a-z-]+(?:="[^"<>]*")?)*)\s*>')
_ATTR = re.compile(r'\s+([a-z-]+)(?:="([^"<>]*)")?')
_ENTITY = re.compile(r"&(?:(lt|gt|amp|quot)|#([0-9]{1,7})|#x([0-9a-fA-F]{1,6}));")
_NAMED = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2


_SPECIAL = re.compile(r"[&<>]")


def _decode_text(raw: str, where: str) -> str:
    """Decode entities in a run of text; any other '&', '<' or '>' is an error."""
    out, i = [], 0
    for special in _SPECIAL.finditer(raw):
        at = special.start()
        if at < i:
            continue  # inside an entity already decoded
        if special.group() != "&":
            raise HtmlError(f"unescaped {special.group()!r} in {where} at {at}")
        m = _ENTITY.match(raw, at)
        if m is None:
            raise HtmlError(f"bad entity in {where} at {at}: {raw[at : at + 12]!r}")
        out.append(raw[i:at])
        if m.group(1):
            out.append(_NAMED[m.group(1)])
        else:
            cp = int(m.group(2)) if m.group(2) else int(m.group(3), 16)
            if cp == 0 or cp > 0x10FFFF or 0xD800 <= cp <= 0xDFFF:
                raise HtmlError(f"bad numeric entity in {where}: {m.group(0)}")
            out.append(chr(cp))
        i = m.end()
    out.append(raw[i:])
    return "".join(out)


def _check_attrs(name: str, attrs: str, stack: list[str]) -> None:
    found = {m.group(1): m.group(2) for m in _ATTR.finditer(attrs)}
    if name == "a":
        if set(found) != {"href"} or found["href"] is None:
            raise HtmlError("<a> needs exactly one href")
        href = _decode_text(found["href"], "href")
        if not re.match(r"https?://[^\s/]+", href):
            raise HtmlError(f"<a href> is not an http(s) URL: {href[:60]!r}")
    elif name == "span":
        if found != {"class": "tg-spoiler"}:
            raise HtmlError('<span> is only allowed with class="tg-spoiler"')
    elif name == "code":
        if found and not (
            stack
            and stack[-1] == "pre"
            and list(found) == ["class"]
            and re.fullmatch(r"language-[\w+-]+", found["class"] or "")
        ):
            raise HtmlError("<code> attributes are only a language class inside <pre>")
    elif name == "blockquote":
        if set(found) - {"expandable"} or any(v is not None for v in found.values()):
            raise HtmlError("<blockquote> takes only 'expandable'")
    elif found:
        raise HtmlError(f"<{name}> takes no attributes")


def parse_telegram_html(markup: str) -> str:
    """Parse Telegram HTML the way the Bot API does (strictly); returns the text.

    Allowed: b strong i em u ins s strike del tg-spoiler, span class="tg-spoiler",
    a href (http/https), code, pre, blockquote [expandable]; entities &lt; &gt; &amp;
    &quot; and numeric ones. Tags must be balanced and properly nested; links do not nest,
    blockquotes do not nest, code/pre hold only text (pre may hold one code).

    Raises:
        HtmlError: what is wrong and where.
    """
    stack: list[str] = []
    text: list[str] = []
    i = 0
    while i < len(markup):
        lt = markup.find("<", i)
        chunk = markup[i : lt if lt >= 0 else len(markup)]
        text.append(_decode_text(chunk, f"text at {i}"))
        if lt < 0:
            break
        m = _TAG.match(markup, lt)
        if m is None:
            raise HtmlError(f"unsupported or malformed tag at {lt}: {markup[lt : lt + 20]!r}")
        closing, name, attrs = m.group(1), m.group(2), m.group(3)
        if name not in _ALL_TAGS:
            raise HtmlError(f"unsupported tag <{name}>")
        if closing:
            if attrs.strip():
                raise HtmlError(f"</{name}> with attributes")
            if not stack or stack[-1] != name:
                raise HtmlError(f"</{name}> does not close {stack[-1] if stack else 'anything'}")
            stack.pop()
        else:
            if (
                stack
                and stack[-1] in ("code", "pre")
                and not (stack[-1] == "pre" and name == "code")
            ):
                raise HtmlError(f"<{name}> inside <{stack[-1]}>")
            if name == "a" and "a" in stack:
                raise HtmlError("nested links")
            if name == "blockquote" and "blockquote" in stack:
                raise HtmlError("nested blockquotes")
            _check_attrs(name, attrs, stack)
            stack.append(name)
        i = m.end()
    if stack:
        raise HtmlError(f"unclosed <{stack[-1]}>")
    return "".join(text)


# --- the server ------------------------------------------------------------------------


@dataclass
class Call:
    """One request the bot made."""

    method: str
    params: dict[str, Any]
    at: float
    outcome: str = "ok"  # ok | 429 | timeout | error
    result: Any = None
    error: str | None = None


@dataclass
class FakeMessage:
    """A message in a fake chat, from a user or from the bot."""

    chat_id: int
    message_id: int
    from_bot: bool
    text: str  # as users see it (parsed)
    raw: str = ""  # as the bot sent it
    parse_mode: str | None = None
    reply_markup: dict[str, Any] | None = None
    reply_to: int | None = None
    link_preview_disabled: bool | None = None
    edits: list[float] = field(default_factory=list)
    sent_at: float = field(default_factory=time.monotonic)
    user_id: int | None = None
    date: int | None = None  # Unix time the message is dated (None: when it is served)

    def buttons(self) -> list[dict[str, Any]]:
        """The inline buttons under the message, row by row flattened."""
        rows = (self.reply_markup or {}).get("inline_keyboard", [])
        return [b for row in rows for b in row]


@dataclass
class Fault:
    methods: frozenset[str]
    kind: str
    rate: float = 0.0
    count: int = 0
    retry_after: int = 1
    hang_s: float = 8.0
    fired: int = 0


_RAW_KEYS = {
    "text",
    "url",
    "secret_token",
    "parse_mode",
    "action",
    "callback_query_id",
    "inline_message_id",
    "business_connection_id",
    "description",
}


class _ApiHandler(tornado.web.RequestHandler):
    def initialize(self, api: FakeBotApi) -> None:
        self.api = api

    async def post(self, token: str, method: str) -> None:
        await self.api._handle(self, token, method)

    get = post

    def log_exception(self, *args: Any) -> None:  # keep test logs clean
        pass


class FakeBotApi:
    """The fake Bot API server; use as ``async with FakeBotApi() as api:``."""

    def __init__(
        self, token: str = TOKEN, username: str = BOT_USERNAME, bot_id: int = BOT_ID, seed: int = 0
    ) -> None:
        self.token, self.username, self.bot_id = token, username, bot_id
        self.calls: list[Call] = []
        self.pending: list[dict[str, Any]] = []
        self.chats: dict[int, dict[str, Any]] = {}
        self.messages: dict[int, list[FakeMessage]] = {}
        self.callback_answers: dict[str, dict[str, Any] | None] = {}
        self.webhook: dict[str, Any] = {}
        self.faults: list[Fault] = []
        self._rng = random.Random(seed)
        self._next_update_id = 1000
        self._next_query_id = 1
        self._new_update = asyncio.Event()
        self._server: HTTPServer | None = None
        self.port = 0

    # lifecycle
    async def start(self) -> FakeBotApi:
        app = tornado.web.Application(
            [(r"/bot([^/]+)/([A-Za-z]+)", _ApiHandler, {"api": self})],
            log_function=lambda handler: None,
        )
        self._server = HTTPServer(app)
        sockets = bind_sockets(0, "127.0.0.1")
        self._server.add_sockets(sockets)
        self.port = sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            await self._server.close_all_connections()

    async def __aenter__(self) -> FakeBotApi:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @property
    def base_url(self) -> str:
        """What goes into ``telegram.base_url``."""
        return f"http://127.0.0.1:{self.port}/bot"

    @property
    def bot_user(self) -> dict[str, Any]:
        return {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": "Newsbot",
            "username": self.username,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }

    # faults
    def inject(
        self,
        methods: str | Iterable[str],
        kind: str,
        *,
        rate: float = 0.0,
        count: int = 0,
        retry_after: int = 1,
        hang_s: float = 8.0,
    ) -> Fault:
        """Make calls to ``methods`` fail: ``kind`` is "429", "timeout", "parse_error" or
        "forbidden" (403, the user blocked the bot);
        the first ``count`` calls fail, or each with probability ``rate``."""
        names = frozenset([methods] if isinstance(methods, str) else methods)
        fault = Fault(names, kind, rate, count, retry_after, hang_s)
        self.faults.append(fault)
        return fault

    def _fault_for(self, method: str) -> Fault | None:
        for fault in self.faults:
            if method not in fault.methods:
                continue
            if fault.count > 0:
                fault.count -= 1
            elif not (fault.rate and self._rng.random() < fault.rate):
                continue
            fault.fired += 1
            return fault
        return None

    # users' side
    def chat(self, chat_id: int, chat_type: str | None = None) -> dict[str, Any]:
        """The chat object (created on first use: private for ids > 0, else a group)."""
        if chat_id not in self.chats:
            kind = chat_type or ("private" if chat_id > 0 else "group")
            chat: dict[str, Any] = {"id": chat_id, "type": kind}
            if kind == "private":
                chat["first_name"] = f"User{chat_id}"
            else:
                chat["title"] = f"Group {chat_id}"
            self.chats[chat_id] = chat
            self.messages[chat_id] = []
        return self.chats[chat_id]

    @staticmethod
    def user(user_id: int) -> dict[str, Any]:
        return {"id": user_id, "is_bot": False, "first_name": f"User{user_id}"}

    def _message_id(self, chat_id: int) -> int:
        return len(self.messages[chat_id]) + 1

    def _message_dict(self, m: FakeMessage) -> dict[str, Any]:
        d: dict[str, Any] = {
            "message_id": m.message_id,
            "date": m.date if m.date is not None else int(time.time()),
            "chat": self.chats[m.chat_id],
            "from": self.bot_user if m.from_bot else self.user(m.user_id or m.chat_id),
            "text": m.text,
        }
        if m.reply_markup:
            d["reply_markup"] = m.reply_markup
        if not m.from_bot:
            d["entities"] = _entities(m.text)
        if m.reply_to is not None:
            d["reply_to_message"] = self._message_dict(self.find(m.chat_id, m.reply_to))
        return d

    def find(self, chat_id: int, message_id: int) -> FakeMessage:
        """A message by chat and id."""
        for m in self.messages.get(chat_id, []):
            if m.message_id == message_id:
                return m
        raise KeyError((chat_id, message_id))

    def push_update(self, update: dict[str, Any]) -> int:
        """Queue a raw update (an ``update_id`` is added unless present); returns its id."""
        if "update_id" not in update:
            self._next_update_id += 1
            update = {"update_id": self._next_update_id, **update}
        self.pending.append(update)
        self._new_update.set()
        return int(update["update_id"])

    def push_text(
        self,
        chat_id: int,
        text: str,
        *,
        user_id: int | None = None,
        chat_type: str | None = None,
        reply_to: int | None = None,
        date: int | None = None,
    ) -> FakeMessage:
        """A user writes ``text`` in a chat (dated ``date``, Unix time; default: now);
        commands and @mentions get their entities."""
        self.chat(chat_id, chat_type)
        m = FakeMessage(
            chat_id,
            self._message_id(chat_id),
            False,
            text,
            text,
            reply_to=reply_to,
            user_id=user_id or abs(chat_id),
            date=date,
        )
        self.messages[chat_id].append(m)
        self.push_update({"message": self._message_dict(m)})
        return m

    def push_callback(
        self, chat_id: int, message_id: int, data: str, *, user_id: int | None = None
    ) -> str:
        """A user presses an inline button; returns the callback query id."""
        qid = str(self._next_query_id)
        self._next_query_id += 1
        self.callback_answers[qid] = None
        query = {
            "id": qid,
            "from": self.user(user_id or abs(chat_id)),
            "chat_instance": str(chat_id),
            "data": data,
            "message": self._message_dict(self.find(chat_id, message_id)),
        }
        self.push_update({"callback_query": query})
        return qid

    # records
    def ok(self, method: str | None = None) -> list[Call]:
        """Successful calls (of one method)."""
        return [c for c in self.calls if c.outcome == "ok" and method in (None, c.method)]

    def bot_messages(self, chat_id: int) -> list[FakeMessage]:
        """What the bot has sent to a chat, in order."""
        return [m for m in self.messages.get(chat_id, []) if m.from_bot]

    async def wait_for(
        self, predicate: Callable[[], bool], timeout: float = 120.0, what: str = "condition"
    ) -> None:
        """Wait until ``predicate()`` holds (checked every 20 ms)."""
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
            await asyncio.sleep(0.02)

    async def wait_messages(
        self, chat_id: int, n: int, timeout: float = 120.0
    ) -> list[FakeMessage]:
        """Wait until the bot has sent at least ``n`` messages to a chat; returns them."""
        await self.wait_for(
            lambda: len(self.bot_messages(chat_id)) >= n, timeout, f"{n} messages in {chat_id}"
        )
        return self.bot_messages(chat_id)

    async def settle(self, quiet_s: float = 1.0, timeout: float = 60.0) -> None:
        """Wait until no call but getUpdates has arrived for ``quiet_s`` seconds."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            busy = [c for c in self.calls if c.method != "getUpdates"]
            if not busy or time.monotonic() - busy[-1].at >= quiet_s:
                return
            await asyncio.sleep(0.05)

    # the HTTP side
    async def _handle(self, handler: _ApiHandler, token: str, method: str) -> None:
        params = _params(handler)
        call = Call(method, params, time.monotonic())
        self.calls.append(call)
        if token != self.token:
            call.outcome, call.error = "error", "Unauthorized"
            await _respond(
                handler, 401, {"ok": False, "error_code": 401, "description": "Unauthorized"}
            )
            return
        fault = self._fault_for(method)
        if fault is not None and fault.kind == "timeout":
            call.outcome = "timeout"
            await asyncio.sleep(fault.hang_s)
            await _respond(handler, 504, {"ok": False, "error_code": 504, "description": "late"})
            return
        if fault is not None and fault.kind == "forbidden":
            call.outcome, call.error = "error", "Forbidden: bot was blocked by the user"
            await _respond(
                handler, 403, {"ok": False, "error_code": 403, "description": call.error}
            )
            return
        if fault is not None and fault.kind == "429":
            call.outcome = "429"
            await _respond(
                handler,
                429,
                {
                    "ok": False,
                    "error_code": 429,
                    "description": f"Too Many Requests: retry after {fault.retry_after}",
                    "parameters": {"retry_after": fault.retry_after},
                },
            )
            return
        try:
            if fault is not None and fault.kind == "parse_error":
                raise _ApiError("Bad Request: can't parse entities: injected fault")
            call.result = await self._dispatch(method, params)
        except _ApiError as e:
            call.outcome, call.error = "error", e.description
            await _respond(
                handler, e.code, {"ok": False, "error_code": e.code, "description": e.description}
            )
            return
        await _respond(handler, 200, {"ok": True, "result": call.result})

    async def _dispatch(self, method: str, p: dict[str, Any]) -> Any:
        match method:
            case "getMe":
                return self.bot_user
            case "getUpdates":
                return await self._get_updates(p)
            case "sendMessage":
                return self._send_message(p)
            case "editMessageText":
                return self._edit_message_text(p)
            case "answerCallbackQuery":
                return self._answer_callback(p)
            case "sendChatAction":
                self._chat_of(p)
                return True
            case "setWebhook":
                self.webhook = {"url": p.get("url"), "secret_token": p.get("secret_token")}
                return True
            case "deleteWebhook":
                self.webhook = {}
                return True
            case "getWebhookInfo":
                return {
                    "url": self.webhook.get("url") or "",
                    "has_custom_certificate": False,
                    "pending_update_count": len(self.pending),
                }
            case "setMyCommands" | "deleteMyCommands" | "close" | "logOut":
                return True
        raise _ApiError("Not Found: method not found", 404)

    async def _get_updates(self, p: dict[str, Any]) -> list[dict[str, Any]]:
        offset = int(p.get("offset") or 0)
        if offset:
            self.pending = [u for u in self.pending if u["update_id"] >= offset]
        timeout = float(p.get("timeout") or 0)
        if not self.pending and timeout > 0:
            self._new_update.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._new_update.wait(), timeout)
        limit = int(p.get("limit") or 100)
        return list(self.pending[:limit])

    def _chat_of(self, p: dict[str, Any]) -> int:
        chat_id = int(p.get("chat_id", 0))
        if chat_id not in self.chats:
            raise _ApiError("Bad Request: chat not found")
        return chat_id

    def _text_of(self, p: dict[str, Any]) -> str:
        raw = str(p.get("text", ""))
        if p.get("parse_mode") == "HTML":
            try:
                text = parse_telegram_html(raw)
            except HtmlError as e:
                raise _ApiError(f"Bad Request: can't parse entities: {e}") from None
        elif p.get("parse_mode"):
            raise _ApiError(f"Bad Request: unsupported parse_mode {p['parse_mode']!r}")
        else:
            text = raw
        if not text.strip():
            raise _ApiError("Bad Request: message text is empty")
        if utf16_len(text.strip()) > MAX_LEN:
            raise _ApiError("Bad Request: message is too long")
        return text.strip()

    @staticmethod
    def _markup_of(p: dict[str, Any]) -> dict[str, Any] | None:
        markup = p.get("reply_markup")
        if markup is None:
            return None
        for row in markup.get("inline_keyboard", []):
            for button in row:
                if len(button.get("callback_data", "").encode()) > 64:
                    raise _ApiError("Bad Request: BUTTON_DATA_INVALID")
        return dict(markup)

    def _send_message(self, p: dict[str, Any]) -> dict[str, Any]:
        chat_id = self._chat_of(p)
        text = self._text_of(p)
        reply = p.get("reply_parameters") or {}
        reply_to = reply.get("message_id")
        if reply_to is not None:
            try:
                self.find(chat_id, int(reply_to))
            except KeyError:
                if not reply.get("allow_sending_without_reply"):
                    raise _ApiError("Bad Request: message to be replied not found") from None
                reply_to = None
        preview = p.get("link_preview_options") or {}
        m = FakeMessage(
            chat_id,
            self._message_id(chat_id),
            True,
            text,
            str(p.get("text")),
            p.get("parse_mode"),
            self._markup_of(p),
            reply_to,
            preview.get("is_disabled"),
        )
        self.messages[chat_id].append(m)
        return self._message_dict(m)

    def _edit_message_text(self, p: dict[str, Any]) -> dict[str, Any]:
        chat_id = self._chat_of(p)
        try:
            m = self.find(chat_id, int(p.get("message_id", 0)))
        except KeyError:
            raise _ApiError("Bad Request: message to edit not found") from None
        if not m.from_bot:
            raise _ApiError("Bad Request: message can't be edited")
        text, markup = self._text_of(p), self._markup_of(p)
        if text == m.text and markup == m.reply_markup:
            raise _ApiError(
                "Bad Request: message is not modified: specified new message content and "
                "reply markup are exactly the same as a current content and reply markup"
            )
        m.text, m.raw, m.parse_mode, m.reply_markup = (
            text,
            str(p.get("text")),
            p.get("parse_mode"),
            markup,
        )
        m.edits.append(time.monotonic())
        return self._message_dict(m)

    def _answer_callback(self, p: dict[str, Any]) -> bool:
        qid = str(p.get("callback_query_id"))
        if qid not in self.callback_answers or self.callback_answers[qid] is not None:
            raise _ApiError(
                "Bad Request: query is too old and response timeout expired or query id is invalid"
            )
        text = p.get("text")
        if text is not None and len(str(text)) > 200:
            raise _ApiError("Bad Request: MESSAGE_TOO_LONG")
        self.callback_answers[qid] = {"text": text, "show_alert": bool(p.get("show_alert"))}
        return True


class _ApiError(Exception):
    def __init__(self, description: str, code: int = 400) -> None:
        super().__init__(description)
        self.description, self.code = description, code


def _params(handler: tornado.web.RequestHandler) -> dict[str, Any]:
    request = handler.request
    if request.headers.get("Content-Type", "").startswith("application/json") and request.body:
        return dict(json.loads(request.body))
    out: dict[str, Any] = {}
    for key, values in request.body_arguments.items():
        raw = values[-1].decode()
        if key in _RAW_KEYS:
            out[key] = raw
            continue
        try:
            out[key] = json.loads(raw)
        except ValueError:
            out[key] = raw
    return out


async def _respond(handler: tornado.web.RequestHandler, status: int, body: dict[str, Any]) -> None:
    try:
        handler.set_status(status)
        handler.set_header("Content-Type", "application/json")
        handler.finish(json.dumps(body))
    except StreamClosedError:
        pass  # the client gave up (an injected timeout)


def _entities(text: str) -> list[dict[str, Any]]:
    """The entities Telegram would add to a user's text: a leading command, @mentions."""
    out = []
    m = re.match(r"/[A-Za-z0-9_]+(?:@[A-Za-z0-9_]+)?", text)
    if m:
        out.append({"type": "bot_command", "offset": 0, "length": utf16_len(m.group(0))})
    for m in re.finditer(r"(?<![\w@])@[A-Za-z0-9_]{5,32}\b", text):
        offset = utf16_len(text[: m.start()])
        out.append({"type": "mention", "offset": offset, "length": utf16_len(m.group(0))})
    return sorted(out, key=lambda e: e["offset"])


# --- driving the bot ------------------------------------------------------------------


@contextlib.asynccontextmanager
async def run_bot(service: Any, settings: Any, token: str = TOKEN) -> AsyncIterator[Any]:
    """The real Application from ``build_application``, long polling the fake server named
    by ``settings.telegram.base_url``; stopped and shut down on exit."""
    from bot.telegram.app import build_application
    from bot.telegram.handlers import ALLOWED_UPDATES

    app = build_application(service, settings, token)
    await app.initialize()
    assert app.updater is not None
    await app.updater.start_polling(timeout=1, poll_interval=0, allowed_updates=ALLOWED_UPDATES)
    await app.start()
    try:
        yield app
    finally:
        await app.updater.stop()
        await app.stop()
        await app.shutdown()


# --- a fake answer service -------------------------------------------------------------


def echo_answer(question: str) -> Answer:
    """An answer that repeats the question, citing one made-up article."""
    return Answer(
        question=question,
        standalone_question=question,
        text=f"You asked: {question} [1]",
        citations=[
            Citation(
                n=1,
                article_id="a1",
                title="A fake article",
                date="2024-01-02",
                source="Fake News Wire",
                url="https://example.org/a1",
                quote=f"The quoted sentence about {question}.",
                chunk_id="a1#0",
                score=1.0,
            )
        ],
    )


class EchoService:
    """The bot's answer service, faked: answers echo the question after a short delay.

    Args:
        latency_s: (min, max) seconds each answer takes, spent in a worker thread.
        tokens: streamed before the final answer, each after ``token_delay_s``.
        make_answer: builds the final Answer from the question.
        max_question_chars: the question cap, checked as the real service checks it.
    """

    def __init__(
        self,
        latency_s: tuple[float, float] = (0.02, 0.05),
        tokens: list[str] | None = None,
        token_delay_s: float = 0.0,
        make_answer: Callable[[str], Answer] = echo_answer,
        seed: int = 0,
        max_question_chars: int = 1000,
    ) -> None:
        self.max_question_chars = max_question_chars
        self.latency_s = latency_s
        self.tokens = tokens or []
        self.token_delay_s = token_delay_s
        self.make_answer = make_answer
        self.calls: list[tuple[str | None, str]] = []
        self.as_ofs: list[dt.date | None] = []  # the asked-on date of each call
        self.history: dict[str, list[Turn]] = {}
        self._rng = random.Random(seed)

    async def astream(
        self, question: str, *, session_id: str | None = None, as_of: dt.date | None = None
    ) -> AsyncIterator[StreamEvent]:
        question = check_question(question, self.max_question_chars)
        self.calls.append((session_id, question))
        self.as_ofs.append(as_of)
        await asyncio.to_thread(time.sleep, self._rng.uniform(*self.latency_s))
        for token in self.tokens:
            await asyncio.sleep(self.token_delay_s)
            yield TokenEvent(token)
        answer = self.make_answer(question)
        if session_id:
            self.history.setdefault(session_id, []).append(
                Turn(
                    question,
                    question,
                    answer.text,
                    None,
                    list(answer.citations),
                )
            )
        yield FinalEvent(answer)

    def reset(self, session_id: str) -> None:
        self.history.pop(session_id, None)

    def last_turn(self, session_id: str) -> Turn | None:
        turns = self.history.get(session_id)
        return turns[-1] if turns else None

    def stats(self) -> dict[str, Any]:
        return {
            "articles": 2,
            "date_range": ["2024-01-02", "2024-03-04"],
            "sources": {"Fake News Wire": 1, "<b>Bold & Co</b>": 1},
        }


def unescaped(markup: str) -> str:
    """Markup as text (for assertions on what users read)."""
    return html.unescape(re.sub(r"<[^>]*>", "", markup))
