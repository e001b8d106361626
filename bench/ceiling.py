"""The ceiling: the same work done by a minimal asyncpg client straight on the database.

Postings, two forms, both doing what walletql's posting path does (lock both wallets in id
order FOR NO KEY UPDATE, check status/currency/funds, insert the transaction, move balances and
versions, append the entries, pg_notify), so their rows pass `walletql verify`:

- `fn`: one round trip, `SELECT bench_post(...)`, a PL/pgSQL function created by the bench in
  the bench database only (never in migrations);
- `multi`: BEGIN; walletql's _LOCK statement; the funds check in Python; walletql's _POST CTE;
  COMMIT (4 round trips, like walletql's `_post_once` at commit 1e8de79, minus the ORM).

Reads, one round trip each: the caller's wallet balances from the bearer token's digest (what
`me { wallets { balance } }` needs) and a keyset history page joined to its transactions and
entries (what a `first: 20` page needs).
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from decimal import Decimal

import asyncpg

BALANCE_CHANNEL = "walletql_balance"

# walletql's own lock and posting statements (walletql/ledger/posting.py, `_LOCK` and `_POST` at
# commit 1e8de79), copied so the multi-statement ceiling stays the same yardstick while the
# application's posting path changes.
_LOCK = """
SELECT id, currency, balance, minimum_balance, status
FROM wallets WHERE id = ANY($1::bigint[]) ORDER BY id FOR NO KEY UPDATE
"""

_POST = """
WITH tx AS (
    INSERT INTO transactions (kind, status, operation, amount, currency, source_wallet_id,
        destination_wallet_id, description, initiator_id, idempotency_key, fingerprint)
    VALUES ($1, 'POSTED', $2, $3, $4, $5, $6, $7, $8, $9, $10)
    ON CONFLICT (initiator_id, idempotency_key) DO NOTHING
    RETURNING id, created_at
), moved AS (
    UPDATE wallets AS w SET balance = w.balance + d.delta, version = w.version + 1
    FROM unnest($11::bigint[], $12::numeric[]) AS d(wallet_id, delta), tx
    WHERE w.id = d.wallet_id
    RETURNING w.id, w.owner_id, w.balance, w.version, d.delta
), appended AS (
    INSERT INTO entries (transaction_id, wallet_id, amount, balance_after, version, created_at)
    SELECT tx.id, moved.id, moved.delta, moved.balance, moved.version, tx.created_at
    FROM moved, tx
    RETURNING wallet_id, balance_after, version, transaction_id
)
SELECT a.transaction_id,
       pg_notify($13, json_build_object(
           'wallet_id', a.wallet_id, 'owner_id', m.owner_id, 'balance', a.balance_after::text,
           'version', a.version, 'transaction_id', a.transaction_id)::text)::text AS notified
FROM appended AS a JOIN moved AS m ON m.id = a.wallet_id
"""

FUNCTION = """
CREATE OR REPLACE FUNCTION bench_post(
    p_kind text, p_amount numeric, p_source bigint, p_dest bigint, p_initiator bigint,
    p_key text, p_fingerprint text, p_description text, p_currency text DEFAULT 'USD')
RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    r record;
    v_available numeric;
    v_tx bigint;
    v_at timestamptz;
    v_balance numeric;
    v_version bigint;
    v_owner bigint;
BEGIN
    FOR r IN SELECT id, currency, balance, minimum_balance, status FROM wallets
             WHERE id IN (p_source, p_dest) ORDER BY id FOR NO KEY UPDATE LOOP
        IF r.status <> 'ACTIVE' THEN RAISE EXCEPTION 'wallet % inactive', r.id; END IF;
        IF r.currency <> p_currency THEN RAISE EXCEPTION 'wallet % currency', r.id; END IF;
        IF r.id = p_source THEN v_available := r.balance - r.minimum_balance; END IF;
    END LOOP;
    IF v_available < p_amount THEN
        INSERT INTO transactions (kind, status, amount, currency, source_wallet_id,
            destination_wallet_id, description, initiator_id, idempotency_key, fingerprint,
            failure_reason, available)
        VALUES (p_kind, 'REJECTED', p_amount, p_currency, p_source, p_dest, p_description,
            p_initiator, p_key, p_fingerprint, 'INSUFFICIENT_FUNDS', v_available)
        ON CONFLICT (initiator_id, idempotency_key) DO NOTHING RETURNING id INTO v_tx;
        RETURN -v_tx;
    END IF;
    INSERT INTO transactions (kind, status, amount, currency, source_wallet_id,
        destination_wallet_id, description, initiator_id, idempotency_key, fingerprint)
    VALUES (p_kind, 'POSTED', p_amount, p_currency, p_source, p_dest, p_description,
        p_initiator, p_key, p_fingerprint)
    ON CONFLICT (initiator_id, idempotency_key) DO NOTHING
    RETURNING id, created_at INTO v_tx, v_at;
    IF v_tx IS NULL THEN RETURN NULL; END IF;
    UPDATE wallets SET balance = balance - p_amount, version = version + 1 WHERE id = p_source
        RETURNING balance, version, owner_id INTO v_balance, v_version, v_owner;
    INSERT INTO entries (transaction_id, wallet_id, amount, balance_after, version, created_at)
        VALUES (v_tx, p_source, -p_amount, v_balance, v_version, v_at);
    PERFORM pg_notify('walletql_balance', json_build_object('wallet_id', p_source,
        'owner_id', v_owner, 'balance', v_balance::text, 'version', v_version,
        'transaction_id', v_tx)::text);
    UPDATE wallets SET balance = balance + p_amount, version = version + 1 WHERE id = p_dest
        RETURNING balance, version, owner_id INTO v_balance, v_version, v_owner;
    INSERT INTO entries (transaction_id, wallet_id, amount, balance_after, version, created_at)
        VALUES (v_tx, p_dest, p_amount, v_balance, v_version, v_at);
    PERFORM pg_notify('walletql_balance', json_build_object('wallet_id', p_dest,
        'owner_id', v_owner, 'balance', v_balance::text, 'version', v_version,
        'transaction_id', v_tx)::text);
    RETURN v_tx;
END
$$;
"""

FINGERPRINT = "f" * 64

BALANCES = """
SELECT w.balance FROM auth_tokens AS t JOIN wallets AS w ON w.owner_id = t.user_id
WHERE t.token_hash = $1 AND t.revoked_at IS NULL AND t.expires_at > now() ORDER BY w.id
"""

# A history page in one trip: the page's ids by keyset on the history indexes (the wallet as a
# range, so only those indexes can deliver the order whatever the statistics; with `= $1` the
# planner sometimes walks the primary key backwards through other wallets' rows), then the
# transaction rows and their entries joined on the transaction only (a generic plan filtering
# entries by wallet_id reads all of the wallet's entries). The same plan shape walletql's
# reads.history uses since 5a3d12f.
HISTORY = """
SELECT h.id, h.direction, t.kind, t.status, t.amount, t.currency, t.created_at,
       t.source_wallet_id, t.destination_wallet_id, t.description, e.wallet_id, e.balance_after
FROM (
    (SELECT id, 'DEBIT' AS direction FROM transactions
     WHERE source_wallet_id >= $1 AND source_wallet_id <= $1 AND id < $2
     ORDER BY source_wallet_id, id DESC LIMIT $3)
    UNION ALL
    (SELECT id, 'CREDIT' AS direction FROM transactions
     WHERE destination_wallet_id >= $1 AND destination_wallet_id <= $1 AND id < $2
     ORDER BY destination_wallet_id, id DESC LIMIT $3)
    ORDER BY id DESC LIMIT $3
) AS h
JOIN transactions AS t ON t.id = h.id
LEFT JOIN entries AS e ON e.transaction_id = h.id
ORDER BY h.id DESC
"""


async def install(dsn: str) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(FUNCTION)
    finally:
        await conn.close()


# Each op takes (connection, request number) and returns None on success or an error code.
Op = Callable[[asyncpg.Connection, int], Awaitable[str | None]]


def posting_op(form: str, pick: Callable[[int], tuple], run_id: str) -> Op:
    """pick(i) -> (kind, source, dest, initiator, amount)."""

    async def fn(conn: asyncpg.Connection, i: int) -> str | None:
        kind, source, dest, initiator, amount = pick(i)
        tx = await conn.fetchval(
            "SELECT bench_post($1, $2, $3, $4, $5, $6, $7, $8)",
            kind,
            amount,
            source,
            dest,
            initiator,
            f"{run_id}-{i}",
            FINGERPRINT,
            "bench ceiling",
        )
        if tx is None:
            return "DUPLICATE"
        return "INSUFFICIENT_FUNDS" if tx < 0 else None

    async def multi(conn: asyncpg.Connection, i: int) -> str | None:
        kind, source, dest, initiator, amount = pick(i)
        async with conn.transaction():
            rows = await conn.fetch(_LOCK, sorted((source, dest)))
            src = next(r for r in rows if r["id"] == source)
            if src["balance"] - src["minimum_balance"] < amount:
                return "INSUFFICIENT_FUNDS"  # (not stored here: never happens with this funding)
            posted = await conn.fetch(
                _POST,
                kind,
                None,
                amount,
                "USD",
                source,
                dest,
                "bench ceiling",
                initiator,
                f"{run_id}-{i}",
                FINGERPRINT,
                [source, dest],
                [-amount, amount],
                BALANCE_CHANNEL,
            )
            return None if posted else "DUPLICATE"

    return {"fn": fn, "multi": multi}[form]


def balances_op(digests: list[str]) -> Op:
    async def op(conn: asyncpg.Connection, i: int) -> str | None:
        rows = await conn.fetch(BALANCES, random.choice(digests))
        return None if rows else "EMPTY"

    return op


def history_op(wallet_id: int, befores: list[int]) -> Op:
    async def op(conn: asyncpg.Connection, i: int) -> str | None:
        rows = await conn.fetch(HISTORY, wallet_id, random.choice(befores), 21)
        return None if len({r["id"] for r in rows}) == 21 else "SHORT_PAGE"

    return op


async def closed_loop(dsn: str, op: Op, concurrency: int, duration: float, warmup: float) -> dict:
    """`concurrency` connections, each running `op` back to back; latencies after warm-up."""
    conns = await asyncio.gather(*(asyncpg.connect(dsn) for _ in range(concurrency)))
    counter = iter(range(10**12))
    latencies: list[float] = []
    errors: dict[str, int] = {}
    t_start = time.perf_counter()
    t_measure = t_start + warmup
    t_end = t_measure + duration

    async def worker(conn: asyncpg.Connection) -> None:
        while True:
            t = time.perf_counter()
            if t >= t_end:
                return
            try:
                error = await op(conn, next(counter))
            except (asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                error = type(exc).__name__
            done = time.perf_counter()
            if t >= t_measure:
                if error is None:
                    latencies.append(done - t)
                else:
                    errors[error] = errors.get(error, 0) + 1

    try:
        await asyncio.gather(*(worker(c) for c in conns))
    finally:
        await asyncio.gather(*(c.close() for c in conns), return_exceptions=True)
    return {"latencies": latencies, "errors": errors, "elapsed": duration}


def amount_cents(rng: random.Random) -> Decimal:
    return Decimal(rng.randint(1, 999)).scaleb(-2)
