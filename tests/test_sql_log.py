"""At DEBUG, the ORM's SQL log carries no values: no payment token, hash, email or phone."""

from __future__ import annotations

import logging

from tests.calls import ledger
from walletql.models import Wallet


async def test_debug_sql_log_never_writes_the_values(database_url, caplog):
    caplog.set_level(logging.DEBUG, logger="tortoise")
    user = await ledger.create_user(
        email="debug.log@example.com",
        password="a long enough secret",
        name="Debug Log",
        phone="+34666000111",
    )
    await Wallet.create(owner=user, currency="USD", payment_token="pay_secret_token_value")
    assert await Wallet.get(payment_token="pay_secret_token_value")
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "SELECT" in logged or "INSERT" in logged  # the SQL itself is still there
    assert "values not logged" in logged
    for secret in ("pay_secret_token_value", "debug.log@example.com", "+34666000111", "$argon2"):
        assert secret not in logged, secret
