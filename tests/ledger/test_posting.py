"""The posting path one request at a time: funds and floors, idempotency, who may move what."""

from decimal import Decimal

import pytest
from tortoise import connections
from tortoise.transactions import in_transaction

from tests.calls import ledger
from walletql import ids
from walletql.ledger.errors import (
    CurrencyMismatch,
    Forbidden,
    IdempotencyConflict,
    InsufficientFunds,
    NotFound,
    ValidationError,
    WalletInactive,
)
from walletql.models import Entry, LedgerTransaction, Wallet
from walletql.models.rows import fetch


async def test_withdrawing_exactly_the_balance_then_one_unit_more(customer, funded, snapshot):
    owner = await customer()
    wallet = await funded(owner, "USD", "10.00")
    await ledger.withdraw(owner, wallet.id, "4.99", "w1")
    await ledger.withdraw(owner, wallet.id, "5.01", "w2")
    before = await snapshot(wallet.id)
    assert (before.balance, before.version) == (0, 3)

    await ledger.deposit(owner, wallet.id, "10", "d2")
    before = await snapshot(wallet.id)
    with pytest.raises(InsufficientFunds) as info:
        await ledger.withdraw(owner, wallet.id, "10.01", "w3")
    refused = info.value
    assert (refused.available, refused.requested) == (Decimal("10"), Decimal("10.01"))
    stored = await LedgerTransaction.get(id=refused.transaction.id)
    assert stored.status == "REJECTED" and stored.failure_reason == "INSUFFICIENT_FUNDS"
    assert stored.source_wallet_id == wallet.id and stored.amount == Decimal("10.01")
    assert await Entry.filter(transaction_id=stored.id).count() == 0
    after = await snapshot(wallet.id)
    assert (after.balance, after.version, after.entries) == (10, before.version, before.entries)
    assert after.transactions == before.transactions + 1

    # The same key replays the same refusal, even once the funds would suffice.
    await ledger.deposit(owner, wallet.id, "100", "d3")
    with pytest.raises(InsufficientFunds) as again:
        await ledger.withdraw(owner, wallet.id, "10.01", "w3")
    assert again.value.transaction.id == stored.id
    assert (again.value.available, again.value.requested) == (Decimal(10), Decimal("10.01"))
    assert (
        await LedgerTransaction.filter(initiator_id=owner.user_id, idempotency_key="w3").count()
        == 1
    )


async def test_floor_of_twenty_is_kept_per_wallet(customer):
    owner = await customer()
    old = await ledger.create_wallet(owner, "USD", "before")
    floored = ledger.with_settings(minimum_balance=Decimal(20))
    wallet = await floored.create_wallet(owner, "USD", "floored")
    empty = await floored.create_wallet(owner, "EUR")
    assert wallet.minimum_balance == 20 and old.minimum_balance == 0
    # A credit to an empty wallet is never refused, even below its floor.
    await ledger.deposit(owner, empty.id, "5", "e1")
    await ledger.deposit(owner, wallet.id, "100", "d1")
    await ledger.withdraw(owner, wallet.id, "80", "w1")
    with pytest.raises(InsufficientFunds) as info:
        await ledger.withdraw(owner, wallet.id, "0.01", "w2")
    assert info.value.available == 0 and info.value.requested == Decimal("0.01")
    with pytest.raises(InsufficientFunds) as info:
        await ledger.withdraw(owner, empty.id, "1", "e2")
    assert info.value.available == Decimal(-15)
    await wallet.refresh_from_db()
    assert (wallet.balance, wallet.version) == (20, 2)
    # The wallet created under floor 0 keeps it, whatever the settings say now.
    await floored.deposit(owner, old.id, "1", "o1")
    await floored.withdraw(owner, old.id, "1", "o2")


async def test_negative_floor_allows_an_overdraft_to_it_and_no_further(customer):
    owner = await customer()
    overdraft = ledger.with_settings(minimum_balance=Decimal(-50))
    wallet = await overdraft.create_wallet(owner, "USD")
    await ledger.withdraw(owner, wallet.id, "50", "w1")
    with pytest.raises(InsufficientFunds):
        await ledger.withdraw(owner, wallet.id, "0.01", "w2")
    await wallet.refresh_from_db()
    assert wallet.balance == -50


async def test_idempotent_replay_and_conflicts(customer, funded, snapshot):
    owner = await customer()
    wallet = await funded(owner, "USD")
    other = await funded(owner, "USD")
    first = await ledger.deposit(owner, wallet.id, "10", "k")
    before = await snapshot(wallet.id)
    for same in ("10", "10.00", 10):  # the same request, however the amount is written
        again = await ledger.deposit(owner, wallet.id, same, "k")
        assert again.replayed and again.transaction.id == first.transaction.id
    assert await snapshot(wallet.id) == before
    conflicts = [
        ledger.deposit(owner, wallet.id, "11", "k"),
        ledger.deposit(owner, other.id, "10", "k"),
        ledger.deposit(owner, wallet.id, "10", "k", "a description"),
        ledger.withdraw(owner, wallet.id, "10", "k"),
    ]
    for call in conflicts:
        with pytest.raises(IdempotencyConflict):
            await call
    assert await snapshot(wallet.id) == before
    # Keys belong to their initiator: someone else may use "k" for their own request.
    stranger = await customer()
    theirs = await funded(stranger, "USD")
    assert not (await ledger.deposit(stranger, theirs.id, "10", "k")).replayed


@pytest.mark.parametrize("bad_key", [None, "", "   ", "x" * 201, "a\nb", 7])
async def test_idempotency_key_is_required_and_printable(customer, funded, snapshot, bad_key):
    owner = await customer()
    wallet = await funded(owner, "USD")
    before = await snapshot(wallet.id)
    with pytest.raises(ValidationError) as info:
        await ledger.deposit(owner, wallet.id, "1", bad_key)
    assert (info.value.code, info.value.field) == ("BAD_INPUT", "idempotencyKey")
    assert await snapshot(wallet.id) == before


async def test_description_longer_than_allowed_is_refused(customer, funded):
    owner = await customer()
    wallet = await funded(owner, "USD")
    with pytest.raises(ValidationError) as info:
        await ledger.deposit(owner, wallet.id, "1", "k", "x" * 501)
    assert info.value.code == "BAD_INPUT"
    stored = await ledger.deposit(owner, wallet.id, "1", "k2", "  rent  ")
    assert stored.transaction.description == "rent"


async def test_another_users_wallet_is_not_found(customer, funded, snapshot):
    owner, intruder = await customer(), await customer()
    wallet = await funded(owner, "USD", "50")
    loot = await funded(intruder, "USD")
    before = await snapshot(wallet.id)
    calls = [
        ledger.deposit(intruder, wallet.id, "1", "a"),
        ledger.withdraw(intruder, wallet.id, "1", "b"),
        ledger.transfer(intruder, wallet.id, "1", "c", to_wallet_id=loot.id),
    ]
    # A plain number is no public id, not even the wallet's own; nor is another kind's id.
    bogus_ids = (ids.encode(ids.WALLET, wallet.id + 10_000), str(wallet.id), "abc", -1, 0, True)
    bogus_ids += (
        None,
        "1" * 30,
        ids.encode(ids.USER, wallet.id),
        ids.encode(ids.USER, owner.user_id),
    )
    for bogus in bogus_ids:
        calls.append(ledger.deposit(owner, bogus, "1", f"x{bogus!r}"))
    for call in calls:
        with pytest.raises(NotFound):
            await call
    assert await snapshot(wallet.id) == before


async def test_charge_rules(customer, merchant, operator, funded, snapshot):
    shopper, shop, rival = await customer(), await merchant(), await merchant()
    paying = await funded(shopper, "USD", "30")
    till = await funded(shop, "USD")
    other_till = await funded(rival, "USD")
    token = paying.payment_token
    before = await snapshot(paying.id)
    for actor in (shopper, await operator()):
        with pytest.raises(Forbidden):
            await ledger.charge(actor, token, "1", "c", "coffee")
    with pytest.raises(ValidationError) as info:
        await ledger.charge(shop, till.payment_token, "1", "self", "coffee")
    assert info.value.code == "SELF_CHARGE"
    for bad_token in ("nope", "", None, "x" * 65, till.payment_token + "x"):
        with pytest.raises(NotFound):
            await ledger.charge(shop, bad_token, "1", f"t{bad_token!r}", "coffee")
    with pytest.raises(NotFound):
        await ledger.charge(shop, token, "1", "c1", "coffee", to_wallet_id=other_till.id)
    with pytest.raises(ValidationError) as info:
        await ledger.charge(shop, token, "1", "c2", "   ")
    assert info.value.code == "BAD_INPUT"
    assert await snapshot(paying.id) == before

    outcome = await ledger.charge(shop, token, "12.50", "c3", "coffee")
    assert outcome.wallet_id == till.id and not outcome.replayed
    with pytest.raises(InsufficientFunds):
        await ledger.charge(shop, token, "17.51", "c4", "cake")
    assert (await Wallet.get(id=paying.id)).balance == Decimal("17.50")
    assert (await Wallet.get(id=till.id)).balance == Decimal("12.50")
    assert (await snapshot(paying.id)).transactions == before.transactions + 2


async def test_charge_needs_a_merchant_wallet_in_the_currency(customer, merchant, funded):
    shopper, shop = await customer(), await merchant()
    paying = await funded(shopper, "USD", "30")
    euro_till = await funded(shop, "EUR")
    with pytest.raises(NotFound) as info:
        await ledger.charge(shop, paying.payment_token, "1", "c", "coffee")
    assert "create" in info.value.message.lower() and "USD" in info.value.message
    with pytest.raises(CurrencyMismatch):
        await ledger.charge(
            shop, paying.payment_token, "1", "c2", "coffee", to_wallet_id=euro_till.id
        )
    assert (await Wallet.get(id=paying.id)).balance == 30


async def test_transfer_rules(customer, funded, snapshot):
    sender, recipient = await customer(), await customer()
    source = await funded(sender, "USD", "20")
    euros = await funded(recipient, "EUR")
    before = await snapshot(source.id)
    with pytest.raises(ValidationError) as info:
        await ledger.transfer(sender, source.id, "1", "t1", to_wallet_id=source.id)
    assert info.value.code == "SELF_TRANSFER"
    with pytest.raises(CurrencyMismatch):
        await ledger.transfer(sender, source.id, "1", "t2", to_wallet_id=euros.id)
    for targets in ({}, {"to_wallet_id": euros.id, "to_user_id": recipient.user_id}):
        with pytest.raises(ValidationError) as info:
            await ledger.transfer(sender, source.id, "1", f"t3{len(targets)}", **targets)
        assert info.value.code == "BAD_INPUT"
    with pytest.raises(NotFound):  # the recipient has no USD wallet yet
        await ledger.transfer(sender, source.id, "1", "t4", to_user_id=recipient.user_id)
    assert await snapshot(source.id) == before

    oldest = await funded(recipient, "USD")
    newer = await funded(recipient, "USD")
    out = await ledger.transfer(
        sender, source.id, "2", "t5", to_user_id=ids.encode(ids.USER, recipient.user_id)
    )
    assert out.transaction.destination_wallet_id == oldest.id and out.wallet_id == source.id
    await connections.get("default").execute_script(
        f"UPDATE wallets SET status = 'FROZEN' WHERE id = {oldest.id}"
    )
    out = await ledger.transfer(sender, source.id, "3", "t6", to_user_id=recipient.user_id)
    assert out.transaction.destination_wallet_id == newer.id
    balances = {
        w.id: w.balance for w in await Wallet.filter(id__in=[source.id, oldest.id, newer.id])
    }
    assert balances == {source.id: 15, oldest.id: 2, newer.id: 3}


async def test_frozen_wallet_refuses_every_posting(customer, funded, snapshot):
    owner, other = await customer(), await customer()
    wallet = await funded(owner, "USD", "10")
    theirs = await funded(other, "USD", "10")
    await connections.get("default").execute_script(
        f"UPDATE wallets SET status = 'FROZEN' WHERE id = {wallet.id}"
    )
    before = await snapshot(wallet.id)
    calls = [
        ledger.deposit(owner, wallet.id, "1", "a"),
        ledger.withdraw(owner, wallet.id, "1", "b"),
        ledger.transfer(owner, wallet.id, "1", "c", to_wallet_id=theirs.id),
        ledger.transfer(other, theirs.id, "1", "d", to_wallet_id=wallet.id),
    ]
    for call in calls:
        with pytest.raises(WalletInactive):
            await call
    assert await snapshot(wallet.id) == before
    assert (await Wallet.get(id=theirs.id)).balance == 10


async def test_fixed_sql_inside_a_transaction_runs_on_the_transaction_connection():
    # walletql.models.rows.fetch goes straight to the pool, except inside in_transaction():
    # there it must use the transaction's connection, or it would not see what the transaction
    # wrote. A temporary table exists on one connection only.
    async with in_transaction():
        await connections.get("default").execute_script(
            "CREATE TEMP TABLE rows_probe (x int) ON COMMIT DROP; INSERT INTO rows_probe VALUES (7)"
        )
        assert [row["x"] for row in await fetch("SELECT x FROM rows_probe")] == [7]
