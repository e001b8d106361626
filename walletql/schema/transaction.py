"""A transaction, and the public face of the wallets on either side of it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import strawberry

from walletql import ids, models
from walletql.ledger import errors, refunds
from walletql.models.rows import fetch_one
from walletql.schema.common import Currency, TransactionKind, TransactionStatus, amount
from walletql.schema.context import Context
from walletql.schema.scalars import DateTime, Money

if TYPE_CHECKING:
    from walletql.schema.hold import Hold


@strawberry.type(
    description="Public face of a wallet: never another user's payment token, email or phone."
)
class Counterparty:
    wallet_id: strawberry.ID = strawberry.field(description="The wallet's opaque id.")
    name: str = strawberry.field(description="Owner's name, or company name for merchants.")


def counterparty(info: strawberry.Info[Context], wallet_id: int | None):
    """The counterparty, or an awaitable of it when its name is not known yet."""
    if wallet_id is None:
        return None
    name = info.context.known_names.get(wallet_id)
    if name is not None:
        return Counterparty(wallet_id=strawberry.ID(ids.encode(ids.WALLET, wallet_id)), name=name)
    return _load_counterparty(info, wallet_id)


async def _load_counterparty(info: strawberry.Info[Context], wallet_id: int) -> Counterparty:
    name = await info.context.counterparty_names.load(wallet_id)
    return Counterparty(wallet_id=strawberry.ID(ids.encode(ids.WALLET, wallet_id)), name=name or "")


def _source(root: Transaction, info: strawberry.Info[Context]) -> Counterparty | None:
    return counterparty(info, root.source_wallet_id)


def _destination(root: Transaction, info: strawberry.Info[Context]) -> Counterparty | None:
    return counterparty(info, root.destination_wallet_id)


@strawberry.type(description="One movement of money, posted or declined. Immutable once written.")
class Transaction:
    # Plain attributes, computed once: a resolver per field costs several times more CPU, and
    # history pages and subscription fan-out serve thousands of these fields.
    id: strawberry.ID = strawberry.field(
        description='Opaque id (today "txn_" and 16 hex digits; never parse it, it may change).'
    )
    kind: TransactionKind = strawberry.field(description="What moved.")
    status: TransactionStatus = strawberry.field(
        description="POSTED, or REJECTED (declined; moved nothing)."
    )
    operation: str | None = strawberry.field(
        description="Operation code for kind OPERATION (e.g. DAILY_REWARD); null otherwise."
    )
    amount: Money = strawberry.field(
        description='Positive; "0" only for a zero-amount operation (recorded as a posting on '
        "the wallet: destination set, an entry of 0, version + 1)."
    )
    currency: Currency = strawberry.field(description="Currency moved.")
    source_wallet_id: strawberry.Private[int | None]
    destination_wallet_id: strawberry.Private[int | None]

    source: Counterparty | None = strawberry.field(
        resolver=_source,
        description="Wallet money left; null for DEPOSIT and for crediting operations.",
    )
    destination: Counterparty | None = strawberry.field(
        resolver=_destination,
        description="Wallet money went to; null for WITHDRAWAL and for debiting operations.",
    )
    description: str | None = strawberry.field(
        description="Free text given with the request (a charge's statement line)."
    )
    idempotency_key: str = strawberry.field(
        description="The key the initiator sent; a retry with it replays this."
    )
    failure_reason: str | None = strawberry.field(
        description="Why a REJECTED transaction was declined, e.g. INSUFFICIENT_FUNDS; null "
        "when POSTED."
    )
    created_at: DateTime = strawberry.field(description="When it was decided (UTC).")
    row: strawberry.Private[models.LedgerTransaction]

    @strawberry.field(description="For HOLD, CAPTURE and RELEASE: the hold.")
    async def hold(
        self,
    ) -> Annotated[Hold, strawberry.lazy("walletql.schema.hold")] | None:
        from walletql.schema.hold import Hold

        if self.row.hold_id is None:
            return None
        row = await fetch_one(models.Hold, "SELECT * FROM holds WHERE id = $1", self.row.hold_id)
        return None if row is None else Hold(row=row)

    @strawberry.field(description="For a REFUND: the transaction it refunds.")
    async def refund_of(self) -> Transaction | None:
        if self.row.refund_of_id is None:
            return None
        row = await fetch_one(
            models.LedgerTransaction,
            "SELECT * FROM transactions WHERE id = $1",
            self.row.refund_of_id,
        )
        if row is None:  # never: transactions are append-only
            raise errors.NotFound("Transaction not found")
        return Transaction.of(row)

    @strawberry.field(
        description='For a CHARGE, CAPTURE or TRANSFER: the sum of its POSTED refunds ("0" when '
        "none)."
    )
    async def refunded_amount(self) -> Money | None:
        if not self._refundable:
            return None
        return amount(await refunds.refunded_amount(self.row.id), self.row.currency)

    @strawberry.field(
        description="For a CHARGE, CAPTURE or TRANSFER: its refunds, oldest first (REJECTED "
        "attempts included, for the caller who made them and operators)."
    )
    async def refunds(self, info: strawberry.Info[Context]) -> list[Transaction] | None:
        if not self._refundable:
            return None
        shown = await refunds.refunds_of(info.context.principal, self.row)
        return [Transaction.of(row) for row in shown]

    @property
    def _refundable(self) -> bool:
        return models.TransactionKind(self.row.kind) in refunds.REFUNDABLE

    @classmethod
    def of(cls, row: models.LedgerTransaction) -> Transaction:
        return cls(
            row=row,
            id=strawberry.ID(ids.encode(ids.TRANSACTION, row.id)),
            kind=models.TransactionKind(row.kind),
            status=models.TransactionStatus(row.status),
            operation=row.operation,
            amount=amount(row.amount, row.currency),
            currency=Currency.of(row.currency),
            source_wallet_id=row.source_wallet_id,
            destination_wallet_id=row.destination_wallet_id,
            description=row.description,
            idempotency_key=row.idempotency_key,
            failure_reason=row.failure_reason,
            created_at=DateTime(row.created_at),
        )
