"""Holds: a merchant reserves money on a customer's wallet (authorize), moves part or all of it
later (capture), or gives it back (void); what is left when it expires is released by the
sweeper. Step 1 of the posting route (posting.py) for each, and the reads of holds."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from walletql import ids
from walletql.auth import Principal
from walletql.ledger import accounts
from walletql.ledger.charges import token_digest, token_input
from walletql.ledger.errors import Forbidden, NotFound, ValidationError
from walletql.ledger.money import Currency, amount_input
from walletql.ledger.posting import (
    BALANCE_CHANNEL,
    MAX_BALANCE,
    MAX_CHARGE_DESCRIPTION,
    Outcome,
    Posting,
    Request,
    Turns,
    canonical_amount,
    check_description,
    check_key,
    counted,
    fingerprint,
    post,
)
from walletql.ledger.reads import MAX_PAGE
from walletql.models import Hold, HoldStatus, LedgerTransaction, Role, TransactionKind, Wallet
from walletql.models.rows import fetch, model

MAX_EXPIRY_SECONDS = 30 * 86400
SWEEP_BATCH = 100  # holds released per statement: short locks, however many expire at once

_EXPIRE = "SELECT walletql_expire_holds($1, $2, $3) AS released"


async def authorize(
    actor: Principal,
    wallet_token: object,
    amount: object,
    key: object,
    description: object,
    to_wallet_id: object = None,
    expires_in_seconds: object = None,
    *,
    currencies: Mapping[str, Currency],
    turns: Turns,
    hold_ttl_seconds: int,
) -> Outcome:
    """A merchant reserves `amount` on the wallet whose payment token it holds, for its own
    wallet (as for a charge), for `expires_in_seconds` (default `hold_ttl_seconds`)."""
    if actor.role != Role.MERCHANT:
        raise Forbidden("Only merchants can authorize a payment")
    key = check_key(key)
    description = check_description(description, MAX_CHARGE_DESCRIPTION, required=True)
    expires_in = _expiry(expires_in_seconds, hold_ttl_seconds)
    value, accepting = amount_input(currencies, amount)
    token = token_input(wallet_token)
    print_ = fingerprint(
        TransactionKind.HOLD,
        token=token_digest(token),
        to_wallet=accounts.fingerprint_id(to_wallet_id, ids.WALLET),
        amount=canonical_amount(value),
        description=description,
        expires_in=expires_in_seconds,
    )
    args = {
        "initiator": actor.user_id,
        "token": token,
        "to_wallet": accounts.named_id(to_wallet_id, ids.WALLET),
        "amount": value,
        "accepting": accepting,
        "expires_in": expires_in,
    }
    request = Request(TransactionKind.HOLD, actor, key, print_, description)
    return await post(Posting(request, "walletql_authorize", args, currencies), turns)


def _expiry(value: object, default: int) -> int:
    if value is None:
        return default
    if (
        isinstance(value, bool)
        or not isinstance(value, int)
        or not 1 <= value <= MAX_EXPIRY_SECONDS
    ):
        raise ValidationError(
            "BAD_INPUT",
            f"expiresInSeconds must be 1 to {MAX_EXPIRY_SECONDS} (30 days)",
            "expiresInSeconds",
        )
    return value


async def capture(
    actor: Principal,
    hold_id: object,
    amount: object,
    key: object,
    final: bool = False,
    *,
    currencies: Mapping[str, Currency],
    turns: Turns,
) -> Outcome:
    """The merchant that placed a hold moves `amount` of it (None: all that remains) to its
    wallet; `final` releases the rest."""
    key = check_key(key)
    value, accepting = (None, None) if amount is None else amount_input(currencies, amount)
    print_ = fingerprint(
        TransactionKind.CAPTURE,
        hold=accounts.fingerprint_id(hold_id, ids.HOLD),
        amount=None if value is None else canonical_amount(value),
        final=bool(final),
    )
    args = {
        "initiator": actor.user_id,
        "hold": accounts.named_id(hold_id, ids.HOLD) or 0,
        "amount": value,
        "final": bool(final),
        "accepting": accepting,
    }
    request = Request(TransactionKind.CAPTURE, actor, key, print_)
    return await post(Posting(request, "walletql_capture", args, currencies), turns)


async def void_hold(
    actor: Principal,
    hold_id: object,
    key: object,
    *,
    currencies: Mapping[str, Currency],
    turns: Turns,
) -> Outcome:
    """The merchant that placed a hold releases all that remains of it."""
    key = check_key(key)
    print_ = fingerprint(TransactionKind.RELEASE, hold=accounts.fingerprint_id(hold_id, ids.HOLD))
    args = {"initiator": actor.user_id, "hold": accounts.named_id(hold_id, ids.HOLD) or 0}
    request = Request(TransactionKind.RELEASE, actor, key, print_)
    return await post(Posting(request, "walletql_void_hold", args, currencies), turns)


async def release_expired(*, turns: Turns) -> int:
    """Release every hold past its expiry; how many were released. Any number of processes may
    run it at once: each takes the holds no other holds (FOR UPDATE SKIP LOCKED)."""
    released = 0
    while True:
        async with turns:
            (row,) = await fetch(_EXPIRE, SWEEP_BATCH, BALANCE_CHANNEL, MAX_BALANCE)
        released += row["released"]
        if row["released"]:
            counted(turns, TransactionKind.RELEASE, "POSTED", row["released"])
        if row["released"] < SWEEP_BATCH:
            return released


# The oldest expiry of a hold still HELD, if it has passed: on the sweeper's own index.
_OLDEST_EXPIRED = """
SELECT EXTRACT(EPOCH FROM now() - min(expires_at))::float8 AS age
FROM holds WHERE status = 'HELD' AND expires_at <= now()
"""


async def oldest_expired_age() -> float:
    """Seconds since the oldest hold not yet released expired (0: none is waiting)."""
    (row,) = await fetch(_OLDEST_EXPIRED)
    return row["age"] or 0.0


# --- reads -------------------------------------------------------------------------------

# Who may see a hold: the owners of either wallet, and operators ($2: the caller, $3: operator).
_VISIBLE = """
SELECT h.* FROM holds AS h
JOIN wallets AS s ON s.id = h.source_wallet_id
JOIN wallets AS d ON d.id = h.destination_wallet_id
WHERE h.id = $1 AND ($3 OR $2 IN (s.owner_id, d.owner_id))
"""


async def hold_for(actor: Principal | None, hold_id: object) -> Hold:
    """A hold on, or payable to, one of the caller's wallets (an operator's: any)."""
    number = accounts.id_or_none(hold_id, ids.HOLD)
    if actor is None or number is None:
        raise NotFound("Hold not found")
    rows = await fetch(_VISIBLE, number, actor.user_id, actor.is_operator)
    if not rows:
        raise NotFound("Hold not found")
    return model(Hold, rows[0])


@dataclass(frozen=True)
class HoldPage:
    holds: list[Hold]
    has_next_page: bool


# Newest first, both sides of the wallet, each served by its own index.
_PAGE = """
SELECT * FROM (
    (SELECT * FROM holds WHERE source_wallet_id = $1 AND id < $2
        AND ($4::varchar IS NULL OR status = $4) ORDER BY id DESC LIMIT $3)
    UNION ALL
    (SELECT * FROM holds WHERE destination_wallet_id = $1 AND id < $2
        AND ($4::varchar IS NULL OR status = $4) ORDER BY id DESC LIMIT $3)
) AS h ORDER BY id DESC LIMIT $3
"""


async def wallet_holds(
    actor: Principal | None,
    wallet: Wallet,
    first: int,
    after: str | None,
    status: HoldStatus | None,
) -> HoldPage:
    """A page of the holds on `wallet` (as the customer's) or payable to it (the merchant's)."""
    accounts.check_reader(actor, wallet)
    if not 1 <= first <= MAX_PAGE:
        raise ValidationError("BAD_INPUT", f"first must be from 1 to {MAX_PAGE}", "first")
    before = ids.MAX_ID
    if after is not None:
        number = ids.decode(ids.HOLD, after)
        if number is None:
            raise ValidationError(
                "BAD_CURSOR", "Invalid cursor: pass an endCursor you were given", "after"
            )
        before = number
    rows = await fetch(_PAGE, wallet.id, before, first + 1, status.value if status else None)
    holds = [model(Hold, row) for row in rows]
    return HoldPage(holds[:first], has_next_page=len(holds) > first)


async def hold_transactions(hold_id: int) -> list[LedgerTransaction]:
    """The HOLD, CAPTURE and RELEASE transactions of a hold, oldest first."""
    rows = await fetch("SELECT * FROM transactions WHERE hold_id = $1 ORDER BY id", hold_id)
    return [model(LedgerTransaction, row) for row in rows]
