"""A wallet, its paginated history, period summaries and balance at a point in time."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import strawberry

from walletql import ids, models
from walletql.ledger import accounts, holds, reads
from walletql.schema.common import (
    Currency,
    Direction,
    TransactionKind,
    TransactionStatus,
    WalletStatus,
    amount,
)
from walletql.schema.context import Context
from walletql.schema.scalars import DateTime, Money
from walletql.schema.transaction import Transaction

if TYPE_CHECKING:
    from walletql.schema.hold import HoldConnection


@strawberry.input(description="Narrows a wallet's history; every condition must hold.")
class HistoryFilter:
    from_: DateTime | None = strawberry.field(
        name="from", default=None, description="At or after this time (inclusive)."
    )
    to: DateTime | None = strawberry.field(
        default=None, description="At or before this time (inclusive)."
    )
    kinds: list[TransactionKind] | None = strawberry.field(
        default=None, description="Only these kinds."
    )
    statuses: list[TransactionStatus] | None = strawberry.field(
        default=None, description="Only these statuses."
    )

    def to_ledger(self) -> reads.HistoryFilter:
        return reads.HistoryFilter(
            since=self.from_,
            until=self.to,
            kinds=tuple(models.TransactionKind(k.value) for k in self.kinds or ()),
            statuses=tuple(models.TransactionStatus(s.value) for s in self.statuses or ()),
        )


@strawberry.type(description="One transaction seen from one wallet.")
class HistoryEntry:
    transaction: Transaction = strawberry.field(description="The transaction.")
    direction: Direction = strawberry.field(
        description="CREDIT: money came in; DEBIT: money went out (or would have, if REJECTED)."
    )
    amount: Money = strawberry.field(description="Always positive.")
    balance_after: Money | None = strawberry.field(
        description="The wallet's balance right after this posting; null for REJECTED."
    )
    held_after: Money | None = strawberry.field(
        description="Held amount on this wallet right after this posting; null for REJECTED."
    )


@strawberry.type(description="An item of a history page with its cursor.")
class HistoryEdge:
    cursor: str = strawberry.field(description="Pass as `after` to continue after this item.")
    node: HistoryEntry = strawberry.field(description="The item.")


@strawberry.type(description="Where a page ends.")
class PageInfo:
    has_next_page: bool = strawberry.field(description="True when older items follow.")
    end_cursor: str | None = strawberry.field(description="Cursor of the last item on this page.")


@strawberry.type(description="A page of a wallet's history, newest first.")
class HistoryConnection:
    edges: list[HistoryEdge] = strawberry.field(description="The items of this page.")
    page_info: PageInfo = strawberry.field(description="Where this page ends.")
    wallet: strawberry.Private[models.Wallet]
    filter: strawberry.Private[reads.HistoryFilter]

    @strawberry.field(description="How many items the whole history has under this filter.")
    async def total_count(self, info: strawberry.Info[Context]) -> int:
        return await reads.history_count(info.context.principal, self.wallet, self.filter)


@strawberry.type(description="Totals over a period.")
class PeriodSummary:
    credit_total: Money = strawberry.field(description="Sum of money in.")
    debit_total: Money = strawberry.field(description="Sum of money out.")
    credit_count: int = strawberry.field(description="Number of credits.")
    debit_count: int = strawberry.field(description="Number of debits.")
    net: Money = strawberry.field(description="creditTotal - debitTotal.")
    rejected_count: int = strawberry.field(description="Declined attempts in the period.")


@strawberry.type(description="A balance in one currency, owned by one user.")
class Wallet:
    row: strawberry.Private[models.Wallet]

    @strawberry.field(
        description='Opaque id (today "wal_" and 16 hex digits; never parse it, it may change).'
    )
    def id(self) -> strawberry.ID:
        return strawberry.ID(ids.encode(ids.WALLET, self.row.id))

    @strawberry.field(
        description="Payment token; null unless the caller owns this wallet. A customer gives it "
        "to a merchant so the merchant can charge this wallet."
    )
    def token(self, info: strawberry.Info[Context]) -> str | None:
        return accounts.payment_token(info.context.principal, self.row)

    @strawberry.field(description="Optional name, unique per owner (case-insensitive) when set.")
    def label(self) -> str | None:
        return self.row.label

    @strawberry.field(description="The wallet's currency.")
    def currency(self) -> Currency:
        return Currency.of(self.row.currency)

    @strawberry.field(description="Current balance.")
    def balance(self) -> Money:
        return amount(self.row.balance, self.row.currency)

    @strawberry.field(description="Debits may not take the balance below this floor.")
    def minimum_balance(self) -> Money:
        return amount(self.row.minimum_balance, self.row.currency)

    @strawberry.field(description="Sum of what remains of the HELD holds on this wallet.")
    def held(self) -> Money:
        return amount(self.row.held, self.row.currency)

    @strawberry.field(
        description="What a debit may take now: balance - held - minimumBalance (negative when "
        "under the floor)."
    )
    def available(self) -> Money:
        row = self.row
        return amount(row.balance - row.held - row.minimum_balance, row.currency)

    @strawberry.field(
        description="Holds placed on this wallet (as a customer) or payable to it (as a "
        "merchant), newest first."
    )
    async def holds(
        self,
        info: strawberry.Info[Context],
        first: int | None = 20,
        after: str | None = None,
        status: models.HoldStatus | None = None,
    ) -> Annotated[HoldConnection, strawberry.lazy("walletql.schema.hold")]:
        from walletql.schema.hold import HoldConnection

        page = await holds.wallet_holds(
            info.context.principal, self.row, 20 if first is None else first, after, status
        )
        return HoldConnection.of(page)

    @strawberry.field(
        description="Starts at 0 and increases by exactly 1 with every posting that touches "
        "this wallet."
    )
    def version(self) -> int:
        return self.row.version

    @strawberry.field(description="ACTIVE, or FROZEN (no debits or credits; reads still work).")
    def status(self) -> WalletStatus:
        return models.WalletStatus(self.row.status)

    @strawberry.field(description="When the wallet was created.")
    def created_at(self) -> DateTime:
        return DateTime(self.row.created_at)

    @strawberry.field(
        description="Newest first. Includes REJECTED attempts (e.g. a charge declined for "
        "insufficient funds) that name this wallet as source or destination."
    )
    async def history(
        self,
        info: strawberry.Info[Context],
        first: int | None = 20,
        after: str | None = None,
        filter: HistoryFilter | None = None,
    ) -> HistoryConnection:
        ledger_filter = filter.to_ledger() if filter else reads.HistoryFilter()
        page = await reads.history(
            info.context.principal, self.row, 20 if first is None else first, after, ledger_filter
        )
        # The page brought its counterparties' names: no query per page to load them.
        info.context.learn_names(page.counterparty_names)
        edges = [
            HistoryEdge(
                cursor=item.cursor,
                node=HistoryEntry(
                    transaction=Transaction.of(item.transaction),
                    direction=Direction(item.direction),
                    amount=amount(item.transaction.amount, item.transaction.currency),
                    balance_after=None
                    if item.balance_after is None
                    else amount(item.balance_after, self.row.currency),
                    held_after=None
                    if item.held_after is None
                    else amount(item.held_after, self.row.currency),
                ),
            )
            for item in page.items
        ]
        return HistoryConnection(
            edges=edges,
            page_info=PageInfo(
                has_next_page=page.has_next_page,
                end_cursor=edges[-1].cursor if edges else None,
            ),
            wallet=self.row,
            filter=ledger_filter,
        )

    @strawberry.field(
        description="Totals over [from, to], both ends inclusive; open ends are unbounded."
    )
    async def summary(
        self,
        info: strawberry.Info[Context],
        from_: Annotated[DateTime | None, strawberry.argument(name="from")] = None,
        to: DateTime | None = None,
    ) -> PeriodSummary:
        s = await reads.summary(info.context.principal, self.row, from_, to)
        code = self.row.currency
        return PeriodSummary(
            credit_total=amount(s.credit_total, code),
            debit_total=amount(s.debit_total, code),
            credit_count=s.credit_count,
            debit_count=s.debit_count,
            net=amount(s.net, code),
            rejected_count=s.rejected_count,
        )

    @strawberry.field(
        description="Balance right after the last posting at or before `at` (0 before the first one)."
    )
    async def balance_at(self, info: strawberry.Info[Context], at: DateTime) -> Money:
        balance = await reads.balance_at(info.context.principal, self.row, at)
        return amount(balance, self.row.currency)
