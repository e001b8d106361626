"""History pages, period summaries and balance at a point in time, for one wallet.

Each read takes the caller and the wallet, and decides here whether the caller may read it
(`accounts.may_read`): a wallet the caller may not read is NotFound, like a missing one."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from walletql import ids
from walletql.auth import Principal
from walletql.ledger.accounts import check_reader, parse_id
from walletql.ledger.errors import NotFound, ValidationError
from walletql.models import LedgerTransaction, TransactionKind, TransactionStatus, Wallet
from walletql.models.rows import fetch, model

MAX_PAGE = 100


@dataclass(frozen=True)
class HistoryFilter:
    since: datetime | None = None
    until: datetime | None = None
    kinds: Sequence[TransactionKind] = ()
    statuses: Sequence[TransactionStatus] = ()


@dataclass(frozen=True)
class HistoryItem:
    transaction: LedgerTransaction
    direction: str  # CREDIT or DEBIT, seen from the wallet
    balance_after: Decimal | None  # None for REJECTED
    held_after: Decimal | None  # None for REJECTED
    cursor: str


@dataclass(frozen=True)
class HistoryPage:
    items: list[HistoryItem]
    has_next_page: bool
    # Owner name (company name for merchants) of every wallet the page's transactions name, read
    # with the page. Loading them afterwards took one query per page that came back in a
    # different event-loop turn: from 1 up to one per wallet for `me { wallets { history } }`.
    counterparty_names: dict[int, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Summary:
    credit_total: Decimal
    debit_total: Decimal
    credit_count: int
    debit_count: int
    rejected_count: int

    @property
    def net(self) -> Decimal:
        return self.credit_total - self.debit_total


def encode_cursor(transaction_id: int) -> str:
    """The position after a transaction, as opaque as an id (walletql.ids: kind CURSOR)."""
    return ids.encode(ids.CURSOR, transaction_id)


def decode_cursor(cursor: str) -> int:
    number = ids.decode(ids.CURSOR, cursor)
    if number is None:
        raise ValidationError(
            "BAD_CURSOR", "Invalid cursor: pass an endCursor you were given", "after"
        )
    return number


def _conditions(f: HistoryFilter, params: list) -> str:
    """SQL conditions for the filter, appending their values to `params`."""
    sql = ""
    if f.since is not None:
        params.append(f.since)
        sql += f" AND created_at >= ${len(params)}"
    if f.until is not None:
        params.append(f.until)
        sql += f" AND created_at <= ${len(params)}"
    if f.kinds:
        params.append([k.value for k in f.kinds])
        sql += f" AND kind = ANY(${len(params)}::varchar[])"
    if f.statuses:
        params.append([s.value for s in f.statuses])
        sql += f" AND status = ANY(${len(params)}::varchar[])"
    return sql


def _readable(actor: Principal | None, wallet: Wallet) -> int:
    """The id of `wallet`, which `actor` may read (accounts.check_reader)."""
    check_reader(actor, wallet)
    return wallet.id


def check_range(since: datetime | None, until: datetime | None) -> None:
    if since is not None and until is not None and since > until:
        raise ValidationError("BAD_INPUT", "`from` must not be after `to`", "from")


# A declined attempt to credit a wallet is shown to its owner only when the owner made it (a
# merchant's declined charge): a declined transfer TO a wallet is not, or anyone could write
# lines (and descriptions of their choosing) into another's statement for free. One rule for
# the history, its count, the summary and single transactions; $1 is the wallet.
_CREDIT_SHOWN = "(status = 'POSTED' OR initiator_id = (SELECT owner_id FROM wallets WHERE id = $1))"

# The range on the wallet column is deliberate: with `= $1` PostgreSQL may serve ORDER BY id
# from the primary key and filter millions of other wallets' rows (it does, when the visibility
# map is stale); with a range only the history index delivers the order, whatever the stats.
_PAGE = """
(SELECT id, 'DEBIT' AS direction FROM transactions
 WHERE source_wallet_id >= $1 AND source_wallet_id <= $1 AND id < $2{where}
 ORDER BY source_wallet_id, id DESC LIMIT $3)
UNION ALL
(SELECT id, 'CREDIT' AS direction FROM transactions
 WHERE destination_wallet_id >= $1 AND destination_wallet_id <= $1 AND id < $2{where}
   AND {credit_shown}
 ORDER BY destination_wallet_id, id DESC LIMIT $3)
ORDER BY id DESC LIMIT $3
"""

# The wallet's entry is looked up per transaction, through the entries' transaction index: a
# generic plan joining entries filtered by wallet_id could read the whole wallet's entries.
_ROWS = """
SELECT t.*, e.balance_after, e.held_after,
       coalesce(su.company_name, su.name) AS source_name,
       coalesce(du.company_name, du.name) AS destination_name
FROM transactions AS t
LEFT JOIN LATERAL (SELECT e.balance_after, e.held_after FROM entries AS e
                   WHERE e.transaction_id = t.id AND e.wallet_id = $2) AS e ON true
LEFT JOIN wallets AS sw ON sw.id = t.source_wallet_id
LEFT JOIN users AS su ON su.id = sw.owner_id
LEFT JOIN wallets AS dw ON dw.id = t.destination_wallet_id
LEFT JOIN users AS du ON du.id = dw.owner_id
WHERE t.id = ANY($1::bigint[])
"""


async def history(
    actor: Principal | None,
    wallet: Wallet,
    first: int = 20,
    after: str | None = None,
    f: HistoryFilter = HistoryFilter(),
) -> HistoryPage:
    """Newest first, keyset-paginated on the transaction id: each page is two index range scans
    whatever the depth, and postings that arrive between pages never shift a later page."""
    wallet_id = _readable(actor, wallet)
    if not 1 <= first <= MAX_PAGE:
        raise ValidationError("BAD_INPUT", f"first must be from 1 to {MAX_PAGE}", "first")
    check_range(f.since, f.until)
    before = decode_cursor(after) if after else 2**63 - 1
    params: list = [wallet_id, before, first + 1]
    sql = _PAGE.format(where=_conditions(f, params), credit_shown=_CREDIT_SHOWN)
    page = await fetch(sql, *params)
    has_next = len(page) > first
    page = page[:first]
    rows = await fetch(_ROWS, [r["id"] for r in page], wallet_id) if page else []
    by_id = {row["id"]: row for row in rows}
    names: dict[int, str] = {}
    for row in rows:
        for side in ("source", "destination"):
            if row[f"{side}_wallet_id"] is not None:
                names[row[f"{side}_wallet_id"]] = row[f"{side}_name"]
    items = []
    for r in page:
        row = by_id[r["id"]]
        transaction = model(LedgerTransaction, row)
        items.append(
            HistoryItem(
                transaction,
                r["direction"],
                row["balance_after"],
                row["held_after"],
                encode_cursor(r["id"]),
            )
        )
    return HistoryPage(items, has_next, names)


async def history_count(
    actor: Principal | None, wallet: Wallet, f: HistoryFilter = HistoryFilter()
) -> int:
    params: list = [_readable(actor, wallet)]
    where = _conditions(f, params)
    if not where:
        # Unfiltered, without counting the history: every POSTED transaction on the wallet is
        # one version, and the REJECTED ones have small partial indexes of their own.
        sql = """
            SELECT w.version
                 + (SELECT count(*) FROM transactions
                    WHERE source_wallet_id = $1 AND status = 'REJECTED')
                 + (SELECT count(*) FROM transactions
                    WHERE destination_wallet_id = $1 AND status = 'REJECTED'
                      AND initiator_id = w.owner_id) AS n
            FROM wallets AS w WHERE w.id = $1
        """
    else:
        sql = f"""
            SELECT (SELECT count(*) FROM transactions WHERE source_wallet_id = $1{where})
                 + (SELECT count(*) FROM transactions
                    WHERE destination_wallet_id = $1{where} AND {_CREDIT_SHOWN}) AS n
        """
    rows = await fetch(sql, *params)
    return int(rows[0]["n"]) if rows else 0


async def summary(
    actor: Principal | None,
    wallet: Wallet,
    since: datetime | None = None,
    until: datetime | None = None,
) -> Summary:
    """Totals over [since, until], both ends inclusive. A zero-amount operation is a credit;
    placing and releasing a hold move no money, and count as neither."""
    check_range(since, until)
    entry_params: list = [_readable(actor, wallet)]
    entry_where = _conditions(HistoryFilter(since, until), entry_params)
    sql = f"""
        SELECT coalesce(sum(amount) FILTER (WHERE amount >= 0), 0) AS credit_total,
               coalesce(-sum(amount) FILTER (WHERE amount < 0), 0) AS debit_total,
               count(*) FILTER (WHERE amount >= 0) AS credit_count,
               count(*) FILTER (WHERE amount < 0) AS debit_count,
               (SELECT count(*) FROM transactions
                 WHERE status = 'REJECTED' {entry_where}
                   AND (source_wallet_id = $1
                        OR (destination_wallet_id = $1 AND {_CREDIT_SHOWN}))) AS rejected_count
        FROM entries WHERE wallet_id = $1 AND (amount <> 0 OR held_amount = 0){entry_where}
    """
    row = (await fetch(sql, *entry_params))[0]
    return Summary(
        Decimal(row["credit_total"]),
        Decimal(row["debit_total"]),
        int(row["credit_count"]),
        int(row["debit_count"]),
        int(row["rejected_count"]),
    )


async def balance_at(actor: Principal | None, wallet: Wallet, at: datetime) -> Decimal:
    """The balance right after the last posting at or before `at`; 0 before the first."""
    rows = await fetch(
        "SELECT balance_after FROM entries WHERE wallet_id = $1 AND created_at <= $2 "
        "ORDER BY created_at DESC, version DESC LIMIT 1",
        _readable(actor, wallet),
        at,
    )
    return rows[0]["balance_after"] if rows else Decimal(0)


async def visible_transaction(actor: Principal, transaction_id: object) -> LedgerTransaction:
    """A transaction its initiator, an owner of one of its wallets or an operator may see; else
    NotFound."""
    tx = await LedgerTransaction.get_or_none(
        id=parse_id(transaction_id, ids.TRANSACTION, "Transaction not found")
    )
    if tx is None:
        raise NotFound("Transaction not found")
    if tx.initiator_id == actor.user_id or actor.is_operator:
        return tx
    wallet_ids = [w for w in (tx.source_wallet_id, tx.destination_wallet_id) if w is not None]
    if tx.status == TransactionStatus.REJECTED:
        # Only the debited wallet's owner sees another's declined attempt (_CREDIT_SHOWN).
        wallet_ids = [tx.source_wallet_id] if tx.source_wallet_id is not None else []
    if await Wallet.filter(id__in=wallet_ids, owner_id=actor.user_id).exists():
        return tx
    raise NotFound("Transaction not found")
