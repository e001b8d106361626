"""Create the bench database and seed it with set-based SQL that keeps `walletql verify` clean.

Signing 10,000 users up through the API would spend minutes in argon2, so users get one
precomputed argon2 hash (walletql.auth.hash_password), tokens are generated here and stored as
their sha256 (walletql.auth.token_digest), and every balance is funded by a real DEPOSIT
transaction with its entry, so the ledger's invariants hold from the first second:

- every customer wallet: one DEPOSIT of FUNDING, version 1;
- the history wallet: HISTORY_SIZE deposits of 1.00, entries numbered 1..N with
  balance_after = running sum, wallet balance N, version N.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from dataclasses import dataclass, field
from decimal import Decimal

import asyncpg

from walletql import ids
from walletql.auth import hash_password, token_digest

FUNDING = Decimal("1000000.00")
PASSWORD = "bench-password-not-used"


@dataclass
class Seeded:
    customer_ids: list[int] = field(default_factory=list)
    customer_tokens: list[str] = field(default_factory=list)  # bearer tokens, by customer
    wallet_ids: list[int] = field(default_factory=list)  # one USD wallet per customer
    payment_tokens: list[str] = field(default_factory=list)
    merchant_id: int = 0
    merchant_token: str = ""
    merchant_wallet: int = 0
    history_user: int = 0
    history_token: str = ""
    history_wallet: int = 0
    history_size: int = 0
    watch_user: int = 0
    watch_token: str = ""
    watch_wallet: int = 0
    # The same wallets as the API names them (walletql.ids, under the database's key).
    public_wallets: list[str] = field(default_factory=list)
    public_history_wallet: str = ""
    public_watch_wallet: str = ""
    timings: dict[str, float] = field(default_factory=dict)


async def recreate_database(admin_url: str, name: str) -> None:
    await drop_database(admin_url, name, create_again=True)


async def drop_database(admin_url: str, name: str, *, create_again: bool = False) -> None:
    """Drop `name` (its sessions terminated first), and create it empty when asked."""
    conn = await asyncpg.connect(admin_url, timeout=30)
    try:
        await conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = $1 AND pid <> pg_backend_pid()",
            name,
        )
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        if create_again:
            await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()


async def _users(conn, prefix: str, role: str, n: int, pw_hash: str, company: str | None = None):
    inserted = await conn.fetch(
        """
        INSERT INTO users (email, password_hash, name, role, company_name, created_at)
        SELECT $1 || g || '@bench.test', $2, initcap($1) || ' ' || g, $3, $4, now()
        FROM generate_series(1, $5) AS g ORDER BY g
        RETURNING id
        """,
        prefix,
        pw_hash,
        role,
        company,
        n,
    )
    user_ids = sorted(r["id"] for r in inserted)
    tokens = [f"bench-{prefix}-{i}-{secrets.token_urlsafe(16)}" for i in range(n)]
    await conn.execute(
        """
        INSERT INTO auth_tokens (token_hash, user_id, created_at, expires_at)
        SELECT d, u, now(), now() + interval '7 days' FROM unnest($1::text[], $2::bigint[]) AS t(d, u)
        """,
        [token_digest(t) for t in tokens],
        user_ids,
    )
    payment = [secrets.token_urlsafe(24) for _ in range(n)]
    rows = await conn.fetch(
        """
        INSERT INTO wallets (owner_id, currency, payment_token, balance, minimum_balance, version,
                             status, created_at)
        SELECT u, 'USD', p, 0, 0, 0, 'ACTIVE', now()
        FROM unnest($1::bigint[], $2::text[]) AS t(u, p)
        RETURNING id, owner_id, payment_token
        """,
        user_ids,
        payment,
    )
    by_owner = {r["owner_id"]: r for r in rows}
    wallets = [by_owner[u]["id"] for u in user_ids]
    pay = [by_owner[u]["payment_token"] for u in user_ids]
    return user_ids, tokens, wallets, pay


async def _fund(conn, wallet_ids: list[int], amount: Decimal) -> None:
    """One DEPOSIT per (fresh, version 0) wallet, its entry, and the wallet's balance/version."""
    await conn.execute(
        """
        WITH tx AS (
            INSERT INTO transactions (kind, status, amount, currency, destination_wallet_id,
                initiator_id, idempotency_key, fingerprint, description, created_at)
            SELECT 'DEPOSIT', 'POSTED', $1, 'USD', w.id, w.owner_id, 'bench-fund-' || w.id,
                   repeat('0', 64), 'bench funding', now()
            FROM wallets AS w WHERE w.id = ANY($2::bigint[]) AND w.version = 0
            RETURNING id, destination_wallet_id, amount, created_at
        )
        INSERT INTO entries (transaction_id, wallet_id, amount, balance_after, version, created_at)
        SELECT id, destination_wallet_id, amount, amount, 1, created_at FROM tx
        """,
        amount,
        wallet_ids,
    )
    await conn.execute(
        "UPDATE wallets SET balance = $1, version = 1 WHERE id = ANY($2::bigint[]) AND version = 0",
        amount,
        wallet_ids,
    )


async def _history(conn, user_id: int, wallet_id: int, n: int) -> None:
    """n deposits of 1.00 on one fresh wallet, set-based, with consistent entries."""
    async with conn.transaction():
        # Skip the foreign-key triggers for the bulk insert (superuser only): the rows are
        # consistent by construction, and `walletql verify` checks them afterwards anyway.
        await conn.execute("SET LOCAL session_replication_role = replica")
        await conn.execute("LOCK TABLE transactions, entries IN EXCLUSIVE MODE")
        tbase = await conn.fetchval("SELECT coalesce(max(id), 0) FROM transactions")
        ebase = await conn.fetchval("SELECT coalesce(max(id), 0) FROM entries")
        await conn.execute(
            """
            INSERT INTO transactions (id, kind, status, amount, currency, destination_wallet_id,
                initiator_id, idempotency_key, fingerprint, description, created_at)
            SELECT $1 + g, 'DEPOSIT', 'POSTED', 1.00, 'USD', $2, $3, 'bench-hist-' || g,
                   repeat('0', 64), 'history ' || g,
                   now() - interval '1 second' * ($4 - g) / 1000.0
            FROM generate_series(1, $4) AS g
            """,
            tbase,
            wallet_id,
            user_id,
            n,
        )
        await conn.execute(
            """
            INSERT INTO entries (id, transaction_id, wallet_id, amount, balance_after, version,
                created_at)
            SELECT $1 + g, $2 + g, $3, 1.00, g, g, now() - interval '1 second' * ($4 - g) / 1000.0
            FROM generate_series(1, $4) AS g
            """,
            ebase,
            tbase,
            wallet_id,
            n,
        )
        await conn.execute(
            "SELECT setval('transactions_id_seq', $1), setval('entries_id_seq', $2)",
            tbase + n,
            ebase + n,
        )
        await conn.execute(
            "UPDATE wallets SET balance = $1, version = $2 WHERE id = $3 AND version = 0",
            Decimal(n),
            n,
            wallet_id,
        )


async def seed(dsn: str, customers: int, history_size: int, log=print) -> Seeded:
    s = Seeded(history_size=history_size)
    t0 = time.perf_counter()
    pw_hash = await hash_password(PASSWORD)
    conn = await asyncpg.connect(dsn)
    try:
        t = time.perf_counter()
        async with conn.transaction():
            users, tokens, wallets, pay = await _users(
                conn, "customer", "CUSTOMER", customers, pw_hash
            )
            s.customer_ids, s.customer_tokens, s.wallet_ids, s.payment_tokens = (
                users,
                tokens,
                wallets,
                pay,
            )
            (m,), (mt,), (mw,), _ = await _users(
                conn, "merchant", "MERCHANT", 1, pw_hash, company="Hot Merchant Ltd"
            )
            s.merchant_id, s.merchant_token, s.merchant_wallet = m, mt, mw
            (h,), (ht,), (hw,), _ = await _users(conn, "history", "CUSTOMER", 1, pw_hash)
            s.history_user, s.history_token, s.history_wallet = h, ht, hw
            (w,), (wt,), (ww,), _ = await _users(conn, "watched", "CUSTOMER", 1, pw_hash)
            s.watch_user, s.watch_token, s.watch_wallet = w, wt, ww
            await _fund(conn, s.wallet_ids, FUNDING)
        # The database's id key, loaded in this process too: the API only takes public ids.
        ids.use_key(
            await conn.fetchval("SELECT secret FROM walletql_keys WHERE name = $1", ids.KEY_NAME)
        )
        s.public_wallets = [ids.encode(ids.WALLET, w) for w in s.wallet_ids]
        s.public_history_wallet = ids.encode(ids.WALLET, s.history_wallet)
        s.public_watch_wallet = ids.encode(ids.WALLET, s.watch_wallet)
        s.timings["users_wallets_funding_s"] = time.perf_counter() - t
        log(
            f"  seeded {customers} customers (users, tokens, funded wallets) in "
            f"{s.timings['users_wallets_funding_s']:.1f}s"
        )
        t = time.perf_counter()
        await _history(conn, s.history_user, s.history_wallet, history_size)
        s.timings["history_s"] = time.perf_counter() - t
        log(f"  seeded a {history_size:,}-entry history wallet in {s.timings['history_s']:.1f}s")
        t = time.perf_counter()
        await conn.execute("VACUUM ANALYZE")
        # Write the seed's dirty pages now, not during a measurement: the next scheduled
        # checkpoint would otherwise flush them while scenario a runs, stalling commits.
        await conn.execute("CHECKPOINT")
        s.timings["vacuum_analyze_s"] = time.perf_counter() - t
    finally:
        await conn.close()
    s.timings["total_s"] = time.perf_counter() - t0
    return s


if __name__ == "__main__":  # a manual check: python -m bench.seed
    import sys

    url = (
        sys.argv[1] if len(sys.argv) > 1 else "postgresql://postgres@127.0.0.1:5432/walletql_bench"
    )
    print(asyncio.run(seed(url, 100, 1000)).timings)
