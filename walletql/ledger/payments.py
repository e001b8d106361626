"""Deposits, withdrawals and operations: step 1 of the posting route (posting.py) for the
movements between one wallet and the outside world."""

from __future__ import annotations

from collections.abc import Mapping

from walletql import ids
from walletql.auth import Principal
from walletql.ledger import accounts
from walletql.ledger.errors import Forbidden
from walletql.ledger.money import Currency, amount_input
from walletql.ledger.operations import Operation, get_operation
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
from walletql.models import Role, TransactionKind

_OUTSIDE = "walletql_outside"
_APPLY_OPERATION = "walletql_apply_operation"


def prepare_outside(
    kind: TransactionKind,
    actor: Principal,
    wallet_id: object,
    amount: object,
    key: object,
    description: object,
    currencies: Mapping[str, Currency],
) -> Posting:
    """Money in from outside (a deposit) or out to it (a withdrawal), on the caller's wallet."""
    key = check_key(key)
    description = check_description(description, MAX_DESCRIPTION)
    value, accepting = amount_input(currencies, amount)
    print_ = fingerprint(
        kind,
        wallet=accounts.fingerprint_id(wallet_id, ids.WALLET),
        amount=canonical_amount(value),
        description=description,
    )
    args = {
        "kind": kind.value,
        "initiator": actor.user_id,
        "wallet": accounts.named_id(wallet_id, ids.WALLET),
        "amount": value,
        "accepting": accepting,
    }
    return Posting(Request(kind, actor, key, print_, description), _OUTSIDE, args, currencies)


async def deposit(
    actor: Principal,
    wallet_id: object,
    amount: object,
    key: object,
    description: object = None,
    *,
    currencies: Mapping[str, Currency],
    turns: Turns,
) -> Outcome:
    """`currencies`: the configured ones; `turns`: this process's posting turns."""
    deposit = prepare_outside(
        TransactionKind.DEPOSIT, actor, wallet_id, amount, key, description, currencies
    )
    return await post(deposit, turns)


async def withdraw(
    actor: Principal,
    wallet_id: object,
    amount: object,
    key: object,
    description: object = None,
    *,
    currencies: Mapping[str, Currency],
    turns: Turns,
) -> Outcome:
    withdrawal = prepare_outside(
        TransactionKind.WITHDRAWAL, actor, wallet_id, amount, key, description, currencies
    )
    return await post(withdrawal, turns)


async def apply_operation(
    actor: Principal,
    wallet_id: object,
    operation_code: object,
    key: object,
    *,
    operations: Mapping[str, Operation],
    turns: Turns,
) -> Outcome:
    """A configured operation (one of `operations`) on any wallet, by an operator; its amount
    and currency come from configuration only."""
    return await post(prepare_operation(actor, wallet_id, operation_code, key, operations), turns)


def prepare_operation(
    actor: Principal,
    wallet_id: object,
    operation_code: object,
    key: object,
    operations: Mapping[str, Operation],
) -> Posting:
    if actor.role != Role.OPERATOR:
        raise Forbidden("Only operator accounts can apply ledger operations")
    key = check_key(key)
    operation = get_operation(operations, operation_code)
    print_ = fingerprint(
        TransactionKind.OPERATION,
        wallet=accounts.fingerprint_id(wallet_id, ids.WALLET),
        op=operation.code,
    )
    request = Request(TransactionKind.OPERATION, actor, key, print_, operation=operation.code)
    args = {
        "initiator": actor.user_id,
        "wallet": accounts.named_id(wallet_id, ids.WALLET),
        "operation": operation.code,
        "amount": operation.amount,
        "currency": operation.currency.code,
    }
    currencies = {operation.currency.code: operation.currency}
    return Posting(request, _APPLY_OPERATION, args, currencies)
