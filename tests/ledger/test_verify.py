"""verify() and `walletql verify` find what disagrees, and name it.

A corruption left in place would fail verify() for every later test in this database, so each
test repairs what it broke in a `finally` and checks the ledger is sound again.
"""

import secrets
from decimal import Decimal

import asyncpg
import pytest

from tests.calls import ledger
from walletql import db
from walletql.ledger.errors import InsufficientFunds
from walletql.ledger.posting import BALANCE_CHANNEL, MAX_BALANCE
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


def key() -> str:
    return secrets.token_hex(8)


def n(amount: str) -> str:
    """An amount as verify writes it: numeric(38,18) in full."""
    return f"{Decimal(amount):.18f}"


# Holds and refunds are posted here by migration 8's SQL functions, called as walletql/ledger
# calls them (p_accepting NULL: any precision); each answers (outcome, tx, wallet, ..., hold).
async def post(raw, function: str, *args, outcome: str = "POSTED") -> asyncpg.Record:
    """`function(*args, description, key, fingerprint, channel, max balance)`: its outcome and
    the ids of its transaction and its hold."""
    tail = ("verify test", key(), "f", BALANCE_CHANNEL, MAX_BALANCE)
    marks = ", ".join(f"${i}" for i in range(1, len(args) + len(tail) + 1))
    row = await raw.fetchrow(
        f"SELECT outcome, (tx).id AS tx, (hold).id AS hold FROM {function}({marks})", *args, *tail
    )
    assert row["outcome"] == outcome, row
    return row


async def authorize(raw, shop, wallet, amount: str, *, outcome: str = "POSTED"):
    return await post(
        raw, "walletql_authorize", shop.user_id, wallet.payment_token, None, Decimal(amount),
        None, 3600, outcome=outcome,
    )  # fmt: skip


async def capture(raw, shop, hold: int, amount: str, *, final: bool = False):
    return await post(raw, "walletql_capture", shop.user_id, hold, Decimal(amount), final, None)


async def void(raw, shop, hold: int):
    return await post(raw, "walletql_void_hold", shop.user_id, hold)


async def refund(raw, by, original: int, amount: str | None, *, outcome: str = "POSTED"):
    value = None if amount is None else Decimal(amount)
    return await post(
        raw, "walletql_refund", by.user_id, False, original, value, None, outcome=outcome
    )


async def bypassing_triggers(raw, statement: str, *args) -> None:
    """A statement the append-only triggers would refuse (a superuser's corruption or repair)."""
    async with raw.transaction():
        await raw.execute("SET LOCAL session_replication_role = replica")
        await raw.execute(statement, *args)


async def test_clean_ledger_with_holds_and_refunds_verifies(
    customer, merchant, funded, raw, run_cli
):
    """Every shape a hold or a refund posts, and their refusals: nothing to report, though HOLD
    and RELEASE carry amounts that moved no balance."""
    payer, shop = await customer(), await merchant()
    wallet = await funded(payer, "USD", "100")
    till = await funded(shop, "USD")
    first = (await authorize(raw, shop, wallet, "30"))["hold"]
    await capture(raw, shop, first, "10")
    taken = await capture(raw, shop, first, "5", final=True)  # releases the other 15
    await void(raw, shop, (await authorize(raw, shop, wallet, "20"))["hold"])
    still = (await authorize(raw, shop, wallet, "7"))["hold"]
    await capture(raw, shop, still, "2")  # 5 stays held
    expiring = (await authorize(raw, shop, wallet, "3"))["hold"]
    await raw.execute(
        "UPDATE holds SET expires_at = now() - interval '1 second' WHERE id = $1", expiring
    )
    expire = "SELECT walletql_expire_holds(1000, $1, $2)"
    assert await raw.fetchval(expire, BALANCE_CHANNEL, MAX_BALANCE) >= 1
    await authorize(raw, shop, wallet, "1000", outcome="INSUFFICIENT_FUNDS")  # no hold
    await refund(raw, shop, taken["tx"], "4")
    await refund(raw, shop, taken["tx"], None)  # the other 1
    friend = await customer()
    gift = await funded(friend, "USD")
    sent = await ledger.transfer(payer, wallet.id, "6", key(), to_wallet_id=gift.id)
    await ledger.withdraw(friend, gift.id, "6", key())  # nothing left to give back
    await refund(raw, friend, sent.transaction.id, "6", outcome="INSUFFICIENT_FUNDS")

    statuses = await raw.fetch(
        "SELECT status, count(*) AS n FROM holds WHERE source_wallet_id = $1 GROUP BY status",
        wallet.id,
    )
    assert {r["status"]: r["n"] for r in statuses} == {
        "CAPTURED": 1, "VOIDED": 1, "HELD": 1, "EXPIRED": 1,
    }  # fmt: skip
    held = await raw.fetchrow("SELECT balance, held FROM wallets WHERE id = $1", wallet.id)
    assert (held["balance"], held["held"]) == (Decimal("82"), Decimal("5"))  # 100 - 17 + 5 - 6
    assert await raw.fetchval("SELECT balance FROM wallets WHERE id = $1", till.id) == 12
    assert await verify() == []
    result = run_cli("verify")
    assert result.returncode == 0, result.stdout + result.stderr


async def test_held_after_out_of_step_with_the_held_amounts(customer, merchant, funded, raw):
    """The held replay: the newest entry's held_after disagrees both with the running sum of
    held_amount and with wallets.held."""
    payer, shop = await customer(), await merchant()
    wallet = await funded(payer, "USD", "10")
    await funded(shop, "USD")
    placed = (await authorize(raw, shop, wallet, "4"))["tx"]
    entry = await raw.fetchval("SELECT id FROM entries WHERE transaction_id = $1", placed)
    fix = "UPDATE entries SET held_after = held_after + $1 WHERE id = $2"
    await bypassing_triggers(raw, fix, 1, entry)
    try:
        assert await verify() == [
            f"wallet {wallet.id} (USD): balance {n('10')} held {n('4')} version 2, but its 2 "
            f"entries sum to {n('10')} held {n('4')} (newest version 2, newest balance_after "
            f"{n('10')}, newest held_after {n('5')})",
            f"wallet {wallet.id} entry version 2: balance_after {n('10')} held_after {n('5')}, "
            f"but the entries up to it sum to {n('10')} held {n('4')}",
        ]
    finally:
        await bypassing_triggers(raw, fix, -1, entry)
    assert await verify() == []


async def test_wallet_held_out_of_step_with_entries_and_holds(customer, merchant, funded, raw):
    payer, shop = await customer(), await merchant()
    wallet = await funded(payer, "USD", "10")
    await funded(shop, "USD")
    await authorize(raw, shop, wallet, "4")
    await raw.execute("UPDATE wallets SET held = held + 1 WHERE id = $1", wallet.id)
    try:
        assert await verify() == [
            f"wallet {wallet.id} (USD): balance {n('10')} held {n('5')} version 2, but its 2 "
            f"entries sum to {n('10')} held {n('4')} (newest version 2, newest balance_after "
            f"{n('10')}, newest held_after {n('4')})",
            f"wallet {wallet.id} (USD): held {n('5')}, but its 1 HELD holds have {n('4')} "
            "remaining",
        ]
    finally:
        await raw.execute("UPDATE wallets SET held = held - 1 WHERE id = $1", wallet.id)
    assert await verify() == []


async def test_held_disagreeing_with_the_holds_on_the_wallet(customer, merchant, funded, raw):
    """A hold moved onto another wallet: each wallet's held (and its entries) still agree with
    themselves, but not with the holds said to be on it."""
    payer, shop = await customer(), await merchant()
    wallet = await funded(payer, "USD", "10")
    other = await funded(payer, "USD", "1")
    await funded(shop, "USD")
    hold = (await authorize(raw, shop, wallet, "4"))["hold"]
    move = "UPDATE holds SET source_wallet_id = $1 WHERE id = $2"
    await raw.execute(move, other.id, hold)
    try:
        assert await verify() == [
            f"wallet {wallet.id} (USD): held {n('4')}, but its 0 HELD holds have 0 remaining",
            f"wallet {other.id} (USD): held {n('0')}, but its 1 HELD holds have {n('4')} remaining",
        ]
    finally:
        await raw.execute(move, wallet.id, hold)
    assert await verify() == []


async def test_hold_out_of_step_with_its_transactions(customer, merchant, funded, raw):
    """A captured_amount its CAPTURE transactions do not add up to; then a hold closed with
    money still reserved (a final capture whose RELEASE is missing)."""
    payer, shop = await customer(), await merchant()
    wallet = await funded(payer, "USD", "20")
    await funded(shop, "USD")
    hold = (await authorize(raw, shop, wallet, "10"))["hold"]
    await capture(raw, shop, hold, "3")

    await raw.execute("UPDATE holds SET captured_amount = 4 WHERE id = $1", hold)
    try:
        assert await verify() == [
            f"wallet {wallet.id} (USD): held {n('7')}, but its 1 HELD holds have {n('6')} "
            "remaining",
            f"hold {hold} (HELD, amount {n('10')}, captured {n('4')}, remaining {n('6')}): its "
            f"POSTED transactions reserve {n('10')}, capture {n('3')} and release 0",
        ]
    finally:
        await raw.execute("UPDATE holds SET captured_amount = 3 WHERE id = $1", hold)
    assert await verify() == []

    await raw.execute("UPDATE holds SET status = 'CAPTURED' WHERE id = $1", hold)
    try:
        assert await verify() == [
            f"wallet {wallet.id} (USD): held {n('7')}, but its 0 HELD holds have 0 remaining",
            f"hold {hold} (CAPTURED, amount {n('10')}, captured {n('3')}, remaining 0): its "
            f"POSTED transactions reserve {n('10')}, capture {n('3')} and release 0",
        ]
    finally:
        await raw.execute("UPDATE holds SET status = 'HELD' WHERE id = $1", hold)
    assert await verify() == []


async def test_refunds_adding_up_to_more_than_the_original(customer, funded, raw):
    """A full refund re-pointed at a smaller original of the same two wallets: its entries are
    still right, the smaller one is refunded beyond its amount."""
    payer, payee = await customer(), await customer()
    wallet = await funded(payer, "EUR", "10")
    received = await funded(payee, "EUR")
    big = await ledger.transfer(payer, wallet.id, "5", key(), to_wallet_id=received.id)
    small = await ledger.transfer(payer, wallet.id, "1", key(), to_wallet_id=received.id)
    returned = (await refund(raw, payee, big.transaction.id, None))["tx"]
    point = "UPDATE transactions SET refund_of_id = $1 WHERE id = $2"
    await bypassing_triggers(raw, point, small.transaction.id, returned)
    try:
        assert await verify() == [
            f"transaction {small.transaction.id} (POSTED TRANSFER, amount {n('1')}): 1 POSTED "
            f"refunds return {n('5')}",
        ]
    finally:
        await bypassing_triggers(raw, point, big.transaction.id, returned)
    assert await verify() == []


async def test_release_without_its_entry_shape(customer, merchant, funded, raw):
    """A RELEASE says it freed more than its entry took off the held amount (and than its hold
    had left)."""
    payer, shop = await customer(), await merchant()
    wallet = await funded(payer, "USD", "10")
    await funded(shop, "USD")
    hold = (await authorize(raw, shop, wallet, "4"))["hold"]
    release = (await void(raw, shop, hold))["tx"]
    grow = "UPDATE transactions SET amount = amount + $1 WHERE id = $2"
    await bypassing_triggers(raw, grow, 1, release)
    try:
        assert await verify() == [
            f"transaction {release} (POSTED RELEASE, amount {n('5')}): 1 entries debiting 0 "
            f"and crediting {n('0')}, held 0 on the source and {n('-4')} on the destination",
            f"hold {hold} (VOIDED, amount {n('4')}, captured {n('0')}, remaining 0): its POSTED "
            f"transactions reserve {n('4')}, capture 0 and release {n('5')}",
        ]
    finally:
        await bypassing_triggers(raw, grow, -1, release)
    assert await verify() == []


async def test_hold_and_refund_links_on_the_wrong_transactions(customer, merchant, funded, raw):
    """A CAPTURE that lost its hold, and a deposit that claims to refund something."""
    payer, shop = await customer(), await merchant()
    wallet = await funded(payer, "USD", "10")
    await funded(shop, "USD")
    hold = (await authorize(raw, shop, wallet, "4"))["hold"]
    taken = (await capture(raw, shop, hold, "4"))["tx"]
    deposit = await raw.fetchval(
        "SELECT id FROM transactions WHERE destination_wallet_id = $1 AND kind = 'DEPOSIT'",
        wallet.id,
    )
    unlink = "UPDATE transactions SET hold_id = $1 WHERE id = $2"
    claim = "UPDATE transactions SET refund_of_id = $1 WHERE id = $2"
    await bypassing_triggers(raw, unlink, None, taken)
    await bypassing_triggers(raw, claim, taken, deposit)
    try:
        problems = await verify()
        assert f"transaction {deposit} (POSTED DEPOSIT): hold None, refund of {taken}" in problems
        assert f"transaction {taken} (POSTED CAPTURE): hold None, refund of None" in problems
    finally:
        await bypassing_triggers(raw, unlink, hold, taken)
        await bypassing_triggers(raw, claim, None, deposit)
    assert await verify() == []
