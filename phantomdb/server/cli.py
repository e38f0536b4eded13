"""``phantomdb serve``: PhantomDB Lite from the command line (also ``python -m phantomdb.server``).

Once the server accepts connections it prints exactly one line on stdout,
``PhantomDB Lite listening on http://HOST:PORT``, which scripts and the test
fixtures wait for. Logs go to stderr. SIGTERM and SIGINT stop it cleanly: open
transactions are rolled back and every SQLite connection is closed.

``phantomdb create-database NAME``, ``list-databases`` and ``drop-database
NAME --yes`` manage the databases of any PhantomDB server (``--url``, or
PHANTOMDB_URL) through the ``phantomdb`` client, with credentials from flags
or PHANTOMDB_USER / PHANTOMDB_PASSWORD / PHANTOMDB_TOKEN.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from types import FrameType

from phantomdb.client import PhantomDB
from phantomdb.errors import PhantomDBError
from phantomdb.server.config import DURABILITY_LEVELS, LOG_LEVELS, Settings, load_credentials

DEFAULT_URL = "http://127.0.0.1:8080"


def _positive_float(text: str) -> float:
    value = float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError("must be positive")
    return value


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


# The limits of docs/server.md: flag, type, metavar, help; each flag is the Settings field of its name.
_LIMIT_FLAGS = (
    ("--statement-timeout", _positive_float, "SECONDS", "a statement running longer is interrupted"),
    ("--statement-threads", _positive_int, "N", "worker threads running SQLite work"),
    ("--max-response-bytes", _positive_int, "N", "largest value and largest unstreamed response"),
    ("--max-stream-bytes", _positive_int, "N", "largest streamed result; past it the stream is cut"),
    ("--header-timeout", _positive_float, "SECONDS", "time a client has to send a request's head"),
    ("--max-header-bytes", _positive_int, "N", "largest request head"),
    ("--max-connections", _positive_int, "N", "open connections past which requests get 503"),
)


def _setting(flag: str) -> str:
    return flag[2:].replace("-", "_")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="phantomdb", description="PhantomDB tools.")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    serve = commands.add_parser("serve", help="run PhantomDB Lite, the single-node PhantomDB server")
    defaults = Settings()
    serve.add_argument("--host", default=defaults.host, help="address to listen on (default %(default)s)")
    serve.add_argument(
        "--port", type=int, default=defaults.port, help="port; 0 picks a free one (default %(default)s)"
    )
    serve.add_argument(
        "--data-dir", type=Path, default=Path("./phantomdb-data"), help="one <name>.sqlite3 file per database"
    )
    serve.add_argument(
        "--user", action="append", default=[], metavar="USER:PASSWORD", help="accept HTTP Basic"
    )
    serve.add_argument("--token", action="append", default=[], metavar="TOKEN", help="accept a Bearer token")
    serve.add_argument(
        "--auth-file",
        type=Path,
        metavar="FILE",
        help='JSON {"users": {"name": "password"}, "tokens": ["..."]}',
    )
    serve.add_argument(
        "--durability",
        choices=DURABILITY_LEVELS,
        default=defaults.durability,
        help="SQLite synchronous setting: full syncs every commit, normal syncs at checkpoints (default)",
    )
    serve.add_argument("--max-body-bytes", type=_positive_int, default=defaults.max_body_bytes)
    serve.add_argument(
        "--max-rows",
        type=_positive_int,
        default=defaults.max_rows,
        help="longer results are streamed in chunks",
    )
    serve.add_argument(
        "--transaction-timeout",
        type=_positive_float,
        default=defaults.transaction_timeout,
        metavar="SECONDS",
        help="idle transactions are rolled back after this (default %(default)s)",
    )
    serve.add_argument(
        "--busy-timeout",
        type=_positive_float,
        default=defaults.busy_timeout,
        metavar="SECONDS",
        help="how long a write waits for another transaction's lock (default %(default)s)",
    )
    for flag, kind, metavar, text in _LIMIT_FLAGS:
        serve.add_argument(
            flag,
            type=kind,
            default=getattr(defaults, _setting(flag)),
            metavar=metavar,
            help=f"{text} (default %(default)s)",
        )
    serve.add_argument(
        "--allow-origin",
        action="append",
        default=[],
        metavar="ORIGIN",
        help="serve browser requests from this origin (scheme://host[:port]); repeatable",
    )
    serve.add_argument(
        "--allow-host",
        action="append",
        default=[],
        metavar="HOST",
        help="accept this Host header besides the loopback names; repeatable",
    )
    serve.add_argument("--log-level", choices=LOG_LEVELS, default=defaults.log_level)
    serve.add_argument(
        "--trace-file",
        type=Path,
        metavar="PATH",
        help="trace every request (OpenTelemetry SDK) and append its spans to PATH as JSON lines",
    )

    create = commands.add_parser("create-database", help="create a database on a PhantomDB server")
    create.add_argument("name")
    listing = commands.add_parser("list-databases", help="list the databases of a PhantomDB server")
    drop = commands.add_parser("drop-database", help="drop a database and every table in it")
    drop.add_argument("name")
    drop.add_argument("--yes", action="store_true", help="confirm: the data is deleted for good")
    for command in (create, listing, drop):
        _add_server_flags(command)
    return parser


def _add_server_flags(command: argparse.ArgumentParser) -> None:
    """The server and the credentials a database command uses; the environment fills what is not given."""
    environ = os.environ
    command.add_argument(
        "--url", default=environ.get("PHANTOMDB_URL", DEFAULT_URL), help="server URL (PHANTOMDB_URL)"
    )
    command.add_argument(
        "--user", default=environ.get("PHANTOMDB_USER"), help="HTTP Basic user (PHANTOMDB_USER)"
    )
    command.add_argument(
        "--password",
        default=environ.get("PHANTOMDB_PASSWORD"),
        help="prefer PHANTOMDB_PASSWORD: flags are visible in ps",
    )
    command.add_argument(
        "--token", default=environ.get("PHANTOMDB_TOKEN"), help="bearer token; prefer PHANTOMDB_TOKEN"
    )


def run_database_command(args: argparse.Namespace) -> int:
    """create-database, list-databases or drop-database against ``args.url``."""
    if args.command == "drop-database" and not args.yes:
        print(
            f"phantomdb: dropping database '{args.name}' deletes all its data; add --yes to confirm",
            file=sys.stderr,
        )
        return 2
    try:
        with PhantomDB(args.url, user=args.user, password=args.password, token=args.token) as client:
            if args.command == "create-database":
                client.create_database(args.name)
                print(f"Created database '{args.name}' on {client.url}")
            elif args.command == "drop-database":
                client.drop_database(args.name)
                print(f"Dropped database '{args.name}' on {client.url}")
            else:
                for database in client.list_databases():
                    print(database["name"])
    except PhantomDBError as exc:
        print(f"phantomdb: {exc}", file=sys.stderr)
        return 1
    return 0


def settings_from_args(args: argparse.Namespace) -> Settings:
    return Settings(
        host=args.host,
        port=args.port,
        data_dir=args.data_dir,
        credentials=load_credentials(args.user, args.token, args.auth_file),
        durability=args.durability,
        max_body_bytes=args.max_body_bytes,
        max_rows=args.max_rows,
        transaction_timeout=args.transaction_timeout,
        busy_timeout=args.busy_timeout,
        **{_setting(flag): getattr(args, _setting(flag)) for flag, *_ in _LIMIT_FLAGS},
        allowed_origins=tuple(args.allow_origin),
        allowed_hosts=tuple(args.allow_host),
        log_level=args.log_level,
    )


def serve(settings: Settings) -> None:
    """Run the server in this thread until SIGTERM or SIGINT."""
    from phantomdb.server.serve import READY_MESSAGE, bind_socket, build_server, socket_url
    from phantomdb.server.storage import DataDirInUse, lock_data_dir

    level = logging.getLevelName(settings.log_level.upper())
    logging.basicConfig(
        level=level, stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    try:
        lock = lock_data_dir(settings.data_dir, shared=False)
    except (DataDirInUse, OSError) as exc:
        raise SystemExit(f"phantomdb: {exc}") from None
    with lock:
        try:
            sock = bind_socket(settings.host, settings.port)
        except OSError as exc:
            raise SystemExit(f"phantomdb: cannot listen on {settings.host}:{settings.port}: {exc}") from None
        url = socket_url(sock)
        server = build_server(settings, on_ready=lambda: print(READY_MESSAGE.format(url=url), flush=True))
        server.run(sockets=[sock])


def _exit_cleanly(signum: int, frame: FrameType | None) -> None:
    # uvicorn catches SIGTERM/SIGINT while it serves and raises them again after
    # its clean shutdown; then they land here and end the process with status 0.
    raise SystemExit(0)


def main(argv: Sequence[str] | None = None, *, serve_only: bool = False) -> int:
    """``phantomdb [serve] [flags]``; ``serve_only`` is ``python -m phantomdb.server``: serve's flags only."""
    arguments = list(sys.argv[1:] if argv is None else argv)
    bare_help = arguments[:1] in (["-h"], ["--help"])
    if not arguments or (arguments[0].startswith("-") and not bare_help) or (serve_only and bare_help):
        arguments.insert(0, "serve")  # serve is the default command
    parser = build_parser()
    args = parser.parse_args(arguments)
    if args.command != "serve":
        return run_database_command(args)
    try:
        settings = settings_from_args(args)
    except ValueError as exc:
        parser.error(str(exc))
    if args.trace_file is not None:
        from phantomdb.server.tracing import export_spans_to

        export_spans_to(args.trace_file)
    signal.signal(signal.SIGTERM, _exit_cleanly)
    signal.signal(signal.SIGINT, _exit_cleanly)
    try:
        serve(settings)
    except SystemExit as exc:
        if isinstance(exc.code, str):
            print(exc.code, file=sys.stderr)
            return 1
        return exc.code or 0
    return 0
