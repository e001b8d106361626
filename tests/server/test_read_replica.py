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
import httpx
import pytest

from tests.postgres import PrivatePostgres, postgres_bin
from tests.server.conftest import free_port
from tests.server.test_metrics import moved, scrape

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


async def _replica(server) -> dict:
    """The server's /healthz figures of its replica (one worker: all its queries)."""
    async with httpx.AsyncClient() as http:
        return (await http.get(f"{server.url}/healthz")).json()["replica"]


def _queries(before: dict, after: dict) -> dict:
    return {k: after["queries"][k] - before["queries"][k] for k in after["queries"]}


async def test_queries_read_the_replica_and_a_caller_always_sees_their_own_posting(
    topology, start_server, make_api
):
    primary, standby = topology
    port = free_port()
    server = await start_server(
        database=primary.url,
        read_database_url=standby.url,
        read_wait_ms=100,
        cli=True,
        metrics="true",
        metrics_port=port,
    )
    api = make_api(server)
    user = await api.signup()
    wallet = await api.create_wallet(user["token"], "USD")
    await api.deposit(user["token"], wallet["id"], "5")
    await _caught_up(primary, standby)

    # Caught up: every query reads the replica.
    before, scraped = _wallet_reads(standby), await scrape(port)
    figures = await _replica(server)
    for _ in range(5):
        got = (await api.data(WALLET, {"id": wallet["id"]}, user["token"]))["wallet"]
        assert got == {"balance": "5.00", "version": 1}
    assert _wallet_reads(standby) >= before + 5
    now = await _replica(server)
    assert _queries(figures, now) == {"caught_up": 5, "behind": 0, "unavailable": 0}
    assert now["in_use"] is True

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
        held = await _replica(server)
        assert _queries(now, held) == {"caught_up": 0, "behind": 1, "unavailable": 0}
        assert held["in_use"] is False and held["waits"] == now["waits"] + 1
        assert held["wait_ms_max"] >= 100  # waited the whole WALLETQL_READ_WAIT_MS
    finally:
        await _scalar(standby.url, "SELECT pg_wal_replay_resume()")
    await _caught_up(primary, standby)
    before = _wallet_reads(standby)
    got = (await api.data(WALLET, {"id": wallet["id"]}, user["token"]))["wallet"]
    assert got == {"balance": "7.00", "version": 2}
    assert _wallet_reads(standby) > before
    assert "Read replica caught up" in server.log()
    assert _queries(held, await _replica(server))["caught_up"] == 1
    # The same decisions as Prometheus sees them (the metrics port adds up workers' files).
    counted = moved(scraped, await scrape(port), "walletql_replica_")
    assert counted[("walletql_replica_queries_total", frozenset({("reason", "caught_up")}))] == 6
    assert counted[("walletql_replica_queries_total", frozenset({("reason", "behind")}))] == 1
    assert counted[("walletql_replica_wait_seconds_count", frozenset())] >= 1


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
        assert (await _replica(server))["queries"]["unavailable"] == 3
    finally:
        await standby.started()
    await _caught_up(primary, standby)
    before = _wallet_reads(standby)
    got = (await api.data(WALLET, {"id": wallet["id"]}, user["token"]))["wallet"]
    assert got == {"balance": "2.00", "version": 2}
    assert _wallet_reads(standby) > before  # back on the replica, no restart
