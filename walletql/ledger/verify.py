"""Check the ledger's invariants against what is stored; each disagreement is one line.

1. Every wallet's entries, ordered by version, are numbered 1..version with no gap, their
   running sum equals each entry's balance_after, and the newest balance_after is the balance.
2. Every POSTED transaction has exactly its entries (-amount on the source, +amount on the
   destination); a REJECTED one has none.
3. Per currency, the wallets hold exactly what came in from outside minus what went out.
"""

from __future__ import annotations

from tortoise.transactions import in_transaction

_WALLETS = """
SELECT w.id, w.currency, w.balance, w.version,
       coalesce(e.total, 0) AS total, coalesce(e.n, 0) AS n,
       coalesce(e.top, 0) AS top, last.balance_after AS last_after
FROM wallets AS w
LEFT JOIN (SELECT wallet_id, sum(amount) AS total, count(*) AS n, max(version) AS top
           FROM entries GROUP BY wallet_id) AS e ON e.wallet_id = w.id
LEFT JOIN LATERAL (SELECT balance_after FROM entries WHERE wallet_id = w.id
                   ORDER BY version DESC LIMIT 1) AS last ON true
WHERE w.balance <> coalesce(e.total, 0) OR w.version <> coalesce(e.n, 0)
   OR w.version <> coalesce(e.top, 0) OR w.balance <> coalesce(last.balance_after, 0)
ORDER BY w.id LIMIT 1000
"""

_RUNNING = """
SELECT wallet_id, version, balance_after, running FROM (
    SELECT wallet_id, version, balance_after,
           sum(amount) OVER (PARTITION BY wallet_id ORDER BY version) AS running
    FROM entries) AS r
WHERE running <> balance_after ORDER BY wallet_id, version LIMIT 1000
"""

_TRANSACTIONS = """
SELECT t.id, t.status, t.amount, count(e.id) AS n,
       coalesce(sum(e.amount) FILTER (WHERE e.wallet_id = t.source_wallet_id), 0) AS debited,
       coalesce(sum(e.amount) FILTER (WHERE e.wallet_id = t.destination_wallet_id), 0) AS credited
FROM transactions AS t LEFT JOIN entries AS e ON e.transaction_id = t.id
GROUP BY t.id
HAVING (t.status = 'REJECTED' AND count(e.id) <> 0)
    OR (t.status = 'POSTED' AND (
        count(e.id) <> (t.source_wallet_id IS NOT NULL)::int
                       + (t.destination_wallet_id IS NOT NULL)::int
     OR coalesce(sum(e.amount) FILTER (WHERE e.wallet_id = t.source_wallet_id), 0)
        <> CASE WHEN t.source_wallet_id IS NULL THEN 0 ELSE -t.amount END
     OR coalesce(sum(e.amount) FILTER (WHERE e.wallet_id = t.destination_wallet_id), 0)
        <> CASE WHEN t.destination_wallet_id IS NULL THEN 0 ELSE t.amount END))
ORDER BY t.id LIMIT 1000
"""

_CONSERVATION = """
SELECT coalesce(h.currency, f.currency) AS currency,
       coalesce(h.held, 0) AS held, coalesce(f.net, 0) AS net
FROM (SELECT currency, sum(balance) AS held FROM wallets GROUP BY currency) AS h
FULL JOIN (
    SELECT currency,
           sum(CASE WHEN source_wallet_id IS NULL THEN amount
                    WHEN destination_wallet_id IS NULL THEN -amount ELSE 0 END) AS net
    FROM transactions WHERE status = 'POSTED' GROUP BY currency) AS f
  ON f.currency = h.currency
WHERE coalesce(h.held, 0) <> coalesce(f.net, 0)
ORDER BY 1
"""


async def verify() -> list[str]:
    """Every disagreement between the stored ledger and its invariants; empty when sound."""
    problems: list[str] = []
    async with in_transaction() as conn:
        # One consistent snapshot for all four checks, even while postings go on.
        await conn.execute_script("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        for row in await conn.execute_query_dict(_WALLETS):
            problems.append(
                f"wallet {row['id']} ({row['currency']}): balance {row['balance']} version "
                f"{row['version']}, but its {row['n']} entries sum to {row['total']} "
                f"(newest version {row['top']}, newest balance_after {row['last_after']})"
            )
        for row in await conn.execute_query_dict(_RUNNING):
            problems.append(
                f"wallet {row['wallet_id']} entry version {row['version']}: balance_after "
                f"{row['balance_after']}, but the entries up to it sum to {row['running']}"
            )
        for row in await conn.execute_query_dict(_TRANSACTIONS):
            problems.append(
                f"transaction {row['id']} ({row['status']}, amount {row['amount']}): "
                f"{row['n']} entries debiting {row['debited']} and crediting {row['credited']}"
            )
        for row in await conn.execute_query_dict(_CONSERVATION):
            problems.append(
                f"currency {row['currency']}: wallets hold {row['held']}, but posted deposits, "
                f"withdrawals and operations net to {row['net']}"
            )
    return problems
