"""Root subscription: live balance updates, resumable with afterVersion."""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import AsyncGenerator

import strawberry

from walletql.events import FeedInterrupted, SubscriberTooSlow, get_feed
from walletql.ledger import accounts
from walletql.ledger.errors import ResumeRequired, ValidationError
from walletql.ledger.money import format_amount, get_currency
from walletql.models import LedgerTransaction
from walletql.schema.context import Context
from walletql.schema.payloads import BalanceUpdate
from walletql.schema.transaction import Transaction

# Every subscriber of a wallet needs the same transaction at the same moment: share one load.
_recent: OrderedDict[int, asyncio.Future] = OrderedDict()
_RECENT_MAX = 2048


async def _transaction(transaction_id: int) -> LedgerTransaction:
    future = _recent.get(transaction_id)
    if future is None:
        future = asyncio.ensure_future(LedgerTransaction.get(id=transaction_id))
        _recent[transaction_id] = future
        while len(_recent) > _RECENT_MAX:
            _recent.popitem(last=False)
    try:
        if future.done():
            return future.result()
        return await asyncio.shield(future)
    except Exception:
        _recent.pop(transaction_id, None)
        raise


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
        subscription = get_feed().subscribe(
            owner_id=principal.user_id,
            wallet_id=wallet.id if wallet else None,
            after_version=after_version,
        )
        try:
            async with subscription as events:
                async for event in events:
                    row = await _transaction(event.transaction_id)
                    yield BalanceUpdate(
                        wallet_id=strawberry.ID(str(event.wallet_id)),
                        balance=format_amount(event.balance, get_currency(row.currency)),
                        version=event.version,
                        transaction=Transaction.of(row),
                        event_key=(event.wallet_id, event.version),
                    )
        except SubscriberTooSlow as exc:
            raise ResumeRequired("SUBSCRIBER_TOO_SLOW", str(exc)) from None
        except FeedInterrupted as exc:
            raise ResumeRequired("FEED_INTERRUPTED", str(exc)) from None
