"""The five ways money moves: deposit, withdraw, transfer, charge and apply_operation.

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
    key = check_key(key)
    description = check_description(description, MAX_DESCRIPTION)
    print_ = fingerprint(
        TransactionKind.TRANSFER,
        source=str(from_wallet_id),
        to_wallet=str(to_wallet_id),
        to_user=str(to_user_id),
        amount=canonical_amount(amount),
        description=description,
    )
    source = await accounts.owned_wallet(actor, from_wallet_id)
    currency = get_currency(source.currency)
    value = parse_amount(amount, currency)

    async def resolve() -> Posting:
        target = await _recipient_wallet(to_wallet_id, to_user_id, source.currency)
        if target.id == source.id:
            raise ValidationError(
                "SELF_TRANSFER", "Source and target are the same wallet", "toWalletId"
            )
        if target.currency != source.currency:
            raise CurrencyMismatch(
                f"Cannot transfer {source.currency} to a {target.currency} wallet"
            )
        return Posting(
            kind=TransactionKind.TRANSFER,
            initiator=actor,
            key=key,
            fingerprint=print_,
            amount=value,
            currency=currency,
            source_id=source.id,
            destination_id=target.id,
            description=description,
        )

    return await post_or_replay(actor, key, print_, resolve)


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
    customer = await Wallet.get_or_none(payment_token=token) if 0 < len(token) <= 64 else None
    if customer is None:
        raise NotFound("No wallet has that payment token")
    if customer.owner_id == actor.user_id:
        raise ValidationError(
            "SELF_CHARGE", "A merchant cannot charge its own wallet", "walletToken"
        )
    currency = get_currency(customer.currency)
    value = parse_amount(amount, currency)

    async def resolve() -> Posting:
        merchant = await _merchant_wallet(actor, to_wallet_id, currency)
        return Posting(
            kind=TransactionKind.CHARGE,
            initiator=actor,
            key=key,
            fingerprint=print_,
            amount=value,
            currency=currency,
            source_id=customer.id,
            destination_id=merchant.id,
            description=description,
        )

    return await post_or_replay(actor, key, print_, resolve)


async def _merchant_wallet(actor: Principal, to_wallet_id: object, currency: Currency) -> Wallet:
    if to_wallet_id is not None:
        merchant = await accounts.owned_wallet(actor, to_wallet_id)
        if merchant.currency != currency.code:
            raise CurrencyMismatch(
                f"The customer wallet holds {currency.code}, yours {merchant.currency}"
            )
        return merchant
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
        wallet = await Wallet.get_or_none(id=accounts.parse_id(wallet_id, "Wallet not found"))
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
        )

    return await post_or_replay(actor, key, print_, resolve)
