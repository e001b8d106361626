"""walletql.models.rows against the ORM's own path, both ways rows can go: through Tortoise
internals (walletql.shortcuts.tortoise: the asyncpg pool Tortoise opened, `_pool`, and its row
loader, `_init_from_db`) and through its public API (WALLETQL_FAST_PATHS=false). Each test here
does the same thing through rows and through the ORM and asserts the same result, so a Tortoise
upgrade that changes either internal fails here, not in production: models loaded from our rows equal the ORM's on every field (value,
type and representation, relations included), and our queries run on the connection the ORM
would use (the transaction's inside `in_transaction()`, the pool's outside it).
"""

from __future__ import annotations

import secrets
from decimal import Decimal
from typing import Any

import asyncpg
import pytest
from tortoise import connections
from tortoise.fields.relational import BackwardFKRelation, ForeignKeyFieldInstance
from tortoise.models import Model
from tortoise.transactions import in_transaction

from tests.calls import ledger
from tests.conftest import FAST_PATHS
from tests.ledger import conftest as ledger_tests
from walletql import db
from walletql.ledger.errors import InsufficientFunds
from walletql.models import Hold, LedgerTransaction, User, Wallet, rows

# The ledger tests' fixtures: users inserted through the ORM, money moved through the ledger.
customer = ledger_tests.customer
merchant = ledger_tests.merchant
operator = ledger_tests.operator
funded = ledger_tests.funded

TABLES = {User: "users", Wallet: "wallets", LedgerTransaction: "transactions", Hold: "holds"}


@pytest.fixture(autouse=True, params=["fast paths", "plain"])
def way(request):
    """Every test both ways, then rows as the run was."""
    rows.use_fast_paths(request.param == "fast paths")
    try:
        yield request.param
    finally:
        rows.use_fast_paths(FAST_PATHS)


def _same(a: Any, b: Any) -> bool:
    # repr tells apart what == forgives: Decimal("70") from Decimal("70.000000000000000000"),
    # a str from an enum member, one tzinfo from another.
    return type(a) is type(b) and a == b and repr(a) == repr(b)


async def _related_ids(instance: Model, name: str) -> list[int]:
    return sorted(await getattr(instance, name).all().values_list("id", flat=True))


async def assert_same_as_orm(loaded: Model, orm: Model) -> None:
    """Every field of `Model._meta.fields_map`, data and relations, alike on both instances."""
    assert type(loaded) is type(orm)
    meta = orm._meta
    for name, field in meta.fields_map.items():
        if name in meta.db_fields:
            mine, theirs = getattr(loaded, name), getattr(orm, name)
            assert _same(mine, theirs), (name, mine, theirs)
        elif isinstance(field, ForeignKeyFieldInstance):
            mine, theirs = await getattr(loaded, name), await getattr(orm, name)
            assert type(mine) is type(theirs), name
            assert getattr(mine, "pk", None) == getattr(theirs, "pk", None), name
        elif isinstance(field, BackwardFKRelation):
            assert await _related_ids(loaded, name) == await _related_ids(orm, name), name
        else:  # pragma: no cover - a new kind of field: teach this comparison about it
            pytest.fail(f"{type(orm).__name__}.{name}: {type(field).__name__} not compared")
    # Loaded as stored rows, not as new objects: saving one updates it (never inserts it).
    assert (
        (loaded._saved_in_db, loaded._partial) == (orm._saved_in_db, orm._partial) == (True, False)
    )


async def _check(cls: type[Model], pk: int) -> Model:
    table = TABLES[cls]
    orm = await cls.get(id=pk)
    loaded = await rows.fetch_one(cls, f"SELECT * FROM {table} WHERE id = $1", pk)
    assert loaded is not None
    await assert_same_as_orm(loaded, orm)
    (many,) = await rows.fetch_all(cls, f"SELECT * FROM {table} WHERE id = $1", pk)
    await assert_same_as_orm(many, orm)
    return loaded


@pytest.fixture
async def ledger_rows(customer, merchant, operator, funded):
    """Users, wallets and transactions of every shape, made through the ledger."""
    ann, shop, admin = await customer(), await merchant(), await operator()
    dollars = await funded(ann, "USD", "100.5")
    labelled = await ledger.create_wallet(ann, "EUR", "Holidays")
    shop_dollars = await funded(shop, "USD")
    credits = await funded(ann, "CREDIT")
    vault = await funded(admin, "EUR", "99999999999999999999")  # the largest figures stored
    deposit = await ledger.deposit(ann, dollars.id, "100.5", "rows-deposit", "Salary")
    withdrawal = await ledger.withdraw(ann, dollars.id, "12.34", "rows-withdrawal")
    with pytest.raises(InsufficientFunds) as refused:
        await ledger.withdraw(ann, labelled.id, "1", "rows-refused")
    operation = await ledger.apply_operation(admin, credits.id, "CREDIT_ADD", "rows-op")
    hold = await ledger.authorize(shop, dollars.payment_token, "10", "rows-hold", "Books")
    assert hold.hold is not None
    capture = await ledger.capture(shop, hold.hold.id, "4", "rows-capture", final=True)
    refund = await ledger.refund(shop, capture.transaction.id, "1", "rows-refund", "Torn")
    release = await LedgerTransaction.get(hold_id=hold.hold.id, kind="RELEASE")  # the ledger's
    await User.filter(id=shop.user_id).update(
        phone=f"+1555{shop.user_id:07d}", company_url="https://shop.example"
    )
    return {
        User: [ann.user_id, shop.user_id, admin.user_id],
        Wallet: [dollars.id, labelled.id, shop_dollars.id, credits.id, vault.id],
        LedgerTransaction: [
            deposit.transaction.id,
            withdrawal.transaction.id,
            refused.value.transaction.id,
            operation.transaction.id,
            hold.transaction.id,
            capture.transaction.id,
            refund.transaction.id,
            release.id,
        ],
        Hold: [hold.hold.id],
    }


async def test_the_rows_cover_null_and_set_fields(ledger_rows):
    """The other tests compare these rows: make sure they hold each field both ways."""
    for cls, pks in ledger_rows.items():
        instances = [await cls.get(id=pk) for pk in pks]
        for name, field in cls._meta.fields_map.items():
            if name in cls._meta.db_fields and field.null:
                values = [getattr(i, name) for i in instances]
                assert None in values and any(v is not None for v in values), (cls, name)
    wallet = await Wallet.get(id=ledger_rows[Wallet][0])
    assert isinstance(wallet.balance, Decimal) and wallet.balance == Decimal("185.66")


@pytest.mark.parametrize("cls", [User, Wallet, LedgerTransaction])
async def test_fetched_rows_load_as_the_orm_loads_them(ledger_rows, cls):
    for pk in ledger_rows[cls]:
        await _check(cls, pk)


async def test_columns_beside_the_models_are_left_out(ledger_rows):
    """A history page selects a transaction's columns and more (a join's): the model gets its
    own, and the rest stays in the row."""
    for pk in ledger_rows[LedgerTransaction]:
        sql = (
            "SELECT t.*, 1.50::numeric AS balance_after, 'Ann' AS source_name "
            "FROM transactions AS t WHERE id = $1"
        )
        (row,) = await rows.fetch(sql, pk)
        loaded = rows.model(LedgerTransaction, row)
        await assert_same_as_orm(loaded, await LedgerTransaction.get(id=pk))
        assert not hasattr(loaded, "balance_after") and not hasattr(loaded, "source_name")


async def test_a_wallet_from_a_composite_value_loads_as_the_orm_loads_it(ledger_rows):
    for pk in ledger_rows[Wallet]:
        (record,) = await rows.fetch("SELECT w FROM wallets AS w WHERE id = $1", pk)
        composite = record[0]
        assert isinstance(composite, asyncpg.Record)
        await assert_same_as_orm(rows.model(Wallet, composite), await Wallet.get(id=pk))


async def test_a_loaded_wallet_saves_as_an_update(ledger_rows):
    pk = ledger_rows[Wallet][1]
    loaded = await _check(Wallet, pk)
    wallets = await Wallet.all().count()
    loaded.label = "Renamed"
    await loaded.save(update_fields=["label"])
    assert await Wallet.all().count() == wallets
    stored = await Wallet.get(id=pk)
    assert stored.label == "Renamed"
    await assert_same_as_orm(loaded, stored)


class _RollBack(Exception):
    pass


async def test_fetch_inside_a_transaction_runs_on_the_transactions_connection(
    database_url, customer
):
    owner = await customer()
    outside = await asyncpg.connect(db.asyncpg_dsn(database_url))
    try:
        with pytest.raises(_RollBack):
            async with in_transaction() as conn:
                (inserted,) = await conn.execute_query_dict(
                    "INSERT INTO wallets (owner_id, currency, payment_token) "
                    "VALUES ($1, 'USD', $2) RETURNING id",
                    [owner.user_id, secrets.token_hex(16)],
                )
                pk = inserted["id"]
                # Not committed: no other connection (the pool's included) can see it yet.
                count = "SELECT count(*) FROM wallets WHERE id = $1"
                assert await outside.fetchval(count, pk) == 0
                assert [
                    dict(r) for r in await rows.fetch("SELECT id FROM wallets WHERE id = $1", pk)
                ] == [{"id": pk}]
                loaded = await rows.fetch_one(Wallet, "SELECT * FROM wallets WHERE id = $1", pk)
                assert loaded is not None
                await assert_same_as_orm(loaded, await Wallet.get(id=pk))
                (mine,) = await rows.fetch("SELECT pg_backend_pid() AS pid")
                (theirs,) = await conn.execute_query_dict("SELECT pg_backend_pid() AS pid")
                assert mine["pid"] == theirs["pid"]
                raise _RollBack
        assert await rows.fetch("SELECT id FROM wallets WHERE id = $1", pk) == []
        assert await outside.fetchval(count, pk) == 0
    finally:
        await outside.close()


async def test_fetch_outside_a_transaction_before_and_after_the_pool_exists(customer):
    owner = await customer()
    client = connections.get("default")
    await client.close()  # as in a process whose ORM is open but has run no query yet
    assert client._pool is None
    sql = "SELECT * FROM users WHERE id = $1"
    before = await rows.fetch_one(User, sql, owner.user_id)
    assert before is not None
    pool = client._pool
    assert isinstance(pool, asyncpg.Pool)  # Tortoise opened its pool on that first use
    after = await rows.fetch_one(User, sql, owner.user_id)
    assert client._pool is pool
    orm = await User.get(id=owner.user_id)
    await assert_same_as_orm(before, orm)
    await assert_same_as_orm(after, orm)
    assert await rows.fetch("SELECT id FROM users WHERE id = $1", -1) == []
