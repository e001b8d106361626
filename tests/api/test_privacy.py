"""What one user can learn about another, or write into another's statement: nothing.

Found by an attack run: a declined transfer TO another user left a REJECTED line, with a
description of the sender's choosing, in the recipient's history; a merchant learned a
customer's exact balance from a declined charge (tests/api/test_payments.py covers that one).
"""

from __future__ import annotations

from tests.api.conftest import new_key

HISTORY = """query($id: ID!) { wallet(id: $id) {
  history { totalCount edges { node { direction transaction { id status description } } } }
  summary { rejectedCount } } }"""
TRANSACTION = "query($id: ID!) { transaction(id: $id) { id status } }"


async def test_a_declined_transfer_is_not_written_into_the_recipients_statement(gql):
    sender, source = await gql.funded("1.00")
    victim, target = await gql.funded("5.00")
    spam = "CALL +1 555 0100 NOW " * 20
    declined = await gql.pay(
        "transfer",
        sender["token"],
        fromWalletId=source["id"],
        toWalletId=target["id"],
        amount="99999.00",
        description=spam,
    )
    assert declined["__typename"] == "InsufficientFunds"
    rejected_id = declined["rejected"]["id"]

    seen = (await gql.ok(HISTORY, {"id": target["id"]}, victim["token"]))["wallet"]
    assert [e["node"]["transaction"]["status"] for e in seen["history"]["edges"]] == ["POSTED"]
    assert seen["history"]["totalCount"] == 1
    assert seen["summary"]["rejectedCount"] == 0
    refused = await gql(TRANSACTION, {"id": rejected_id}, victim["token"])
    assert refused["errors"][0]["extensions"]["code"] == "NOT_FOUND"

    # The sender still sees its own declined attempt, with its description.
    own = (await gql.ok(HISTORY, {"id": source["id"]}, sender["token"]))["wallet"]
    first = own["history"]["edges"][0]["node"]
    assert (first["direction"], first["transaction"]["status"]) == ("DEBIT", "REJECTED")
    assert own["summary"]["rejectedCount"] == 1
    assert (await gql.ok(TRANSACTION, {"id": rejected_id}, sender["token"]))["transaction"]


async def test_a_merchants_declined_charge_stays_in_the_merchants_own_history(gql):
    customer, card = await gql.funded("1.00")
    merchant, till = await gql.funded(None, role="MERCHANT")
    declined = await gql.pay(
        "charge",
        merchant["token"],
        walletToken=card["token"],
        amount="50.00",
        description="Lamp",
        idempotencyKey=new_key(),
    )
    assert declined["__typename"] == "InsufficientFunds"
    seen = (await gql.ok(HISTORY, {"id": till["id"]}, merchant["token"]))["wallet"]
    assert seen["history"]["totalCount"] == 1
    node = seen["history"]["edges"][0]["node"]
    assert (node["direction"], node["transaction"]["status"]) == ("CREDIT", "REJECTED")
    assert seen["summary"]["rejectedCount"] == 1


async def test_an_operators_payload_shows_the_wallet_but_never_its_payment_token(gql):
    customer, wallet = await gql.funded(None, currency="CREDIT")
    operator = await gql.operator()
    for _attempt in ("first", "replay"):
        result = await gql.pay(
            "applyOperation",
            operator["token"],
            walletId=wallet["id"],
            operation="DAILY_REWARD",
            idempotencyKey="reward-1",
        )
        assert result["__typename"] == "PaymentPayload", result
        assert (result["wallet"]["id"], result["wallet"]["token"]) == (wallet["id"], None)


def test_who_may_read_a_wallet():
    from walletql.auth import Principal
    from walletql.ledger.accounts import may_read
    from walletql.models import Role, Wallet

    wallet = Wallet(id=1, owner_id=7)
    assert may_read(Principal(7, Role.CUSTOMER), wallet)
    assert may_read(Principal(9, Role.OPERATOR), wallet)
    assert not may_read(Principal(9, Role.MERCHANT), wallet)
    assert not may_read(None, wallet)
