"""walletql behind PgBouncer in transaction mode (Debian's pgbouncer, 1.18 here), a real process
in front of the test's PostgreSQL: the pool goes through it with `statement_cache_size=0` (1.18
cannot keep a prepared statement between transactions), while LISTEN and the migrations' lock
take a direct connection (WALLETQL_LISTEN_DATABASE_URL), since a transaction pooler hands each
transaction to any server connection. See docs/scaling.md."""

from __future__ import annotations

import asyncio
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest

from tests.server.clients import Collector, subscriber
from walletql import db

REQUIRED = os.environ.get("WALLETQL_REQUIRE_PGBOUNCER") == "1"
BINARY = shutil.which("pgbouncer") or next(
    (p for p in ("/usr/sbin/pgbouncer", "/usr/bin/pgbouncer") if os.path.exists(p)), None
)
SERVER_CONNECTIONS = 2  # fewer than the server's pool: transactions share server connections


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Bouncer:
    """A PgBouncer process in transaction mode in front of `target` (host, port)."""

    def __init__(self, host: str, port: int, marker: str) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="walletql-pgbouncer-"))
        self.port = _free_port()
        (self.root / "users.txt").write_text('"postgres" ""\n')
        # `application_name` on its server connections shows the traffic went through it.
        (self.root / "pgbouncer.ini").write_text(
            f"""[databases]
* = host={host} port={port} application_name={marker}
[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {self.port}
unix_socket_dir =
auth_type = trust
auth_file = {self.root}/users.txt
pool_mode = transaction
default_pool_size = {SERVER_CONNECTIONS}
max_client_conn = 200
logfile = {self.root}/pgbouncer.log
pidfile = {self.root}/pgbouncer.pid
"""
        )
        user = None
        if os.geteuid() == 0:  # PgBouncer refuses to run as root
            user = "nobody"
            entry = pwd.getpwnam(user)
            os.chown(self.root, entry.pw_uid, entry.pw_gid)
            for path in self.root.iterdir():
                os.chown(path, entry.pw_uid, entry.pw_gid)
        self.process = subprocess.Popen(
            [BINARY, str(self.root / "pgbouncer.ini")],
            user=user,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
        )

    def url(self, database: str) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}?statement_cache_size=0"

    async def wait_listening(self) -> None:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.log()
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                await asyncio.sleep(0.05)
        raise AssertionError(f"pgbouncer not listening; its log:\n{self.log()}")

    def log(self) -> str:
        path = self.root / "pgbouncer.log"
        return path.read_text() if path.exists() else ""

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)
        shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture
async def fresh_database(database_url):
    """A database of this test's own, not migrated: the server migrates it at start-up."""
    name = f"walletql_bouncer_{secrets.token_hex(4)}"
    parts = urlsplit(database_url)
    admin = await asyncpg.connect(db.asyncpg_dsn(database_url))
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        yield name, urlunsplit(parts._replace(path=f"/{name}"))
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


@pytest.fixture
async def bouncer(database_url):
    parts = urlsplit(database_url)
    if not parts.hostname or parts.hostname.startswith("/"):
        pytest.skip("PgBouncer is tried over TCP: the test database is on a unix socket")
    if BINARY is None:
        if REQUIRED:
            pytest.fail("WALLETQL_REQUIRE_PGBOUNCER=1 but no pgbouncer binary")
        pytest.skip("pgbouncer is not installed (apt-get install pgbouncer)")
    started = Bouncer(parts.hostname, parts.port or 5432, f"viabouncer{secrets.token_hex(3)}")
    try:
        await started.wait_listening()
        yield started
    finally:
        started.stop()


async def test_the_api_runs_through_pgbouncer_in_transaction_mode(
    bouncer, fresh_database, start_server, make_api
):
    name, direct_url = fresh_database
    marker = bouncer.root.joinpath("pgbouncer.ini").read_text().split("application_name=")[1]
    marker = marker.split()[0]
    server = await start_server(
        database=bouncer.url(name), listen_database_url=direct_url, db_pool_size=6
    )
    api = make_api(server)
    payer, payee = await api.signup(), await api.signup()
    source = await api.create_wallet(payer["token"], "USD")
    target = await api.create_wallet(payee["token"], "USD")
    await api.deposit(payer["token"], source["id"], "100")

    async with subscriber(server.ws_url, payee["token"]) as ws:
        await ws.subscribe("live", target["id"])
        await api.wait_subscribers(1)
        seen = Collector(ws)
        # More requests at once than PgBouncer has server connections, each a posting: the
        # same prepared-statement-free queries on whichever server connection is free.
        moves = [
            api.transfer(payer["token"], source["id"], target["id"], "1.25") for _ in range(40)
        ]
        results = await asyncio.gather(*moves)
        assert all(r["__typename"] == "PaymentPayload" for r in results), results[:3]
        updates = await seen.until(40)  # delivered over the direct LISTEN connection
        await seen.stop()
    assert [u["version"] for u in updates] == list(range(1, 41))
    assert updates[-1]["balance"] == "50.00"
    assert (await api.wallet(payer["token"], source["id"]))["balance"] == "50.00"

    # The pool's traffic went through PgBouncer; LISTEN did not (it would lose notifications).
    direct = await asyncpg.connect(db.asyncpg_dsn(direct_url))
    try:
        through = await direct.fetchval(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = $1 AND application_name = $2",
            name,
            marker,
        )
        listening = await direct.fetchval(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = $1 AND query LIKE 'LISTEN%'"
            " AND application_name <> $2",
            name,
            marker,
        )
    finally:
        await direct.close()
    assert 1 <= through <= SERVER_CONNECTIONS  # PgBouncer's, however many clients it had
    assert listening >= 1
    assert await verify_database(direct_url) == []


async def verify_database(url: str) -> list:
    """`walletql verify` on the test's own database (the session's ORM is on another one)."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("WALLETQL_")} | {
        "WALLETQL_DATABASE_URL": url
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "walletql.cli",
        "verify",
        env=environment,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await process.communicate()
    return [] if process.returncode == 0 else [output.decode()]
