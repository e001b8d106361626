"""What operators read: users page by page, and the audit log."""

from __future__ import annotations

import strawberry

from walletql import ids
from walletql.ledger import audit, back_office
from walletql.schema.context import Context
from walletql.schema.scalars import DateTime
from walletql.schema.user import User
from walletql.schema.wallet import PageInfo


@strawberry.type(description="A user of a page, with its cursor.")
class UserEdge:
    cursor: str = strawberry.field(description="Pass as `after` to continue after this user.")
    node: User = strawberry.field(description="The user.")


@strawberry.type(description="A page of users, newest first.")
class UserConnection:
    edges: list[UserEdge] = strawberry.field(description="The users of this page.")
    page_info: PageInfo = strawberry.field(description="Where this page ends.")

    @classmethod
    def of(cls, page: back_office.UserPage) -> UserConnection:
        edges = [UserEdge(cursor=ids.encode(ids.USER, u.id), node=User(row=u)) for u in page.users]
        end = edges[-1].cursor if edges else None
        return cls(
            edges=edges, page_info=PageInfo(has_next_page=page.has_next_page, end_cursor=end)
        )


@strawberry.type(
    description="An operator's action or a security event, kept forever (append-only)."
)
class AuditEvent:
    row: strawberry.Private[audit.AuditEvent]

    @strawberry.field(description='Opaque id (today "aud_" and 16 hex digits).')
    def id(self) -> strawberry.ID:
        return strawberry.ID(ids.encode(ids.AUDIT_EVENT, self.row.id))

    @strawberry.field(
        description="e.g. WALLET_FROZEN, WALLET_UNFROZEN, REFUND, OPERATION_APPLIED, "
        "API_KEY_CREATED, API_KEY_REVOKED, SIGN_IN_LOCKED"
    )
    def action(self) -> str:
        return self.row.action

    @strawberry.field(description="Who did it; null for the server itself (e.g. a lockout).")
    async def actor(self, info: strawberry.Info[Context]) -> User | None:
        if self.row.actor_id is None:
            return None
        row = await info.context.users.load(self.row.actor_id)
        return None if row is None else User(row=row)

    @strawberry.field(
        description='What it was done to, e.g. "Wallet:wal_3b0c9e1f5a27d684" (a kind and the '
        'public id), "Email:someone@example.com".'
    )
    def subject(self) -> str:
        return self.row.subject

    @strawberry.field(description="Why, when the actor said.")
    def reason(self) -> str | None:
        return self.row.reason

    @strawberry.field(description="When it happened.")
    def created_at(self) -> DateTime:
        return DateTime(self.row.created_at)


@strawberry.type(description="An audit event of a page, with its cursor.")
class AuditEventEdge:
    cursor: str = strawberry.field(description="Pass as `after` to continue after this event.")
    node: AuditEvent = strawberry.field(description="The event.")


@strawberry.type(description="A page of the audit log, newest first.")
class AuditEventConnection:
    edges: list[AuditEventEdge] = strawberry.field(description="The events of this page.")
    page_info: PageInfo = strawberry.field(description="Where this page ends.")

    @classmethod
    def of(cls, page: audit.AuditPage) -> AuditEventConnection:
        edges = [
            AuditEventEdge(cursor=ids.encode(ids.AUDIT_EVENT, e.id), node=AuditEvent(row=e))
            for e in page.events
        ]
        end = edges[-1].cursor if edges else None
        return cls(
            edges=edges, page_info=PageInfo(has_next_page=page.has_next_page, end_cursor=end)
        )
