"""Three of the five ways money moves: deposit, withdraw and apply_operation (transfers.py and
charges.py hold the other two).

Each validates what needs no lock (ownership, amount, currencies, roles), builds a Posting and
hands it to the one write path in posting.py.
"""

from __future__ import annotations

from walletql import ids
from walletql.auth import Principal
from walletql.ledger import accounts
from walletql.ledger.errors import CurrencyMismatch, Forbidden, NotFound
from walletql.ledger.money import get_currency, parse_amount
from walletql.ledger.operations import get_operation
from walletql.ledger.posting import (
    MAX_DESCRIPTION,
    Outcome,
    Posting,
    Request,
    canonical_amount,
    check_description,
    check_key,
    fingerprint,
    post_or_replay,
)
from walletql.models import Role, TransactionKind, Wallet
from walletql.models.rows import fetch_one


async def _outside(
    kind: TransactionKind,
    actor: Principal,
    wallet_id: object,
    amount: object,
    key: object,
    description: object,
) -> Outcome:
    """A deposit (money in from outside) or a withdrawal (money out), on the caller's wallet."""
    key = check_key(key)
    description = check_description(description, MAX_DESCRIPTION)
    print_ = fingerprint(
        kind,
        wallet=accounts.fingerprint_id(wallet_id, ids.WALLET),
        amount=canonical_amount(amount),
        description=description,
    )
    wallet = await accounts.owned_wallet(actor, wallet_id)
    currency = get_currency(wallet.currency)
    value = parse_amount(amount, currency)
    incoming = kind == TransactionKind.DEPOSIT
    request = Request(kind, actor, key, print_, description)

    async def resolve() -> Posting:
        source, destination = (None, wallet.id) if incoming else (wallet.id, None)
        return request.posting(value, currency, source, destination, wallet)

    # A malformed amount is refused above even under a used key: only a well-formed request replays.
    return await post_or_replay(actor, key, print_, resolve)


async def deposit(
    actor: Principal, wallet_id: object, amount: object, key: object, description: object = None
) -> Outcome:
    return await _outside(TransactionKind.DEPOSIT, actor, wallet_id, amount, key, description)


async def withdraw(
    actor: Principal, wallet_id: object, amount: object, key: object, description: object = None
) -> Outcome:
    return await _outside(TransactionKind.WITHDRAWAL, actor, wallet_id, amount, key, description)


async def apply_operation(
    actor: Principal, wallet_id: object, operation_code: object, key: object
) -> Outcome:
    if actor.role != Role.OPERATOR:
        raise Forbidden("Only operator accounts can apply ledger operations")
    key = check_key(key)
    operation = get_operation(operation_code)
    print_ = fingerprint(
        TransactionKind.OPERATION,
        wallet=accounts.fingerprint_id(wallet_id, ids.WALLET),
        op=operation.code,
    )
    request = Request(TransactionKind.OPERATION, actor, key, print_, operation=operation.code)

    async def resolve() -> Posting:
        wallet = await fetch_one(
            Wallet,
            "SELECT * FROM wallets WHERE id = $1",
            accounts.parse_id(wallet_id, ids.WALLET, "Wallet not found"),
        )
        if wallet is None:
            raise NotFound("Wallet not found")
        if wallet.currency != operation.currency.code:
            raise CurrencyMismatch(
                f"{operation.code} moves {operation.currency.code}; "
                f"the wallet holds {wallet.currency}"
            )
        debit = operation.amount < 0
        source, destination = (wallet.id, None) if debit else (None, wallet.id)
        return request.posting(
            operation.amount.copy_abs(), operation.currency, source, destination, wallet
        )

    return await post_or_replay(actor, key, print_, resolve)
