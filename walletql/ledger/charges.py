"""Merchant charges: a merchant pulls money from a customer's wallet, found by its secret
payment token, into its own wallet in that currency (the one toWalletId names, or its first
active one).

A charge that resolves cleanly is posted in one round trip: walletql_charge (migration 5) finds
both wallets and posts through walletql_post, the one write path. Anything else (an unknown
token, the merchant's own wallet, an amount the currency refuses, no receiving wallet, a frozen
wallet) writes nothing there, and the checks then run one by one, in their order, to say why.
"""

from __future__ import annotations

import hashlib

from walletql import ids
from walletql.auth import Principal
from walletql.ledger import accounts, characters
from walletql.ledger.errors import CurrencyMismatch, Forbidden, NotFound, ValidationError
from walletql.ledger.money import Currency, currencies_accepting, get_currency, parse_amount
from walletql.ledger.posting import (
    MAX_CHARGE_DESCRIPTION,
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
from walletql.models import Role, TransactionKind, Wallet
from walletql.models.rows import fetch


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
    if characters.refused(token) is not None:
        token = ""  # no wallet has such a token (NotFound), and PostgreSQL could not look it up
    print_ = fingerprint(
        TransactionKind.CHARGE,
        token=hashlib.sha256(token.encode()).hexdigest(),
        to_wallet=accounts.fingerprint_id(to_wallet_id, ids.WALLET),
        amount=canonical_amount(amount),
        description=description,
    )
    request = Request(TransactionKind.CHARGE, actor, key, print_, description)
    outcome = await _at_once(request, token, amount, to_wallet_id)
    if outcome is None:
        outcome = await _step_by_step(request, token, amount, to_wallet_id)
    return outcome


_CHARGE = """
SELECT * FROM walletql_charge($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
"""


async def _at_once(r: Request, token: str, amount: object, to_wallet_id: object) -> Outcome | None:
    to_wallet = accounts.id_or_none(to_wallet_id, ids.WALLET)
    value, accepting = currencies_accepting(amount)
    malformed_wallet = to_wallet is None and to_wallet_id is not None
    if not 0 < len(token) <= 64 or not accepting or malformed_wallet:
        return None
    return await post_at_once(
        r,
        value,
        _CHARGE,
        r.initiator.user_id,
        token,
        to_wallet,
        value,
        accepting,
    )


async def _step_by_step(r: Request, token: str, amount: object, to_wallet_id: object) -> Outcome:
    actor = r.initiator
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
        return r.posting(value, currency, customer.id, receiving.id, receiving)

    return await post_or_replay(actor, r.key, r.fingerprint, resolve)


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
            _CUSTOMER_AND_NAMED, token, actor.user_id, accounts.id_or_none(to_wallet_id, ids.WALLET)
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
