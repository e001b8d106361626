"""Queries on a real streaming replica (pg_basebackup -R of a PostgreSQL of the test's own):
they read it once it has replayed what the primary had committed when they arrived, so a caller
sees their own posting at once; a replica held back (replay paused) or down is not waited for
past WALLETQL_READ_WAIT_MS, and the primary answers; mutations never go to it. Which database
answered is read from the replica's own log, which records every statement it runs (a standby
keeps no table statistics of its own to count with)."""

from __future__ import annotations

import asyncio
import re

import asyncpg
import pytest

from tests.postgres import PrivatePostgres, postgres_bin

WALLET = "query($id: ID!) { wallet(id: $id) { balance version } }"

pytestmark = pytest.mark.skipif(postgres_bin() is None, reason="no PostgreSQL binaries")


@pytest.fixture(scope="module")
def topology():
    primary = PrivatePostgres("walletql-primary-")
    standby = PrivatePostgres("walletql-replica-", settings={"log_min_duration_statement": "0"})
    try:
        primary.init()
        standby.init_standby_of(primary)
        yield primary, standby
    finally:
        standby.remove()
        primary.remove()


async def _scalar(url: str, sql: str):
    conn = await asyncpg.connect(url)
    try:
        return await conn.fetchval(sql)
    finally:
        await conn.close()


def _wallet_reads(standby: PrivatePostgres) -> int:
    """Statements on `wallets` the replica has run (its log: log_min_duration_statement = 0,
    one entry per statement, the SQL's own lines under it)."""
    log = (standby.root / "postgres.log").read_text(errors="replace")
    entries = re.split(r"\n(?=\d{4}-\d\d-\d\d )", log)
    return sum(1 for entry in entries if "duration:" in entry and "wallets" in entry)


async def _caught_up(primary: PrivatePostgres, standby: PrivatePostgres) -> None:
    target = await _scalar(primary.url, "SELECT pg_current_wal_lsn()::text")
    for _ in range(500):
        if await _scalar(standby.url, f"SELECT pg_last_wal_replay_lsn() >= '{target}'"):
            return
        await asyncio.sleep(0.02)
    raise AssertionError("the replica did not catch up")


async def test_queries_read_the_replica_and_a_caller_always_sees_their_own_posting(
    topology, start_server, make_api
):
    primary, standby = topology
    server = await start_server(
        database=primary.url, read_database_url=standby.url, read_wait_ms=100
    )
    api = make_api(server)
    user = await api.signup()
    wallet = await api.create_wallet(user["token"], "USD")
    await api.deposit(user["token"], wallet["id"], "5")
    await _caught_up(primary, standby)

    # Caught up: every query reads the replica.
    before = _wallet_reads(standby)
    for _ in range(5):
        got = (await api.data(WALLET, {"id": wallet["id"]}, user["token"]))["wallet"]
        assert got == {"balance": "5.00", "version": 1}
    assert _wallet_reads(standby) >= before + 5

    # Held back: the caller's new posting is not on the replica, so the primary answers.
    await _scalar(standby.url, "SELECT pg_wal_replay_pause()")
    try:
        posted = await api.deposit(user["token"], wallet["id"], "2")  # mutations: the primary
        assert posted["wallet"]["balance"] == "7.00"
        before = _wallet_reads(standby)
        got = (await api.data(WALLET, {"id": wallet["id"]}, user["token"]))["wallet"]
        assert got == {"balance": "7.00", "version": 2}  # never the replica's 5.00
        assert _wallet_reads(standby) == before
        assert "Read replica behind by more than WALLETQL_READ_WAIT_MS" in server.log()
    finally:
        await _scalar(standby.url, "SELECT pg_wal_replay_resume()")
    await _caught_up(primary, standby)
    before = _wallet_reads(standby)
    got = (await api.data(WALLET, {"id": wallet["id"]}, user["token"]))["wallet"]
    assert got == {"balance": "7.00", "version": 2}
    assert _wallet_reads(standby) > before
    assert "Read replica caught up" in server.log()


async def test_a_replica_down_is_not_waited_for(topology, start_server, make_api):
    primary, standby = topology
    server = await start_server(
        database=primary.url, read_database_url=standby.url, read_wait_ms=100
    )
    api = make_api(server)
    user = await api.signup()
    wallet = await api.create_wallet(user["token"], "USD")
    await api.deposit(user["token"], wallet["id"], "1")
    await standby.stopped("fast")
    try:
        await api.deposit(user["token"], wallet["id"], "1")
        for _ in range(3):
            got = (await api.data(WALLET, {"id": wallet["id"]}, user["token"]))["wallet"]
            assert got == {"balance": "2.00", "version": 2}
        assert "Read replica unavailable" in server.log()
    finally:
        await standby.started()
    await _caught_up(primary, standby)
    before = _wallet_reads(standby)
    got = (await api.data(WALLET, {"id": wallet["id"]}, user["token"]))["wallet"]
    assert got == {"balance": "2.00", "version": 2}
    assert _wallet_reads(standby) > before  # back on the replica, no restart
