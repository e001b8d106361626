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
from walletql.models import Wallet as WalletRow
from walletql.models.rows import fetch, model
from walletql.outage import is_unavailable
from walletql.schema.common import amount
from walletql.schema.context import Context
from walletql.schema.payloads import BalanceUpdate
from walletql.schema.transaction import Transaction
from walletql.schema.wallet import Wallet

# The event's transaction and wallet, in one query.
_EVENT = (
    "SELECT t AS tx, w AS wallet FROM transactions AS t, wallets AS w WHERE t.id = $1 AND w.id = $2"
)


async def _build(event: BalanceEvent) -> BalanceUpdate:
    rows = await fetch(_EVENT, event.transaction_id, event.wallet_id)
    if not rows:  # never: an event is published after its transaction commits
        raise LookupError(f"Transaction {event.transaction_id} of a balance event not found")
    row = model(LedgerTransaction, rows[0]["tx"])
    # The wallet as this posting left it: later postings may have moved it already.
    wallet = model(WalletRow, rows[0]["wallet"])
    wallet.balance, wallet.held, wallet.version = event.balance, event.held, event.version
    code = row.currency
    return BalanceUpdate(
        wallet_id=strawberry.ID(ids.encode(ids.WALLET, event.wallet_id)),
        balance=amount(event.balance, code),
        held=amount(event.held, code),
        available=amount(event.balance - event.held - wallet.minimum_balance, code),
        version=event.version,
        transaction=Transaction.of(row),
        wallet=Wallet(row=wallet),
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
        principal = info.context.require_reader()
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
