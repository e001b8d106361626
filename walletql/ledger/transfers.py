"""Transfers: step 1 of the posting route (posting.py) for money moved from one of the caller's
wallets to a wallet named by its id, or to a user's oldest active wallet in the same currency."""

from __future__ import annotations

from collections.abc import Mapping

from walletql import ids
from walletql.auth import Principal
from walletql.ledger import accounts
from walletql.ledger.errors import ValidationError
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
from walletql.models import TransactionKind

_TRANSFER = "walletql_transfer"


async def transfer(
    actor: Principal,
    from_wallet_id: object,
    amount: object,
    key: object,
    *,
    to_wallet_id: object = None,
    to_user_id: object = None,
    description: object = None,
    currencies: Mapping[str, Currency],
    turns: Turns,
) -> Outcome:
    return await post(
        prepare_transfer(
            actor, from_wallet_id, amount, key, to_wallet_id, to_user_id, description, currencies
        ),
        turns,
    )


def prepare_transfer(
    actor: Principal,
    from_wallet_id: object,
    amount: object,
    key: object,
    to_wallet_id: object,
    to_user_id: object,
    description: object,
    currencies: Mapping[str, Currency],
) -> Posting:
    key = check_key(key)
    description = check_description(description, MAX_DESCRIPTION)
    if (to_wallet_id is None) == (to_user_id is None):
        raise ValidationError(
            "BAD_INPUT", "Give exactly one of toWalletId and toUserId", "toWalletId"
        )
    value, accepting = amount_input(currencies, amount)
    print_ = fingerprint(
        TransactionKind.TRANSFER,
        source=accounts.fingerprint_id(from_wallet_id, ids.WALLET),
        to_wallet=accounts.fingerprint_id(to_wallet_id, ids.WALLET),
        to_user=accounts.fingerprint_id(to_user_id, ids.USER),
        amount=canonical_amount(value),
        description=description,
    )
    args = {
        "initiator": actor.user_id,
        "wallet": accounts.named_id(from_wallet_id, ids.WALLET),
        "to_wallet": accounts.named_id(to_wallet_id, ids.WALLET),
        "to_user": accounts.named_id(to_user_id, ids.USER),
        "amount": value,
        "accepting": accepting,
    }
    request = Request(TransactionKind.TRANSFER, actor, key, print_, description)
    return Posting(request, _TRANSFER, args, currencies)
