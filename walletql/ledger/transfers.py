"""Transfers between wallets: from one of the caller's wallets to a wallet named by its id, or
to a user's first active wallet in the same currency.

A transfer that resolves cleanly is posted in one round trip: walletql_transfer (migration 5)
finds both wallets and posts through walletql_post, the one write path; this saves a statement
and ~12% of the server's CPU per transfer (bench/FINDINGS.md, 18). Anything else (a
wallet that is not there, an amount the currency refuses, a self-transfer, a frozen wallet)
writes nothing there, and the checks then run one by one, in their order, to say why.
"""

from __future__ import annotations

from walletql import ids
from walletql.auth import Principal
from walletql.ledger import accounts
from walletql.ledger.errors import CurrencyMismatch, NotFound, ValidationError
from walletql.ledger.money import currencies_accepting, get_currency, parse_amount
from walletql.ledger.posting import (
    MAX_DESCRIPTION,
    Outcome,
    Posting,
    Request,
    canonical_amount,
    check_description,
    check_key,
    fingerprint,
    post_at_once,
    post_or_replay,
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
        source=accounts.fingerprint_id(from_wallet_id, ids.WALLET),
        to_wallet=accounts.fingerprint_id(to_wallet_id, ids.WALLET),
        to_user=accounts.fingerprint_id(to_user_id, ids.USER),
        amount=canonical_amount(amount),
        description=description,
    )
    request = Request(TransactionKind.TRANSFER, actor, key, print_, description)
    named = (from_wallet_id, to_wallet_id, to_user_id)
    outcome = await _at_once(request, amount, *named)
    if outcome is None:
        outcome = await _step_by_step(request, amount, *named)
    return outcome


_TRANSFER = """
SELECT * FROM walletql_transfer($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
"""


async def _at_once(
    r: Request, amount: object, from_wallet_id: object, to_wallet_id: object, to_user_id: object
) -> Outcome | None:
    if (to_wallet_id is None) == (to_user_id is None):
        return None  # not exactly one recipient
    source_id = accounts.id_or_none(from_wallet_id, ids.WALLET)
    to_wallet = accounts.id_or_none(to_wallet_id, ids.WALLET)
    to_user = accounts.id_or_none(to_user_id, ids.USER)
    value, accepting = currencies_accepting(amount)
    if source_id is None or (to_wallet is None and to_user is None) or not accepting:
        return None
    return await post_at_once(
        r,
        value,
        _TRANSFER,
        r.initiator.user_id,
        source_id,
        to_wallet,
        to_user,
        value,
        accepting,
    )


async def _step_by_step(
    r: Request, amount: object, from_wallet_id: object, to_wallet_id: object, to_user_id: object
) -> Outcome:
    source, named = await _source_and_recipient(
        r.initiator, from_wallet_id, to_wallet_id if to_user_id is None else None
    )
    currency = get_currency(source.currency)
    value = parse_amount(amount, currency)

    async def resolve() -> Posting:
        target = await _recipient_wallet(to_wallet_id, to_user_id, source.currency, named)
        if target.id == source.id:
            raise ValidationError(
                "SELF_TRANSFER", "Source and target are the same wallet", "toWalletId"
            )
        if target.currency != source.currency:
            raise CurrencyMismatch(
                f"Cannot transfer {source.currency} to a {target.currency} wallet"
            )
        return r.posting(value, currency, source.id, target.id, source)

    return await post_or_replay(r.initiator, r.key, r.fingerprint, resolve)


async def _source_and_recipient(
    actor: Principal, from_wallet_id: object, to_wallet_id: object
) -> tuple[Wallet, Wallet | None]:
    """The caller's wallet and, in the same statement, the wallet `to_wallet_id` names (None
    when it does not exist or is malformed: the recipient check reports it, in its turn)."""
    source_id = accounts.parse_id(from_wallet_id, ids.WALLET, "Wallet not found")
    target_id = accounts.id_or_none(to_wallet_id, ids.WALLET)
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
        owner = accounts.parse_id(to_user_id, ids.USER, _NO_RECIPIENT)
        wallet = await fetch_one(Wallet, _ACTIVE_WALLET_IN, owner, currency)
    if wallet is None:
        raise NotFound(_NO_RECIPIENT)
    return wallet
