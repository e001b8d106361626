"""The Decimal (money) and DateTime scalars.

Money goes out as a string that resolvers have already formatted to its currency's decimals.
Money comes in untouched: the ledger validates it against the currency of the wallet it moves,
so a bad amount is a ValidationError (BAD_AMOUNT) in the mutation's result, never rounded.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import NewType

import strawberry
from graphql import GraphQLError
from strawberry.types.scalar import ScalarDefinition

from walletql.ledger import characters


def _serialize_money(value: object) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, Decimal) and value.is_finite():
        return format(value, "f")
    raise TypeError("Money must be formatted for its currency before it is served")


Money = NewType("Money", str)
"""An amount as served: the string `walletql.ledger.money.format_amount` made for its currency."""

MoneyInput = NewType("MoneyInput", object)
"""A Decimal argument as the client sent it (a string or an integer, unparsed and unchecked):
the ledger parses and validates it. The same GraphQL scalar as Money."""

DateTime = NewType("DateTime", datetime)
"""A datetime, served and parsed as the DateTime scalar."""

MONEY_SCALAR = strawberry.scalar(
    name="Decimal",
    description=(
        "An exact amount of money: a JSON string with exactly its currency's decimals and no "
        'exponent ("12.50", "0.10000000", "3"). Accepted as a string or an integer; never a float.'
    ),
    serialize=_serialize_money,
    parse_value=lambda value: value,
)


def _parse_datetime(value: object) -> datetime:
    # GraphQLError, not ValueError: it marks the failure as the client's input, not our bug.
    if not isinstance(value, str) or len(value) > 64 or characters.refused(value) is not None:
        raise GraphQLError("DateTime must be an ISO-8601 string with an offset")
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise GraphQLError(f"Invalid DateTime {value!r}: use ISO-8601 with an offset") from None
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        raise GraphQLError(f"DateTime {value!r} has no offset: add one, e.g. Z or +02:00")
    try:
        parsed.astimezone(UTC)  # what the database stores: 0001-01-01T00:00:00+23:59 has none
    except OverflowError:
        raise GraphQLError(f"DateTime {value!r} is out of range once converted to UTC") from None
    return parsed


def _serialize_datetime(value: datetime) -> str:
    if value.tzinfo is not UTC:  # the database's values already are (asyncpg gives UTC)
        value = value.astimezone(UTC)
    return value.isoformat()[:-6] + "Z"  # "+00:00" is always last


DATETIME_SCALAR = strawberry.scalar(
    name="DateTime",
    description="ISO-8601 date and time, always with an offset; the server answers in UTC.",
    serialize=_serialize_datetime,
    parse_value=_parse_datetime,
)

SCALARS: dict[object, ScalarDefinition] = {
    Money: MONEY_SCALAR,
    MoneyInput: MONEY_SCALAR,
    DateTime: DATETIME_SCALAR,
}
