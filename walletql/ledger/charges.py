"""Merchant charges: step 1 of the posting route (posting.py) for a merchant pulling money
from a customer's wallet, found by its secret payment token, into its own wallet in that
currency (the one toWalletId names, or its oldest active one)."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping

from walletql import ids
from walletql.auth import Principal
from walletql.ledger import accounts, characters
from walletql.ledger.errors import Forbidden
from walletql.ledger.money import Currency, amount_input
from walletql.ledger.posting import (
    MAX_CHARGE_DESCRIPTION,
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

_CHARGE = "walletql_charge"
MAX_TOKEN_LENGTH = 64  # the wallets.payment_token column


def token_input(value: object) -> str:
    """A payment token as the posting functions look it up: "" (no wallet's) for anything that
    cannot be one, which PostgreSQL could not always look up as given."""
    token = value if isinstance(value, str) else ""
    if len(token) > MAX_TOKEN_LENGTH or characters.refused(token) is not None:
        return ""
    return token


def token_digest(token: str) -> str:
    """The token as a fingerprint holds it: a request's fingerprint never holds a secret."""
    return hashlib.sha256(token.encode()).hexdigest()


async def charge(
    actor: Principal,
    wallet_token: object,
    amount: object,
    key: object,
    description: object,
    to_wallet_id: object = None,
    *,
    currencies: Mapping[str, Currency],
    turns: Turns,
) -> Outcome:
    charge = prepare_charge(actor, wallet_token, amount, key, description, to_wallet_id, currencies)
    return await post(charge, turns)


def prepare_charge(
    actor: Principal,
    wallet_token: object,
    amount: object,
    key: object,
    description: object,
    to_wallet_id: object,
    currencies: Mapping[str, Currency],
) -> Posting:
    if actor.role != Role.MERCHANT:
        raise Forbidden("Only merchants can charge a wallet")
    key = check_key(key)
    description = check_description(description, MAX_CHARGE_DESCRIPTION, required=True)
    value, accepting = amount_input(currencies, amount)
    token = token_input(wallet_token)
    print_ = fingerprint(
        TransactionKind.CHARGE,
        token=token_digest(token),
        to_wallet=accounts.fingerprint_id(to_wallet_id, ids.WALLET),
        amount=canonical_amount(value),
        description=description,
    )
    args = {
        "initiator": actor.user_id,
        "token": token,
        "to_wallet": accounts.named_id(to_wallet_id, ids.WALLET),
        "amount": value,
        "accepting": accepting,
    }
    request = Request(TransactionKind.CHARGE, actor, key, print_, description)
    return Posting(request, _CHARGE, args, currencies)
