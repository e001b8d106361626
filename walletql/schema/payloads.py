"""Mutation payloads, their result unions, and the subscription's balance update."""

from __future__ import annotations

from typing import Annotated

import strawberry

from walletql.ledger import accounts
from walletql.ledger import errors as domain
from walletql.models import Wallet as WalletRow
from walletql.models.rows import fetch_one
from walletql.schema.context import Context
from walletql.schema.errors import (
    AlreadyExists,
    CurrencyMismatch,
    Forbidden,
    IdempotencyConflict,
    InsufficientFunds,
    InvalidCredentials,
    NotAuthenticated,
    NotFound,
    ValidationError,
    WalletInactive,
    WalletLimitReached,
)
from walletql.schema.scalars import DateTime, Money
from walletql.schema.transaction import Transaction
from walletql.schema.user import User
from walletql.schema.wallet import Wallet


@strawberry.type(description="A signed-in session.")
class AuthPayload:
    token: str = strawberry.field(description="Send as `Authorization: Bearer <token>`.")
    expires_at: DateTime = strawberry.field(description="When the token stops working.")
    user: User = strawberry.field(description="The signed-in user.")


@strawberry.type(description="A created wallet.")
class WalletPayload:
    wallet: Wallet = strawberry.field(description="The new wallet.")


@strawberry.type(description="A posted movement of money.")
class PaymentPayload:
    transaction: Transaction = strawberry.field(description="The POSTED transaction.")
    wallet_id: strawberry.Private[int]
    wallet_row: strawberry.Private[WalletRow | None] = None  # as the posting left it, if known

    @strawberry.field(
        description="The wallet the caller acted on, after the posting: the deposited, withdrawn, "
        "source (transfer), merchant (charge) or target (operation) wallet."
    )
    async def wallet(self, info: strawberry.Info[Context]) -> Wallet:
        # Loaded only when selected and not already known: many clients need just the transaction.
        row = self.wallet_row or await fetch_one(
            WalletRow, "SELECT * FROM wallets WHERE id = $1", self.wallet_id
        )
        # A payload never shows a wallet its caller may not read, replayed or not.
        if row is None or not accounts.may_read(info.context.principal, row):
            raise domain.NotFound("Wallet not found")
        return Wallet(row=row)

    replayed: bool = strawberry.field(
        description="True when this answer replays an earlier request with the same idempotency key."
    )


@strawberry.type(description="A posting on one of the caller's wallets, delivered after commit.")
class BalanceUpdate:
    wallet_id: strawberry.ID = strawberry.field(description="The wallet that changed.")
    balance: Money = strawberry.field(description="Its balance right after this posting.")
    version: int = strawberry.field(description="Its version after this posting.")
    transaction: Transaction = strawberry.field(description="The posting.")
    event_key: strawberry.Private[tuple] = ()  # (wallet id, version): the same for everyone


AuthResult = Annotated[
    AuthPayload | ValidationError | AlreadyExists | InvalidCredentials,
    strawberry.union("AuthResult", description="A session, or why there is none."),
]
WalletResult = Annotated[
    WalletPayload
    | ValidationError
    | NotAuthenticated
    | Forbidden
    | AlreadyExists
    | WalletLimitReached,
    strawberry.union("WalletResult", description="The new wallet, or why there is none."),
]
PaymentResult = Annotated[
    PaymentPayload
    | ValidationError
    | NotAuthenticated
    | Forbidden
    | NotFound
    | InsufficientFunds
    | CurrencyMismatch
    | IdempotencyConflict
    | WalletInactive,
    strawberry.union("PaymentResult", description="The posting, or why nothing moved."),
]
