"""A hold, and a wallet's page of them."""

from __future__ import annotations

import strawberry

from walletql import ids, models
from walletql.ledger import holds
from walletql.schema.common import Currency, amount
from walletql.schema.context import Context
from walletql.schema.scalars import DateTime, Money
from walletql.schema.transaction import Counterparty, Transaction, counterparty
from walletql.schema.wallet import PageInfo


@strawberry.type(description="Money reserved on a customer's wallet for a merchant.")
class Hold:
    row: strawberry.Private[models.Hold]

    @strawberry.field(description='Opaque id (today "hld_" and 16 hex digits).')
    def id(self) -> strawberry.ID:
        return strawberry.ID(ids.encode(ids.HOLD, self.row.id))

    @strawberry.field(description="HELD, CAPTURED, VOIDED or EXPIRED.")
    def status(self) -> models.HoldStatus:
        return models.HoldStatus(self.row.status)

    @strawberry.field(description="Amount authorized.")
    def amount(self) -> Money:
        return amount(self.row.amount, self.row.currency)

    @strawberry.field(description="Sum of its captures.")
    def captured_amount(self) -> Money:
        return amount(self.row.captured_amount, self.row.currency)

    @strawberry.field(
        description='Still reserved: amount - capturedAmount while HELD; "0" once CAPTURED, '
        "VOIDED or EXPIRED."
    )
    def remaining(self) -> Money:
        return amount(self.row.remaining, self.row.currency)

    @strawberry.field(description="The hold's currency.")
    def currency(self) -> Currency:
        return Currency.of(self.row.currency)

    @strawberry.field(description="The customer's wallet the funds are held on.")
    async def source(self, info: strawberry.Info[Context]) -> Counterparty:
        return await counterparty(info, self.row.source_wallet_id)

    @strawberry.field(description="The merchant's wallet a capture credits.")
    async def destination(self, info: strawberry.Info[Context]) -> Counterparty:
        return await counterparty(info, self.row.destination_wallet_id)

    @strawberry.field(description="The authorization's statement line.")
    def description(self) -> str:
        return self.row.description

    @strawberry.field(description="The key the merchant authorized with.")
    def idempotency_key(self) -> str:
        return self.row.idempotency_key

    @strawberry.field(
        description="After this, it can no longer be captured; what remains is released."
    )
    def expires_at(self) -> DateTime:
        return DateTime(self.row.expires_at)

    @strawberry.field(description="When it was authorized.")
    def created_at(self) -> DateTime:
        return DateTime(self.row.created_at)

    @strawberry.field(
        description="The HOLD, CAPTURE and RELEASE transactions of this hold, oldest first."
    )
    async def transactions(self) -> list[Transaction]:
        return [Transaction.of(row) for row in await holds.hold_transactions(self.row.id)]


@strawberry.type(description="A hold of a page, with its cursor.")
class HoldEdge:
    cursor: str = strawberry.field(description="Pass as `after` to continue after this hold.")
    node: Hold = strawberry.field(description="The hold.")


@strawberry.type(description="A page of holds, newest first.")
class HoldConnection:
    edges: list[HoldEdge] = strawberry.field(description="The holds of this page.")
    page_info: PageInfo = strawberry.field(description="Where this page ends.")

    @classmethod
    def of(cls, page: holds.HoldPage) -> HoldConnection:
        edges = [
            HoldEdge(cursor=ids.encode(ids.HOLD, row.id), node=Hold(row=row)) for row in page.holds
        ]
        return cls(
            edges=edges,
            page_info=PageInfo(
                has_next_page=page.has_next_page, end_cursor=edges[-1].cursor if edges else None
            ),
        )
