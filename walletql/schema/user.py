"""A user as they see themselves (only `me` returns one)."""

from __future__ import annotations

import strawberry

from walletql import models
from walletql.ledger import accounts, money
from walletql.schema.common import Company, Currency, CurrencyBalance, Role
from walletql.schema.scalars import DateTime
from walletql.schema.wallet import Wallet


@strawberry.type(description="An account: a customer, a merchant or an operator.")
class User:
    row: strawberry.Private[models.User]

    @strawberry.field(description="Opaque id; others can send you money with transfer(toUserId).")
    def id(self) -> strawberry.ID:
        return strawberry.ID(str(self.row.id))

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
        return self.row.created_at

    @strawberry.field(description="The user's wallets, oldest first; optionally in one currency.")
    async def wallets(self, currency: str | None = None) -> list[Wallet]:
        return [Wallet(row=w) for w in await accounts.user_wallets(self.row.id, currency)]

    @strawberry.field(
        description="Total balance per currency over this user's wallets; currencies without a "
        "wallet are omitted."
    )
    async def balances(self, currency: str | None = None) -> list[CurrencyBalance]:
        return [
            CurrencyBalance(
                currency=Currency.of(code),
                balance=money.format_amount(total, money.get_currency(code)),
            )
            for code, total in (await accounts.balances(self.row.id, currency)).items()
        ]
