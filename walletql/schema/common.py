"""Enums and the small value types shared by wallets, transactions and users."""

from __future__ import annotations

from collections.abc import Mapping
from contextvars import ContextVar
from decimal import Decimal
from enum import Enum

import strawberry

from walletql.ledger import money
from walletql.ledger.operations import Operation
from walletql.models import (
    HoldStatus,
    Role,
    Scope,
    TransactionKind,
    TransactionStatus,
    WalletStatus,
)
from walletql.schema.scalars import Money

# The models' own enums, registered as GraphQL enums in place (strawberry.enum returns the class
# it was given): a resolver serves a row's value as it is, and an input's member is the models'.
strawberry.enum(Role, name="Role", description="What an account is for.")
strawberry.enum(Scope, name="ApiScope", description="What an API key may do.")
strawberry.enum(WalletStatus, name="WalletStatus", description="ACTIVE, or FROZEN: no postings.")
strawberry.enum(TransactionKind, name="TransactionKind", description="What moved.")
strawberry.enum(
    TransactionStatus,
    name="TransactionStatus",
    description="POSTED moved money; REJECTED was declined and moved nothing.",
)
strawberry.enum(
    HoldStatus,
    name="HoldStatus",
    description="HELD: can be captured or voided until expiresAt; CAPTURED: fully captured, or "
    "captured with final: true; VOIDED: released by voidHold; EXPIRED: expiresAt passed while "
    "HELD, and what remained was released.",
)


# The currencies amounts are served in: the app's (walletql.services), set for each request by
# WalletGraphQL.get_context (`serve_currencies`). A context variable, not an argument: an update
# of a subscription is built once for all its subscribers, outside any resolver, with no Info at
# hand (resolvers/subscription.py). Tasks a request starts inherit it; other requests and other
# apps in the process set their own.
_SERVED: ContextVar[Mapping[str, money.Currency]] = ContextVar("walletql_served_currencies")


def serve_currencies(currencies: Mapping[str, money.Currency]) -> None:
    """Serve this request's amounts in `currencies` (the app's configured ones)."""
    _SERVED.set(currencies)


@strawberry.enum(description="Seen from one wallet: money came in (CREDIT) or went out (DEBIT).")
class Direction(Enum):
    CREDIT = "CREDIT"
    DEBIT = "DEBIT"


@strawberry.type(description="A currency walletql keeps accounts in.")
class Currency:
    code: str = strawberry.field(description='Currency code, e.g. "BTC".')
    name: str = strawberry.field(description='Display name, e.g. "Bitcoin".')
    decimals: int = strawberry.field(description="Decimal places of its amounts (8 for BTC).")

    @classmethod
    def of(cls, code: str) -> Currency:
        return cls.served(money.get_currency(_SERVED.get(), code))

    @classmethod
    def served(cls, c: money.Currency) -> Currency:
        return cls(code=c.code, name=c.name, decimals=c.decimals)


def amount(value: Decimal, code: str) -> Money:
    """A stored amount as served: exactly the currency's decimals."""
    return Money(money.format_amount(value, money.get_currency(_SERVED.get(), code)))


@strawberry.type(description="A merchant's company.")
class Company:
    name: str = strawberry.field(description="Company name, shown to customers it charges.")
    url: str | None = strawberry.field(description="Company website.")


@strawberry.type(description="Total balance in one currency over a user's wallets.")
class CurrencyBalance:
    currency: Currency = strawberry.field(description="The currency.")
    balance: Money = strawberry.field(description="Sum of the balances of wallets in it.")


@strawberry.type(description="A configured ledger operation; operators apply it to a wallet.")
class LedgerOperation:
    code: str = strawberry.field(description="Operation code, e.g. DAILY_REWARD.")
    amount: Money = strawberry.field(
        description="Signed: positive credits the wallet, negative debits it, zero records an event."
    )
    currency: Currency = strawberry.field(description="Currency the operation moves.")
    shared: bool = strawberry.field(
        description="True for the operations every deployment must define: DAILY_REWARD, "
        "SIGNUP_CREDIT, CREDIT_SPEND, CREDIT_ADD."
    )

    @classmethod
    def of(cls, op: Operation) -> LedgerOperation:
        return cls(
            code=op.code,
            amount=Money(money.format_amount(op.amount, op.currency)),
            currency=Currency.served(op.currency),
            shared=op.shared,
        )
