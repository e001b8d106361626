"""WALLETQL_METRICS: every posting counted once by kind and outcome code, whichever path sent it
(a mutation, a batch, the hold sweeper), and the sweeper's lag. In process, on the ledger with
metrics on (its own registry); tests/server/test_metrics.py reads them from real servers."""

from __future__ import annotations

import asyncio
import secrets
from decimal import Decimal

from tortoise.transactions import in_transaction

from tests.calls import ledger
from walletql.expiry import sweep_expired_holds
from walletql.ledger import batches, holds
from walletql.ledger.errors import BatchRejected
from walletql.ledger.verify import verify
from walletql.models import Hold, Wallet

WAIT = 10.0  # seconds; only turns a hang into a failure


def _counted():
    counted = ledger.with_settings(metrics=True)
    metrics = counted.services.metrics
    assert metrics is not None

    def postings(kind: str, outcome: str) -> float:
        value = metrics.registry.get_sample_value(
            "walletql_postings_total", {"kind": kind, "outcome": outcome}
        )
        return value or 0.0

    return counted, metrics, postings


async def test_mutations_and_batches_count_what_the_database_answered(customer):
    counted, _metrics, postings = _counted()
    alice = await customer()
    wallet = await counted.create_wallet(alice, "USD")
    await counted.deposit(alice, wallet.id, "5", "k1")
    await counted.deposit(alice, wallet.id, "5", "k1")  # replayed
    assert (postings("DEPOSIT", "POSTED"), postings("DEPOSIT", "REPLAYED")) == (1, 1)

    def batch(atomic: bool, *items):
        return batches.post_batch(
            alice,
            atomic,
            list(items),
            currencies=counted.currencies,
            operations=counted.operations,
            turns=counted.services.turns,
            max_batch=10,
        )

    def deposit(amount: str) -> dict:
        key = secrets.token_hex(6)
        return {"deposit": {"wallet_id": wallet.id, "amount": amount, "idempotency_key": key}}

    def withdraw(amount: str) -> dict:
        key = secrets.token_hex(6)
        return {"withdraw": {"wallet_id": wallet.id, "amount": amount, "idempotency_key": key}}

    await batch(False, deposit("1"), withdraw("1000"), deposit("2"))
    assert postings("DEPOSIT", "POSTED") == 3
    assert postings("WITHDRAWAL", "INSUFFICIENT_FUNDS") == 1
    # An atomic batch refused by its second item: the first was rolled back, not counted.
    try:
        await batch(True, deposit("1"), withdraw("1000"))
    except BatchRejected:
        pass
    else:
        raise AssertionError("the atomic batch was not refused")
    assert postings("DEPOSIT", "POSTED") == 3
    assert postings("WITHDRAWAL", "INSUFFICIENT_FUNDS") == 2
    assert await verify() == []


async def test_the_sweeper_counts_its_releases_and_measures_its_lag(customer, merchant):
    counted, metrics, postings = _counted()
    shop = await merchant()
    await counted.create_wallet(shop, "USD")
    alice = await customer()
    wallet = await counted.create_wallet(alice, "USD")
    await counted.deposit(alice, wallet.id, "50", "fund")
    placed = await counted.authorize(shop, wallet.payment_token, "20", "h1", "Room")
    assert placed.hold is not None
    assert postings("HOLD", "POSTED") == 1
    # Expired a minute ago, and locked here, as a sweeper that cannot get to it would leave it.
    async with in_transaction() as connection:
        await connection.execute_query(
            "UPDATE holds SET expires_at = now() - interval '60 seconds' WHERE id = $1",
            [placed.hold.id],
        )
    async with in_transaction():
        await Hold.filter(id=placed.hold.id).select_for_update().get()
        assert await holds.oldest_expired_age() >= 60
        sweeper = asyncio.create_task(
            sweep_expired_holds(0.05, counted.services.turns, lambda: True, metrics)
        )
        try:
            for _ in range(int(WAIT / 0.05)):
                lag = metrics.registry.get_sample_value("walletql_hold_sweep_lag_seconds")
                if lag is not None and lag >= 60:
                    break
                await asyncio.sleep(0.05)
            else:
                raise AssertionError("the sweeper's lag was never measured")
        finally:
            sweeper.cancel()
    released_before = postings("RELEASE", "POSTED")
    released = await counted.release_expired()  # now unlocked: released here (or by another)
    assert postings("RELEASE", "POSTED") == released_before + released
    hold = await Hold.get(id=placed.hold.id)
    assert str(hold.status) != "HELD"
    row = await Wallet.get(id=wallet.id)
    assert (row.balance, row.held) == (Decimal("50"), Decimal("0"))
    assert await verify() == []
