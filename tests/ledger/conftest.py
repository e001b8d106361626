"""Shared helpers for ledger tests: principals with unique emails, funded wallets, snapshots.

Users made here are inserted directly with one precomputed password hash: argon2 costs about
0.1 s per hash, and account creation itself is tested through `accounts` in test_accounts.py.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from dataclasses import dataclass
from decimal import Decimal

import pytest
from tortoise import connections

from tests.calls import Ledger, ledger
from walletql.auth import Principal, principal_of
from walletql.models import Entry, LedgerTransaction, Role, User, Wallet

PASSWORD = "correct horse battery"
_hash: list[str] = []


def unique_email(prefix: str = "u") -> str:
    return f"{prefix}{secrets.token_hex(6)}@example.com"


def key() -> str:
    return secrets.token_hex(8)


async def _make(role: Role, **fields) -> Principal:
    if not _hash:
        from walletql.auth import hash_password

        _hash.append(await hash_password(PASSWORD))
    user = await User.create(
        email=unique_email(role.value[0].lower()),
        password_hash=_hash[0],
        name=f"Test {role.value.lower()}",
        role=role,
        **fields,
    )
    return principal_of(user)


@pytest.fixture
def customer(database_url):
    async def make() -> Principal:
        return await _make(Role.CUSTOMER)

    return make


@pytest.fixture
def merchant(database_url):
    async def make() -> Principal:
        return await _make(Role.MERCHANT, company_name="Shop Ltd")

    return make


@pytest.fixture
def operator(database_url):
    async def make() -> Principal:
        return await _make(Role.OPERATOR)

    return make


@pytest.fixture
def funded(database_url):
    """`await funded(principal, "USD", "100")`: a new wallet holding that amount (`on`: the
    ledger on other settings)."""

    async def make(
        owner: Principal, currency: str, amount: str | None = None, *, on: Ledger = ledger
    ) -> Wallet:
        wallet = await on.create_wallet(owner, currency)
        if amount is not None:
            await on.deposit(owner, wallet.id, amount, key())
            await wallet.refresh_from_db()
        return wallet

    return make


@dataclass(frozen=True)
class Snapshot:
    balance: Decimal
    version: int
    transactions: int
    entries: int


@pytest.fixture
def snapshot(database_url):
    """A wallet's state plus the ledger's row counts: equal snapshots mean nothing was stored
    (tests run one at a time, so the global counts are stable)."""

    async def take(wallet_id: int) -> Snapshot:
        wallet = await Wallet.get(id=wallet_id)
        return Snapshot(
            wallet.balance,
            wallet.version,
            await LedgerTransaction.all().count(),
            await Entry.all().count(),
        )

    return take


@pytest.fixture
def sql(database_url):
    """Raw SQL on the ORM's connection, bypassing the application entirely."""

    async def run(statement: str) -> None:
        await connections.get("default").execute_script(statement)

    return run


@pytest.fixture
def run_cli(database_url):
    """Run `python -m walletql.cli <args>` against the test database, without inherited
    WALLETQL_* settings; returns the CompletedProcess."""

    def run(*args: str, stdin: str = "", **env: str) -> subprocess.CompletedProcess:
        clean = {k: v for k, v in os.environ.items() if not k.startswith("WALLETQL_")}
        clean.pop("DATABASE_URL", None)
        clean.update({"WALLETQL_DATABASE_URL": database_url, **env})
        return subprocess.run(
            [sys.executable, "-m", "walletql.cli", *args],
            input=stdin,
            capture_output=True,
            text=True,
            env=clean,
            timeout=120,
        )

    return run
