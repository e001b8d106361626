"""Root queries. Failures raise domain errors; api.py reports them with extensions.code."""

from __future__ import annotations

import strawberry

from walletql.ledger import accounts, holds, reads
from walletql.models import User as UserRow
from walletql.schema.common import Currency, LedgerOperation
from walletql.schema.context import Context
from walletql.schema.hold import Hold
from walletql.schema.transaction import Transaction
from walletql.schema.user import User
from walletql.schema.wallet import Wallet


@strawberry.type(description="Read the ledger.")
class Query:
    @strawberry.field(description="The caller; null when not authenticated.")
    async def me(self, info: strawberry.Info[Context]) -> User | None:
        principal = info.context.principal
        if principal is None:
            return None
        row = info.context.user or await UserRow.get_or_none(id=principal.user_id)
        return User(row=row) if row else None

    @strawberry.field(description="One of the caller's wallets; anyone else's is NOT_FOUND.")
    async def wallet(self, info: strawberry.Info[Context], id: strawberry.ID) -> Wallet | None:
        principal = info.context.require_principal()
        return Wallet(row=await accounts.owned_wallet(principal, id))

    @strawberry.field(
        description="A transaction the caller initiated or that touches one of the caller's "
        "wallets; any other is NOT_FOUND."
    )
    async def transaction(
        self, info: strawberry.Info[Context], id: strawberry.ID
    ) -> Transaction | None:
        principal = info.context.require_principal()
        return Transaction.of(await reads.visible_transaction(principal, id))

    @strawberry.field(
        description="A hold placed on, or payable to, one of the caller's wallets (operators: "
        "any); NOT_FOUND otherwise."
    )
    async def hold(self, info: strawberry.Info[Context], id: strawberry.ID) -> Hold | None:
        principal = info.context.require_principal()
        return Hold(row=await holds.hold_for(principal, id))

    @strawberry.field(description="Every configured currency. Public.")
    def currencies(self, info: strawberry.Info[Context]) -> list[Currency]:
        return [Currency.served(c) for c in info.context.services.currencies.values()]

    @strawberry.field(description="Every configured ledger operation. Public.")
    def operations(self, info: strawberry.Info[Context]) -> list[LedgerOperation]:
        return [LedgerOperation.of(op) for op in info.context.services.operations.values()]
