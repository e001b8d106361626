"""Transfers in one statement (walletql_transfer) and, when that does not resolve, the checks
one by one: the same answers, in the same order, and nothing written by a refusal."""

import pytest

from walletql.ledger import transfers
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
REFUSALS = [
    ({"source": "theirs", "amount": "0.001"}, (NotFound, None, "Wallet not found")),
    ({"source": "abc", "amount": "x"}, (NotFound, None, "Wallet not found")),
    (
        {"amount": "0.001", "to_wallet_id": "source"},  # an amount ETH would take, USD not
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
    names = {name: str(w.id) for name, w in wallets.items()}
    names.update(nowhere="999999999", nobody="999999999", eth_owner=str(eth_owner.user_id))
    return sender, names


@pytest.mark.parametrize(("sent", "expected"), REFUSALS)
async def test_refusals_answer_in_order_and_write_nothing(parties, snapshot, sent, expected):
    sender, names = parties
    args = {"source": "source", "amount": "1", **sent}
    source = names.get(args.pop("source"), "abc")
    amount = args.pop("amount")
    targets = {k: names.get(v, v) for k, v in args.items()}
    before = await snapshot(int(names["source"]))
    with pytest.raises(LedgerError) as info:
        await transfers.transfer(sender, source, amount, "k", **targets)
    kind, code, message = expected
    assert type(info.value) is kind
    if code is not None:
        assert info.value.code == code
    if message is not None:
        assert info.value.message == message
    assert await snapshot(int(names["source"])) == before
    # Nothing was stored under the key: it is still free for a request that can be posted.
    out = await transfers.transfer(sender, names["source"], "1", "k", to_wallet_id=names["theirs"])
    assert not out.replayed


async def test_a_decline_a_replay_and_a_conflict_in_one_statement(parties, snapshot):
    sender, names = parties
    source, theirs = names["source"], names["theirs"]
    with pytest.raises(InsufficientFunds) as info:
        await transfers.transfer(sender, source, "20.01", "big", to_wallet_id=theirs)
    assert info.value.available == 20
    declined = await LedgerTransaction.get(initiator_id=sender.user_id, idempotency_key="big")
    assert declined.status == "REJECTED" and declined.available == 20

    first = await transfers.transfer(sender, source, "5", "t", to_wallet_id=theirs)
    assert not first.replayed
    assert (first.wallet.id, first.wallet.balance, first.wallet.version) == (int(source), 15, 2)
    assert first.wallet.label == (await Wallet.get(id=int(source))).label
    before = await snapshot(int(source))
    again = await transfers.transfer(sender, source, "5.00", "t", to_wallet_id=theirs)
    assert again.replayed and again.transaction.id == first.transaction.id
    with pytest.raises(IdempotencyConflict):
        await transfers.transfer(sender, source, "6", "t", to_wallet_id=theirs)
    with pytest.raises(InsufficientFunds):  # the declined request replays its decline
        await transfers.transfer(sender, source, "20.01", "big", to_wallet_id=theirs)
    assert await snapshot(int(source)) == before
