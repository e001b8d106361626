"""A transaction, and the public face of the wallets on either side of it."""

from __future__ import annotations

import strawberry

from walletql import models
from walletql.schema.common import Currency, TransactionKind, TransactionStatus, amount
from walletql.schema.context import Context
from walletql.schema.scalars import DateTime, Money


@strawberry.type(
    description="Public face of a wallet: never another user's payment token, email or phone."
)
class Counterparty:
    wallet_id: strawberry.ID = strawberry.field(description="The wallet's id.")
    owner_name: strawberry.Private[str]

    @strawberry.field(description="Owner's name, or company name for merchants.")
    def name(self) -> str:
        return self.owner_name


async def _counterparty(info: strawberry.Info[Context], wallet_id: int | None):
    if wallet_id is None:
        return None
    name = await info.context.counterparty_names.load(wallet_id)
    return Counterparty(wallet_id=strawberry.ID(str(wallet_id)), owner_name=name or "")


@strawberry.type(description="One movement of money, posted or declined. Immutable once written.")
class Transaction:
    row: strawberry.Private[models.LedgerTransaction]

    @strawberry.field(description="Opaque id.")
    def id(self) -> strawberry.ID:
        return strawberry.ID(str(self.row.id))

    @strawberry.field(description="What moved.")
    def kind(self) -> TransactionKind:
        return models.TransactionKind(self.row.kind)

    @strawberry.field(description="POSTED, or REJECTED (declined; moved nothing).")
    def status(self) -> TransactionStatus:
        return models.TransactionStatus(self.row.status)

    @strawberry.field(
        description="Operation code for kind OPERATION (e.g. DAILY_REWARD); null otherwise."
    )
    def operation(self) -> str | None:
        return self.row.operation

    @strawberry.field(
        description='Positive; "0" only for a zero-amount operation (recorded as a posting on '
        "the wallet: destination set, an entry of 0, version + 1)."
    )
    def amount(self) -> Money:
        return amount(self.row.amount, self.row.currency)

    @strawberry.field(description="Currency moved.")
    def currency(self) -> Currency:
        return Currency.of(self.row.currency)

    @strawberry.field(
        description="Wallet money left; null for DEPOSIT and for crediting operations."
    )
    async def source(self, info: strawberry.Info[Context]) -> Counterparty | None:
        return await _counterparty(info, self.row.source_wallet_id)

    @strawberry.field(
        description="Wallet money went to; null for WITHDRAWAL and for debiting operations."
    )
    async def destination(self, info: strawberry.Info[Context]) -> Counterparty | None:
        return await _counterparty(info, self.row.destination_wallet_id)

    @strawberry.field(description="Free text given with the request (a charge's statement line).")
    def description(self) -> str | None:
        return self.row.description

    @strawberry.field(description="The key the initiator sent; a retry with it replays this.")
    def idempotency_key(self) -> str:
        return self.row.idempotency_key

    @strawberry.field(
        description="Why a REJECTED transaction was declined, e.g. INSUFFICIENT_FUNDS; null when POSTED."
    )
    def failure_reason(self) -> str | None:
        return self.row.failure_reason

    @strawberry.field(description="When it was decided (UTC).")
    def created_at(self) -> DateTime:
        return self.row.created_at
