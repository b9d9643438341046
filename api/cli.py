"""The ``mixillo`` command: serve, migrate, seed-demo, ledger-check, bench."""

from __future__ import annotations

import argparse
import asyncio
import gc
import logging
import sys
from pathlib import Path

from aiohttp import web

from api.config import ConfigError, Settings
from api.observability import configure_logging
from store.errors import StoreError

log = logging.getLogger("mixillo")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mixillo", description="Mixillo Live: live-streaming backend")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="migrate the database and run the service")
    serve.add_argument("--host", help="address to listen on (MIXILLO_HOST, default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port to listen on (MIXILLO_PORT, default 8080)")
    serve.add_argument("--data-dir", type=Path, help="data directory (MIXILLO_DATA_DIR, default ./var)")
    for name, text in (
        ("migrate", "apply database migrations and exit"),
        ("seed-demo", "add demo data"),
        ("ledger-check", "verify the coin ledger's invariants (exit code 1 when broken)"),
    ):
        cmd = sub.add_parser(name, help=text)
        cmd.add_argument("--data-dir", type=Path, help="data directory (MIXILLO_DATA_DIR, default ./var)")
    sub.add_parser("bench", help="load tests and benchmarks: mixillo bench list", add_help=False)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["bench"]:  # its own argument parsing (benchmarks/toolkit/cli.py), no service settings
        from benchmarks.toolkit.cli import main as bench

        return bench(argv[1:])
    args = _parser().parse_args(argv)
    try:
        settings = Settings.from_env(
            host=getattr(args, "host", None), port=getattr(args, "port", None), data_dir=args.data_dir
        )
        settings.secret()  # fail now, with the variable's name, rather than on the first request
    except ConfigError as exc:
        print(f"mixillo: configuration error: {exc}", file=sys.stderr)
        return 2
    configure_logging(settings.log_level, settings.log_json)
    try:
        if args.command == "serve":
            return _serve(settings)
        if args.command == "migrate":
            asyncio.run(_migrate(settings))
            print("database is at the latest migration")
            return 0
        if args.command == "seed-demo":
            from api.seed import seed_demo

            for line in asyncio.run(seed_demo(settings)):
                print(line)
            return 0
        if args.command == "ledger-check":
            return asyncio.run(_ledger_check(settings))
    except (ConfigError, StoreError) as exc:
        print(f"mixillo: {exc}", file=sys.stderr)
        return 2
    raise AssertionError(args.command)


async def _migrate(settings: Settings) -> None:
    from store import migrate
    from store.database import Database

    db = Database(settings.database)
    try:
        await migrate.upgrade(db)
    finally:
        await db.close()


async def _ledger_check(settings: Settings) -> int:
    from store import migrate
    from store.database import Database
    from store.ledger.audit import audit

    db = Database(settings.database)
    try:
        await migrate.upgrade(db)
        report = await audit(db)
    finally:
        await db.close()
    for line in report.lines():
        print(line, file=sys.stdout if report.ok else sys.stderr)
    return 0 if report.ok else 1


# Young-generation threshold for the serving process (CPython's default: 700 allocations).
GC_YOUNG_THRESHOLD = 20_000


def _settle_garbage_collector() -> None:
    """Freeze what start-up built and collect the young generation less often.

    Why: in a 12 s gift storm to 2,000 viewers (``benchmarks.rooms``) the server ran 14 full (generation 2)
    collections taking 7 s of wall time in all at load 5.6 (up to 1.5 s each, the event loop stalled), each
    scanning the ~300,000 objects of the imported modules and the app, which never become garbage, and
    the requests in flight that a young collection every 700 allocations had promoted. ``gc.freeze``
    moves the start-up objects to the permanent generation (never scanned); a larger young threshold lets
    most requests finish before a collection sees them. Cycles are still collected, only less often
    (docs.python.org/3.11/library/gc.html#gc.freeze)."""
    gc.collect()
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(GC_YOUNG_THRESHOLD, middle, old)


def new_event_loop(kind: str) -> asyncio.AbstractEventLoop:
    """The loop ``Settings.event_loop`` names."""
    if kind == "uvloop":
        import uvloop

        return uvloop.new_event_loop()
    return asyncio.new_event_loop()


def _serve(settings: Settings) -> int:
    from api.app import create_app

    app = create_app(settings)
    _settle_garbage_collector()
    loop = new_event_loop(settings.event_loop)
    log.info("serving on http://%s:%d (data in %s, %s loop)", settings.host, settings.port,
             settings.data_dir.resolve(), settings.event_loop)
    web.run_app(app, host=settings.host, port=settings.port, print=None, access_log=None, loop=loop)
    return 0


if __name__ == "__main__":
    sys.exit(main())
