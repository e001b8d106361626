"""What every resolver may know about the request: the process's services, who is calling, and
per-request loaders."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from typing import Any

from strawberry.dataloader import DataLoader

from walletql.auth import Principal
from walletql.client_address import of_connection
from walletql.ledger.errors import NotAuthenticated
from walletql.models import Scope, User, Wallet
from walletql.services import Services


async def _users(user_ids: list[int]) -> list[Any]:
    """Users rows by id (None for a missing one), in one query for the batch."""
    rows = {u.id: u for u in await User.filter(id__in=set(user_ids))}
    return [rows.get(i) for i in user_ids]


async def _counterparty_names(wallet_ids: list[int]) -> list[str | None]:
    """Owner name (company name for merchants) per wallet id, in one query for the batch."""
    wallets = await Wallet.filter(id__in=set(wallet_ids)).select_related("owner")
    names = {w.id: (w.owner.company_name or w.owner.name) for w in wallets}
    return [names.get(i) for i in wallet_ids]


@dataclass
class Context:
    # What the process holds once (walletql.services): the resolvers give the ledger its parts.
    services: Services
    principal: Principal | None = None
    # The bearer token (changePassword answers it, as the one token it keeps; never shown in a
    # repr), its sha256 (what logout revokes) and its expiry.
    token: str | None = field(default=None, repr=False)
    token_digest: str | None = None
    token_expires_at: datetime | None = None
    user: Any = None  # the caller's users row, loaded with the token: `me` needs no second read
    request: Any = None  # the Starlette request or websocket; Strawberry's integrations read it
    response: Any = None
    # Strawberry stores a websocket's connection_init payload here, and only on a context that
    # already has the attribute: the bearer token usually travels in that payload.
    connection_params: dict | None = None
    # A websocket's session (walletql.sessions.SocketSession): its token is asked again at
    # every operation, and the socket closes when the token is revoked or expires.
    session: Any = None
    # Names that came with a history page, readable without awaiting: a field that awaits
    # costs graphql-core several times more than one that returns, on every edge of a page.
    known_names: dict[int, str] = field(default_factory=dict)
    # What the operation may return, priced before it ran (walletql.cost), plus the lists read
    # since that turned out longer than priced.
    cost: int = 0
    per_item: dict[tuple[str, str], int] = field(default_factory=dict)

    # Made on first use: most requests need neither, and each costs every request that makes it.
    @cached_property
    def request_id(self) -> str:
        """Names this request in the server log and in an INTERNAL_SERVER_ERROR's extensions."""
        return uuid.uuid4().hex[:16]

    @cached_property
    def client_address(self) -> str:
        """Who is on the other end, for sign-in throttling (walletql.client_address)."""
        proxies = self.services.settings.trusted_proxies
        return of_connection(self.request, proxies)

    @cached_property
    def counterparty_names(self) -> DataLoader[int, str | None]:
        return DataLoader(load_fn=_counterparty_names)

    @cached_property
    def users(self) -> DataLoader[int, Any]:
        return DataLoader(load_fn=_users)

    def learn_names(self, names: dict[int, str]) -> None:
        self.known_names.update(names)
        self.counterparty_names.prime_many(names)

    def require_principal(self) -> Principal:
        if self.principal is None:
            raise NotAuthenticated("Sign in first: send Authorization: Bearer <token>")
        return self.principal

    def require_reader(self) -> Principal:
        """The caller of a query or a subscription: an API key needs READ."""
        principal = self.require_principal()
        principal.require(Scope.READ)
        return principal
