"""`posting_concurrency`: how many posting statements one process has in PostgreSQL at once.

A wallet row held by an outside transaction makes every posting to it wait inside PostgreSQL,
where pg_stat_activity shows it waiting on a lock; postings over the limit wait in the process
instead and never reach the database until a turn frees up.
"""

import asyncio
from collections import Counter

import asyncpg
import pytest

from tests.calls import ledger
from walletql import db
from walletql.ledger.verify import verify
from walletql.models import Wallet
from walletql.settings import Settings

from .conftest import key

_WAITING = """
SELECT count(*) FROM pg_stat_activity
WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE '%FROM walletql_%'
"""


async def _waiting_in_database(admin: asyncpg.Connection, at_least: int, seconds: float) -> int:
    """Lock-waiting postings, once at least `at_least` are (or after `seconds`, however many)."""
    for _ in range(int(seconds * 100)):
        count = await admin.fetchval(_WAITING)
        if count >= at_least:
            return count
        await asyncio.sleep(0.01)
    return await admin.fetchval(_WAITING)


async def _deposits_behind_a_held_wallet(on, database_url, owner, wallet, count: int):
    """`count` deposits into `wallet` while an outside transaction holds its row; returns how
    many of them waited inside PostgreSQL (once two did, the rest got a second to get there)
    and the deposits' results once the row is released. `on`: the ledger with its turns."""
    holder = await asyncpg.connect(db.asyncpg_dsn(database_url))
    admin = await asyncpg.connect(db.asyncpg_dsn(database_url))
    try:
        await holder.execute("BEGIN")
        await holder.execute("SELECT 1 FROM wallets WHERE id = $1 FOR UPDATE", wallet.id)
        calls = [on.deposit(owner, wallet.id, "1", key()) for _ in range(count)]
        pending = asyncio.gather(*calls, return_exceptions=True)
        await _waiting_in_database(admin, 2, 30)
        waiting = await _waiting_in_database(admin, count, 1)  # the others get there in ms
        await holder.execute("COMMIT")
        async with asyncio.timeout(30):
            results = await pending
    finally:
        await holder.close()
        await admin.close()
    return waiting, results


@pytest.mark.parametrize(("limit", "in_database"), [(2, 2), (0, 4)])
async def test_postings_over_the_limit_wait_in_the_process(
    limit, in_database, database_url, customer, funded
):
    owner = await customer()
    wallet = await funded(owner, "USD")
    limited = ledger.with_settings(posting_concurrency=limit)
    waiting, results = await _deposits_behind_a_held_wallet(limited, database_url, owner, wallet, 4)
    assert waiting == in_database
    assert Counter(type(r).__name__ for r in results) == {"Outcome": 4}
    await wallet.refresh_from_db()
    assert (wallet.balance, wallet.version) == (4, 4)
    assert await verify() == []


async def test_a_request_cancelled_while_waiting_gives_its_turn_back(
    database_url, customer, funded
):
    """A client that disconnects cancels its request; one waiting for a turn must neither post
    nor keep the turn from the postings after it."""
    owner = await customer()
    held, other = await funded(owner, "USD"), await funded(owner, "USD")
    holder = await asyncpg.connect(db.asyncpg_dsn(database_url))
    admin = await asyncpg.connect(db.asyncpg_dsn(database_url))
    try:
        one_turn = ledger.with_settings(posting_concurrency=1)
        await holder.execute("BEGIN")
        await holder.execute("SELECT 1 FROM wallets WHERE id = $1 FOR UPDATE", held.id)
        first = asyncio.create_task(one_turn.deposit(owner, held.id, "1", key()))
        assert await _waiting_in_database(admin, 1, 30) == 1  # it has the one turn
        waiting = asyncio.create_task(one_turn.deposit(owner, other.id, "1", key()))
        await asyncio.sleep(0.1)
        assert not waiting.done()
        waiting.cancel()
        await holder.execute("COMMIT")
        async with asyncio.timeout(30):
            await first
            with pytest.raises(asyncio.CancelledError):
                await waiting
            await one_turn.deposit(owner, other.id, "5", key())  # hangs if the turn leaked
    finally:
        await holder.close()
        await admin.close()
    await other.refresh_from_db()
    assert (other.balance, other.version) == (5, 1)  # the cancelled deposit never posted
    assert await verify() == []


async def test_opposite_transfers_under_the_default_limit(customer, funded):
    assert Settings().posting_concurrency == 2
    alice, bob = await customer(), await customer()
    a, b = await funded(alice, "USD", "100"), await funded(bob, "USD", "100")
    calls = []
    for i in range(40):
        calls.append(ledger.transfer(alice, a.id, "2", f"ab{i}", to_wallet_id=b.id))
        calls.append(ledger.transfer(bob, b.id, "1", f"ba{i}", to_wallet_id=a.id))
    results = await asyncio.gather(*calls, return_exceptions=True)
    assert Counter(type(r).__name__ for r in results) == {"Outcome": 80}
    balances = {w.id: w.balance for w in await Wallet.filter(id__in=[a.id, b.id])}
    assert balances == {a.id: 100 - 40 * 2 + 40, b.id: 100 + 40 * 2 - 40}
    assert await verify() == []


@pytest.mark.parametrize("raw", ["-1", "two", "1001"])
def test_posting_concurrency_setting_refuses_bad_values(raw):
    from walletql.settings import SettingsError, load

    with pytest.raises(SettingsError, match="WALLETQL_POSTING_CONCURRENCY"):
        load({"WALLETQL_POSTING_CONCURRENCY": raw})
    assert load({"WALLETQL_POSTING_CONCURRENCY": "0"}).posting_concurrency == 0
