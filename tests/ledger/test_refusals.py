"""Transfers and charges refused by the posting route: each request has two faults where it
can, and the answer names the one its precedence (walletql/ledger/posting.py) checks first;
a refusal writes nothing, and leaves its key free."""

import functools

import pytest

from tests.calls import ledger
from walletql import ids
from walletql.ledger.errors import (
    CurrencyMismatch,
    IdempotencyConflict,
    InsufficientFunds,
    LedgerError,
    NotFound,
    ValidationError,
    WalletInactive,
)
from walletql.models import LedgerTransaction, Wallet

# (what is sent, what comes back): each request has two faults where it can, and the answer
# names the one checked first.
TRANSFER_REFUSALS = [
    (
        {"source": "theirs", "amount": "0.001", "to_wallet_id": "nowhere"},
        (NotFound, None, "Wallet not found"),
    ),
    (
        {"source": "abc", "amount": "x", "to_wallet_id": "nowhere"},
        (
            ValidationError,
            "BAD_AMOUNT",
            "Invalid amount: 'x' is not a plain decimal number (digits, one optional point)",
        ),
    ),
    (
        {"amount": "0.001", "to_wallet_id": "nowhere"},  # an amount ETH would take, USD not
        (NotFound, None, "Recipient wallet not found"),
    ),
    (
        {"amount": "0.001", "to_wallet_id": "source"},
        (ValidationError, "SELF_TRANSFER", "Source and target are the same wallet"),
    ),
    (
        {"amount": "0.001", "to_wallet_id": "frozen"},
        (ValidationError, "BAD_AMOUNT", "Invalid USD amount: USD has 2 decimal places at most"),
    ),
    (
        {"amount": "1e3", "to_wallet_id": "nowhere"},
        (ValidationError, "BAD_AMOUNT", None),
    ),
    (
        {"to_wallet_id": "nowhere", "to_user_id": "nobody"},
        (ValidationError, "BAD_INPUT", "Give exactly one of toWalletId and toUserId"),
    ),
    ({}, (ValidationError, "BAD_INPUT", "Give exactly one of toWalletId and toUserId")),
    (
        {"to_wallet_id": "abc", "to_user_id": "stranger"},  # a malformed id is still given
        (ValidationError, "BAD_INPUT", "Give exactly one of toWalletId and toUserId"),
    ),
    ({"to_wallet_id": "nowhere"}, (NotFound, None, "Recipient wallet not found")),
    ({"to_user_id": "nobody"}, (NotFound, None, "Recipient wallet not found")),
    ({"to_user_id": "eth_owner"}, (NotFound, None, "Recipient wallet not found")),
    (
        {"to_wallet_id": "source"},
        (ValidationError, "SELF_TRANSFER", "Source and target are the same wallet"),
    ),
    ({"to_wallet_id": "eth"}, (CurrencyMismatch, None, "Cannot transfer USD to a ETH wallet")),
    ({"to_wallet_id": "frozen"}, (WalletInactive, None, None)),
    ({"source": "frozen_source", "to_wallet_id": "theirs"}, (WalletInactive, None, None)),
]


@pytest.fixture
async def parties(customer, funded, sql):
    sender, stranger, eth_owner = await customer(), await customer(), await customer()
    wallets = {
        "source": await funded(sender, "USD", "20"),
        "frozen_source": await funded(sender, "USD", "20"),
        "theirs": await funded(stranger, "USD", "20"),
        "eth": await funded(eth_owner, "ETH"),
        "frozen": await funded(stranger, "USD"),
    }
    await sql(
        "UPDATE wallets SET status = 'FROZEN' "
        f"WHERE id IN ({wallets['frozen'].id}, {wallets['frozen_source'].id})"
    )
    names = {name: ids.encode(ids.WALLET, w.id) for name, w in wallets.items()}
    names.update(  # well-formed ids of rows that do not exist
        nowhere=ids.encode(ids.WALLET, 999_999_999), nobody=ids.encode(ids.USER, 999_999_999)
    )
    names["eth_owner"] = ids.encode(ids.USER, eth_owner.user_id)
    names["stranger"] = ids.encode(ids.USER, stranger.user_id)
    return sender, names


@pytest.mark.parametrize(("sent", "expected"), TRANSFER_REFUSALS)
async def test_transfer_refusals_answer_in_order_and_write_nothing(
    parties, snapshot, sent, expected
):
    sender, names = parties
    args = {"source": "source", "amount": "1", **sent}
    source = names.get(args.pop("source"), "abc")
    amount = args.pop("amount")
    targets = {k: names.get(v, v) for k, v in args.items()}
    before = await snapshot(ids.decode(ids.WALLET, names["source"]))
    with pytest.raises(LedgerError) as info:
        await ledger.transfer(sender, source, amount, "k", **targets)
    _assert_error(info.value, expected)
    assert await snapshot(ids.decode(ids.WALLET, names["source"])) == before
    # Nothing was stored under the key: it is still free for a request that can be posted.
    out = await ledger.transfer(sender, names["source"], "1", "k", to_wallet_id=names["theirs"])
    assert not out.replayed


async def test_a_transfer_declined_replayed_and_conflicting_in_one_statement(parties, snapshot):
    sender, names = parties
    source, theirs = names["source"], names["theirs"]
    with pytest.raises(InsufficientFunds) as info:
        await ledger.transfer(sender, source, "20.01", "big", to_wallet_id=theirs)
    assert info.value.available == 20
    declined = await LedgerTransaction.get(initiator_id=sender.user_id, idempotency_key="big")
    assert declined.status == "REJECTED" and declined.available == 20

    first = await ledger.transfer(sender, source, "5", "t", to_wallet_id=theirs)
    assert not first.replayed
    assert (first.wallet.id, first.wallet.balance, first.wallet.version) == (
        ids.decode(ids.WALLET, source),
        15,
        2,
    )
    assert first.wallet.label == (await Wallet.get(id=ids.decode(ids.WALLET, source))).label
    before = await snapshot(ids.decode(ids.WALLET, source))
    again = await ledger.transfer(sender, source, "5.00", "t", to_wallet_id=theirs)
    assert again.replayed and again.transaction.id == first.transaction.id
    with pytest.raises(IdempotencyConflict):
        await ledger.transfer(sender, source, "6", "t", to_wallet_id=theirs)
    with pytest.raises(InsufficientFunds):  # the declined request replays its decline
        await ledger.transfer(sender, source, "20.01", "big", to_wallet_id=theirs)
    assert await snapshot(ids.decode(ids.WALLET, source)) == before


def _assert_error(error: LedgerError, expected: tuple) -> None:
    kind, code, message = expected
    assert type(error) is kind
    if code is not None:
        assert error.code == code
    if message is not None:
        assert error.message == message


CHARGE_REFUSALS = [
    ({"token": "unknown", "amount": "0.001"}, (NotFound, None, "No wallet has that payment token")),
    ({"token": "", "amount": "x"}, (ValidationError, "BAD_AMOUNT", None)),
    ({"token": "", "amount": "1"}, (NotFound, None, "No wallet has that payment token")),
    ({"token": "till", "amount": "0.001"}, (ValidationError, "SELF_CHARGE", None)),
    ({"amount": "0.001", "to_wallet_id": "elsewhere"}, (NotFound, None, "Wallet not found")),
    (
        {"amount": "0.001", "to_wallet_id": "frozen_till"},
        (ValidationError, "BAD_AMOUNT", "Invalid USD amount: USD has 2 decimal places at most"),
    ),
    ({"to_wallet_id": "elsewhere"}, (NotFound, None, "Wallet not found")),
    ({"to_wallet_id": "abc"}, (NotFound, None, "Wallet not found")),
    (
        {"to_wallet_id": "euro_till"},
        (CurrencyMismatch, None, "The customer wallet holds USD, yours EUR"),
    ),
    ({"token": "euro_card"}, (NotFound, None, None)),  # the shop has no active EUR wallet...
    ({"token": "frozen_card"}, (WalletInactive, None, None)),
    ({"to_wallet_id": "frozen_till"}, (WalletInactive, None, None)),
]


@pytest.fixture
async def shop(customer, merchant, funded, sql):
    payer, shop, other_shop = await customer(), await merchant(), await merchant()
    three_each = ledger.with_settings(max_wallets_per_merchant=3)
    wallets = await _shop_wallets(functools.partial(funded, on=three_each), payer, shop, other_shop)
    # ...because its only EUR wallet is frozen.
    frozen = (wallets[name].id for name in ("frozen_card", "frozen_till", "euro_till"))
    await sql(f"UPDATE wallets SET status = 'FROZEN' WHERE id IN ({', '.join(map(str, frozen))})")
    return shop, wallets


async def _shop_wallets(funded, payer, shop, other_shop) -> dict:
    return {
        "card": await funded(payer, "USD", "20"),
        "frozen_card": await funded(payer, "USD", "20"),
        "euro_card": await funded(payer, "EUR", "20"),
        "till": await funded(shop, "USD"),
        "euro_till": await funded(shop, "EUR"),
        "frozen_till": await funded(shop, "USD"),
        "elsewhere": await funded(other_shop, "USD"),
    }


@pytest.mark.parametrize(("sent", "expected"), CHARGE_REFUSALS)
async def test_charge_refusals_answer_in_order_and_write_nothing(shop, snapshot, sent, expected):
    merchant, wallets = shop
    args = {"token": "card", "amount": "1", **sent}
    named = wallets.get(args["token"])
    token = named.payment_token if named else args["token"]
    target = args.get("to_wallet_id")
    target = ids.encode(ids.WALLET, wallets[target].id) if target in wallets else target
    if sent.get("to_wallet_id") == "euro_till":  # a mismatch, not a frozen wallet, is the point
        await Wallet.filter(id=wallets["euro_till"].id).update(status="ACTIVE")
    before = await snapshot(wallets["card"].id)
    with pytest.raises(LedgerError) as info:
        await ledger.charge(merchant, token, args["amount"], "k", "Tea", to_wallet_id=target)
    _assert_error(info.value, expected)
    assert await snapshot(wallets["card"].id) == before
    out = await ledger.charge(merchant, wallets["card"].payment_token, "1", "k", "Tea")
    assert not out.replayed and out.transaction.destination_wallet_id == wallets["till"].id


async def test_a_charge_declined_replayed_and_conflicting_in_one_statement(shop, snapshot):
    merchant, wallets = shop
    token, till = wallets["card"].payment_token, wallets["till"]
    with pytest.raises(InsufficientFunds) as info:
        await ledger.charge(merchant, token, "20.01", "big", "Tea")
    assert info.value.available is None  # a merchant never learns the customer's balance
    assert info.value.transaction.available == 20  # the record keeps it
    first = await ledger.charge(
        merchant, token, "5", "c", "Tea", to_wallet_id=ids.encode(ids.WALLET, till.id)
    )
    assert (first.wallet.id, first.wallet.balance, first.wallet.version) == (till.id, 5, 1)
    assert first.wallet.payment_token == till.payment_token
    before = await snapshot(wallets["card"].id)
    again = await ledger.charge(merchant, token, "5.0", "c", "Tea", to_wallet_id=till.id)
    assert again.replayed and again.transaction.id == first.transaction.id
    with pytest.raises(IdempotencyConflict):
        await ledger.charge(merchant, token, "5", "c", "Coffee", to_wallet_id=till.id)
    with pytest.raises(InsufficientFunds):
        await ledger.charge(merchant, token, "20.01", "big", "Tea")
    assert await snapshot(wallets["card"].id) == before
