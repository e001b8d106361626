"""A user: as they see themselves (`me`, `user` of their own id), or as an operator sees them
(`users`, `user`, an audit event's actor)."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

import strawberry

from walletql import ids, models
from walletql.auth import UserProfile
from walletql.cost import charge_list
from walletql.ledger import accounts, keys
from walletql.models import Scope
from walletql.schema.api_key import ApiKey
from walletql.schema.common import Company, Currency, CurrencyBalance, Role, amount
from walletql.schema.context import Context
from walletql.schema.scalars import DateTime
from walletql.schema.wallet import Wallet

if TYPE_CHECKING:
    from walletql.api import WalletSchema


@strawberry.type(description="An account: a customer, a merchant or an operator.")
class User:
    row: strawberry.Private[models.User | UserProfile]  # a live secret's caller: a profile

    @strawberry.field(
        description='Opaque id (today "usr_" and 16 hex digits; never parse it, it may change); '
        "others can send you money with transfer(toUserId)."
    )
    def id(self) -> strawberry.ID:
        return strawberry.ID(ids.encode(ids.USER, self.row.id))

    @strawberry.field(description="Sign-in email, lower-cased.")
    def email(self) -> str:
        return self.row.email

    @strawberry.field(description="Display name.")
    def name(self) -> str:
        return self.row.name

    @strawberry.field(description="E.164 phone number, when given.")
    def phone(self) -> str | None:
        return self.row.phone

    @strawberry.field(description="CUSTOMER, MERCHANT or OPERATOR.")
    def role(self) -> Role:
        return models.Role(self.row.role)

    @strawberry.field(description="Merchants only.")
    def company(self) -> Company | None:
        if not self.row.company_name:
            return None
        return Company(name=self.row.company_name, url=self.row.company_url)

    @strawberry.field(description="When the account was created.")
    def created_at(self) -> DateTime:
        return DateTime(self.row.created_at)

    @strawberry.field(description="The user's wallets, oldest first; optionally in one currency.")
    async def wallets(
        self, info: strawberry.Info[Context], currency: str | None = None
    ) -> list[Wallet]:
        currencies = info.context.services.currencies
        rows = await accounts.user_wallets(self.row.id, currency, currencies=currencies)
        # Priced at a guess when the settings put no limit on wallets: pay for the rest.
        pricing = cast("WalletSchema", info.schema).pricing  # the schema api.py builds
        charge_list(info.context, pricing, "User", "wallets", len(rows))
        return [Wallet(row=w) for w in rows]

    @strawberry.field(
        description="Total balance per currency over this user's wallets; currencies without a "
        "wallet are omitted."
    )
    async def balances(
        self, info: strawberry.Info[Context], currency: str | None = None
    ) -> list[CurrencyBalance]:
        currencies = info.context.services.currencies
        totals = await accounts.balances(self.row.id, currency, currencies=currencies)
        return [
            CurrencyBalance(currency=Currency.of(code), balance=amount(total, code))
            for code, total in totals.items()
        ]

    @strawberry.field(
        description="The caller's own API keys (also revoked ones), newest first; null for "
        "anyone else's user."
    )
    async def api_keys(self, info: strawberry.Info[Context]) -> list[ApiKey] | None:
        principal = info.context.principal
        if principal is None or principal.user_id != self.row.id:
            return None
        principal.require(Scope.READ)
        return [ApiKey(row=k) for k in await keys.keys_of(self.row.id)]
