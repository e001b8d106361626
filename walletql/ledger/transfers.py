"""Transfers between wallets: from one of the caller's wallets to a wallet named by its id, or
to a user's first active wallet in the same currency.

A transfer that resolves cleanly is posted in one round trip: walletql_transfer (migration 5)
finds both wallets and posts through walletql_post, the one write path. Anything else (a
wallet that is not there, an amount the currency refuses, a self-transfer, a frozen wallet)
writes nothing there, and the checks then run one by one, in their order, to say why.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from walletql.auth import Principal
from walletql.ledger import accounts
from walletql.ledger.errors import CurrencyMismatch, NotFound, ValidationError
from walletql.ledger.money import Currency, currencies_accepting, get_currency, parse_amount
from walletql.ledger.posting import (
    BALANCE_CHANNEL,
    MAX_BALANCE,
    MAX_DESCRIPTION,
    Outcome,
    Posting,
    canonical_amount,
    check_description,
    check_key,
    execute,
    fingerprint,
    post_or_replay,
    settle,
)
from walletql.models import TransactionKind, Wallet
from walletql.models.rows import fetch_all, fetch_one


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
    request = _Request(actor, key, print_, description, from_wallet_id, to_wallet_id, to_user_id)
    outcome = await _at_once(request, amount)
    if outcome is None:
        outcome = await _step_by_step(request, amount)
    return outcome


@dataclass(frozen=True, slots=True)
class _Request:
    """A transfer's checked key, fingerprint and description, and its ids as sent."""

    actor: Principal
    key: str
    print_: str
    description: str | None
    source: object
    to_wallet: object
    to_user: object

    def posting(
        self, amount: Decimal, currency: Currency, source: Wallet, destination_id: int
    ) -> Posting:
        return Posting(
            kind=TransactionKind.TRANSFER,
            initiator=self.actor,
            key=self.key,
            fingerprint=self.print_,
            amount=amount,
            currency=currency,
            source_id=source.id,
            destination_id=destination_id,
            description=self.description,
            acting_wallet=source,
        )


_TRANSFER = """
SELECT * FROM walletql_transfer($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
"""
# walletql_post's answers that end a request; any other is a refusal, explained step by step.
_SETTLED = frozenset({"POSTED", "REJECTED", "DUPLICATE"})


async def _at_once(r: _Request, amount: object) -> Outcome | None:
    """The transfer in one statement, or None (nothing written) when it does not resolve."""
    source_id = accounts.id_or_none(r.source)
    to_wallet = accounts.id_or_none(r.to_wallet)
    to_user = accounts.id_or_none(r.to_user)
    value, accepting = currencies_accepting(amount)
    if source_id is None or not accepting or (to_wallet is None) == (to_user is None):
        return None
    result = await execute(
        _TRANSFER,
        r.actor.user_id,
        source_id,
        to_wallet,
        to_user,
        value,
        accepting,
        r.description,
        r.key,
        r.print_,
        BALANCE_CHANNEL,
        MAX_BALANCE,
    )
    if result["outcome"] not in _SETTLED:
        return None
    source = Wallet._init_from_db(**result["source_wallet"])
    currency = get_currency(source.currency)
    return await settle(r.posting(value, currency, source, result["destination_id"]), result)


async def _step_by_step(r: _Request, amount: object) -> Outcome:
    source, named = await _source_and_recipient(
        r.actor, r.source, r.to_wallet if r.to_user is None else None
    )
    currency = get_currency(source.currency)
    value = parse_amount(amount, currency)

    async def resolve() -> Posting:
        target = await _recipient_wallet(r.to_wallet, r.to_user, source.currency, named)
        if target.id == source.id:
            raise ValidationError(
                "SELF_TRANSFER", "Source and target are the same wallet", "toWalletId"
            )
        if target.currency != source.currency:
            raise CurrencyMismatch(
                f"Cannot transfer {source.currency} to a {target.currency} wallet"
            )
        return r.posting(value, currency, source, target.id)

    return await post_or_replay(r.actor, r.key, r.print_, resolve)


async def _source_and_recipient(
    actor: Principal, from_wallet_id: object, to_wallet_id: object
) -> tuple[Wallet, Wallet | None]:
    """The caller's wallet and, in the same statement, the wallet `to_wallet_id` names (None
    when it does not exist or is malformed: the recipient check reports it, in its turn)."""
    source_id = accounts.parse_id(from_wallet_id, "Wallet not found")
    target_id = accounts.id_or_none(to_wallet_id)
    rows = await fetch_all(
        Wallet,
        "SELECT * FROM wallets WHERE (id = $1 AND owner_id = $2) OR id = $3",
        source_id,
        actor.user_id,
        target_id,
    )
    source = next((w for w in rows if w.id == source_id and w.owner_id == actor.user_id), None)
    if source is None:
        raise NotFound("Wallet not found")
    return source, next((w for w in rows if w.id == target_id), None)


_NO_RECIPIENT = "Recipient wallet not found"
_ACTIVE_WALLET_IN = """
SELECT * FROM wallets WHERE owner_id = $1 AND currency = $2 AND status = 'ACTIVE'
ORDER BY id LIMIT 1
"""


async def _recipient_wallet(
    to_wallet_id: object, to_user_id: object, currency: str, by_id: Wallet | None
) -> Wallet:
    """`by_id`: the wallet toWalletId names, loaded with the source wallet."""
    if (to_wallet_id is None) == (to_user_id is None):
        raise ValidationError(
            "BAD_INPUT", "Give exactly one of toWalletId and toUserId", "toWalletId"
        )
    wallet = by_id
    if to_user_id is not None:
        owner = accounts.parse_id(to_user_id, _NO_RECIPIENT)
        wallet = await fetch_one(Wallet, _ACTIVE_WALLET_IN, owner, currency)
    if wallet is None:
        raise NotFound(_NO_RECIPIENT)
    return wallet
