"""The `newsbot` command: ingest, ask, eval, stats. Data goes to stdout; progress and
diagnostics to stderr. Exit codes: 0 ok, 1 error, 2 usage."""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import os
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, get_args

from bot import feeds_cli, render
from retrieval.config import AnswerBackend, Settings, load_settings
from retrieval.errors import NewsbotError

if TYPE_CHECKING:
    from retrieval.service import NewsService

EXAMPLES = """examples:
  newsbot ask "When is the accreditation withdrawn?"
  newsbot ask --json --since 2023-09-01 --source "The Verge" "What did Apple say about Google?"
  newsbot ask --as-of 2023-10-27 "Who led Tasmania's scoring in this week's NBL round?"
  newsbot ingest                        # update the index from docs_store/
  newsbot ingest ~/news --rebuild       # index another folder, embedding everything anew
  newsbot feeds add https://example.org/rss.xml && newsbot feeds poll
  newsbot eval ../shared/eval/seed
  newsbot stats
"""


WATCH_HELP = (
    "also poll the feeds in the background (every feeds.every), as `newsbot watch` does; "
    "new articles are answered from as soon as they are indexed"
)


def _date(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO date (YYYY-MM-DD): {value!r}") from None


def _positive(value: str) -> int:
    n = int(value)
    if n < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return n


def _non_negative(value: str) -> int:
    n = int(value)
    if n < 0:
        raise argparse.ArgumentTypeError("must be at least 0")
    return n


def build_parser() -> argparse.ArgumentParser:
    """The argument parser, with `--help` and an example on every command."""
    p = argparse.ArgumentParser(
        prog="newsbot",
        description="Ask questions about news articles; answers cite their sources.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--config",
        metavar="PATH",
        default=os.environ.get("NEWSBOT_CONFIG"),
        help="config file (default: $NEWSBOT_CONFIG, else ./config.yaml)",
    )
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    s = sub.add_parser(
        "ask",
        help="answer one question",
        epilog='example: newsbot ask "When is the accreditation withdrawn?"',
    )
    s.add_argument("question")
    s.add_argument("--json", action="store_true", help="print the Answer as JSON")
    s.add_argument("--k", type=_positive, help="chunks to retrieve")
    s.add_argument("--since", type=_date, metavar="DATE", help="only articles from DATE on")
    s.add_argument("--until", type=_date, metavar="DATE", help="only articles up to DATE")
    s.add_argument(
        "--as-of",
        type=_date,
        metavar="DATE",
        help="ask as if on DATE (default: today): 'last week' is read against it and no "
        "article published after it is used",
    )
    s.add_argument(
        "--source",
        action="append",
        default=[],
        metavar="NAME",
        help="only this source (repeatable)",
    )

    s = sub.add_parser(
        "ingest",
        help="index articles incrementally",
        epilog="example: newsbot ingest docs_store/ --rebuild",
    )
    s.add_argument(
        "paths",
        nargs="*",
        type=feeds_cli.path_or_url,
        metavar="PATH|URL",
        help="default: paths.docs; http(s) URLs are fetched and indexed as single pages",
    )
    s.add_argument("--rebuild", action="store_true", help="ignore the current index")
    s.add_argument(
        "--compact",
        action="store_true",
        help="also merge the index's segments into one (drops deleted rows for good)",
    )
    s.add_argument("--json", action="store_true", help="print the report as JSON")
    s.add_argument("--quiet", action="store_true", help="list only files that changed")

    s = sub.add_parser(
        "eval",
        help="score answers on an evaluation set",
        epilog="example: newsbot eval ../shared/eval/squad_dev_a --limit 500 --json",
    )
    s.add_argument("dataset", type=Path, metavar="DATASET_DIR")
    s.add_argument("--limit", type=_positive, help="only the first N questions (and conversations)")
    s.add_argument(
        "--offset",
        type=_non_negative,
        default=0,
        metavar="N",
        help="skip the first N questions (--offset 1000 --limit 500: questions 1001-1500)",
    )
    s.add_argument("--json", action="store_true", help="print one JSON object")
    s.add_argument(
        "--thresholds",
        default="",
        metavar="T1,T2,...",
        help="also print abstention against false abstention at these thresholds",
    )
    s.add_argument("--details", type=Path, metavar="FILE", help="write per-question JSON lines")
    s.add_argument(
        "--backend",
        choices=get_args(AnswerBackend),
        help="answer backend to evaluate (default: answer.backend)",
    )

    s = sub.add_parser("stats", help="what the index holds", epilog="example: newsbot stats --json")
    s.add_argument("--json", action="store_true")

    s = sub.add_parser(
        "chat", help="talk with the articles in the terminal", epilog="example: newsbot chat"
    )
    s.add_argument("--session", default=None, help="session id (default: a new one)")

    s = sub.add_parser(
        "serve",
        help="run the HTTP answer endpoint",
        epilog="example: NEWSBOT_HTTP__API_KEYS='[\"k1\"]' newsbot serve --port 8000 --watch",
    )
    s.add_argument("--host", default=None, help="default: http.host (127.0.0.1)")
    s.add_argument("--port", type=int, default=None, help="default: http.port (8000)")
    s.add_argument("--watch", action="store_true", help=WATCH_HELP)

    s = sub.add_parser(
        "telegram",
        help="run the Telegram bot (token from $TELEGRAM_BOT_TOKEN)",
        epilog="example: TELEGRAM_BOT_TOKEN=123:abc newsbot telegram --watch",
    )
    s.add_argument("--watch", action="store_true", help=WATCH_HELP)

    s = sub.add_parser(
        "db",
        help="the PostgreSQL database of store.backend: postgres",
        epilog="example: NEWSBOT_DATABASE_URL=postgresql://newsbot@db/newsbot newsbot db upgrade",
    )
    s.add_argument("action", choices=["upgrade"], help="upgrade: apply the schema migrations")
    feeds_cli.register(sub)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `newsbot` console script."""
    args = build_parser().parse_args(argv)
    try:
        settings = load_settings(args.config)
        return COMMANDS[args.command](settings, args)
    except NewsbotError as e:
        # One problem a line (a config error names each bad key on its own line).
        for line in str(e).splitlines() or [""]:
            print(f"newsbot: {line}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("newsbot: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader of stdout left (`newsbot ask ... | head -1`): stop quietly, as shell
        # tools do; stdout goes to devnull so that the flush at exit does not raise again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 128 + signal.SIGPIPE


def _service(settings: Settings) -> NewsService:
    # Imported here: `ingest` writes the index and never answers (the service's imports,
    # time-expression rules among them, are a quarter of a no-op ingest's own time).
    from retrieval.service import NewsService

    return NewsService(settings)


def cmd_ask(settings: Settings, args: argparse.Namespace) -> int:
    """Answer one question, building or updating the index first when needed."""
    from retrieval.search_index import Filters

    service = _service(settings)
    service.read_ahead(args.question)
    report = service.ensure_index(progress=sys.stderr.isatty())
    if report is not None:
        print(report.notice or render.ingest_text(report, verbose=False), file=sys.stderr)
    filters = Filters(since=args.since, until=args.until, sources=tuple(args.source))
    answer = service.ask(args.question, k=args.k, filters=filters, as_of=args.as_of)
    if args.json:
        print(answer.model_dump_json(indent=2))
    else:
        print(render.answer_text(answer))
    return 0


def cmd_ingest(settings: Settings, args: argparse.Namespace) -> int:
    """Index articles and report every file."""
    urls = [p for p in args.paths if isinstance(p, str)]
    if urls:
        if len(urls) < len(args.paths) or args.rebuild or args.compact:
            print(
                "newsbot: give URLs or paths, not both (and no --rebuild or --compact)",
                file=sys.stderr,
            )
            return 2
        return feeds_cli.cmd_ingest_urls(settings, urls, args.json)
    from retrieval.embeddings import make_embedder
    from retrieval.ingest import ingest

    # Not service.ingest(): that loads the new snapshot to answer from, which a command
    # that only writes the index would pay for (seconds at 40k chunks) and never use.
    embedder = make_embedder(settings.embedding)
    report = ingest(
        settings,
        embedder,
        args.paths or None,
        rebuild=args.rebuild,
        compact=args.compact,
        progress=not args.json,
    )
    if args.json:
        print(json.dumps(dataclasses.asdict(report), indent=2))
    else:
        print(render.ingest_text(report, verbose=not args.quiet))
    return 0


def cmd_stats(settings: Settings, args: argparse.Namespace) -> int:
    """Print what the index holds."""
    stats = _service(settings).stats()
    if args.json:
        print(json.dumps(stats, indent=2))
    else:
        for key, value in stats.items():
            if isinstance(value, dict):
                print(f"{key}:")
                for k, v in value.items():
                    print(f"  {k}: {v}")
            else:
                print(f"{key}: {value}")
    return 0


def cmd_eval(settings: Settings, args: argparse.Namespace) -> int:
    """Score a dataset and print the metrics."""
    from bot.evalcli import run_eval

    return run_eval(settings, args)


def cmd_chat(settings: Settings, args: argparse.Namespace) -> int:
    """The interactive REPL."""
    from bot.repl import run

    return run(settings, session_id=args.session)


def cmd_serve(settings: Settings, args: argparse.Namespace) -> int:
    """The HTTP server."""
    from bot.http.server import serve

    with feeds_cli.watching(settings, args.watch):
        return serve(settings, host=args.host, port=args.port)


def cmd_telegram(settings: Settings, args: argparse.Namespace) -> int:
    """The Telegram bot."""
    from bot.telegram.app import run

    with feeds_cli.watching(settings, args.watch):
        return run(settings)


def cmd_db(settings: Settings, args: argparse.Namespace) -> int:
    """Apply the database's missing schema migrations."""
    from retrieval.pg.migrate import upgrade_database

    applied, version = upgrade_database(settings.database)
    for name in applied:
        print(f"applied {name}", file=sys.stderr)
    print(f"schema version {version}")
    return 0


COMMANDS = {
    "ask": cmd_ask,
    "ingest": cmd_ingest,
    "stats": cmd_stats,
    "eval": cmd_eval,
    "chat": cmd_chat,
    "serve": cmd_serve,
    "telegram": cmd_telegram,
    "feeds": feeds_cli.cmd_feeds,
    "watch": feeds_cli.cmd_watch,
    "db": cmd_db,
}

if __name__ == "__main__":
    sys.exit(main())
