"""The one write path for money. Every deposit, withdrawal, transfer, charge and operation
goes through `post()`, in one database transaction:

1. idempotency: a known (initiator, key) replays its stored outcome, or is a conflict;
2. lock the wallets that move, FOR NO KEY UPDATE, in ascending id order (no deadlocks);
3. check status, currency and funds against the floor; a failed funds check stores a
   REJECTED transaction and commits it;
4. post: one statement inserts the transaction, moves the balances, bumps versions, appends
   the entries and queues pg_notify, so the notification leaves exactly when the commit does.

Invariants (checked by `walletql verify`): for every wallet, its entries ordered by version
replay its balance exactly and the newest balance_after equals the balance; per currency, the
wallets hold exactly what came in from outside minus what went out.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import random
from dataclasses import dataclass
from decimal import Decimal

from asyncpg.exceptions import DeadlockDetectedError, SerializationError
from tortoise.transactions import in_transaction

from walletql.auth import Principal
from walletql.ledger import accounts
from walletql.ledger.errors import (
    CurrencyMismatch,
    Forbidden,
    IdempotencyConflict,
    InsufficientFunds,
    NotFound,
    ValidationError,
    WalletInactive,
)
from walletql.ledger.money import MONEY, Currency, add, get_currency, parse_amount, subtract
from walletql.ledger.operations import get_operation
from walletql.models import LedgerTransaction, Role, TransactionKind, Wallet
from walletql.settings import MAX_INTEGER_DIGITS

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


@dataclass(frozen=True)
class Outcome:
    transaction: LedgerTransaction
    replayed: bool

    @property
    def wallet_id(self) -> int:
        """The wallet the caller acted on: the one debited by a withdrawal or transfer, the one
        credited by a deposit or charge, the target of an operation."""
        t = self.transaction
        if t.kind in (TransactionKind.WITHDRAWAL, TransactionKind.TRANSFER):
            return t.source_wallet_id
        return t.destination_wallet_id or t.source_wallet_id


def _key(value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValidationError("BAD_INPUT", "idempotencyKey is required", "idempotencyKey")
    if len(value) > MAX_KEY_LENGTH or any(ord(c) < 32 for c in value):
        raise ValidationError(
            "BAD_INPUT",
            f"idempotencyKey must be 1-{MAX_KEY_LENGTH} printable characters",
            "idempotencyKey",
        )
    return value


def _description(value: object, limit: int, required: bool = False) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise ValidationError("BAD_INPUT", "description is required", "description")
        return None
    if not isinstance(value, str) or len(value.strip()) > limit:
        raise ValidationError(
            "BAD_INPUT", f"description must be 1 to {limit} characters", "description"
        )
    return value.strip()


def fingerprint(kind: TransactionKind, **request: object) -> str:
    """A hash of the canonical request: same key + same fingerprint = the same request."""
    canonical = json.dumps({"kind": kind.value, **request}, sort_keys=True, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _amount_text(value: object) -> str:
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
        raise InsufficientFunds(
            "Insufficient funds",
            available=stored.available if stored.available is not None else Decimal(0),
            requested=stored.amount,
            transaction=stored,
        )
    return Outcome(stored, replayed=True)


async def _replay_if_known(initiator: Principal, key: str, print_: str) -> Outcome | None:
    stored = await _stored(initiator, key)
    return None if stored is None else _replay(stored, print_)


_LOCK = """
SELECT id, currency, balance, minimum_balance, status
FROM wallets WHERE id = ANY($1::bigint[]) ORDER BY id FOR NO KEY UPDATE
"""

_REJECT = """
INSERT INTO transactions (kind, status, operation, amount, currency, source_wallet_id,
    destination_wallet_id, description, initiator_id, idempotency_key, fingerprint,
    failure_reason, available)
VALUES ($1, 'REJECTED', $2, $3, $4, $5, $6, $7, $8, $9, $10, 'INSUFFICIENT_FUNDS', $11)
ON CONFLICT (initiator_id, idempotency_key) DO NOTHING
RETURNING id
"""

# One round trip while the locks are held: transaction, balances, entries, notifications.
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


async def _post_once(p: Posting) -> tuple[int | None, Decimal | None]:
    """One attempt: (transaction id, or None when a concurrent request with the same key
    committed first; the available funds when the debit was REJECTED, else None)."""
    wallet_ids = sorted(i for i in (p.source_id, p.destination_id) if i is not None)
    async with in_transaction() as conn:
        _, rows = await conn.execute_query(_LOCK, [wallet_ids])
        wallets = {row["id"]: row for row in rows}
        if len(wallets) != len(wallet_ids):
            raise NotFound("Wallet not found")
        for row in wallets.values():
            if row["status"] != "ACTIVE":
                raise WalletInactive(f"Wallet {row['id']} is {row['status'].lower()}")
            if row["currency"] != p.currency.code:
                raise CurrencyMismatch(
                    f"Wallet {row['id']} holds {row['currency']}, not {p.currency.code}"
                )
        common = [
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
        ]
        if p.source_id is not None:
            source = wallets[p.source_id]
            available = subtract(source["balance"], source["minimum_balance"])
            if p.amount > available:
                _, inserted = await conn.execute_query(_REJECT, [*common, available])
                return (inserted[0]["id"] if inserted else None), available
        if p.destination_id is not None:
            _check_headroom(add(wallets[p.destination_id]["balance"], p.amount))
        deltas = []
        if p.source_id is not None:
            # copy_negate is exact; unary minus would round to the default 28 digits.
            deltas.append((p.source_id, p.amount.copy_negate()))
        if p.destination_id is not None:
            deltas.append((p.destination_id, p.amount))
        _, posted = await conn.execute_query(
            _POST,
            [*common, [w for w, _ in deltas], [d for _, d in deltas], BALANCE_CHANNEL],
        )
        return (posted[0]["transaction_id"], None) if posted else (None, None)


def _check_headroom(balance: Decimal) -> None:
    # copy_abs is exact; abs() rounds to the default 28 digits (38 fit in the column).
    if balance.copy_abs() >= Decimal(10) ** MAX_INTEGER_DIGITS:
        raise ValidationError("BAD_AMOUNT", "The balance would exceed the largest amount held")


async def post(p: Posting) -> Outcome:
    """Post or reject `p` exactly once; retries deadlocks and serialization failures."""
    attempt = 0
    while True:
        try:
            transaction_id, rejected_available = await _post_once(p)
            break
        except (DeadlockDetectedError, SerializationError):
            attempt += 1
            if attempt >= MAX_RETRIES:
                raise
            await asyncio.sleep(random.uniform(0.001, 0.01) * attempt)
    if transaction_id is None:
        # A concurrent request with the same key committed first: answer with its outcome.
        return _replay(await _stored(p.initiator, p.key), p.fingerprint)
    stored = await LedgerTransaction.get(id=transaction_id)
    if rejected_available is not None:
        raise InsufficientFunds(
            "Insufficient funds",
            available=rejected_available,
            requested=p.amount,
            transaction=stored,
        )
    return Outcome(stored, replayed=False)


# --- the five movements -------------------------------------------------------------------


async def _outside(
    kind: TransactionKind,
    actor: Principal,
    wallet_id: object,
    amount: object,
    key: object,
    description: object,
) -> Outcome:
    """A deposit (money in from outside) or a withdrawal (money out), on the caller's wallet."""
    key = _key(key)
    description = _description(description, MAX_DESCRIPTION)
    print_ = fingerprint(
        kind, wallet=str(wallet_id), amount=_amount_text(amount), description=description
    )
    wallet = await accounts.owned_wallet(actor, wallet_id)
    currency = get_currency(wallet.currency)
    value = parse_amount(amount, currency)
    # Replay only a well-formed request: a malformed amount under a used key stays malformed.
    if (replayed := await _replay_if_known(actor, key, print_)) is not None:
        return replayed
    incoming = kind == TransactionKind.DEPOSIT
    return await post(
        Posting(
            kind=kind,
            initiator=actor,
            key=key,
            fingerprint=print_,
            amount=value,
            currency=currency,
            source_id=None if incoming else wallet.id,
            destination_id=wallet.id if incoming else None,
            description=description,
        )
    )


async def deposit(
    actor: Principal, wallet_id: object, amount: object, key: object, description: object = None
) -> Outcome:
    return await _outside(TransactionKind.DEPOSIT, actor, wallet_id, amount, key, description)


async def withdraw(
    actor: Principal, wallet_id: object, amount: object, key: object, description: object = None
) -> Outcome:
    return await _outside(TransactionKind.WITHDRAWAL, actor, wallet_id, amount, key, description)


_NO_RECIPIENT = "Recipient wallet not found"


async def _recipient_wallet(to_wallet_id: object, to_user_id: object, currency: str) -> Wallet:
    if (to_wallet_id is None) == (to_user_id is None):
        raise ValidationError(
            "BAD_INPUT", "Give exactly one of toWalletId and toUserId", "toWalletId"
        )
    if to_wallet_id is not None:
        wallet = await Wallet.get_or_none(id=accounts.parse_id(to_wallet_id, _NO_RECIPIENT))
    else:
        wallet = (
            await Wallet.filter(
                owner_id=accounts.parse_id(to_user_id, _NO_RECIPIENT),
                currency=currency,
                status="ACTIVE",
            )
            .order_by("id")
            .first()
        )
    if wallet is None:
        raise NotFound(_NO_RECIPIENT)
    return wallet


async def transfer(
    actor: Principal,
    from_wallet_id: object,
    amount: object,
    key: object,
    *,
    to_wallet_id: object = None,
    to_user_id: object = None,
    description: object = None,
) -> Outcome:
    key = _key(key)
    description = _description(description, MAX_DESCRIPTION)
    print_ = fingerprint(
        TransactionKind.TRANSFER,
        source=str(from_wallet_id),
        to_wallet=str(to_wallet_id),
        to_user=str(to_user_id),
        amount=_amount_text(amount),
        description=description,
    )
    source = await accounts.owned_wallet(actor, from_wallet_id)
    currency = get_currency(source.currency)
    value = parse_amount(amount, currency)
    # Replay only a well-formed request: a malformed amount under a used key stays malformed.
    if (replayed := await _replay_if_known(actor, key, print_)) is not None:
        return replayed
    target = await _recipient_wallet(to_wallet_id, to_user_id, source.currency)
    if target.id == source.id:
        raise ValidationError(
            "SELF_TRANSFER", "Source and target are the same wallet", "toWalletId"
        )
    if target.currency != source.currency:
        raise CurrencyMismatch(f"Cannot transfer {source.currency} to a {target.currency} wallet")
    return await post(
        Posting(
            kind=TransactionKind.TRANSFER,
            initiator=actor,
            key=key,
            fingerprint=print_,
            amount=value,
            currency=currency,
            source_id=source.id,
            destination_id=target.id,
            description=description,
        ),
    )


async def charge(
    actor: Principal,
    wallet_token: object,
    amount: object,
    key: object,
    description: object,
    to_wallet_id: object = None,
) -> Outcome:
    if actor.role != Role.MERCHANT:
        raise Forbidden("Only merchants can charge a wallet")
    key = _key(key)
    description = _description(description, MAX_CHARGE_DESCRIPTION, required=True)
    token = wallet_token if isinstance(wallet_token, str) else ""
    print_ = fingerprint(
        TransactionKind.CHARGE,
        token=hashlib.sha256(token.encode()).hexdigest(),
        to_wallet=str(to_wallet_id),
        amount=_amount_text(amount),
        description=description,
    )
    customer = await Wallet.get_or_none(payment_token=token) if 0 < len(token) <= 64 else None
    if customer is None:
        raise NotFound("No wallet has that payment token")
    if customer.owner_id == actor.user_id:
        raise ValidationError(
            "SELF_CHARGE", "A merchant cannot charge its own wallet", "walletToken"
        )
    currency = get_currency(customer.currency)
    value = parse_amount(amount, currency)
    # Replay only a well-formed request: a malformed amount under a used key stays malformed.
    if (replayed := await _replay_if_known(actor, key, print_)) is not None:
        return replayed
    if to_wallet_id is not None:
        merchant = await accounts.owned_wallet(actor, to_wallet_id)
        if merchant.currency != customer.currency:
            raise CurrencyMismatch(
                f"The customer wallet holds {customer.currency}, yours {merchant.currency}"
            )
    else:
        merchant = (
            await Wallet.filter(owner_id=actor.user_id, currency=currency.code, status="ACTIVE")
            .order_by("id")
            .first()
        )
        if merchant is None:
            raise NotFound(
                f"You have no active {currency.code} wallet to receive this charge: "
                f'create one with createWallet(currency: "{currency.code}") first'
            )
    return await post(
        Posting(
            kind=TransactionKind.CHARGE,
            initiator=actor,
            key=key,
            fingerprint=print_,
            amount=value,
            currency=currency,
            source_id=customer.id,
            destination_id=merchant.id,
            description=description,
        ),
    )


async def apply_operation(
    actor: Principal, wallet_id: object, operation_code: object, key: object
) -> Outcome:
    if actor.role != Role.OPERATOR:
        raise Forbidden("Only operator accounts can apply ledger operations")
    key = _key(key)
    operation = get_operation(operation_code)
    print_ = fingerprint(TransactionKind.OPERATION, wallet=str(wallet_id), op=operation.code)
    if (replayed := await _replay_if_known(actor, key, print_)) is not None:
        return replayed
    wallet = await Wallet.get_or_none(id=accounts.parse_id(wallet_id, "Wallet not found"))
    if wallet is None:
        raise NotFound("Wallet not found")
    if wallet.currency != operation.currency.code:
        raise CurrencyMismatch(
            f"{operation.code} moves {operation.currency.code}; the wallet holds {wallet.currency}"
        )
    debit = operation.amount < 0
    return await post(
        Posting(
            kind=TransactionKind.OPERATION,
            initiator=actor,
            key=key,
            fingerprint=print_,
            amount=operation.amount.copy_abs(),
            currency=operation.currency,
            source_id=wallet.id if debit else None,
            destination_id=None if debit else wallet.id,
            operation=operation.code,
        ),
    )
