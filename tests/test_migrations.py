"""Migrations run at every start; several processes starting at once must not race."""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
import sys
from decimal import Decimal
from pathlib import Path

import asyncpg
import pytest

from tests.conftest import _on_database
from walletql import db, ids
from walletql.migration_history import earlier

PROCESSES = 6


async def _run_migrate(url: str) -> tuple[int, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WALLETQL_")}
    env["WALLETQL_DATABASE_URL"] = url
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "walletql.cli",
        "migrate",
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await asyncio.wait_for(process.communicate(), 120)
    return process.returncode, output.decode()


async def test_concurrent_starts_apply_each_migration_once(database_url):
    name = f"walletql_migrate_{secrets.token_hex(4)}"
    admin = await asyncpg.connect(db.asyncpg_dsn(database_url))
    await admin.execute(f'CREATE DATABASE "{name}"')
    url = _on_database(database_url, name)
    try:
        results = await asyncio.gather(*(_run_migrate(url) for _ in range(PROCESSES)))
        assert [code for code, _ in results] == [0] * PROCESSES, results
        applied = [out for _, out in results if "applied 0 migration(s)" not in out]
        assert len(applied) == 1, results  # one process did the work, the others found it done
        conn = await asyncpg.connect(db.asyncpg_dsn(url))
        try:
            versions = await conn.fetch("SELECT version FROM aerich ORDER BY id")
            triggers = await conn.fetchval(
                "SELECT count(*) FROM pg_trigger WHERE tgname = 'entries_append_only'"
            )
            keys = await conn.fetch("SELECT name, secret FROM walletql_keys")
        finally:
            await conn.close()
        assert (
            len(versions)
            == len({v["version"] for v in versions})
            == len(list(db.MIGRATIONS.glob("models/*.py")))
        )
        assert triggers == 1
        # One id key, made by the database itself: its own, not another database's.
        assert [k["name"] for k in keys] == [ids.KEY_NAME] and len(keys[0]["secret"]) == 32
        assert keys[0]["secret"] != await ids.read_key()
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


async def test_an_up_to_date_database_is_not_migrated_and_aerich_not_loaded(database_url):
    """Every worker migrates at start; with nothing pending it must not pay for aerich."""
    assert await db.pending_migrations(database_url) == []
    env = {k: v for k, v in os.environ.items() if not k.startswith("WALLETQL_")}
    check = (
        "import asyncio, sys; from walletql import db; "
        f"print(asyncio.run(db.migrate({database_url!r})), 'aerich' in sys.modules)"
    )
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-c", check, env=env, stdout=asyncio.subprocess.PIPE
    )
    output, _ = await asyncio.wait_for(process.communicate(), 60)
    assert output.decode().split() == ["[]", "False"]


async def test_pending_migrations_lists_what_a_fresh_database_lacks(database_url):
    name = f"walletql_pending_{secrets.token_hex(4)}"
    admin = await asyncpg.connect(db.asyncpg_dsn(database_url))
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        url = _on_database(database_url, name)
        assert await db.pending_migrations(url) == db.migration_files()
        assert (await _run_migrate(url))[0] == 0  # aerich re-initialises the ORM: not in here
        assert await db.pending_migrations(url) == []
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


# The last migration before the posting functions of migrations 4 and 5 (walletql_post,
# walletql_transfer, walletql_charge) are replaced: a database made by it must upgrade in place.
PREVIOUS_HEAD = 6
ROOT = Path(__file__).resolve().parents[1]

# `db.migrate` inside a subprocess, on the migrations folder given: aerich initialises Tortoise
# globally and closes it again, which would take the test session's ORM with it if run in here.
_MIGRATE_FROM = """
import asyncio, sys
from pathlib import Path
from walletql import db
db.MIGRATIONS = Path(sys.argv[1])
print(asyncio.run(db.migrate(sys.argv[2])))
"""

# The application's own Python API on the upgraded database, as a process of it would use it.
_DEPOSIT_THROUGH_THE_APP = """
import asyncio, sys
from walletql import db, ids
from walletql.migration_history import earlier
from walletql.auth import principal_of
from walletql.ledger import payments
from walletql.models import User
from walletql.services import build_services
from walletql.settings import Settings

async def main(url, user_id, wallet_id):
    await db.open_orm(url, 2)
    try:
        await ids.load()
        user = await User.get(id=user_id)
        services = build_services(Settings(database_url=url))
        await payments.deposit(
            principal_of(user),
            ids.encode(ids.WALLET, wallet_id),
            "5",
            "after-upgrade",
            currencies=services.currencies,
            turns=services.turns,
        )
    finally:
        await db.close_orm()

asyncio.run(main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3])))
"""


def _number(migration: str) -> int:
    return int(migration.split("_", 1)[0])


async def _run(url: str, *args: str) -> tuple[int, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WALLETQL_")}
    env.pop("DATABASE_URL", None)
    env["WALLETQL_DATABASE_URL"] = url
    # The walletql under test, whatever the working directory or the installed copy.
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        *args,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await asyncio.wait_for(process.communicate(), 120)
    return process.returncode, output.decode()


async def test_a_database_created_by_the_previous_schema_upgrades_in_place(database_url, tmp_path):
    """A database made by migrations 0-6, with money moved by their own SQL functions (a
    deposit, a transfer, a refused withdrawal), migrates to the head, still verifies, takes a
    deposit through the application's Python API and verifies again. While the head is 6 the
    upgrade applies nothing; once later migrations land, this is their upgrade test."""
    previous = [m for m in db.migration_files() if _number(m) <= PREVIOUS_HEAD]
    later = [m for m in db.migration_files() if _number(m) > PREVIOUS_HEAD]
    assert [_number(m) for m in previous] == list(range(PREVIOUS_HEAD + 1))
    old_folder = tmp_path / "migrations"
    (old_folder / "models").mkdir(parents=True)
    for migration in previous:
        shutil.copy2(db.MIGRATIONS / "models" / migration, old_folder / "models" / migration)

    name = f"walletql_upgrade_{secrets.token_hex(4)}"
    admin = await asyncpg.connect(db.asyncpg_dsn(database_url))
    await admin.execute(f'CREATE DATABASE "{name}"')
    url = _on_database(database_url, name)
    try:
        code, output = await _run(url, "-c", _MIGRATE_FROM, str(old_folder), url)
        assert code == 0, output
        conn = await asyncpg.connect(db.asyncpg_dsn(url))
        try:
            versions = await conn.fetch("SELECT version FROM aerich ORDER BY id")
            assert [v["version"] for v in versions] == previous

            # Money moved by the old schema's own SQL functions, as its application did.
            user_id = await conn.fetchval(
                "INSERT INTO users (email, password_hash, name, role) "
                "VALUES ($1, 'unused', 'Old schema', 'CUSTOMER') RETURNING id",
                f"old{secrets.token_hex(4)}@example.com",
            )
            first, second = [
                await conn.fetchval(
                    "INSERT INTO wallets (owner_id, currency, payment_token) "
                    "VALUES ($1, 'USD', $2) RETURNING id",
                    user_id,
                    secrets.token_hex(16),
                )
                for _ in range(2)
            ]
            tail = ("walletql_balance", Decimal(10) ** 20)  # channel, largest balance
            deposit = await conn.fetchrow(
                "SELECT * FROM walletql_post($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
                "DEPOSIT", None, Decimal("100.00"), "USD", None, first, "before the upgrade",
                user_id, "old-deposit", "a" * 64, *tail,
            )  # fmt: skip
            assert (deposit["outcome"], deposit["destination_balance"]) == ("POSTED", 100)
            transfer = await conn.fetchrow(
                "SELECT * FROM walletql_transfer($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
                user_id, first, second, None, Decimal("30.00"), ["USD"], "before the upgrade",
                "old-transfer", "b" * 64, *tail,
            )  # fmt: skip
            assert (
                transfer["outcome"],
                transfer["source_balance"],
                transfer["destination_balance"],
            ) == ("POSTED", 70, 30)
            refused = await conn.fetchrow(
                "SELECT * FROM walletql_post($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
                "WITHDRAWAL", None, Decimal("31.00"), "USD", second, None, None,
                user_id, "old-refused", "c" * 64, *tail,
            )  # fmt: skip
            assert (refused["outcome"], refused["available"]) == ("REJECTED", 30)
        finally:
            await conn.close()

        # Up to the head with the real folder: exactly the later migrations are applied.
        code, output = await _run(url, "-m", "walletql.cli", "migrate")
        assert code == 0, output
        applied = f"applied {len(later)} migration(s)" + (f": {', '.join(later)}" if later else "")
        assert applied in output.splitlines(), output
        assert await db.pending_migrations(url) == []

        code, output = await _run(url, "-m", "walletql.cli", "verify")
        assert code == 0 and "ledger verified: OK" in output, output

        code, output = await _run(
            url, "-c", _DEPOSIT_THROUGH_THE_APP, url, str(user_id), str(first)
        )
        assert code == 0, output
        code, output = await _run(url, "-m", "walletql.cli", "verify")
        assert code == 0 and "ledger verified: OK" in output, output

        conn = await asyncpg.connect(db.asyncpg_dsn(url))
        try:
            wallets = await conn.fetch("SELECT id, balance, version FROM wallets ORDER BY id")
            added = await conn.fetchrow(
                "SELECT kind, status, amount, destination_wallet_id, initiator_id "
                "FROM transactions WHERE idempotency_key = 'after-upgrade'"
            )
            newest = await conn.fetchrow(
                "SELECT amount, balance_after, version FROM entries "
                "WHERE wallet_id = $1 ORDER BY version DESC LIMIT 1",
                first,
            )
        finally:
            await conn.close()
        assert [tuple(w) for w in wallets] == [(first, Decimal(75), 3), (second, Decimal(30), 1)]
        assert tuple(added) == ("DEPOSIT", "POSTED", Decimal(5), first, user_id)
        assert tuple(newest) == (Decimal(5), Decimal(75), 3)
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


async def test_holds_and_batches_migrations_go_down_to_the_one_posting_route(database_url):
    """On a database with no hold, refund or audit event, migrations 14 to 8 undone (in
    a transaction that is rolled back): the posting route of migration 7 is back, with its
    functions' own signatures, and no hold, key, audit or sign-in throttling table is left. With a hold recorded,
    undoing 8 is refused; with an audit event, undoing 10."""
    name = f"walletql_down_{secrets.token_hex(4)}"
    admin = await asyncpg.connect(db.asyncpg_dsn(database_url))
    await admin.execute(f'CREATE DATABASE "{name}"')
    url = _on_database(database_url, name)
    try:
        code, output = await _run_migrate(url)
        assert code == 0, output
        conn = await asyncpg.connect(db.asyncpg_dsn(url))
        try:
            transaction = conn.transaction()
            await transaction.start()
            try:
                for pattern in (
                    "14_*.py",
                    "13_*.py",
                    "12_*.py",
                    "11_*.py",
                    "10_*.py",
                    "9_*.py",
                    "8_*.py",
                ):
                    await conn.execute(await earlier(pattern).downgrade(None))
                missing = [
                    signature
                    for signature in earlier("7_*.py")._NEW
                    if await conn.fetchval("SELECT to_regprocedure($1)", signature) is None
                ]
                functions = await conn.fetch(
                    "SELECT proname FROM pg_proc WHERE proname LIKE 'walletql%' AND (proname "
                    "LIKE '%hold%' OR proname LIKE '%batch%' OR proname LIKE '%refund%' "
                    "OR proname LIKE '%status%' OR proname LIKE '%signin%' "
                    "OR proname LIKE '%lockout%')"
                )
                tables = await conn.fetchval(
                    "SELECT count(*) FROM pg_class "
                    "WHERE relname IN ('holds', 'api_keys', 'audit_events', 'signin_emails', "
                    "'signin_addresses', 'signin_address_failures', 'signin_attempts')"
                )
            finally:
                await transaction.rollback()
        finally:
            await conn.close()
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()
    assert missing == []
    assert functions == []
    assert tables == 0


async def test_undoing_holds_is_refused_once_one_is_recorded(database_url):
    conn = await asyncpg.connect(db.asyncpg_dsn(database_url))
    try:
        transaction = conn.transaction()
        await transaction.start()
        try:
            user = await conn.fetchval(
                "INSERT INTO users (email, password_hash, name, role) "
                "VALUES ('down-test@example.com', 'x', 'Down', 'CUSTOMER') RETURNING id"
            )
            wallet = await conn.fetchval(
                "INSERT INTO wallets (owner_id, currency, payment_token) "
                "VALUES ($1, 'USD', 'down-test') RETURNING id",
                user,
            )
            await conn.execute(
                "INSERT INTO transactions (kind, status, amount, currency, source_wallet_id, "
                "destination_wallet_id, initiator_id, idempotency_key, fingerprint, "
                "failure_reason) VALUES ('REFUND', 'REJECTED', 1, 'USD', $1, NULL, $2, 'k', 'f', "
                "'INSUFFICIENT_FUNDS')",
                wallet,
                user,
            )
            with pytest.raises(asyncpg.RaiseError, match="would lose them"):
                await conn.execute(await earlier("8_*.py").downgrade(None))
        finally:
            await transaction.rollback()
    finally:
        await conn.close()


async def test_undoing_the_audit_log_is_refused_once_it_holds_an_event(database_url):
    conn = await asyncpg.connect(db.asyncpg_dsn(database_url))
    try:
        transaction = conn.transaction()
        await transaction.start()
        try:
            await conn.execute(
                "INSERT INTO audit_events (action, subject) VALUES ('WALLET_FROZEN', 'Wallet:1')"
            )
            with pytest.raises(asyncpg.RaiseError, match="audit log has events"):
                await conn.execute(await earlier("10_*.py").downgrade(None))
        finally:
            await transaction.rollback()
    finally:
        await conn.close()


async def test_forgetting_sign_ins_upgrades_the_records_kept_before_it(database_url):
    """Migration 14 on sign-in records written before it (rolled back after): an address's last
    attempt is its newest failure, an email's is the upgrade (its day starts then), and both are
    forgotten by their own rules; undone and done again, the functions are migration 12's and
    then 14's."""
    conn = await asyncpg.connect(db.asyncpg_dsn(database_url))
    migration = earlier("14_*.py")
    try:
        transaction = conn.transaction()
        await transaction.start()
        try:
            await conn.execute(await migration.downgrade(None))
            assert await conn.fetchval("SELECT to_regproc('walletql_signin_forget')") is None
            await conn.execute(
                "INSERT INTO signin_emails (email_hash, failures) VALUES (repeat('a', 64), 3);"
                "INSERT INTO signin_addresses (address) VALUES ('old'), ('new');"
                "INSERT INTO signin_address_failures (address, failed_at) VALUES "
                "('old', now() - interval '20 minutes'), ('old', now() - interval '16 minutes'),"
                "('new', now() - interval '20 minutes'), ('new', now() - interval '1 minute')"
            )
            await conn.execute(await migration.upgrade(None))
            lasts = await conn.fetch(
                "SELECT address, round(extract(epoch FROM now() - last_attempt_at)) AS age "
                "FROM signin_addresses WHERE address IN ('old', 'new') ORDER BY address"
            )
            forgotten = await conn.fetchrow(
                "SELECT * FROM walletql_signin_forget(86400, 900, 60, 1000)"
            )
            left = await conn.fetch(
                "SELECT address FROM signin_addresses WHERE address IN ('old', 'new')"
            )
            email = await conn.fetchrow(
                "SELECT failures FROM signin_emails WHERE email_hash = repeat('a', 64)"
            )
        finally:
            await transaction.rollback()
    finally:
        await conn.close()
    assert [(r["address"], r["age"]) for r in lasts] == [("new", 60), ("old", 960)]
    assert forgotten["addresses"] >= 1  # 'old' (and any other test's that has aged)
    assert [r["address"] for r in left] == ["new"]
    assert email["failures"] == 3  # its day has just begun
