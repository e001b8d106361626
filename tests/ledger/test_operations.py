"""The configured operations catalog, and operators applying operations to wallets."""

import asyncio
from collections import Counter
from decimal import Decimal

import pytest

from tests.calls import ledger
from walletql import ids
from walletql import settings as settings_module
from walletql.ledger.errors import (
    ConfigurationError,
    CurrencyMismatch,
    Forbidden,
    IdempotencyConflict,
    InsufficientFunds,
    NotFound,
    ValidationError,
    WalletInactive,
)
from walletql.ledger.operations import (
    SHARED_OPERATIONS,
    BaseLedgerOperation,
    Op,
    build_catalog,
    get_operation,
)
from walletql.ledger.verify import verify
from walletql.models import Entry, LedgerTransaction, Wallet
from walletql.settings import DEFAULT_OPERATIONS, OperationConfig

WITHOUT_DAILY_REWARD = """
[operations.SIGNUP_CREDIT]
amount = "3"
currency = "CREDIT"
[operations.CREDIT_SPEND]
amount = "-1"
currency = "CREDIT"
[operations.CREDIT_ADD]
amount = "10"
currency = "CREDIT"
"""


@pytest.fixture
def config_without_daily_reward(tmp_path):
    path = tmp_path / "walletql.toml"
    path.write_text(WITHOUT_DAILY_REWARD)
    return path


def test_toml_without_daily_reward_fails_at_load(config_without_daily_reward):
    loaded = settings_module.load(environ={"WALLETQL_CONFIG": str(config_without_daily_reward)})
    assert set(loaded.operations) == {"SIGNUP_CREDIT", "CREDIT_SPEND", "CREDIT_ADD"}
    with pytest.raises(ConfigurationError, match="DAILY_REWARD"):
        build_catalog(loaded)


def test_toml_with_the_shared_operations_loads(tmp_path):
    path = tmp_path / "ok.toml"
    path.write_text(
        WITHOUT_DAILY_REWARD
        + '[operations.DAILY_REWARD]\namount = "2"\ncurrency = "CREDIT"\n'
        + '[operations.TIP]\namount = "0.05"\ncurrency = "USD"\n'
    )
    catalog = build_catalog(settings_module.load(environ={"WALLETQL_CONFIG": str(path)}))
    assert catalog["DAILY_REWARD"].amount == 2 and catalog["TIP"].amount == Decimal("0.05")
    assert "CONTENT_ACCESS" not in catalog  # a table in the file replaces the default wholesale


@pytest.mark.parametrize(
    ("operations", "named"),
    [
        ({"BONUS": OperationConfig(Decimal(1), "GOLD")}, "BONUS"),
        ({"BONUS": OperationConfig(Decimal("0.5"), "CREDIT")}, "BONUS"),
        ({"BONUS": OperationConfig(Decimal("0.001"), "USD")}, "BONUS"),
    ],
)
def test_catalog_refuses_unusable_operations(operations, named):
    configured = settings_module.Settings().with_changes(
        operations={**DEFAULT_OPERATIONS, **operations}
    )
    with pytest.raises(ConfigurationError, match=named):
        build_catalog(configured)


@pytest.mark.parametrize("missing", SHARED_OPERATIONS)
def test_python_operations_lacking_a_shared_one_fail_at_class_creation(missing):
    declared = {code: Op("1") for code in SHARED_OPERATIONS if code != missing}
    with pytest.raises(ConfigurationError, match=missing):
        type("Incomplete", (BaseLedgerOperation,), declared)


def test_python_operations_declare_a_catalog():
    class Game(BaseLedgerOperation):
        DAILY_REWARD = Op("1")
        SIGNUP_CREDIT = Op("3")
        CREDIT_SPEND = Op("-1")
        CREDIT_ADD = Op("10")

    class Extended(Game):  # inherits the shared ones
        LEVEL_UP = Op("25")

    assert set(Extended.declared) == set(SHARED_OPERATIONS) | {"LEVEL_UP"}
    catalog = build_catalog(
        settings_module.Settings().with_changes(operations=Extended.settings_table())
    )
    assert catalog["LEVEL_UP"].amount == 25 and catalog["CREDIT_SPEND"].amount == -1


def test_cli_names_the_missing_operation_in_one_line(config_without_daily_reward, run_cli):
    result = run_cli("verify", WALLETQL_CONFIG=str(config_without_daily_reward))
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "DAILY_REWARD" in lines[0]
    assert "Traceback" not in result.stdout + result.stderr


async def test_only_operators_apply_operations(customer, merchant, funded, snapshot):
    owner = await customer()
    wallet = await funded(owner, "CREDIT")
    before = await snapshot(wallet.id)
    for actor in (owner, await merchant()):
        with pytest.raises(Forbidden):
            await ledger.apply_operation(actor, wallet.id, "DAILY_REWARD", "op")
    assert await snapshot(wallet.id) == before


async def test_operator_applies_the_default_operations(customer, operator, funded):
    admin, owner = await operator(), await customer()
    wallet = await funded(owner, "CREDIT")
    with pytest.raises(InsufficientFunds) as info:
        await ledger.apply_operation(admin, wallet.id, "CREDIT_SPEND", "spend0")
    refused = await LedgerTransaction.get(id=info.value.transaction.id)
    assert (refused.status, refused.failure_reason) == ("REJECTED", "INSUFFICIENT_FUNDS")
    assert (refused.operation, refused.source_wallet_id) == ("CREDIT_SPEND", wallet.id)
    assert await Entry.filter(transaction_id=refused.id).count() == 0

    steps = [
        ("DAILY_REWARD", 1, 1),
        ("DAILY_REWARD", 2, 2),
        ("CONTENT_ACCESS", 2, 3),  # zero: still an entry of 0 and a new version
        ("CREDIT_ADD", 12, 4),
        ("CONTENT_CREATION", 7, 5),
        ("CREDIT_SPEND", 6, 6),
        ("SIGNUP_CREDIT", 9, 7),
    ]
    for i, (code, balance, version) in enumerate(steps):
        outcome = await ledger.apply_operation(
            admin, ids.encode(ids.WALLET, wallet.id), code, f"op{i}"
        )
        assert outcome.wallet_id == wallet.id
        await wallet.refresh_from_db()
        assert (wallet.balance, wallet.version) == (balance, version), code
    zero = await Entry.get(wallet_id=wallet.id, version=3)
    assert zero.amount == 0 and zero.balance_after == 2
    again = await ledger.apply_operation(admin, wallet.id, "CREDIT_ADD", "op3")
    assert again.replayed and (await Wallet.get(id=wallet.id)).balance == 9
    with pytest.raises(IdempotencyConflict):
        await ledger.apply_operation(admin, wallet.id, "DAILY_REWARD", "op3")
    assert await verify() == []


async def test_operation_refusals(customer, operator, funded, sql, snapshot):
    admin, owner = await operator(), await customer()
    dollars = await funded(owner, "USD", "5")
    credits = await funded(owner, "CREDIT")
    with pytest.raises(CurrencyMismatch):
        await ledger.apply_operation(admin, dollars.id, "DAILY_REWARD", "a")
    for code in ("NO_SUCH_OP", "", None, 7):
        with pytest.raises(ValidationError) as info:
            await ledger.apply_operation(admin, credits.id, code, f"b{code!r}")
        assert info.value.code == "UNKNOWN_OPERATION"
    for missing in (credits.id + 10_000, "x", None):
        with pytest.raises(NotFound):
            await ledger.apply_operation(admin, missing, "DAILY_REWARD", f"c{missing!r}")
    await sql(f"UPDATE wallets SET status = 'FROZEN' WHERE id = {credits.id}")
    before = await snapshot(credits.id)
    with pytest.raises(WalletInactive):
        await ledger.apply_operation(admin, credits.id, "DAILY_REWARD", "d")
    assert await snapshot(credits.id) == before
    assert (await Wallet.get(id=dollars.id)).balance == 5


INEXACT_CODES = ["credit_add", " CREDIT_ADD", "CREDIT_ADD ", "Credit_Add", "\tCREDIT_ADD"]


@pytest.mark.parametrize("code", INEXACT_CODES)
async def test_operation_codes_match_exactly(customer, operator, funded, snapshot, code):
    admin, owner = await operator(), await customer()
    credits = await funded(owner, "CREDIT")
    before = await snapshot(credits.id)
    with pytest.raises(ValidationError) as info:
        await ledger.apply_operation(admin, credits.id, code, "inexact")
    assert (info.value.code, info.value.field) == ("UNKNOWN_OPERATION", "operation")
    # nothing posted and no REJECTED record stored: same balance, version and row counts
    assert await snapshot(credits.id) == before
    # the exact code still posts
    await ledger.apply_operation(admin, credits.id, "CREDIT_ADD", "exact")
    assert (await Wallet.get(id=credits.id)).balance == 10


def test_get_operation_takes_the_code_as_given():
    assert get_operation(ledger.operations, "CREDIT_ADD").amount == 10
    for code in INEXACT_CODES:
        with pytest.raises(ValidationError) as info:
            get_operation(ledger.operations, code)
        assert (info.value.code, info.value.field) == ("UNKNOWN_OPERATION", "operation")


async def test_configured_operation_moves_38_digits_exactly(customer, operator):
    admin, owner = await operator(), await customer()
    big = "12345678901234567890.123456789012345678"
    operations = {**DEFAULT_OPERATIONS, "PAYOUT": OperationConfig(Decimal("-" + big), "ETH")}
    wallet = await ledger.create_wallet(owner, "ETH")
    await ledger.deposit(owner, wallet.id, big, "in")
    await ledger.with_settings(operations=operations).apply_operation(
        admin, wallet.id, "PAYOUT", "out"
    )
    assert (await Wallet.get(id=wallet.id)).balance == 0
    assert await verify() == []


async def test_concurrent_spends_never_overdraw(customer, operator, funded):
    admin, owner = await operator(), await customer()
    wallet = await funded(owner, "CREDIT")
    await ledger.apply_operation(admin, wallet.id, "CREDIT_ADD", "add")
    calls = [ledger.apply_operation(admin, wallet.id, "CREDIT_SPEND", f"s{i}") for i in range(30)]
    results = await asyncio.gather(*calls, return_exceptions=True)
    assert Counter(type(r).__name__ for r in results) == {"Outcome": 10, "InsufficientFunds": 20}
    await wallet.refresh_from_db()
    assert (wallet.balance, wallet.version) == (0, 11)
    assert await verify() == []
