"""Migrations run at every start; several processes starting at once must not race."""

from __future__ import annotations

import asyncio
import os
import secrets
import sys

import asyncpg

from tests.conftest import _on_database
from walletql import db, ids

PROCESSES = 6


async def _run_migrate(url: str) -> tuple[int, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WALLETQL_")}
    env["WALLETQL_DATABASE_URL"] = url
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "walletql.cli",
        "migrate",
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await asyncio.wait_for(process.communicate(), 120)
    return process.returncode, output.decode()


async def test_concurrent_starts_apply_each_migration_once(database_url):
    name = f"walletql_migrate_{secrets.token_hex(4)}"
    admin = await asyncpg.connect(db.asyncpg_dsn(database_url))
    await admin.execute(f'CREATE DATABASE "{name}"')
    url = _on_database(database_url, name)
    try:
        results = await asyncio.gather(*(_run_migrate(url) for _ in range(PROCESSES)))
        assert [code for code, _ in results] == [0] * PROCESSES, results
        applied = [out for _, out in results if "applied 0 migration(s)" not in out]
        assert len(applied) == 1, results  # one process did the work, the others found it done
        conn = await asyncpg.connect(db.asyncpg_dsn(url))
        try:
            versions = await conn.fetch("SELECT version FROM aerich ORDER BY id")
            triggers = await conn.fetchval(
                "SELECT count(*) FROM pg_trigger WHERE tgname = 'entries_append_only'"
            )
            keys = await conn.fetch("SELECT name, secret FROM walletql_keys")
        finally:
            await conn.close()
        assert (
            len(versions)
            == len({v["version"] for v in versions})
            == len(list(db.MIGRATIONS.glob("models/*.py")))
        )
        assert triggers == 1
        # One id key, made by the database itself: its own, not another database's.
        assert [k["name"] for k in keys] == [ids.KEY_NAME] and len(keys[0]["secret"]) == 32
        assert keys[0]["secret"] != await ids.read_key()
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


async def test_an_up_to_date_database_is_not_migrated_and_aerich_not_loaded(database_url):
    """Every worker migrates at start; with nothing pending it must not pay for aerich."""
    assert await db.pending_migrations(database_url) == []
    env = {k: v for k, v in os.environ.items() if not k.startswith("WALLETQL_")}
    check = (
        "import asyncio, sys; from walletql import db; "
        f"print(asyncio.run(db.migrate({database_url!r})), 'aerich' in sys.modules)"
    )
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-c", check, env=env, stdout=asyncio.subprocess.PIPE
    )
    output, _ = await asyncio.wait_for(process.communicate(), 60)
    assert output.decode().split() == ["[]", "False"]


async def test_pending_migrations_lists_what_a_fresh_database_lacks(database_url):
    name = f"walletql_pending_{secrets.token_hex(4)}"
    admin = await asyncpg.connect(db.asyncpg_dsn(database_url))
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        url = _on_database(database_url, name)
        assert await db.pending_migrations(url) == db.migration_files()
        assert (await _run_migrate(url))[0] == 0  # aerich re-initialises the ORM: not in here
        assert await db.pending_migrations(url) == []
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()
