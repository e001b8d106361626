"""Real concurrency on real PostgreSQL: many postings in flight at once on the same rows.

Every test ends with verify(): balances replay from their entries and money is conserved.
"""

import asyncio
from collections import Counter
from decimal import Decimal

import pytest
from tortoise.transactions import in_transaction

from tests import calls
from walletql.ledger.errors import IdempotencyConflict, InsufficientFunds, WalletLimitReached
from walletql.ledger.posting import Outcome
from walletql.ledger.verify import verify
from walletql.models import Entry, LedgerTransaction, Wallet

POOL_SIZE = 20  # the fixture's ORM pool


@pytest.fixture(autouse=True)
async def warm_pool(database_url):
    """Open every pool connection before the test: connections are made lazily, and a request
    that waits for a new connection lets the others finish first, hiding a race."""
    barrier = asyncio.Barrier(POOL_SIZE)

    async def hold() -> None:
        async with in_transaction() as conn:
            await conn.execute_query("SELECT 1")
            await barrier.wait()  # all connections are open at once

    async with asyncio.timeout(60):  # a guard against a smaller pool, not a timing assertion
        await asyncio.gather(*[hold() for _ in range(POOL_SIZE)])


# No limit on postings in flight, so every call below is in PostgreSQL at once: the most
# contention (test_posting_turns.py covers the limit).
ledger = calls.ledger.with_settings(posting_concurrency=0)


async def gather(*calls):
    return await asyncio.gather(*calls, return_exceptions=True)


def kinds(results) -> Counter:
    return Counter(type(r).__name__ for r in results)


async def test_fifty_concurrent_deposits(customer, funded):
    owner = await customer()
    wallet = await funded(owner, "USD")
    results = await gather(*[ledger.deposit(owner, wallet.id, "1", f"d{i}") for i in range(50)])
    assert kinds(results) == {"Outcome": 50}
    await wallet.refresh_from_db()
    assert (wallet.balance, wallet.version) == (50, 50)
    versions = (
        await Entry.filter(wallet_id=wallet.id)
        .order_by("version")
        .values_list("version", "balance_after")
    )
    assert versions == [(v, Decimal(v)) for v in range(1, 51)]
    assert await verify() == []


async def test_two_withdrawals_of_sixty_from_a_hundred(customer, funded):
    owner = await customer()
    wallet = await funded(owner, "USD", "100")
    results = await gather(*[ledger.withdraw(owner, wallet.id, "60", f"w{i}") for i in range(2)])
    assert kinds(results) == {"Outcome": 1, "InsufficientFunds": 1}
    refused = next(r for r in results if isinstance(r, InsufficientFunds))
    assert (refused.available, refused.requested) == (40, 60)
    await wallet.refresh_from_db()
    assert (wallet.balance, wallet.version) == (40, 2)
    assert await verify() == []


async def test_two_withdrawals_of_fifty_from_a_hundred(customer, funded):
    owner = await customer()
    wallet = await funded(owner, "USD", "100")
    results = await gather(*[ledger.withdraw(owner, wallet.id, "50", f"w{i}") for i in range(2)])
    assert kinds(results) == {"Outcome": 2}
    await wallet.refresh_from_db()
    assert (wallet.balance, wallet.version) == (0, 3)
    assert await verify() == []


async def test_floor_holds_under_concurrent_withdrawals(customer):
    owner = await customer()
    wallet = await ledger.with_settings(minimum_balance=Decimal(20)).create_wallet(owner, "USD")
    await ledger.deposit(owner, wallet.id, "100", "d")
    results = await gather(*[ledger.withdraw(owner, wallet.id, "10", f"w{i}") for i in range(12)])
    assert kinds(results) == {"Outcome": 8, "InsufficientFunds": 4}
    assert (await Wallet.get(id=wallet.id)).balance == 20
    assert await verify() == []


@pytest.mark.parametrize(
    ("start", "amount"),
    [("1000", "5"), ("10", "3")],  # funds always suffice / funds often run out
    ids=["ample", "scarce"],
)
async def test_opposite_transfers_never_deadlock_and_conserve(customer, funded, start, amount):
    alice, bob = await customer(), await customer()
    a = await funded(alice, "EUR", start)
    b = await funded(bob, "EUR", start)
    calls = []
    for i in range(100):
        calls.append(ledger.transfer(alice, a.id, amount, f"ab{i}", to_wallet_id=b.id))
        calls.append(ledger.transfer(bob, b.id, amount, f"ba{i}", to_wallet_id=a.id))
    results = await gather(*calls)
    unexpected = [r for r in results if not isinstance(r, Outcome | InsufficientFunds)]
    assert unexpected == []
    posted = sum(isinstance(r, Outcome) for r in results)
    if start == "1000":
        assert posted == 200
    a_after, b_after = (await Wallet.get(id=a.id)), (await Wallet.get(id=b.id))
    assert a_after.balance + b_after.balance == 2 * Decimal(start)
    assert a_after.balance >= 0 and b_after.balance >= 0
    assert a_after.version + b_after.version == 2 + 2 * posted
    assert await verify() == []


async def test_one_key_twenty_times_at_once_posts_once(customer, funded):
    owner = await customer()
    wallet = await funded(owner, "USD")
    results = await gather(*[ledger.deposit(owner, wallet.id, "7.25", "same") for _ in range(20)])
    assert kinds(results) == {"Outcome": 20}
    assert sorted(r.replayed for r in results) == [False] + [True] * 19
    assert len({r.transaction.id for r in results}) == 1
    assert (
        await LedgerTransaction.filter(initiator_id=owner.user_id, idempotency_key="same").count()
        == 1
    )
    await wallet.refresh_from_db()
    assert (wallet.balance, wallet.version) == (Decimal("7.25"), 1)
    assert await verify() == []


async def test_one_key_with_two_amounts_at_once(customer, funded):
    owner = await customer()
    wallet = await funded(owner, "USD")
    calls = [ledger.deposit(owner, wallet.id, "1" if i % 2 else "2", "k") for i in range(20)]
    results = await gather(*calls)
    winner = await LedgerTransaction.get(initiator_id=owner.user_id, idempotency_key="k")
    assert kinds(results) == {"Outcome": 10, "IdempotencyConflict": 10}
    assert all(r.transaction.id == winner.id for r in results if isinstance(r, Outcome))
    await wallet.refresh_from_db()
    assert (wallet.balance, wallet.version) == (winner.amount, 1)
    with pytest.raises(IdempotencyConflict):
        await ledger.deposit(owner, wallet.id, str(3 - winner.amount), "k")
    assert await verify() == []


async def test_one_refused_key_at_once_is_one_rejection(customer, funded):
    owner = await customer()
    wallet = await funded(owner, "USD", "5")
    results = await gather(*[ledger.withdraw(owner, wallet.id, "6", "big") for _ in range(10)])
    assert kinds(results) == {"InsufficientFunds": 10}
    assert len({r.transaction.id for r in results}) == 1
    assert all(r.available == 5 and r.requested == 6 for r in results)
    assert (
        await LedgerTransaction.filter(initiator_id=owner.user_id, idempotency_key="big").count()
        == 1
    )
    assert await verify() == []


async def test_hot_merchant_wallet_under_concurrent_charges(customer, merchant, funded):
    shop = await merchant()
    till = await funded(shop, "USD")
    payers = [await customer() for _ in range(20)]
    wallets = [await funded(p, "USD", "3") for p in payers]
    calls = []
    for w in wallets:
        calls += [
            ledger.charge(shop, w.payment_token, "1", f"c{w.id}-{i}", "tea") for i in range(4)
        ]
    results = await gather(*calls)
    assert kinds(results) == {"Outcome": 60, "InsufficientFunds": 20}
    await till.refresh_from_db()
    assert (till.balance, till.version) == (60, 60)
    assert all(
        b == 0
        for b in await Wallet.filter(id__in=[w.id for w in wallets]).values_list(
            "balance", flat=True
        )
    )
    assert await verify() == []


async def test_merchant_wallet_limit_holds_under_concurrency(merchant):
    shop = await merchant()
    results = await gather(*[ledger.create_wallet(shop, "USD") for _ in range(10)])
    assert kinds(results) == {"Wallet": 1, "WalletLimitReached": 9}
    assert all(r.limit == 1 for r in results if isinstance(r, WalletLimitReached))
    assert await Wallet.filter(owner_id=shop.user_id).count() == 1
    assert await verify() == []


async def test_customer_wallet_limit_holds_under_concurrency(customer):
    owner = await customer()
    limited = ledger.with_settings(max_wallets_per_customer=3)
    currencies = ["USD", "EUR", "BTC", "ETH", "CREDIT"] * 2
    results = await gather(*[limited.create_wallet(owner, c) for c in currencies])
    assert kinds(results) == {"Wallet": 3, "WalletLimitReached": 7}
    assert await Wallet.filter(owner_id=owner.user_id).count() == 3
    assert await verify() == []


async def test_charges_and_withdrawals_race_for_one_wallet(customer, merchant, funded):
    """A merchant's charges and the owner's withdrawals on one wallet at once: exactly as many
    succeed as the balance covers, whoever asks, and every other is a stored decline."""
    owner, shop = await customer(), await merchant()
    card = await funded(owner, "USD", "100")
    till = await funded(shop, "USD")
    calls = []
    for i in range(10):
        calls.append(ledger.charge(shop, card.payment_token, "15", f"c{i}", "tea"))
        calls.append(ledger.withdraw(owner, card.id, "15", f"w{i}"))
    results = await gather(*calls)
    assert kinds(results) == {"Outcome": 6, "InsufficientFunds": 14}
    charged = sum(15 for r in results[0::2] if isinstance(r, Outcome))
    declined = [r for r in results if isinstance(r, InsufficientFunds)]
    assert all(r.transaction.status == "REJECTED" for r in declined)
    # the owner learns what was left; a merchant never learns a customer's balance
    assert {r.available for r in declined if r.available is not None} == {10}
    await card.refresh_from_db()
    await till.refresh_from_db()
    assert (card.balance, card.version) == (10, 7)  # the deposit and six debits
    assert (till.balance, till.version) == (charged, charged // 15)
    assert await verify() == []


async def test_one_transfer_key_twenty_times_at_once_posts_once(customer, funded):
    """Duplicates in flight through a function that finds two wallets: one posts, the others
    wait on the key's unique index and replay it."""
    alice, bob = await customer(), await customer()
    source, target = await funded(alice, "EUR", "10"), await funded(bob, "EUR")
    calls = [
        ledger.transfer(alice, source.id, "4", "same", to_wallet_id=target.id) for _ in range(20)
    ]
    results = await gather(*calls)
    assert kinds(results) == {"Outcome": 20}
    assert sorted(r.replayed for r in results) == [False] + [True] * 19
    assert len({r.transaction.id for r in results}) == 1
    await source.refresh_from_db()
    await target.refresh_from_db()
    assert (source.balance, target.balance) == (6, 4)
    assert await verify() == []
