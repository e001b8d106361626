"""Mutation payloads, their result unions, and the subscription's balance update."""

from __future__ import annotations

from typing import Annotated, cast

import strawberry

from walletql.ledger import accounts, batches
from walletql.ledger import errors as domain
from walletql.ledger.posting import Outcome
from walletql.models import Wallet as WalletRow
from walletql.models.rows import fetch_one
from walletql.schema.api_key import ApiKeyPayload
from walletql.schema.context import Context
from walletql.schema.errors import (
    AlreadyExists,
    BatchRejected,
    CurrencyMismatch,
    ExceedsRemaining,
    Forbidden,
    HoldClosed,
    IdempotencyConflict,
    InsufficientFunds,
    InvalidCredentials,
    NotAuthenticated,
    NotFound,
    TooManyAttempts,
    ValidationError,
    WalletInactive,
    WalletLimitReached,
    as_result,
)
from walletql.schema.hold import Hold
from walletql.schema.scalars import DateTime, Money
from walletql.schema.transaction import Transaction
from walletql.schema.user import User
from walletql.schema.wallet import Wallet


@strawberry.type(description="A signed-in session.")
class AuthPayload:
    token: str = strawberry.field(description="Send as `Authorization: Bearer <token>`.")
    expires_at: DateTime = strawberry.field(description="When the token stops working.")
    user: User = strawberry.field(description="The signed-in user.")


@strawberry.type(description="A wallet made, frozen or unfrozen.")
class WalletPayload:
    wallet: Wallet = strawberry.field(description="The wallet.")


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
        return await _readable_wallet(info, self.wallet_row, self.wallet_id)

    replayed: bool = strawberry.field(
        description="True when this answer replays an earlier request with the same idempotency key."
    )

    @classmethod
    def of(cls, outcome: Outcome) -> PaymentPayload:
        return cls(
            transaction=Transaction.of(outcome.transaction),
            wallet_id=outcome.wallet_id,
            wallet_row=outcome.wallet,
            replayed=outcome.replayed,
        )


@strawberry.type(description="A hold and the posting this request made (or replayed).")
class HoldPayload:
    hold: Hold = strawberry.field(description="The hold, as this request left it.")
    transaction: Transaction = strawberry.field(
        description="The HOLD, CAPTURE or RELEASE transaction this request made (or replayed)."
    )
    wallet_row: strawberry.Private[WalletRow | None]
    wallet_id: strawberry.Private[int]

    @strawberry.field(
        description="The caller's side: the merchant's wallet (its balance after a capture)."
    )
    async def wallet(self, info: strawberry.Info[Context]) -> Wallet:
        return await _readable_wallet(info, self.wallet_row, self.wallet_id)

    replayed: bool = strawberry.field(
        description="True when this answer replays an earlier request with the same idempotency key."
    )


async def _readable_wallet(
    info: strawberry.Info[Context], row: WalletRow | None, wallet_id: int
) -> Wallet:
    """A payload's wallet, as the posting left it when known, else as it is now; never one its
    caller may not read, replayed or not."""
    # Loaded only when selected and not already known: many clients need just the transaction.
    row = row or await fetch_one(WalletRow, "SELECT * FROM wallets WHERE id = $1", wallet_id)
    if row is None or not accounts.may_read(info.context.principal, row):
        raise domain.NotFound("Wallet not found")
    return Wallet(row=row)


@strawberry.type(description="A posting on one of the caller's wallets, delivered after commit.")
class BalanceUpdate:
    wallet_id: strawberry.ID = strawberry.field(description="The wallet that changed.")
    balance: Money = strawberry.field(description="Its balance right after this posting.")
    held: Money = strawberry.field(description="Its held amount right after this posting.")
    available: Money = strawberry.field(
        description="balance - held - minimumBalance right after this posting."
    )
    version: int = strawberry.field(description="Its version after this posting.")
    transaction: Transaction = strawberry.field(description="The posting.")
    wallet: Wallet = strawberry.field(
        description="The wallet as it is right after this posting (the same figures as the "
        "fields above), so a normalizing client cache (Apollo, Relay, urql's graphcache) "
        "updates itself from the subscription alone."
    )
    event_key: strawberry.Private[tuple] = ()  # (wallet id, version): the same for everyone


AuthResult = Annotated[
    AuthPayload
    | ValidationError
    | AlreadyExists
    | InvalidCredentials
    | TooManyAttempts
    | NotAuthenticated
    | Forbidden,
    strawberry.union("AuthResult", description="A session, or why there is none."),
]
WalletResult = Annotated[
    WalletPayload
    | ValidationError
    | NotAuthenticated
    | Forbidden
    | AlreadyExists
    | WalletLimitReached
    | NotFound,
    strawberry.union("WalletResult", description="The wallet, or why there is none."),
]
ApiKeyResult = Annotated[
    ApiKeyPayload | ValidationError | NotAuthenticated | Forbidden | NotFound,
    strawberry.union("ApiKeyResult", description="The key, or why there is none."),
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
    | WalletInactive
    | ExceedsRemaining,
    strawberry.union("PaymentResult", description="The posting, or why nothing moved."),
]
HoldResult = Annotated[
    HoldPayload
    | ValidationError
    | NotAuthenticated
    | Forbidden
    | NotFound
    | InsufficientFunds
    | CurrencyMismatch
    | IdempotencyConflict
    | WalletInactive
    | HoldClosed
    | ExceedsRemaining,
    strawberry.union("HoldResult", description="The hold and its posting, or why nothing moved."),
]


@strawberry.type(description="The answer of each item of a batch.")
class BatchPayload:
    items: strawberry.Private[list[batches.Item]]

    @strawberry.field(description="One result per item, in order.")
    def results(self) -> list[PaymentResult]:
        # Built only when selected: a client that needs just the counts pays for none of them.
        answers: list[object] = []
        for item in self.items:
            result = item.result() if isinstance(item, batches.Answered) else item
            if isinstance(result, domain.LedgerError):
                answers.append(as_result(result))
            else:
                answers.append(PaymentPayload.of(result))
        # A posting's errors are all PaymentResult members (as_result is typed for any).
        return cast(list[PaymentResult], answers)

    @strawberry.field(description="Items that answered PaymentPayload (replays included).")
    def posted(self) -> int:
        return sum(isinstance(i, batches.Answered) and i.posted for i in self.items)

    @strawberry.field(description="Items that answered an error.")
    def failed(self) -> int:
        return len(self.items) - self.posted()


BatchResult = Annotated[
    BatchPayload | BatchRejected | ValidationError | NotAuthenticated | Forbidden,
    strawberry.union("BatchResult", description="Each item's answer, or why nothing moved."),
]
