"""A retry replays what happened the first time, whatever has changed in the ledger since."""

from __future__ import annotations

import pytest

from tests.calls import ledger
from walletql import ids
from walletql.ledger.errors import WalletInactive
from walletql.ledger.verify import verify


async def test_retry_after_the_wallet_was_frozen_replays(customer, sql):
    owner = await customer()
    wallet = await ledger.create_wallet(owner, "USD")
    first = await ledger.deposit(owner, wallet.id, "5", "freeze-1")
    await sql(f"UPDATE wallets SET status = 'FROZEN' WHERE id = {wallet.id}")
    try:
        again = await ledger.deposit(owner, wallet.id, "5", "freeze-1")
        assert again.replayed and again.transaction.id == first.transaction.id
        with pytest.raises(WalletInactive):  # a new request is still refused
            await ledger.deposit(owner, wallet.id, "5", "freeze-2")
    finally:
        await sql(f"UPDATE wallets SET status = 'ACTIVE' WHERE id = {wallet.id}")
    assert await verify() == []


async def test_retry_after_the_recipient_lost_its_wallet_replays(customer, sql):
    payer, payee = await customer(), await customer()
    source = await ledger.create_wallet(payer, "EUR")
    target = await ledger.create_wallet(payee, "EUR")
    await ledger.deposit(payer, source.id, "10", "fund")
    first = await ledger.transfer(
        payer, source.id, "3", "pay-1", to_user_id=ids.encode(ids.USER, payee.user_id)
    )
    await sql(f"UPDATE wallets SET status = 'FROZEN' WHERE id = {target.id}")
    try:
        again = await ledger.transfer(
            payer, source.id, "3", "pay-1", to_user_id=ids.encode(ids.USER, payee.user_id)
        )
        assert again.replayed and again.transaction.id == first.transaction.id
    finally:
        await sql(f"UPDATE wallets SET status = 'ACTIVE' WHERE id = {target.id}")
    await source.refresh_from_db()
    assert source.balance == 7 and source.version == 2
    assert await verify() == []
