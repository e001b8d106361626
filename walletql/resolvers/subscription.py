"""Root subscription: live balance updates, resumable with afterVersion."""

from __future__ import annotations

from collections.abc import AsyncGenerator

import strawberry

from walletql import ids
from walletql.events import (
    INTERRUPTED,
    BalanceEvent,
    FeedInterrupted,
    SubscriberTooSlow,
    TooManySubscriptions,
)
from walletql.fanout import Fanout
from walletql.ledger import accounts
from walletql.ledger.errors import ResumeRequired, ValidationError
from walletql.models import LedgerTransaction
from walletql.models.rows import fetch_one
from walletql.outage import is_unavailable
from walletql.schema.common import amount
from walletql.schema.context import Context
from walletql.schema.payloads import BalanceUpdate
from walletql.schema.transaction import Transaction


async def _build(event: BalanceEvent) -> BalanceUpdate:
    row = await fetch_one(
        LedgerTransaction, "SELECT * FROM transactions WHERE id = $1", event.transaction_id
    )
    if row is None:  # never: an event is published after its transaction commits
        raise LookupError(f"Transaction {event.transaction_id} of a balance event not found")
    return BalanceUpdate(
        wallet_id=strawberry.ID(ids.encode(ids.WALLET, event.wallet_id)),
        balance=amount(event.balance, row.currency),
        version=event.version,
        transaction=Transaction.of(row),
        event_key=(event.wallet_id, event.version),
    )


async def _update(event: BalanceEvent, fanout: Fanout) -> BalanceUpdate:
    """Every subscriber of a wallet gets the same update at the same moment: built once, with
    one load of its transaction, for all of them (walletql.fanout)."""
    return await fanout.update((event.wallet_id, event.version), lambda: _build(event))


@strawberry.type(description="Watch the ledger live.")
class Subscription:
    @strawberry.subscription(
        description="Every posting on the caller's wallets, in version order per wallet, "
        "delivered only after commit. walletId: only that wallet (must be the caller's). "
        "afterVersion (needs walletId): first replay, from the stored history, every posting "
        "with a higher version, then continue live, with no gap and no duplicate."
    )
    async def balance_updates(
        self,
        info: strawberry.Info[Context],
        wallet_id: strawberry.ID | None = None,
        after_version: int | None = None,
    ) -> AsyncGenerator[BalanceUpdate, None]:
        principal = info.context.require_principal()
        wallet = None
        if wallet_id is not None:
            wallet = await accounts.owned_wallet(principal, wallet_id)
        if after_version is not None and (wallet is None or after_version < 0):
            raise ValidationError(
                "BAD_INPUT", "afterVersion needs a walletId and is >= 0", "afterVersion"
            )
        subscription = info.context.services.feed.subscribe(
            owner_id=principal.user_id,
            wallet_id=wallet.id if wallet else None,
            after_version=after_version,
        )
        try:
            async with subscription as events:
                async for event in events:
                    yield await _update(event, info.context.services.fanout)
        except SubscriberTooSlow as exc:
            raise ResumeRequired("SUBSCRIBER_TOO_SLOW", str(exc)) from None
        except TooManySubscriptions as exc:
            raise ValidationError("TOO_MANY_SUBSCRIPTIONS", str(exc)) from None
        except FeedInterrupted as exc:
            raise ResumeRequired("FEED_INTERRUPTED", str(exc)) from None
        except Exception as exc:
            if not is_unavailable(exc):
                raise
            # Loading an update's transaction met a database outage: as good as a lost feed.
            raise ResumeRequired("FEED_INTERRUPTED", INTERRUPTED) from None
