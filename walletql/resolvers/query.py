"""Root queries. Failures raise domain errors; api.py reports them with extensions.code."""

from __future__ import annotations

import strawberry

from walletql.ledger import audit, back_office, holds, reads
from walletql.models import Role, Scope
from walletql.models import User as UserRow
from walletql.schema.back_office import AuditEventConnection, UserConnection
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
        principal.require(Scope.READ)
        row = info.context.user or await UserRow.get_or_none(id=principal.user_id)
        return User(row=row) if row else None

    @strawberry.field(
        description="One of the caller's wallets (operators: any); anyone else's is NOT_FOUND."
    )
    async def wallet(self, info: strawberry.Info[Context], id: strawberry.ID) -> Wallet | None:
        principal = info.context.require_reader()
        return Wallet(row=await back_office.readable_wallet(principal, id))

    @strawberry.field(
        description="A transaction the caller initiated or that touches one of the caller's "
        "wallets (operators: any); any other is NOT_FOUND."
    )
    async def transaction(
        self, info: strawberry.Info[Context], id: strawberry.ID
    ) -> Transaction | None:
        principal = info.context.require_reader()
        return Transaction.of(await reads.visible_transaction(principal, id))

    @strawberry.field(
        description="A hold placed on, or payable to, one of the caller's wallets (operators: "
        "any); NOT_FOUND otherwise."
    )
    async def hold(self, info: strawberry.Info[Context], id: strawberry.ID) -> Hold | None:
        principal = info.context.require_reader()
        return Hold(row=await holds.hold_for(principal, id))

    @strawberry.field(
        description="Operators only (FORBIDDEN otherwise): users whose email, name, phone or "
        "company name contains `search` (case-insensitive), newest first."
    )
    async def users(
        self,
        info: strawberry.Info[Context],
        search: str | None = None,
        role: Role | None = None,
        first: int | None = 20,
        after: str | None = None,
    ) -> UserConnection:
        principal = info.context.require_reader()
        return UserConnection.of(
            await back_office.find_users(
                principal, search, role, 20 if first is None else first, after
            )
        )

    @strawberry.field(
        description="Operators: any user. Others: only themselves (NOT_FOUND otherwise)."
    )
    async def user(self, info: strawberry.Info[Context], id: strawberry.ID) -> User | None:
        principal = info.context.require_reader()
        return User(row=await back_office.user_for(principal, id))

    @strawberry.field(description="Operators only: the audit log, newest first.")
    async def audit_log(
        self,
        info: strawberry.Info[Context],
        first: int | None = 20,
        after: str | None = None,
        action: str | None = None,
        subject: str | None = None,
    ) -> AuditEventConnection:
        principal = info.context.require_reader()
        return AuditEventConnection.of(
            await audit.audit_log(principal, 20 if first is None else first, after, action, subject)
        )

    @strawberry.field(description="Every configured currency. Public.")
    def currencies(self, info: strawberry.Info[Context]) -> list[Currency]:
        return [Currency.served(c) for c in info.context.services.currencies.values()]

    @strawberry.field(description="Every configured ledger operation. Public.")
    def operations(self, info: strawberry.Info[Context]) -> list[LedgerOperation]:
        return [LedgerOperation.of(op) for op in info.context.services.operations.values()]
