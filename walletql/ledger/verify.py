"""Check the ledger's invariants against what is stored; each disagreement is one line.

1. Every wallet's entries, ordered by version, are numbered 1..version with no gap; their
   running sums equal each entry's balance_after and held_after; and the newest entry's
   balance_after and held_after are the wallet's balance and held.
2. Every POSTED transaction has exactly its entries; a REJECTED one has none. A HOLD: one entry
   on the source, moving 0 and holding +amount. A CAPTURE: -amount and held -amount on the
   source, +amount on the destination. A RELEASE: one entry on the destination, moving 0 and
   holding -amount. Every other kind (REFUND included): -amount on the source, +amount on the
   destination, held unchanged.
3. Every wallet's held is what remains (amount - captured_amount) of its HELD holds.
4. Every hold's captured_amount is the sum of its POSTED CAPTURE transactions and at most its
   amount; its POSTED HOLD transactions add up to its amount; and what they reserved minus
   what was captured and released is what remains (amount - captured_amount while HELD, else 0).
5. No transaction has POSTED refunds adding up to more than its amount; a POSTED HOLD, CAPTURE
   or RELEASE names its hold and no other transaction does; a REFUND names its original and no
   other transaction does.
6. Per currency, the wallets hold exactly what came in from outside minus what went out (a
   HOLD and a RELEASE move no balance and count for nothing).
"""

from __future__ import annotations

from decimal import Decimal

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.transactions import in_transaction

_WALLETS = """
SELECT w.id, w.currency, w.balance, w.held, w.version,
       coalesce(e.total, 0) AS total, coalesce(e.held_total, 0) AS held_total,
       coalesce(e.n, 0) AS n, coalesce(e.top, 0) AS top,
       last.balance_after AS last_after, last.held_after AS last_held_after
FROM wallets AS w
LEFT JOIN (SELECT wallet_id, sum(amount) AS total, sum(held_amount) AS held_total,
                  count(*) AS n, max(version) AS top
           FROM entries GROUP BY wallet_id) AS e ON e.wallet_id = w.id
LEFT JOIN LATERAL (SELECT balance_after, held_after FROM entries WHERE wallet_id = w.id
                   ORDER BY version DESC LIMIT 1) AS last ON true
WHERE w.balance <> coalesce(e.total, 0) OR w.version <> coalesce(e.n, 0)
   OR w.version <> coalesce(e.top, 0) OR w.balance <> coalesce(last.balance_after, 0)
   OR w.held <> coalesce(e.held_total, 0) OR w.held <> coalesce(last.held_after, 0)
ORDER BY w.id LIMIT 1000
"""

_RUNNING = """
SELECT wallet_id, version, balance_after, running, held_after, held_running FROM (
    SELECT wallet_id, version, balance_after, held_after,
           sum(amount) OVER (PARTITION BY wallet_id ORDER BY version) AS running,
           sum(held_amount) OVER (PARTITION BY wallet_id ORDER BY version) AS held_running
    FROM entries) AS r
WHERE running <> balance_after OR held_running <> held_after
ORDER BY wallet_id, version LIMIT 1000
"""

# A HOLD moves no balance and a RELEASE none either: they move only the held amount (a HOLD on
# the source, a CAPTURE on the source as it moves the money, a RELEASE on the destination).
_TRANSACTIONS = """
SELECT * FROM (
    SELECT t.id, t.kind, t.status, t.amount, t.source_wallet_id, t.destination_wallet_id,
           count(e.id) AS n,
           coalesce(sum(e.amount) FILTER (WHERE e.wallet_id = t.source_wallet_id), 0)
               AS debited,
           coalesce(sum(e.amount) FILTER (WHERE e.wallet_id = t.destination_wallet_id), 0)
               AS credited,
           coalesce(sum(e.held_amount) FILTER (WHERE e.wallet_id = t.source_wallet_id), 0)
               AS source_held,
           coalesce(sum(e.held_amount) FILTER (WHERE e.wallet_id = t.destination_wallet_id), 0)
               AS destination_held
    FROM transactions AS t LEFT JOIN entries AS e ON e.transaction_id = t.id
    GROUP BY t.id) AS s
WHERE (status = 'REJECTED' AND n <> 0)
   OR (status = 'POSTED' AND (
       n <> (source_wallet_id IS NOT NULL)::int + (destination_wallet_id IS NOT NULL)::int
    OR debited <> CASE WHEN source_wallet_id IS NULL OR kind = 'HOLD' THEN 0 ELSE -amount END
    OR credited
       <> CASE WHEN destination_wallet_id IS NULL OR kind = 'RELEASE' THEN 0 ELSE amount END
    OR source_held <> CASE kind WHEN 'HOLD' THEN amount WHEN 'CAPTURE' THEN -amount ELSE 0 END
    OR destination_held <> CASE kind WHEN 'RELEASE' THEN -amount ELSE 0 END))
ORDER BY id LIMIT 1000
"""

_HELD = """
SELECT w.id, w.currency, w.held, coalesce(h.remaining, 0) AS remaining, coalesce(h.n, 0) AS n
FROM wallets AS w
LEFT JOIN (SELECT source_wallet_id, sum(amount - captured_amount) AS remaining, count(*) AS n
           FROM holds WHERE status = 'HELD' GROUP BY source_wallet_id) AS h
  ON h.source_wallet_id = w.id
WHERE w.held <> coalesce(h.remaining, 0)
ORDER BY w.id LIMIT 1000
"""

_HOLDS = """
SELECT * FROM (
    SELECT h.id, h.status, h.amount, h.captured_amount,
           CASE WHEN h.status = 'HELD' THEN h.amount - h.captured_amount ELSE 0 END AS remaining,
           coalesce(sum(t.amount) FILTER (WHERE t.kind = 'HOLD'), 0) AS reserved,
           coalesce(sum(t.amount) FILTER (WHERE t.kind = 'CAPTURE'), 0) AS captured,
           coalesce(sum(t.amount) FILTER (WHERE t.kind = 'RELEASE'), 0) AS released
    FROM holds AS h
    LEFT JOIN transactions AS t ON t.hold_id = h.id AND t.status = 'POSTED'
    GROUP BY h.id) AS s
WHERE captured_amount <> captured OR captured_amount > amount OR reserved <> amount
   OR reserved - captured - released <> remaining
ORDER BY id LIMIT 1000
"""

_REFUNDS = """
SELECT o.id, o.kind, o.status, o.amount, count(*) AS n, sum(r.amount) AS refunded
FROM transactions AS o
JOIN transactions AS r ON r.refund_of_id = o.id AND r.kind = 'REFUND' AND r.status = 'POSTED'
GROUP BY o.id
HAVING sum(r.amount) > o.amount
ORDER BY o.id LIMIT 1000
"""

_LINKS = """
SELECT id, kind, status, hold_id, refund_of_id FROM transactions
WHERE (hold_id IS NOT NULL) <> (status = 'POSTED' AND kind IN ('HOLD', 'CAPTURE', 'RELEASE'))
   OR (refund_of_id IS NOT NULL) <> (kind = 'REFUND')
ORDER BY id LIMIT 1000
"""

_CONSERVATION = """
SELECT coalesce(b.currency, f.currency) AS currency,
       coalesce(b.total, 0) AS total, coalesce(f.net, 0) AS net
FROM (SELECT currency, sum(balance) AS total FROM wallets GROUP BY currency) AS b
FULL JOIN (
    SELECT currency,
           sum(CASE WHEN source_wallet_id IS NULL THEN amount
                    WHEN destination_wallet_id IS NULL THEN -amount ELSE 0 END) AS net
    FROM transactions WHERE status = 'POSTED' AND kind NOT IN ('HOLD', 'RELEASE')
    GROUP BY currency) AS f
  ON f.currency = b.currency
WHERE coalesce(b.total, 0) <> coalesce(f.net, 0)
ORDER BY 1
"""


async def _rows(conn: BaseDBAsyncClient, query: str) -> list[dict[str, str]]:
    """The query's rows as text: amounts written out in full (a zero with 18 places would
    otherwise read 0E-18)."""
    return [
        {
            name: f"{value:f}" if isinstance(value, Decimal) else str(value)
            for name, value in row.items()
        }
        for row in await conn.execute_query_dict(query)
    ]


async def verify() -> list[str]:
    """Every disagreement between the stored ledger and its invariants; empty when sound."""
    problems: list[str] = []
    async with in_transaction() as conn:
        # One consistent snapshot for all the checks, even while postings go on.
        await conn.execute_script("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        for row in await _rows(conn, _WALLETS):
            problems.append(
                f"wallet {row['id']} ({row['currency']}): balance {row['balance']} held "
                f"{row['held']} version {row['version']}, but its {row['n']} entries sum to "
                f"{row['total']} held {row['held_total']} (newest version {row['top']}, newest "
                f"balance_after {row['last_after']}, newest held_after {row['last_held_after']})"
            )
        for row in await _rows(conn, _RUNNING):
            problems.append(
                f"wallet {row['wallet_id']} entry version {row['version']}: balance_after "
                f"{row['balance_after']} held_after {row['held_after']}, but the entries up to "
                f"it sum to {row['running']} held {row['held_running']}"
            )
        for row in await _rows(conn, _TRANSACTIONS):
            problems.append(
                f"transaction {row['id']} ({row['status']} {row['kind']}, amount "
                f"{row['amount']}): {row['n']} entries debiting {row['debited']} and "
                f"crediting {row['credited']}, held {row['source_held']} on the source and "
                f"{row['destination_held']} on the destination"
            )
        for row in await _rows(conn, _HELD):
            problems.append(
                f"wallet {row['id']} ({row['currency']}): held {row['held']}, but its "
                f"{row['n']} HELD holds have {row['remaining']} remaining"
            )
        for row in await _rows(conn, _HOLDS):
            problems.append(
                f"hold {row['id']} ({row['status']}, amount {row['amount']}, captured "
                f"{row['captured_amount']}, remaining {row['remaining']}): its POSTED "
                f"transactions reserve {row['reserved']}, capture {row['captured']} and release "
                f"{row['released']}"
            )
        for row in await _rows(conn, _REFUNDS):
            problems.append(
                f"transaction {row['id']} ({row['status']} {row['kind']}, amount "
                f"{row['amount']}): {row['n']} POSTED refunds return {row['refunded']}"
            )
        for row in await _rows(conn, _LINKS):
            problems.append(
                f"transaction {row['id']} ({row['status']} {row['kind']}): hold "
                f"{row['hold_id']}, refund of {row['refund_of_id']}"
            )
        for row in await _rows(conn, _CONSERVATION):
            problems.append(
                f"currency {row['currency']}: wallets hold {row['total']}, but posted deposits, "
                f"withdrawals and operations net to {row['net']}"
            )
    return problems
