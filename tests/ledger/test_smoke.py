import asyncio
import secrets
from decimal import Decimal

import pytest

from walletql.auth import principal_of
from walletql.ledger import accounts, posting
from walletql.ledger.errors import InsufficientFunds
from walletql.ledger.verify import verify


async def _customer():
    user = await accounts.create_user(
        email=f"c{secrets.token_hex(4)}@example.com", password="correct horse", name="C"
    )
    return principal_of(user)


async def test_deposit_withdraw_transfer(database_url):
    a, b = await _customer(), await _customer()
    wa = await accounts.create_wallet(a, "USD")
    wb = await accounts.create_wallet(b, "USD")
    out = await posting.deposit(a, wa.id, "0.10", "k1")
    assert out.wallet_id == wa.id and not out.replayed
    await posting.deposit(a, wa.id, "0.20", "k2")
    again = await posting.deposit(a, wa.id, "0.1", "k1")
    assert again.replayed and again.transaction.id == out.transaction.id
    await wa.refresh_from_db()
    assert wa.balance == Decimal("0.30") and wa.version == 2
    await posting.transfer(a, wa.id, "0.30", "k3", to_wallet_id=str(wb.id))
    with pytest.raises(InsufficientFunds) as info:
        await posting.withdraw(a, wa.id, "0.01", "k4")
    assert info.value.transaction.status == "REJECTED"
    results = await asyncio.gather(*[posting.deposit(b, wb.id, "1", f"c{i}") for i in range(20)])
    assert len({r.transaction.id for r in results}) == 20
    assert await verify() == []
