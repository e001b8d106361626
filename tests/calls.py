"""The ledger called the way the resolvers call it: with what one app's services hold.

`ledger` is built from the default settings (the ledger never reads the database URL). A test
that changes a setting makes its own, explicitly:

    floored = ledger.with_settings(minimum_balance=Decimal(20))
    wallet = await floored.create_wallet(owner, "USD")
"""

from __future__ import annotations

from walletql.ledger import accounts, charges, holds, payments, refunds, transfers
from walletql.services import Services, build_services
from walletql.settings import Settings


class Ledger:
    """Each method is the ledger function of the same name, given this Services' parts."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self.settings = services.settings
        self.currencies = services.currencies
        self.operations = services.operations
        self.live_tokens = services.live_tokens  # no feed runs for it: it remembers nothing

    def with_settings(self, **changes) -> Ledger:
        return Ledger(build_services(self.settings.with_changes(**changes)))

    def _posting(self) -> dict:
        return {"currencies": self.currencies, "turns": self.services.turns}

    async def deposit(self, *args, **kwargs) -> payments.Outcome:
        return await payments.deposit(*args, **kwargs, **self._posting())

    async def withdraw(self, *args, **kwargs) -> payments.Outcome:
        return await payments.withdraw(*args, **kwargs, **self._posting())

    async def transfer(self, *args, **kwargs) -> payments.Outcome:
        return await transfers.transfer(*args, **kwargs, **self._posting())

    async def charge(self, *args, **kwargs) -> payments.Outcome:
        return await charges.charge(*args, **kwargs, **self._posting())

    async def authorize(self, *args, **kwargs) -> payments.Outcome:
        ttl = self.settings.hold_ttl_seconds
        return await holds.authorize(*args, **kwargs, **self._posting(), hold_ttl_seconds=ttl)

    async def capture(self, *args, **kwargs) -> payments.Outcome:
        return await holds.capture(*args, **kwargs, **self._posting())

    async def void_hold(self, *args, **kwargs) -> payments.Outcome:
        return await holds.void_hold(*args, **kwargs, **self._posting())

    async def release_expired(self) -> int:
        return await holds.release_expired(turns=self.services.turns)

    async def refund(self, *args, **kwargs) -> payments.Outcome:
        return await refunds.refund(*args, **kwargs, **self._posting())

    async def apply_operation(self, *args, **kwargs) -> payments.Outcome:
        operations, turns = self.operations, self.services.turns
        return await payments.apply_operation(*args, **kwargs, operations=operations, turns=turns)

    async def create_user(self, **fields) -> accounts.User:
        return await accounts.create_user(**fields, settings=self.settings)

    async def signup(self, **fields) -> accounts.Session:
        return await accounts.signup(**fields, settings=self.settings)

    async def login(self, email: object, password: object) -> accounts.Session:
        return await accounts.login(email, password, settings=self.settings)

    async def create_wallet(self, *args, **kwargs) -> accounts.Wallet:
        return await accounts.create_wallet(
            *args, **kwargs, settings=self.settings, currencies=self.currencies
        )

    async def user_wallets(self, *args, **kwargs) -> list[accounts.Wallet]:
        return await accounts.user_wallets(*args, **kwargs, currencies=self.currencies)

    async def balances(self, *args, **kwargs) -> dict:
        return await accounts.balances(*args, **kwargs, currencies=self.currencies)


ledger = Ledger(build_services(Settings()))
