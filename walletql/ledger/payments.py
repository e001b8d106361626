"""Four of the five ways money moves: deposit, withdraw, charge and apply_operation (transfer
has a module of its own, transfers.py).

Each validates what needs no lock (ownership, amount, currencies, roles), builds a Posting and
hands it to the one write path in posting.py.
"""

from __future__ import annotations

import hashlib

from walletql.auth import Principal
from walletql.ledger import accounts
from walletql.ledger.errors import CurrencyMismatch, Forbidden, NotFound, ValidationError
from walletql.ledger.money import Currency, get_currency, parse_amount
from walletql.ledger.operations import get_operation
from walletql.ledger.posting import (
    MAX_CHARGE_DESCRIPTION,
    MAX_DESCRIPTION,
    Outcome,
    Posting,
    canonical_amount,
    check_description,
    check_key,
    fingerprint,
    post_or_replay,
)
from walletql.models import Role, TransactionKind, Wallet
from walletql.models.rows import fetch, fetch_one


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
        kind, wallet=str(wallet_id), amount=canonical_amount(amount), description=description
    )
    wallet = await accounts.owned_wallet(actor, wallet_id)
    currency = get_currency(wallet.currency)
    value = parse_amount(amount, currency)
    incoming = kind == TransactionKind.DEPOSIT

    async def resolve() -> Posting:
        return Posting(
            kind=kind,
            initiator=actor,
            key=key,
            fingerprint=print_,
            amount=value,
            currency=currency,
            source_id=None if incoming else wallet.id,
            destination_id=wallet.id if incoming else None,
            description=description,
            acting_wallet=wallet,
        )

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
    key = check_key(key)
    description = check_description(description, MAX_CHARGE_DESCRIPTION, required=True)
    token = wallet_token if isinstance(wallet_token, str) else ""
    print_ = fingerprint(
        TransactionKind.CHARGE,
        token=hashlib.sha256(token.encode()).hexdigest(),
        to_wallet=str(to_wallet_id),
        amount=canonical_amount(amount),
        description=description,
    )
    customer, merchant = await _customer_and_merchant(actor, token, to_wallet_id)
    if customer is None:
        raise NotFound("No wallet has that payment token")
    if customer.owner_id == actor.user_id:
        raise ValidationError(
            "SELF_CHARGE", "A merchant cannot charge its own wallet", "walletToken"
        )
    currency = get_currency(customer.currency)
    value = parse_amount(amount, currency)

    async def resolve() -> Posting:
        receiving = _merchant_wallet(merchant, to_wallet_id, currency)
        return Posting(
            kind=TransactionKind.CHARGE,
            initiator=actor,
            key=key,
            fingerprint=print_,
            amount=value,
            currency=currency,
            source_id=customer.id,
            destination_id=receiving.id,
            description=description,
            acting_wallet=receiving,
        )

    return await post_or_replay(actor, key, print_, resolve)


# The customer's wallet (by its token) and, in the same statement, the merchant's wallet that
# receives: the one toWalletId names, or else its first active wallet in the customer's currency.
_CUSTOMER_AND_NAMED = """
SELECT *, payment_token = $1 AS is_customer FROM wallets
WHERE payment_token = $1 OR (id = $3 AND owner_id = $2)
"""
_CUSTOMER_AND_FIRST_ACTIVE = """
WITH customer AS (SELECT * FROM wallets WHERE payment_token = $1)
SELECT *, true AS is_customer FROM customer
UNION ALL
(SELECT w.*, false FROM wallets AS w JOIN customer AS c ON w.currency = c.currency
 WHERE w.owner_id = $2 AND w.status = 'ACTIVE' ORDER BY w.id LIMIT 1)
"""


async def _customer_and_merchant(
    actor: Principal, token: str, to_wallet_id: object
) -> tuple[Wallet | None, Wallet | None]:
    if not 0 < len(token) <= 64:
        return None, None
    if to_wallet_id is None:
        rows = await _fetch_flagged(_CUSTOMER_AND_FIRST_ACTIVE, token, actor.user_id)
    else:
        rows = await _fetch_flagged(
            _CUSTOMER_AND_NAMED, token, actor.user_id, accounts.id_or_none(to_wallet_id)
        )
    customer = next((w for flag, w in rows if flag), None)
    merchant = next((w for flag, w in rows if not flag), None)
    return customer, merchant


async def _fetch_flagged(sql: str, *params: object) -> list[tuple[bool, Wallet]]:
    flagged = []
    for row in await fetch(sql, *params):
        columns = dict(row)
        flagged.append((columns.pop("is_customer"), Wallet._init_from_db(**columns)))
    return flagged


def _merchant_wallet(merchant: Wallet | None, to_wallet_id: object, currency: Currency) -> Wallet:
    if to_wallet_id is not None:
        if merchant is None:
            raise NotFound("Wallet not found")
        if merchant.currency != currency.code:
            raise CurrencyMismatch(
                f"The customer wallet holds {currency.code}, yours {merchant.currency}"
            )
        return merchant
    if merchant is None:
        raise NotFound(
            f"You have no active {currency.code} wallet to receive this charge: "
            f'create one with createWallet(currency: "{currency.code}") first'
        )
    return merchant


async def apply_operation(
    actor: Principal, wallet_id: object, operation_code: object, key: object
) -> Outcome:
    if actor.role != Role.OPERATOR:
        raise Forbidden("Only operator accounts can apply ledger operations")
    key = check_key(key)
    operation = get_operation(operation_code)
    print_ = fingerprint(TransactionKind.OPERATION, wallet=str(wallet_id), op=operation.code)

    async def resolve() -> Posting:
        wallet = await fetch_one(
            Wallet,
            "SELECT * FROM wallets WHERE id = $1",
            accounts.parse_id(wallet_id, "Wallet not found"),
        )
        if wallet is None:
            raise NotFound("Wallet not found")
        if wallet.currency != operation.currency.code:
            raise CurrencyMismatch(
                f"{operation.code} moves {operation.currency.code}; "
                f"the wallet holds {wallet.currency}"
            )
        debit = operation.amount < 0
        return Posting(
            kind=TransactionKind.OPERATION,
            initiator=actor,
            key=key,
            fingerprint=print_,
            amount=operation.amount.copy_abs(),
            currency=operation.currency,
            source_id=wallet.id if debit else None,
            destination_id=None if debit else wallet.id,
            operation=operation.code,
            acting_wallet=wallet,
        )

    return await post_or_replay(actor, key, print_, resolve)
