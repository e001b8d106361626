"""Refunds: step 1 of the posting route (posting.py) for money returned from the wallet that
received a CHARGE, CAPTURE or TRANSFER to the wallet it came from, and the reads of refunds."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

from walletql import ids
from walletql.auth import Principal
from walletql.ledger import accounts
from walletql.ledger.money import Currency, amount_input
from walletql.ledger.posting import (
    MAX_DESCRIPTION,
    Outcome,
    Posting,
    Request,
    Turns,
    canonical_amount,
    check_description,
    check_key,
    fingerprint,
    post,
)
from walletql.models import LedgerTransaction, Scope, TransactionKind, TransactionStatus
from walletql.models.rows import fetch, model

_REFUND = "walletql_refund"
REFUNDABLE = (TransactionKind.CHARGE, TransactionKind.CAPTURE, TransactionKind.TRANSFER)


async def refund(
    actor: Principal,
    transaction_id: object,
    amount: object,
    key: object,
    reason: object = None,
    *,
    currencies: Mapping[str, Currency],
    turns: Turns,
) -> Outcome:
    """Return `amount` (None: all that remains refundable) of a payment the caller received (an
    operator: any payment) to the wallet it came from; `reason` is the refund's description."""
    return await post(prepare_refund(actor, transaction_id, amount, key, reason, currencies), turns)


def prepare_refund(
    actor: Principal,
    transaction_id: object,
    amount: object,
    key: object,
    reason: object,
    currencies: Mapping[str, Currency],
) -> Posting:
    key = check_key(key)
    description = check_description(reason, MAX_DESCRIPTION, field="reason")
    value, accepting = (None, None) if amount is None else amount_input(currencies, amount)
    print_ = fingerprint(
        TransactionKind.REFUND,
        original=accounts.fingerprint_id(transaction_id, ids.TRANSACTION),
        amount=None if value is None else canonical_amount(value),
        reason=description,
    )
    args = {
        "initiator": actor.user_id,
        "operator": actor.is_operator,
        "original": accounts.named_id(transaction_id, ids.TRANSACTION) or 0,
        "amount": value,
        "accepting": accepting,
    }
    request = Request(TransactionKind.REFUND, actor, key, print_, description)
    return Posting(request, _REFUND, args, currencies)


async def refunds_of(
    actor: Principal | None, original: LedgerTransaction
) -> list[LedgerTransaction]:
    """The refunds of `original`, oldest first. A declined one is shown to the caller who tried
    it and to operators, as a declined credit is in a history. Reading it needs READ."""
    if actor is not None:
        actor.require(Scope.READ)
    rows = await fetch(
        "SELECT * FROM transactions WHERE refund_of_id = $1 ORDER BY id", original.id
    )
    shown = [model(LedgerTransaction, row) for row in rows]
    return [
        t
        for t in shown
        if t.status == TransactionStatus.POSTED
        or (actor is not None and (actor.is_operator or t.initiator_id == actor.user_id))
    ]


async def refunded_amount(original_id: int) -> Decimal:
    """The sum of the POSTED refunds of a transaction."""
    rows = await fetch(
        "SELECT coalesce(sum(amount), 0) AS total FROM transactions "
        "WHERE refund_of_id = $1 AND status = 'POSTED'",
        original_id,
    )
    return rows[0]["total"]
