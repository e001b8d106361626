"""The one write path for money. Every deposit, withdrawal, transfer, charge and operation
goes through `post()`:

1. idempotency: a known (initiator, key) replays its stored outcome, or is a conflict;
   every check that needs no lock (ownership, amount, currencies) is done before step 2 (a
   transfer or a charge that resolves cleanly is checked inside the same statement instead,
   by walletql_transfer or walletql_charge: see post_at_once);
then, in one statement and so one database transaction (the walletql_post SQL function), sent
when the process has a turn free (`posting_concurrency`, see `_turn`):
2. lock the wallets that move, FOR NO KEY UPDATE, in ascending id order (no deadlocks);
3. check status, currency and funds against the floor; a failed funds check stores a
   REJECTED transaction and commits it;
4. post: insert the transaction, move the balances, bump versions, append the entries and
   queue pg_notify, so the notification leaves exactly when the commit does.
A request whose key a concurrent request committed first loses on the unique index and
answers with the winner's outcome.

Invariants (checked by `walletql verify`): for every wallet, its entries ordered by version
replay its balance exactly and the newest balance_after equals the balance; per currency, the
wallets hold exactly what came in from outside minus what went out.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import random
import weakref
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from decimal import Decimal

from asyncpg import Record
from asyncpg.exceptions import DeadlockDetectedError, SerializationError

from walletql.auth import Principal
from walletql.ledger import characters
from walletql.ledger.errors import (
    CurrencyMismatch,
    IdempotencyConflict,
    InsufficientFunds,
    NotFound,
    ValidationError,
    WalletInactive,
)
from walletql.ledger.money import MONEY, Currency, get_currency
from walletql.models import LedgerTransaction, TransactionKind, Wallet
from walletql.models.rows import fetch
from walletql.settings import MAX_INTEGER_DIGITS, get_settings

BALANCE_CHANNEL = "walletql_balance"
MAX_RETRIES = 5
MAX_KEY_LENGTH = 200
MAX_DESCRIPTION = 500
MAX_CHARGE_DESCRIPTION = 140


@dataclass(frozen=True)
class Posting:
    """What a money movement asks for, after validation."""

    kind: TransactionKind
    initiator: Principal
    key: str
    fingerprint: str
    amount: Decimal
    currency: Currency
    source_id: int | None
    destination_id: int | None
    description: str | None = None
    operation: str | None = None
    # The wallet the caller acts on, as loaded for the checks: the answer shows it with the
    # balance and version the posting gave it, without reading it back.
    acting_wallet: Wallet | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class Request:
    """Who asks for which posting, under which key: what is known before any wallet is."""

    kind: TransactionKind
    initiator: Principal
    key: str
    fingerprint: str
    description: str | None = None
    operation: str | None = None

    def posting(
        self,
        amount: Decimal,
        currency: Currency,
        source_id: int | None,
        destination_id: int | None,
        acting_wallet: Wallet,
    ) -> Posting:
        return Posting(
            kind=self.kind,
            initiator=self.initiator,
            key=self.key,
            fingerprint=self.fingerprint,
            amount=amount,
            currency=currency,
            source_id=source_id,
            destination_id=destination_id,
            description=self.description,
            operation=self.operation,
            acting_wallet=acting_wallet,
        )


@dataclass(frozen=True)
class Outcome:
    transaction: LedgerTransaction
    replayed: bool
    wallet: Wallet | None = None  # the acting wallet right after this posting, when known

    @property
    def wallet_id(self) -> int:
        """The wallet the caller acted on: the one debited by a withdrawal or transfer, the one
        credited by a deposit or charge, the target of an operation."""
        t = self.transaction
        if t.kind in (TransactionKind.WITHDRAWAL, TransactionKind.TRANSFER):
            return t.source_wallet_id
        return t.destination_wallet_id or t.source_wallet_id


def check_key(value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValidationError("BAD_INPUT", "idempotencyKey is required", "idempotencyKey")
    if len(value) > MAX_KEY_LENGTH or characters.refused(value, characters.IDENTIFIER) is not None:
        raise ValidationError(
            "BAD_INPUT",
            f"idempotencyKey must be 1-{MAX_KEY_LENGTH} printable characters",
            "idempotencyKey",
        )
    return value


def check_description(value: object, limit: int, required: bool = False) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise ValidationError("BAD_INPUT", "description is required", "description")
        return None
    if not isinstance(value, str) or len(value.strip()) > limit:
        raise ValidationError(
            "BAD_INPUT", f"description must be 1 to {limit} characters", "description"
        )
    return characters.check(value.strip(), "description")


def fingerprint(kind: TransactionKind, **request: object) -> str:
    """A hash of the canonical request: same key + same fingerprint = the same request."""
    canonical = json.dumps({"kind": kind.value, **request}, sort_keys=True, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def canonical_amount(value: object) -> str:
    """Canonical form for the fingerprint, so "10" and "10.00" are the same request."""
    try:
        # In the exact MONEY context: the default 28 digits would make two amounts that differ
        # only in their 29th digit the same request.
        return format(MONEY.normalize(Decimal(str(value))), "f")
    except Exception:
        return repr(value)


async def _stored(initiator: Principal, key: str) -> LedgerTransaction | None:
    return await LedgerTransaction.get_or_none(initiator_id=initiator.user_id, idempotency_key=key)


def _replay(stored: LedgerTransaction, print_: str) -> Outcome:
    if stored.fingerprint != print_:
        raise IdempotencyConflict("This idempotency key was already used with a different request")
    if stored.status == "REJECTED":
        raise _declined(stored, stored.available)
    return Outcome(stored, replayed=True)


def _declined(stored: LedgerTransaction, available: Decimal | None) -> InsufficientFunds:
    """The answer to a declined debit. `available` is the debited wallet's figure, told only to
    a caller who may read that wallet: its owner (a withdrawal, a transfer from it) or an
    operator (an operation). A merchant's charge debits a customer's wallet, and a merchant
    never learns a customer's balance."""
    if TransactionKind(stored.kind) == TransactionKind.CHARGE:
        available = None
    elif available is None:  # a record stored before the figure was kept
        available = Decimal(0)
    return InsufficientFunds(
        "Insufficient funds", available=available, requested=stored.amount, transaction=stored
    )


async def post_or_replay(
    actor: Principal, key: str, print_: str, resolve: Callable[[], Awaitable[Posting]]
) -> Outcome:
    """Post what `resolve` builds. A used key is found without a look-up of its own: the
    insert loses on the unique index and post() replays. A refusal that depends on the
    ledger's current state (a wallet frozen since, a recipient without an active wallet) first
    looks for an earlier request with this key, so a retry replays what happened then."""
    try:
        return await post(await resolve())
    except (NotFound, WalletInactive, CurrencyMismatch, ValidationError):
        stored = await _stored(actor, key)
        if stored is None:
            raise
        return _replay(stored, print_)


# Steps 2-4 run inside PostgreSQL (migrations/models/2_*_posting_function.py), in the one
# implicit transaction of this statement, so the row locks never wait on the network.
_POST = """
SELECT * FROM walletql_post($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
"""
_MAX_BALANCE = Decimal(10) ** MAX_INTEGER_DIGITS  # NUMERIC(38, 18) holds 20 integer digits


# Per event loop: a Semaphore belongs to the loop it first waits on (tests run several loops).
_turns: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _turn() -> contextlib.AbstractAsyncContextManager:
    """A turn to send a posting statement: at most `posting_concurrency` per process at once.

    PostgreSQL serializes every commit that notifies (one cluster-wide lock, held through the
    WAL flush), and a hot wallet's row lock serializes its postings: backends beyond a few only
    queue there, each one put to sleep and woken by PostgreSQL. Waiting here instead is an
    asyncio wake-up: bench/FINDINGS.md, finding 21. Reads and sign-ins never wait for a
    turn, and nothing runs inside one but the statement."""
    size = get_settings().posting_concurrency
    if not size:
        return contextlib.nullcontext()
    loop = asyncio.get_running_loop()
    turns = _turns.get(loop)
    if turns is None or turns[0] != size:
        turns = _turns[loop] = (size, asyncio.Semaphore(size))
    return turns[1]


async def _execute(sql: str, *params: object) -> Record:
    """The one row of a posting statement; retries deadlocks and serialization failures (the
    statement is its own transaction, so a retry repeats all of it)."""
    attempt = 0
    while True:
        try:
            async with _turn():
                (row,) = await fetch(sql, *params)
            return row
        except (DeadlockDetectedError, SerializationError):
            attempt += 1
            if attempt >= MAX_RETRIES:
                raise
            await asyncio.sleep(random.uniform(0.001, 0.01) * attempt)


_REFUSALS = {
    "NOT_FOUND": NotFound,
    "WALLET_INACTIVE": WalletInactive,
    "CURRENCY_MISMATCH": CurrencyMismatch,
    "TOO_LARGE": lambda detail: ValidationError("BAD_AMOUNT", detail, "amount"),
}


def _stored_row(p: Posting, result: dict) -> LedgerTransaction:
    """The row walletql_post just inserted: every column is either what was asked or what the
    function returned."""
    rejected = result["outcome"] == "REJECTED"
    return LedgerTransaction._init_from_db(
        id=result["transaction_id"],
        kind=p.kind.value,
        status="REJECTED" if rejected else "POSTED",
        operation=p.operation,
        amount=p.amount,
        currency=p.currency.code,
        source_wallet_id=p.source_id,
        destination_wallet_id=p.destination_id,
        description=p.description,
        initiator_id=p.initiator.user_id,
        idempotency_key=p.key,
        fingerprint=p.fingerprint,
        failure_reason="INSUFFICIENT_FUNDS" if rejected else None,
        available=result["available"],
        created_at=result["decided_at"],
    )


def _acting_wallet_after(p: Posting, result: dict) -> Wallet | None:
    wallet = p.acting_wallet
    if wallet is None:
        return None
    side = "source" if wallet.id == p.source_id else "destination"
    wallet.balance = result[f"{side}_balance"]
    wallet.version = result[f"{side}_version"]
    return wallet


async def post(p: Posting) -> Outcome:
    """Post or reject `p` exactly once."""
    result = await _execute(
        _POST,
        p.kind.value,
        p.operation,
        p.amount,
        p.currency.code,
        p.source_id,
        p.destination_id,
        p.description,
        p.initiator.user_id,
        p.key,
        p.fingerprint,
        BALANCE_CHANNEL,
        _MAX_BALANCE,
    )
    return await _settle(p, result)


async def _settle(p: Posting, result: Record) -> Outcome:
    """The outcome of `p` from the row walletql_post returned."""
    outcome = result["outcome"]
    if outcome in _REFUSALS:
        raise _REFUSALS[outcome](result["detail"])
    if outcome == "DUPLICATE":
        # A concurrent request with the same key committed first: answer with its outcome.
        return _replay(await _stored(p.initiator, p.key), p.fingerprint)
    stored = _stored_row(p, result)
    if outcome == "REJECTED":
        raise _declined(stored, result["available"])
    return Outcome(stored, replayed=False, wallet=_acting_wallet_after(p, result))


# walletql_post's answers that end a request. walletql_transfer and walletql_charge answer
# UNRESOLVED when their wallets do not resolve, and pass on walletql_post's refusals: the
# caller then checks step by step, which says why (or replays what the key did before).
_SETTLED = frozenset({"POSTED", "REJECTED", "DUPLICATE"})


async def post_at_once(r: Request, amount: Decimal, sql: str, *params: object) -> Outcome | None:
    """Post `r` with one statement that finds its wallets and calls walletql_post (migration
    5); None, with nothing written, when it does not settle the request. `params` are the
    function's own; the ones both functions end with (description, key, fingerprint, channel,
    largest balance) are added here."""
    tail = (r.description, r.key, r.fingerprint, BALANCE_CHANNEL, _MAX_BALANCE)
    result = await _execute(sql, *params, *tail)
    if result["outcome"] not in _SETTLED:
        return None
    acting = Wallet._init_from_db(**result["acting_wallet"])
    posting = r.posting(
        amount,
        get_currency(acting.currency),
        result["source_id"],
        result["destination_id"],
        acting,
    )
    return await _settle(posting, result)
