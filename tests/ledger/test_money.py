"""Exact decimals end to end, and every malformed amount refused before anything is stored."""

import contextlib
from decimal import Decimal

import pytest

from tests.calls import ledger
from walletql.ledger.errors import IdempotencyConflict, ValidationError
from walletql.ledger.money import (
    amount_input,
    currency_table,
    format_amount,
    get_currency,
    parse_amount,
)
from walletql.ledger.verify import verify
from walletql.models import Entry, LedgerTransaction, Wallet
from walletql.settings import CurrencyConfig, Settings


async def test_point_one_plus_point_two_is_exactly_point_three(customer):
    owner = await customer()
    wallet = await ledger.create_wallet(owner, "USD")
    await ledger.deposit(owner, wallet.id, "0.1", "a")
    await ledger.deposit(owner, wallet.id, "0.2", "b")
    await wallet.refresh_from_db()
    assert wallet.balance == Decimal("0.3")
    assert format_amount(wallet.balance, get_currency(ledger.currencies, "USD")) == "0.30"


@pytest.mark.parametrize(
    ("currency", "amounts", "total"),
    [
        (
            "ETH",
            ["0.000000000000000001", "12345678901234567890.123456789012345678"],
            "12345678901234567890.123456789012345679",
        ),
        (
            "ETH",
            ["99999999999999999999.999999999999999999"],
            "99999999999999999999.999999999999999999",
        ),
        ("BTC", ["0.00000001", "20999999.99999999"], "21000000.00000000"),
        ("USD", ["0.01", "99999999999999999999.98"], "99999999999999999999.99"),
    ],
)
async def test_extreme_amounts_round_trip_exactly(customer, currency, amounts, total):
    owner = await customer()
    wallet = await ledger.create_wallet(owner, currency)
    for i, text in enumerate(amounts):
        outcome = await ledger.deposit(owner, wallet.id, text, f"k{i}")
        stored = await LedgerTransaction.get(id=outcome.transaction.id)
        assert stored.amount == Decimal(text)
        assert format_amount(stored.amount, get_currency(ledger.currencies, currency)).lstrip(
            "0"
        ) == text.lstrip("0")
    await wallet.refresh_from_db()
    assert wallet.balance == Decimal(total)
    newest = await Entry.filter(wallet_id=wallet.id).order_by("-version").first()
    assert newest.balance_after == Decimal(total)


ETH_MAX = "12345678901234567890.123456789012345678"  # 38 significant digits, more than 28


async def test_38_digit_amounts_move_exactly_between_wallets(customer, funded):
    # Python's default decimal context keeps 28 digits: any stray abs() or unary minus rounds.
    owner, other = await customer(), await customer()
    source = await funded(owner, "ETH", ETH_MAX)
    target = await funded(other, "ETH")
    await ledger.transfer(owner, source.id, ETH_MAX, "t", to_wallet_id=target.id)
    await ledger.withdraw(other, target.id, ETH_MAX, "w")
    assert (await Wallet.get(id=source.id)).balance == 0
    assert (await Wallet.get(id=target.id)).balance == 0
    entries = await Entry.filter(wallet_id=target.id).order_by("version")
    assert [e.amount for e in entries] == [Decimal(ETH_MAX), Decimal("-" + ETH_MAX)]
    assert await verify() == []


async def test_amounts_differing_in_the_last_digit_are_different_requests(customer, funded):
    owner = await customer()
    wallet = await funded(owner, "ETH")
    await ledger.deposit(owner, wallet.id, ETH_MAX, "k")
    with pytest.raises(IdempotencyConflict):
        await ledger.deposit(owner, wallet.id, ETH_MAX[:-1] + "9", "k")
    assert (await Wallet.get(id=wallet.id)).balance == Decimal(ETH_MAX)


async def test_balance_cannot_outgrow_the_column(customer, snapshot):
    owner = await customer()
    wallet = await ledger.create_wallet(owner, "USD")
    await ledger.deposit(owner, wallet.id, "99999999999999999999.99", "a")
    before = await snapshot(wallet.id)
    with pytest.raises(ValidationError) as info:
        await ledger.deposit(owner, wallet.id, "0.01", "b")
    assert info.value.code == "BAD_AMOUNT"
    assert await snapshot(wallet.id) == before


@pytest.mark.parametrize(
    ("amount", "code", "text"),
    [
        (Decimal("12.5"), "USD", "12.50"),
        (Decimal("0.1"), "BTC", "0.10000000"),
        (Decimal("3"), "CREDIT", "3"),
        (Decimal("3.000000000000000000"), "CREDIT", "3"),
        (Decimal("1E-18"), "ETH", "0.000000000000000001"),
        (Decimal("1E+5"), "USD", "100000.00"),
        (Decimal("0E-18"), "USD", "0.00"),
        (Decimal("-7.5"), "EUR", "-7.50"),
    ],
)
def test_format_amount_gives_the_currency_decimals_and_no_exponent(amount, code, text):
    assert format_amount(amount, get_currency(ledger.currencies, code)) == text


def test_format_amount_never_rounds():
    with pytest.raises(ArithmeticError):
        format_amount(Decimal("0.001"), get_currency(ledger.currencies, "USD"))


BAD_AMOUNTS = [
    "NaN",
    "nan",
    "sNaN",
    "Infinity",
    "-Infinity",
    "inf",
    Decimal("NaN"),
    Decimal("Infinity"),
    float("nan"),
    float("inf"),
    "1e-10",
    "1E5",
    "1e2",
    " 5 ",
    " 5",
    "5 ",
    "5\n",
    "\n5",
    "5\t",
    "",
    "   ",
    1.5,
    2.0,
    True,
    False,
    "-5",
    -5,
    "-0.01",
    "0",
    "0.00",
    "-0",
    0,
    "+5",
    "1.001",
    "0.001",
    "1" * 21,
    10**21,
    "abc",
    "1.2.3",
    "1,5",
    "5.",
    ".5",
    "0x10",
    "1_000",
    "\u0661\u0662",  # Arabic-Indic digits: Decimal() accepts them, a ledger must not
    "\uff15",  # fullwidth 5
    None,
    [],
    ["5"],
    {},
    b"5",
]


@pytest.mark.parametrize("amount", BAD_AMOUNTS, ids=repr)
async def test_bad_amount_is_refused_and_nothing_is_stored(customer, funded, snapshot, amount):
    owner, other = await customer(), await customer()
    wallet = await funded(owner, "USD", "10")
    target = await ledger.create_wallet(other, "USD")
    before = await snapshot(wallet.id)
    calls = [
        ledger.deposit(owner, wallet.id, amount, "d"),
        ledger.withdraw(owner, wallet.id, amount, "w"),
        ledger.transfer(owner, wallet.id, amount, "t", to_wallet_id=target.id),
    ]
    for call in calls:
        with pytest.raises(ValidationError) as info:
            await call
        assert info.value.code == "BAD_AMOUNT"
        assert info.value.field == "amount"
    assert await snapshot(wallet.id) == before
    assert (await snapshot(target.id)).balance == 0


@pytest.mark.parametrize("amount", ["10.0000000000000000001", 10.0, "1e1", " 10 ", "10\n", True])
async def test_bad_amount_is_refused_even_with_a_used_key(customer, funded, snapshot, amount):
    # "10" was posted under key k; a malformed request reusing k is still malformed, not a replay.
    owner = await customer()
    wallet = await funded(owner, "USD")
    await ledger.deposit(owner, wallet.id, "10", "k")
    before = await snapshot(wallet.id)
    with pytest.raises(ValidationError) as info:
        await ledger.deposit(owner, wallet.id, amount, "k")
    assert info.value.code == "BAD_AMOUNT"
    assert await snapshot(wallet.id) == before


async def test_an_amount_too_fine_for_the_wallet_under_a_used_key_is_a_conflict(
    customer, funded, snapshot
):
    # "10.001" is a well-formed amount, too fine for USD only; whether it fits is decided with
    # the wallet, after the key: the key was used for another request.
    owner = await customer()
    wallet = await funded(owner, "USD")
    await ledger.deposit(owner, wallet.id, "10", "k")
    before = await snapshot(wallet.id)
    with pytest.raises(IdempotencyConflict):
        await ledger.deposit(owner, wallet.id, "10.001", "k")
    assert await snapshot(wallet.id) == before


@pytest.mark.parametrize(
    ("text", "code", "expected"),
    [("10", "USD", "10"), ("0010.50", "USD", "10.5"), ("1.10", "CREDIT", None)],
)
def test_parse_amount_accepts_plain_decimals_only_within_the_currency(text, code, expected):
    currency = get_currency(ledger.currencies, code)
    if expected is None:
        with pytest.raises(ValidationError):
            parse_amount(text, currency)
    else:
        assert parse_amount(text, currency) == Decimal(expected)


@pytest.mark.parametrize(
    "value",
    ["10", "0010.50", "1.10", "5.000", "0.001", "0.123456789", "0.000000000000000001",
     "0.0000000000000000001", "1" + "0" * 20, "0", "-1", "1e3", "", 7, Decimal("1.5"), 1.5,
     True, None],
)  # fmt: skip
def test_amount_input_accepts_for_exactly_the_currencies_parse_amount_accepts(value):
    """What every movement posts with, before its wallet is known: the posting functions must
    never accept an amount for a currency that parse_amount refuses, nor refuse one it accepts."""
    accepted = {}
    for code, currency in ledger.currencies.items():
        with contextlib.suppress(ValidationError):
            accepted[code] = parse_amount(value, currency)
    try:
        amount, codes = amount_input(ledger.currencies, value)
    except ValidationError:
        amount, codes = None, []
    assert set(codes) == set(accepted)
    assert all(amount == parsed for parsed in accepted.values())
    assert (amount is None) == (not accepted)


def test_trailing_zeros_beyond_the_currency_scale_are_fine():
    assert parse_amount("1.100000", get_currency(ledger.currencies, "USD")) == Decimal("1.1")
    assert parse_amount("5.000", get_currency(ledger.currencies, "CREDIT")) == Decimal(5)


@pytest.mark.parametrize("code", ["XXX", "", "  ", None, 5, "US D", "usdx"])
async def test_unknown_currency_is_refused(customer, code):
    owner = await customer()
    with pytest.raises(ValidationError) as info:
        await ledger.create_wallet(owner, code)
    assert info.value.code == "UNKNOWN_CURRENCY"
    assert await ledger.user_wallets(owner.user_id) == []


async def test_currency_code_is_normalised(customer):
    owner = await customer()
    wallet = await ledger.create_wallet(owner, " eth ")
    assert wallet.currency == "ETH"


def test_a_currency_table_holds_its_own_settings_currencies():
    """Each app's services hold the currencies of its own settings, one object per currency."""
    usd = get_currency(ledger.currencies, "USD")
    assert get_currency(ledger.currencies, " usd ") is usd  # normalised, the same object
    gems = currency_table(Settings(currencies={"GEMS": CurrencyConfig("Gems", 0)}))
    assert get_currency(gems, "gems") is get_currency(gems, "GEMS")
    assert get_currency(gems, "GEMS").decimals == 0
    assert set(gems) == {"GEMS"}
    with pytest.raises(ValidationError) as refused:
        get_currency(gems, "USD")
    assert refused.value.code == "UNKNOWN_CURRENCY"
    assert get_currency(ledger.currencies, "USD").decimals == 2
    with pytest.raises(ValidationError):
        get_currency(ledger.currencies, "GEMS")
