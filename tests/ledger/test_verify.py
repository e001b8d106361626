"""verify() and `walletql verify` find what disagrees, and name it.

A corruption left in place would fail verify() for every later test in this database, so each
test repairs what it broke in a `finally` and checks the ledger is sound again.
"""

import asyncpg
import pytest

from tests.calls import ledger
from walletql import db
from walletql.ledger.errors import InsufficientFunds
from walletql.ledger.verify import verify


@pytest.fixture
async def raw(database_url):
    conn = await asyncpg.connect(db.asyncpg_dsn(database_url))
    try:
        yield conn
    finally:
        await conn.close()


async def test_clean_ledger_verifies(customer, funded, run_cli):
    owner = await customer()
    wallet = await funded(owner, "USD", "5")
    other = await funded(await customer(), "USD")
    await ledger.transfer(owner, wallet.id, "2", "t", to_wallet_id=other.id)
    with pytest.raises(InsufficientFunds):  # a REJECTED transaction has no entries, rightly
        await ledger.withdraw(owner, wallet.id, "6", "refused")
    assert await verify() == []
    result = run_cli("verify")
    assert result.returncode == 0, result.stderr
    assert "OK" in result.stdout


async def test_corrupted_balance_is_named_by_verify_and_the_cli(customer, funded, sql, run_cli):
    owner = await customer()
    wallet = await funded(owner, "USD", "5")
    await sql(f"UPDATE wallets SET balance = balance + 1 WHERE id = {wallet.id}")
    try:
        problems = await verify()
        assert any(p.startswith(f"wallet {wallet.id} (USD)") for p in problems), problems
        assert any(p.startswith("currency USD") for p in problems), problems
        result = run_cli("verify")
        assert result.returncode == 1
        assert f"wallet {wallet.id} (USD)" in result.stdout
        assert "Traceback" not in result.stdout + result.stderr
    finally:
        await sql(f"UPDATE wallets SET balance = balance - 1 WHERE id = {wallet.id}")
    assert await verify() == []


async def test_version_out_of_step_with_entries(customer, funded, sql):
    owner = await customer()
    wallet = await funded(owner, "EUR", "5")
    await sql(f"UPDATE wallets SET version = version + 1 WHERE id = {wallet.id}")
    try:
        problems = await verify()
        assert [p for p in problems if p.startswith(f"wallet {wallet.id} ")] != []
        assert not any(p.startswith("currency") for p in problems)  # the money still adds up
    finally:
        await sql(f"UPDATE wallets SET version = version - 1 WHERE id = {wallet.id}")
    assert await verify() == []


async def test_transactions_without_their_entries(customer, funded, raw):
    """Rows only a superuser bypassing the append-only triggers could write: a POSTED deposit
    with no entry, and an entry whose balance_after breaks the running sum."""
    owner = await customer()
    wallet = await funded(owner, "BTC", "1")
    tx = await raw.fetchval(
        "INSERT INTO transactions (kind, status, amount, currency, destination_wallet_id, "
        "initiator_id, idempotency_key, fingerprint) "
        "VALUES ('DEPOSIT', 'POSTED', 2, 'BTC', $1, $2, 'ghost', 'f') RETURNING id",
        wallet.id,
        owner.user_id,
    )
    try:
        problems = await verify()
        assert any(p.startswith(f"transaction {tx} (POSTED") for p in problems), problems
        assert any(p.startswith("currency BTC") for p in problems), problems
    finally:
        async with raw.transaction():
            await raw.execute("SET LOCAL session_replication_role = replica")
            await raw.execute("DELETE FROM transactions WHERE id = $1", tx)
    assert await verify() == []


async def test_entry_breaking_the_running_sum(customer, funded, raw):
    owner = await customer()
    wallet = await funded(owner, "ETH", "3")
    await ledger.deposit(owner, wallet.id, "4", "second")
    entry = await raw.fetchrow(
        "SELECT id, balance_after FROM entries WHERE wallet_id = $1 AND version = 1", wallet.id
    )

    async def set_balance_after(value) -> None:
        async with raw.transaction():
            await raw.execute("SET LOCAL session_replication_role = replica")
            await raw.execute(
                "UPDATE entries SET balance_after = $1 WHERE id = $2", value, entry["id"]
            )

    await set_balance_after(entry["balance_after"] + 1)
    try:
        problems = await verify()
        assert f"wallet {wallet.id} entry version 1" in " ".join(problems), problems
    finally:
        await set_balance_after(entry["balance_after"])
    assert await verify() == []
