"""Rules the database enforces by itself, whatever the application (or an operator with psql) does.

Statements run on a raw asyncpg connection inside a transaction that never commits, so a rule
that went missing fails its test without corrupting the ledger for the tests after it.
"""

import asyncpg
import pytest
from tortoise import connections
from tortoise.exceptions import IntegrityError

from tests import calls
from walletql import db
from walletql.ledger.verify import verify
from walletql.models import Entry, LedgerTransaction, Wallet


class _Accepted(Exception):
    pass


@pytest.fixture
async def raw(database_url):
    conn = await asyncpg.connect(db.asyncpg_dsn(database_url))
    try:
        yield conn
    finally:
        await conn.close()


async def refused(conn: asyncpg.Connection, statement: str) -> str:
    """The database's refusal of `statement` (message and constraint name); fails the test if
    the database accepts it."""
    try:
        async with conn.transaction():
            await conn.execute(statement)
            raise _Accepted
    except _Accepted:
        pytest.fail(f"the database accepted: {statement}")
    except asyncpg.PostgresError as exc:
        return f"{exc} [{getattr(exc, 'constraint_name', None)}]"


@pytest.fixture
async def ledger(customer, funded):
    """Two wallets and a posted transfer between them: rows in every ledger table."""
    alice, bob = await customer(), await customer()
    a = await funded(alice, "USD", "10")
    b = await funded(bob, "USD")
    out = await calls.ledger.transfer(alice, a.id, "4", "t", to_wallet_id=b.id)
    return {"user": alice.user_id, "a": a.id, "b": b.id, "tx": out.transaction.id}


async def rows():
    return (
        await LedgerTransaction.all().order_by("id").values(),
        await Entry.all().order_by("id").values(),
    )


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE transactions SET amount = amount + 1 WHERE id = {tx}",
        "UPDATE transactions SET status = 'REJECTED', failure_reason = 'X' WHERE id = {tx}",
        "DELETE FROM transactions WHERE id = {tx}",
        "UPDATE entries SET amount = 0, balance_after = 0 WHERE transaction_id = {tx}",
        "UPDATE entries SET version = version + 1000 WHERE wallet_id = {b}",
        "DELETE FROM entries WHERE transaction_id = {tx}",
        "TRUNCATE entries",
        "TRUNCATE entries, transactions",
        "TRUNCATE transactions CASCADE",
    ],
)
async def test_transactions_and_entries_are_append_only(ledger, raw, statement):
    before = await rows()
    message = await refused(raw, statement.format(**ledger))
    assert "append-only" in message
    assert await rows() == before


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE transactions SET amount = 0 WHERE id = {tx}",
        "DELETE FROM entries WHERE wallet_id = {a}",
        "TRUNCATE entries, transactions",
    ],
)
async def test_the_orm_connection_is_refused_too(ledger, statement):
    before = await rows()
    with pytest.raises(IntegrityError, match="append-only"):
        await connections.get("default").execute_script(statement.format(**ledger))
    with pytest.raises(IntegrityError, match="append-only"):
        await LedgerTransaction.filter(id=ledger["tx"]).update(description="edited")
    with pytest.raises(IntegrityError, match="append-only"):
        await Entry.filter(transaction_id=ledger["tx"]).delete()
    assert await rows() == before
    assert await verify() == []


async def test_balance_floor_trigger(ledger, raw, sql):
    # Wallet a holds 6 with floor 0: a decrease below the floor is refused by the database.
    assert "below its floor" in await refused(
        raw, "UPDATE wallets SET balance = -0.01 WHERE id = {a}".format(**ledger)
    )
    await sql("UPDATE wallets SET minimum_balance = 5 WHERE id = {a}".format(**ledger))
    try:
        assert "below its floor" in await refused(
            raw, "UPDATE wallets SET balance = 4.99 WHERE id = {a}".format(**ledger)
        )
    finally:
        await sql("UPDATE wallets SET minimum_balance = 0 WHERE id = {a}".format(**ledger))
    assert (await Wallet.get(id=ledger["a"])).balance == 6


async def test_balance_floor_counts_what_is_held(ledger, raw):
    """Wallet a holds 6 with floor 0: holding more than is available is refused; holding all of
    it is not; moving balance and held down together (a capture) is not, even under the
    floor."""
    wallet = ledger["a"]
    assert "below its floor" in await refused(
        raw, f"UPDATE wallets SET held = 6.01 WHERE id = {wallet}"
    )
    transaction = raw.transaction()  # rolled back: the ledger is left as it was
    await transaction.start()
    try:
        await raw.execute(f"UPDATE wallets SET held = 6 WHERE id = {wallet}")
        await raw.execute(f"UPDATE wallets SET minimum_balance = 1 WHERE id = {wallet}")
        await raw.execute(
            f"UPDATE wallets SET balance = balance - 2, held = held - 2 WHERE id = {wallet}"
        )
        (left,) = await raw.fetchrow(f"SELECT balance - held FROM wallets WHERE id = {wallet}")
        assert left == 0  # under the floor of 1, as it was: a capture moves no available money
        assert "below its floor" in await refused(
            raw, f"UPDATE wallets SET held = held + 0.01 WHERE id = {wallet}"
        )
    finally:
        await transaction.rollback()
    assert (await Wallet.get(id=wallet)).held == 0


_TX = (
    "INSERT INTO transactions (kind, status, amount, currency, source_wallet_id, "
    "destination_wallet_id, initiator_id, idempotency_key, fingerprint, failure_reason) VALUES "
)


@pytest.mark.parametrize(
    ("statement", "constraint"),
    [
        (
            _TX + "('DEPOSIT', 'POSTED', -1, 'USD', NULL, {a}, {user}, 'n1', 'f', NULL)",
            "transactions_amount_nonnegative",
        ),
        (
            _TX + "('DEPOSIT', 'POSTED', 1, 'USD', NULL, {a}, {user}, 'n2', 'f', 'WHY')",
            "transactions_rejected_has_reason",
        ),
        (
            _TX + "('DEPOSIT', 'REJECTED', 1, 'USD', NULL, {a}, {user}, 'n3', 'f', NULL)",
            "transactions_rejected_has_reason",
        ),
        (
            _TX + "('TRANSFER', 'POSTED', 1, 'USD', {a}, {a}, {user}, 'n4', 'f', NULL)",
            "transactions_not_to_self",
        ),
        (
            _TX + "('DEPOSIT', 'POSTED', 1, 'USD', NULL, NULL, {user}, 'n5', 'f', NULL)",
            # NULL IS DISTINCT FROM NULL is false, so not_to_self refuses this row too.
            "transactions_touches_a_wallet|transactions_not_to_self",
        ),
        (
            _TX + "('GIFT', 'POSTED', 1, 'USD', NULL, {a}, {user}, 'n6', 'f', NULL)",
            "transactions_kind_known",
        ),
        (
            _TX + "('DEPOSIT', 'PENDING', 1, 'USD', NULL, {a}, {user}, 'n7', 'f', NULL)",
            "transactions_status_known",
        ),
        (
            _TX + "('DEPOSIT', 'POSTED', 1, 'USD', NULL, {a}, {user}, 't', 'f', NULL)",
            "uid_transaction_initiat",
        ),  # (initiator, idempotency key) is unique
        (
            "INSERT INTO entries (transaction_id, wallet_id, amount, balance_after, version) "
            "VALUES ({tx}, {b}, 0, 4, 0)",
            "entries_version_positive",
        ),
        (
            "INSERT INTO entries (transaction_id, wallet_id, amount, balance_after, version) "
            "VALUES ({tx}, {b}, 0, 4, 1)",
            "uid_entries_wallet",
        ),  # (wallet, version) is unique
        ("UPDATE wallets SET status = 'CLOSED' WHERE id = {a}", "wallets_status_known"),
        ("UPDATE wallets SET version = -1 WHERE id = {a}", "wallets_version_nonnegative"),
        ("UPDATE users SET email = 'UPPER@EXAMPLE.COM' WHERE id = {user}", "users_email_lowercase"),
        ("UPDATE users SET role = 'ROOT' WHERE id = {user}", "users_role_known"),
    ],
)
async def test_check_and_unique_constraints(ledger, raw, statement, constraint):
    before = await rows()
    message = await refused(raw, statement.format(**ledger))
    assert any(name in message for name in constraint.split("|"))
    assert await rows() == before
