"""WALLETQL_MIGRATE_ON_START=false (a container's setting): `walletql serve` never migrates;
it waits, unready, until `walletql migrate` has run, then serves without a restart."""

from __future__ import annotations

import asyncio
import os
import secrets
import sys
import time

import asyncpg
import httpx

from tests.conftest import _on_database
from tests.server.conftest import Server, _spawn, _stop, free_port
from walletql import db

DEADLINE = 30.0  # seconds for the server to answer, and to become ready after migrating


async def _status(http: httpx.AsyncClient, server: Server) -> int:
    """/readyz's status code, once the server answers at all."""
    deadline = time.monotonic() + DEADLINE
    while time.monotonic() < deadline:
        assert server.process.poll() is None, server.log()
        try:
            return (await http.get("/readyz")).status_code
        except httpx.TransportError:
            await asyncio.sleep(0.1)
    raise AssertionError(f"no answer within {DEADLINE:.0f}s:\n{server.log()}")


async def test_a_server_that_does_not_migrate_waits_for_the_migrate_command(database_url, tmp_path):
    name = f"walletql_unmigrated_{secrets.token_hex(4)}"
    admin = await asyncpg.connect(db.asyncpg_dsn(database_url))
    await admin.execute(f'CREATE DATABASE "{name}"')
    url = _on_database(database_url, name)
    port = free_port()
    process, log_path = _spawn(
        port, url, str(tmp_path), 1, True, {"migrate_on_start": "false", "log_level": "INFO"}
    )
    server = Server(process, port, log_path)
    try:
        async with httpx.AsyncClient(base_url=server.url, timeout=5.0) as http:
            assert await _status(http, server) == 503
            answer = await http.post("/graphql", json={"query": "{ currencies { code } }"})
            assert answer.status_code == 503
            assert answer.json()["errors"][0]["extensions"]["code"] == "SERVICE_UNAVAILABLE"
            await asyncio.sleep(1.5)  # past the first retries: still nothing applied
            assert await db.pending_migrations(url) == db.migration_files()
            assert "run `walletql migrate`" in server.log()

            env = {k: v for k, v in os.environ.items() if not k.startswith("WALLETQL_")}
            migrate = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "walletql.cli", "migrate",
                env={**env, "WALLETQL_DATABASE_URL": url},
                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
            )  # fmt: skip
            output, _ = await asyncio.wait_for(migrate.communicate(), 120)
            assert migrate.returncode == 0, output
            applied = f"applied {len(db.migration_files())} migration(s)"
            assert output.decode().startswith(applied), output  # by the command, not the server

            deadline = time.monotonic() + DEADLINE
            while (await http.get("/readyz")).status_code != 200:
                assert time.monotonic() < deadline, server.log()
                await asyncio.sleep(0.2)
            answer = await http.post("/graphql", json={"query": "{ currencies { code } }"})
            assert answer.status_code == 200
            assert "USD" in [c["code"] for c in answer.json()["data"]["currencies"]]
    finally:
        await _stop(server)
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()
