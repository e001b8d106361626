"""Currencies and amounts. Amounts are Decimal, checked against their currency, never rounded."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Context, Decimal, Inexact, InvalidOperation, Overflow
from functools import cached_property
from types import MappingProxyType

from walletql.ledger.errors import ValidationError
from walletql.settings import MAX_DECIMALS, MAX_INTEGER_DIGITS, Settings

# Wide enough for NUMERIC(38, 18) with room to spare; any rounding raises instead of happening.
MONEY = Context(prec=60, traps=[InvalidOperation, Overflow, Inexact])

# ASCII digits only, and \Z rather than $: `\d` also matches other scripts' digits (which
# Decimal() accepts) and `$` matches before a trailing newline.
_PLAIN_DECIMAL = re.compile(r"^(?P<sign>-)?(?P<int>[0-9]+)(?:\.(?P<frac>[0-9]+))?\Z")


@dataclass(frozen=True)
class Currency:
    code: str
    name: str
    decimals: int

    @cached_property  # (frozen: cached_property writes the instance's __dict__ directly)
    def unit(self) -> Decimal:
        """The smallest amount: 0.01 for USD, 1 for CREDIT."""
        return Decimal(1).scaleb(-self.decimals)


def currency_table(settings: Settings) -> Mapping[str, Currency]:
    """The configured currencies by code, built once per process (walletql.services): one
    object per currency. Every amount served is formatted with its currency (80 look-ups per
    history page), so a look-up is one dict access, not a new Currency."""
    return MappingProxyType(
        {code: Currency(code, c.name, c.decimals) for code, c in settings.currencies.items()}
    )


def get_currency(
    currencies: Mapping[str, Currency], code: object, field: str = "currency"
) -> Currency:
    """The currency of `currencies` that `code` names (" usd " names USD)."""
    if isinstance(code, str):
        currency = currencies.get(code) or currencies.get(code.strip().upper())
        if currency is not None:
            return currency
    raise ValidationError("UNKNOWN_CURRENCY", f"Unknown currency: {str(code)[:40]!r}", field)


def decimal_places(amount: Decimal) -> int:
    """How many fractional digits `amount` needs: 2 for 12.50 and 12.5, 0 for 12.00."""
    return max(0, -int(MONEY.normalize(amount).as_tuple().exponent))  # finite: an int


def accepts(currency: Currency, amount: Decimal) -> bool:
    """The one rule of an amount's precision: no finer than its currency's smallest unit."""
    return decimal_places(amount) <= currency.decimals


def too_precise(currency: Currency, field: str = "amount") -> ValidationError:
    return ValidationError(
        "BAD_AMOUNT",
        f"Invalid {currency.code} amount: {currency.code} has {currency.decimals} decimal "
        "places at most",
        field,
    )


def _plain_amount(
    value: object, field: str, allow_zero: bool, allow_negative: bool, named: str
) -> Decimal:
    """Client input (a decimal string or an integer) as an exact Decimal of any precision.

    Refuses floats, NaN, Infinity, exponents, blanks, signs and zero where not allowed, and more
    integer digits than the column holds. `named` names the currency in messages, if known."""

    def bad(reason: str) -> ValidationError:
        return ValidationError("BAD_AMOUNT", f"Invalid {named}amount: {reason}", field)

    if isinstance(value, (bool, float)):
        raise bad('send a decimal string such as "12.50", not a floating-point number')
    if isinstance(value, int):
        text = str(value)
    elif isinstance(value, Decimal):
        if not value.is_finite():
            raise bad("not a finite number")
        text = format(value, "f")
    elif isinstance(value, str):
        text = value
    else:
        raise bad("expected a decimal string or an integer")

    match = _PLAIN_DECIMAL.match(text)
    if match is None:
        shown = text if len(text) <= 40 else text[:40] + "..."
        raise bad(f"{shown!r} is not a plain decimal number (digits, one optional point)")
    if len(match["int"].lstrip("0")) > MAX_INTEGER_DIGITS:
        raise bad(f"more than {MAX_INTEGER_DIGITS} integer digits")
    if len((match["frac"] or "").rstrip("0")) > MAX_DECIMALS:
        raise bad(f"no currency has more than {MAX_DECIMALS} decimal places")
    amount = Decimal(text)
    if amount == 0 and not allow_zero:
        raise bad("must be greater than zero")
    if amount < 0 and not allow_negative:
        raise bad("must be positive")
    return Decimal(0) if amount == 0 else amount  # "-0" is zero, not a negative amount


def parse_amount(
    value: object,
    currency: Currency,
    *,
    field: str = "amount",
    allow_zero: bool = False,
    allow_negative: bool = False,
) -> Decimal:
    """Client input as an exact Decimal for `currency`: see `_plain_amount`, and no finer than
    the currency's smallest unit. Never rounded."""
    amount = _plain_amount(value, field, allow_zero, allow_negative, f"{currency.code} ")
    if not accepts(currency, amount):
        raise too_precise(currency, field)
    return amount


def amount_input(currencies: Mapping[str, Currency], value: object) -> tuple[Decimal, list[str]]:
    """A movement's amount before its wallet is known: a positive exact Decimal, and the codes
    of the `currencies` that accept it as given (the posting functions refuse the others once
    they have found the wallet)."""
    amount = _plain_amount(value, "amount", allow_zero=False, allow_negative=False, named="")
    return amount, [c.code for c in currencies.values() if accepts(c, amount)]


def format_amount(amount: Decimal, currency: Currency) -> str:
    """Exactly `currency.decimals` fractional digits, never an exponent: "12.50", "3"."""
    return format(MONEY.quantize(amount, currency.unit), "f")


def add(a: Decimal, b: Decimal) -> Decimal:
    return MONEY.add(a, b)


def subtract(a: Decimal, b: Decimal) -> Decimal:
    return MONEY.subtract(a, b)
