"""Reads take the caller and decide access in the ledger: a wallet the caller may not read is
NotFound, exactly like a missing one, from every read; operators read any wallet."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from walletql.ledger import reads
from walletql.ledger.errors import NotFound

LATER = datetime(2100, 1, 1, tzinfo=UTC)


def _every_read(actor, wallet):
    return {
        "history": lambda: reads.history(actor, wallet),
        "history_count": lambda: reads.history_count(actor, wallet),
        "summary": lambda: reads.summary(actor, wallet),
        "balance_at": lambda: reads.balance_at(actor, wallet, LATER),
    }


@pytest.mark.parametrize("read", ["history", "history_count", "summary", "balance_at"])
async def test_a_wallet_read_by_a_stranger_or_nobody_is_not_found(customer, funded, read):
    owner, stranger = await customer(), await customer()
    wallet = await funded(owner, "USD", "7")
    for actor in (stranger, None):
        with pytest.raises(NotFound) as info:
            await _every_read(actor, wallet)[read]()
        assert info.value.message == "Wallet not found"


async def test_the_owner_and_an_operator_read_the_same(customer, operator, funded):
    owner, ops = await customer(), await operator()
    wallet = await funded(owner, "USD", "7")
    for actor in (owner, ops):
        page = await reads.history(actor, wallet)
        assert [item.transaction.amount for item in page.items] == [7]
        assert await reads.history_count(actor, wallet) == 1
        assert (await reads.summary(actor, wallet)).credit_total == 7
        assert await reads.balance_at(actor, wallet, LATER) == 7
