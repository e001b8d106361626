"""The one posting route. Every movement of money (deposit, withdrawal, transfer, charge,
operation, hold, capture, release, refund) takes it, the way TigerBeetle's create_transfers
does: one place decides, and it answers one outcome code.

1. Python, before any wallet is read: the kind's module (payments.py, transfers.py,
   charges.py, holds.py, refunds.py) checks the caller's role, validates the input (idempotency
   key, description, exactly-one-of fields, the amount's form: `money.amount_input`) and
   computes the request's fingerprint.
2. One SQL call, so one database transaction with no network round trip while a lock is held
   (walletql/migrations/models/8_*: walletql_outside, walletql_transfer, walletql_charge,
   walletql_apply_operation, walletql_authorize, walletql_capture, walletql_void_hold and
   walletql_refund find the wallets, by id, payment token, recipient user, hold or original
   transaction, and check ownership and their kind's own rules; all end in walletql_post): check
   the amount against the currency moved, lock the wallets FOR NO KEY UPDATE in ascending id
   order (no deadlocks; a hold's row is locked before its wallets), check currency, status and
   funds against what is available (balance - held - floor), then post (insert the transaction,
   move the balances and held amounts, bump versions, append the entries, queue pg_notify, which
   leaves exactly when the commit does), or store a REJECTED record, or refuse having written
   nothing.
3. The call answers exactly one outcome code with the figures its error needs; `_ERRORS` maps
   each refusal to its domain error.

Precedence, the first that applies wins (steps 1-7 in Python, raised before the call):

    #   outcome code          when                                        API error
    1   -                     no caller                                   NotAuthenticated
    2   -                     charge or authorize by a non-merchant,      Forbidden
                              applyOperation by a non-operator
    3   -                     idempotencyKey missing, blank, too long     ValidationError BAD_INPUT
    4   -                     description or reason too long,             ValidationError BAD_INPUT
                              unprintable; a charge or hold without one;
                              expiresInSeconds out of 1 s to 30 days
    5   -                     transfer: not exactly one of toWalletId,    ValidationError BAD_INPUT
                              toUserId
    6   -                     operation not exactly a configured code     ValidationError
                                                                          UNKNOWN_OPERATION
    7   -                     amount not a plain positive decimal, or     ValidationError BAD_AMOUNT
                              finer than every currency
    7   -                     an API key without the kind's scope         Forbidden
                              (OPERATIONS for applyOperation, PAYMENTS
                              for the rest): checked as the request is
                              made (Request), so no posting escapes it
    8   REPLAYED              the caller used this key for this request   the stored outcome
    9   IDEMPOTENCY_CONFLICT  ... for another request                     IdempotencyConflict
    10  WALLET_NOT_FOUND      the wallet acted on is missing or not the   NotFound
                              caller's (an operator's: missing)
    10  TOKEN_NOT_FOUND       charge, authorize: no wallet has the token  NotFound
    10  HOLD_NOT_FOUND        capture, void: no such hold, or neither     NotFound
                              placed by the caller nor on their wallet
    10  TRANSACTION_NOT_FOUND refund: no such transaction, or the caller  NotFound
                              is neither side of it nor an operator
    11  SELF_CHARGE           charge, authorize: the token is the         ValidationError
                              merchant's own
    11  HOLD_FORBIDDEN        capture, void: the hold is on the caller's  Forbidden
                              wallet, placed by a merchant
    11  NOT_REFUNDABLE        refund: not a POSTED CHARGE, CAPTURE or     ValidationError
                              TRANSFER
    12  RECIPIENT_NOT_FOUND   transfer: no such wallet, or the user has   NotFound
                              no ACTIVE wallet in the currency
    12  WALLET_NOT_FOUND      charge, authorize: toWalletId is not the    NotFound
                              merchant's
    12  NO_RECEIVING_WALLET   charge, authorize: no ACTIVE merchant       NotFound
                              wallet in the customer's currency
    12  REFUND_FORBIDDEN      refund: the caller paid it                  Forbidden
    12  HOLD_CLOSED           capture, void: not HELD, or past expiresAt  HoldClosed
    13  SELF_TRANSFER         transfer: the recipient is the source       ValidationError
    13  EXCEEDS_REMAINING     capture: above what remains of the hold     ExceedsRemaining
    13  CURRENCY_MISMATCH,    authorize: the merchant's wallet, unlocked  as 15, 16
        WALLET_INACTIVE       (a capture checks it again under its lock)
    14  AMOUNT_TOO_PRECISE    finer than the currency moved (the debited  ValidationError BAD_AMOUNT
                              wallet's; a deposit's wallet's)
    15  CURRENCY_MISMATCH     after locking: the other wallet's (or the   CurrencyMismatch
                              operation's) currency differs
    16  WALLET_INACTIVE       a wallet is not ACTIVE (a release of a      WalletInactive
                              hold goes ahead on any status)
    17  EXCEEDS_REMAINING     refund: above what remains refundable       ExceedsRemaining
                              (checked under the receiving wallet's lock)
    18  INSUFFICIENT_FUNDS    debit > available (not a capture, which     InsufficientFunds
                              draws on its hold); REJECTED stored
    19  BALANCE_TOO_LARGE     the credit would reach 10^20                ValidationError BAD_AMOUNT
    20  POSTED                                                            the payload

A request whose key a concurrent request committed first waits for it on the unique index, then
answers as in 8 or 9. Only 18 and 20 write. tests/api/test_outcome_codes.py checks every row
for deposits, withdrawals, transfers, charges and operations; tests/api/test_holds.py and
test_refunds.py the rows of holds and refunds.

Invariants (checked by `walletql verify`): for every wallet, its entries ordered by version
replay its balance and its held amount exactly, and the held amount is what remains of its HELD
holds; captures never exceed their hold, refunds never their original; per currency, the wallets
hold exactly what came in from outside minus what went out.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
import json
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal

from asyncpg import Record
from asyncpg.exceptions import DeadlockDetectedError, SerializationError

from walletql import ids
from walletql.auth import Principal
from walletql.ledger import characters, money
from walletql.ledger.errors import (
    CurrencyMismatch,
    ExceedsRemaining,
    Forbidden,
    HoldClosed,
    IdempotencyConflict,
    InsufficientFunds,
    LedgerError,
    NotFound,
    ValidationError,
    WalletInactive,
)
from walletql.models import (
    Hold,
    LedgerTransaction,
    Scope,
    TransactionKind,
    TransactionStatus,
    Wallet,
)
from walletql.models.rows import fetch, model
from walletql.settings import MAX_INTEGER_DIGITS

BALANCE_CHANNEL = "walletql_balance"
MAX_RETRIES = 5
MAX_KEY_LENGTH = 200
MAX_DESCRIPTION = 500
MAX_CHARGE_DESCRIPTION = 140


@dataclass(frozen=True, slots=True)
class Request:
    """Who asks for which movement, under which key: step 1's result."""

    kind: TransactionKind
    initiator: Principal
    key: str
    fingerprint: str
    description: str | None = None
    operation: str | None = None

    def __post_init__(self) -> None:
        # Where API keys meet money: no request is made for a key without the scope.
        needed = Scope.OPERATIONS if self.kind == TransactionKind.OPERATION else Scope.PAYMENTS
        self.initiator.require(needed)


@dataclass(frozen=True)
class Outcome:
    transaction: LedgerTransaction
    replayed: bool
    wallet: Wallet | None = None  # the acting wallet right after this posting, when known
    hold: Hold | None = None  # a hold's posting: the hold as it left it (or as it is, replayed)

    @property
    def wallet_id(self) -> int:
        """The wallet the caller acted on: the one debited by a withdrawal, transfer or refund,
        the one credited by a deposit, charge or capture, the target of an operation."""
        t = self.transaction
        debited = t.kind in (
            TransactionKind.WITHDRAWAL,
            TransactionKind.TRANSFER,
            TransactionKind.REFUND,
        )
        wallet_id = t.source_wallet_id if debited else t.destination_wallet_id
        wallet_id = wallet_id or t.source_wallet_id
        assert wallet_id is not None  # every transaction moves money on at least one wallet
        return wallet_id


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


def check_description(
    value: object, limit: int, required: bool = False, field: str = "description"
) -> str | None:
    """A posting's free text (a refund's is its `reason`), stripped; None when blank."""
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise ValidationError("BAD_INPUT", f"{field} is required", field)
        return None
    if not isinstance(value, str) or len(value.strip()) > limit:
        raise ValidationError("BAD_INPUT", f"{field} must be 1 to {limit} characters", field)
    return characters.check(value.strip(), field)


def fingerprint(kind: TransactionKind, **request: object) -> str:
    """A hash of the canonical request: same key + same fingerprint = the same request."""
    canonical = json.dumps({"kind": kind.value, **request}, sort_keys=True, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def canonical_amount(value: Decimal) -> str:
    """Canonical form for the fingerprint, so "10" and "10.00" are the same request."""
    # In the exact MONEY context: the default 28 digits would make two amounts that differ
    # only in their 29th digit the same request.
    return format(money.MONEY.normalize(value), "f")


# The largest balance NUMERIC(38, 18) holds is below 10^20 (20 integer digits).
MAX_BALANCE = Decimal(10) ** MAX_INTEGER_DIGITS


Turns = contextlib.AbstractAsyncContextManager[None]


def posting_turns(size: int) -> Turns:
    """Turns to send a posting statement: at most `size` (WALLETQL_POSTING_CONCURRENCY) at once
    in a process, which makes them once (walletql.services); 0 is no limit.

    PostgreSQL serializes every commit that notifies (one cluster-wide lock, held through the
    WAL flush), and a hot wallet's row lock serializes its postings: backends beyond a few only
    queue there, each one put to sleep and woken by PostgreSQL. Waiting here instead is an
    asyncio wake-up (bench/FINDINGS.md, finding 21). Reads and sign-ins never wait for a
    turn, and nothing runs inside one but the statement. (A Semaphore belongs to the event
    loop it first waits on: one process, one loop.)"""
    return asyncio.Semaphore(size) if size else contextlib.nullcontext()


class CountedTurns:
    """Turns that also count what each posting statement answered, by the posting's kind and
    the database's outcome code (walletql.metrics): what walletql.services makes when
    WALLETQL_METRICS is on. Every posting takes a turn, so every posting is counted, whichever
    mutation, batch or sweep sent it; without metrics, nothing is counted and nothing wraps."""

    __slots__ = ("_turns", "count")

    def __init__(self, turns: Turns, count: Callable[[str, str, int], None]) -> None:
        self._turns = turns
        self.count = count  # (kind, outcome code, how many)

    async def __aenter__(self) -> None:
        await self._turns.__aenter__()

    async def __aexit__(self, *exc_info: object) -> bool | None:
        return await self._turns.__aexit__(*exc_info)  # type: ignore[arg-type]


def counted(turns: Turns, kind: str, code: str, count: int = 1) -> None:
    """Tell the turns' counter (if any) that `count` postings of `kind` answered `code`."""
    if type(turns) is CountedTurns:
        turns.count(kind, code, count)


@dataclass(frozen=True, slots=True)
class Posting:
    """Step 1's result: the request; the kind's SQL function and its own arguments, by name, in
    the function's order (the ones every function ends with follow); the currencies the
    movement may be in, by code (the configured ones; an operation's own)."""

    request: Request
    function: str
    args: Mapping[str, object]
    currencies: Mapping[str, money.Currency]

    def tail(self) -> tuple[object, ...]:
        r = self.request
        return (r.description, r.key, r.fingerprint, BALANCE_CHANNEL, MAX_BALANCE)


@functools.cache
def _statement(function: str, count: int) -> str:
    placeholders = ", ".join(f"${n}" for n in range(1, count + 1))
    return f"SELECT * FROM {function}({placeholders})"


async def post(posting: Posting, turns: Turns) -> Outcome:
    """Step 2 and 3: run the kind's function in one of `turns`, and settle its answer."""
    params = (*posting.args.values(), *posting.tail())
    (row,) = await execute(turns, _statement(posting.function, len(params)), *params)
    counted(turns, posting.request.kind, row["outcome"])
    return settle(posting, row)


def settle(posting: Posting, row: Record) -> Outcome:
    """The answer of a posting function's row: the Outcome, or the refusal's domain error."""
    return _settle(posting.request, row, posting.currencies)


def _settle(request: Request, row: Record, currencies: Mapping[str, money.Currency]) -> Outcome:
    code = row["outcome"]
    if code in ("POSTED", "REPLAYED"):
        transaction = model(LedgerTransaction, row["tx"])
        if transaction.status == TransactionStatus.REJECTED:  # a replayed decline
            raise _declined(transaction)
        acted_on = row["wallet"] if code == "POSTED" else None  # a hold's posts on none
        wallet = model(Wallet, acted_on) if acted_on is not None else None
        hold = model(Hold, row["hold"]) if row["hold"] is not None else None
        return Outcome(transaction, replayed=code == "REPLAYED", wallet=wallet, hold=hold)
    if code == "INSUFFICIENT_FUNDS":
        raise _declined(model(LedgerTransaction, row["tx"]))
    raise _ERRORS[code](request, row, currencies)


def _declined(stored: LedgerTransaction) -> InsufficientFunds:
    """The answer to a declined debit. `available` is the debited wallet's figure, told only to
    a caller who may read that wallet: its owner (a withdrawal, a transfer from it, a refund) or
    an operator (an operation). A merchant's charge or hold is on a customer's wallet, and a
    merchant never learns a customer's balance."""
    available = stored.available
    if TransactionKind(stored.kind) in (TransactionKind.CHARGE, TransactionKind.HOLD):
        available = None
    elif available is None:  # a record stored before the figure was kept
        available = Decimal(0)
    return InsufficientFunds(
        "Insufficient funds", available=available, requested=stored.amount, transaction=stored
    )


def _currency_mismatch(request: Request, row: Record, *_: object) -> CurrencyMismatch:
    moved, other = row["currency"], row["other_currency"]
    if request.kind == TransactionKind.CHARGE:
        return CurrencyMismatch(f"The customer wallet holds {moved}, yours {other}")
    if request.kind == TransactionKind.OPERATION:
        return CurrencyMismatch(f"{request.operation} moves {moved}; the wallet holds {other}")
    return CurrencyMismatch(f"Cannot transfer {moved} to a {other} wallet")


def _no_receiving_wallet(request: Request, row: Record, *_: object) -> NotFound:
    code = row["currency"]
    return NotFound(
        f"You have no active {code} wallet to receive this charge: "
        f'create one with createWallet(currency: "{code}") first'
    )


def _inactive(request: Request, row: Record, *_: object) -> WalletInactive:
    wallet = row["wallet"]
    public_id = ids.encode(ids.WALLET, wallet["id"])
    return WalletInactive(f"Wallet {public_id} is {wallet['status'].lower()}")


def _hold_closed(request: Request, row: Record, *_: object) -> HoldClosed:
    hold = model(Hold, row["hold"])
    return HoldClosed(f"The hold is {_closed_state(hold)}", hold=hold)


def _closed_state(hold: Hold) -> str:
    status = str(hold.status)
    return "expired" if status == "HELD" else status.lower()  # HELD: past expires_at


def _exceeds_remaining(
    request: Request, row: Record, currencies: Mapping[str, money.Currency]
) -> ExceedsRemaining:
    remaining, requested = row["remaining"], row["requested"]
    what = "of the hold" if request.kind == TransactionKind.CAPTURE else "refundable"
    return ExceedsRemaining(
        f"Only {remaining} remains {what}", remaining, requested, currency=row["currency"]
    )


# Each refusal's domain error: the one place an outcome code becomes what the caller reads.
_ERRORS: dict[str, Callable[[Request, Record, Mapping[str, money.Currency]], LedgerError]] = {
    "IDEMPOTENCY_CONFLICT": lambda *_: IdempotencyConflict(
        "This idempotency key was already used with a different request"
    ),
    "WALLET_NOT_FOUND": lambda *_: NotFound("Wallet not found"),
    "TOKEN_NOT_FOUND": lambda *_: NotFound("No wallet has that payment token"),
    "SELF_CHARGE": lambda *_: ValidationError(
        "SELF_CHARGE", "A merchant cannot charge its own wallet", "walletToken"
    ),
    "AMOUNT_TOO_PRECISE": lambda request, row, currencies: money.too_precise(
        money.get_currency(currencies, row["currency"])
    ),
    "RECIPIENT_NOT_FOUND": lambda *_: NotFound("Recipient wallet not found"),
    "NO_RECEIVING_WALLET": _no_receiving_wallet,
    "SELF_TRANSFER": lambda *_: ValidationError(
        "SELF_TRANSFER", "Source and target are the same wallet", "toWalletId"
    ),
    "CURRENCY_MISMATCH": _currency_mismatch,
    "WALLET_INACTIVE": _inactive,
    "HOLD_NOT_FOUND": lambda *_: NotFound("Hold not found"),
    "HOLD_FORBIDDEN": lambda *_: Forbidden(
        "Only the merchant that placed a hold can capture or void it"
    ),
    "HOLD_CLOSED": _hold_closed,
    "EXCEEDS_REMAINING": _exceeds_remaining,
    "TRANSACTION_NOT_FOUND": lambda *_: NotFound("Transaction not found"),
    "NOT_REFUNDABLE": lambda *_: ValidationError(
        "NOT_REFUNDABLE",
        "Only a posted charge, capture or transfer can be refunded",
        "transactionId",
    ),
    "REFUND_FORBIDDEN": lambda *_: Forbidden(
        "Only the receiver of a payment (or an operator) can refund it"
    ),
    "BALANCE_TOO_LARGE": lambda *_: ValidationError(
        "BAD_AMOUNT", "The balance would exceed the largest amount held", "amount"
    ),
}


async def execute(turns: Turns, sql: str, *params: object) -> list[Record]:
    """The rows of a posting statement; retries deadlocks and serialization failures (the
    statement is its own transaction, so a retry repeats all of it)."""
    attempt = 0
    while True:
        try:
            async with turns:
                return await fetch(sql, *params)
        except (DeadlockDetectedError, SerializationError):
            attempt += 1
            if attempt >= MAX_RETRIES:
                raise
            await asyncio.sleep(random.uniform(0.001, 0.01) * attempt)
