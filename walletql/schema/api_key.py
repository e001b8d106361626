"""API keys as their owner sees them."""

from __future__ import annotations

import strawberry

from walletql import ids
from walletql.ledger.keys import ApiKey as ApiKeyRow
from walletql.models import Scope
from walletql.schema.scalars import DateTime


@strawberry.type(
    description="A secret for servers (a merchant's backend, a back-office application) acting "
    "as its owner with limited scopes."
)
class ApiKey:
    row: strawberry.Private[ApiKeyRow]

    @strawberry.field(description='Opaque id (today "key_" and 16 hex digits).')
    def id(self) -> strawberry.ID:
        return strawberry.ID(ids.encode(ids.API_KEY, self.row.id))

    @strawberry.field(description="The owner's name for it.")
    def name(self) -> str:
        return self.row.name

    @strawberry.field(
        description="The secret's first characters, to recognise it in a list; never the secret."
    )
    def prefix(self) -> str:
        return self.row.prefix

    @strawberry.field(description="What it may do.")
    def scopes(self) -> list[Scope]:
        return list(self.row.scopes)

    @strawberry.field(description="When it was made.")
    def created_at(self) -> DateTime:
        return DateTime(self.row.created_at)

    @strawberry.field(description="When it stops working; null: never.")
    def expires_at(self) -> DateTime | None:
        return None if self.row.expires_at is None else DateTime(self.row.expires_at)

    @strawberry.field(description="When it was last used, to the minute (written once a minute).")
    def last_used_at(self) -> DateTime | None:
        return None if self.row.last_used_at is None else DateTime(self.row.last_used_at)

    @strawberry.field(description="When it was revoked; null while it works.")
    def revoked_at(self) -> DateTime | None:
        return None if self.row.revoked_at is None else DateTime(self.row.revoked_at)


@strawberry.type(description="A key made or revoked.")
class ApiKeyPayload:
    api_key: ApiKey = strawberry.field(description="The key.")
    secret: str | None = strawberry.field(
        description="The secret: in createApiKey's answer only, never again; null in "
        "revokeApiKey's."
    )
