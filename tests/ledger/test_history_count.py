"""The unfiltered history total (wallet version + REJECTED rows) equals counting the history."""

from __future__ import annotations

import pytest

from tests.calls import ledger
from walletql.ledger import reads
from walletql.ledger.errors import InsufficientFunds
from walletql.models import TransactionStatus

EVERYTHING = reads.HistoryFilter(statuses=(TransactionStatus.POSTED, TransactionStatus.REJECTED))


async def test_unfiltered_total_matches_the_counted_history(customer, merchant, operator):
    alice, bob, shop, ops = await customer(), await customer(), await merchant(), await operator()
    a = await ledger.create_wallet(alice, "CREDIT")
    b = await ledger.create_wallet(bob, "CREDIT")
    m = await ledger.create_wallet(shop, "CREDIT")
    await ledger.deposit(alice, a.id, "10", "d1")
    await ledger.transfer(alice, a.id, "4", "t1", to_wallet_id=b.id)
    await ledger.transfer(bob, b.id, "1", "t2", to_wallet_id=a.id)
    with pytest.raises(InsufficientFunds):  # REJECTED with a as source, m as destination
        await ledger.charge(shop, a.payment_token, "100", "c1", "Too much")
    await ledger.charge(shop, a.payment_token, "2", "c2", "Coffee")
    await ledger.apply_operation(ops, a.id, "CONTENT_ACCESS", "op1")  # a zero posting
    with pytest.raises(InsufficientFunds):
        await ledger.withdraw(bob, b.id, "50", "w1")
    for owner, wallet in ((alice, a), (bob, b), (shop, m)):
        counted = await reads.history_count(owner, wallet, EVERYTHING)
        assert await reads.history_count(owner, wallet) == counted
    assert await reads.history_count(alice, a) == 6
    assert await reads.history_count(shop, m) == 2
    assert await reads.history_count(ops, b) == 3  # an operator reads any wallet
