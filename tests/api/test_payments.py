"""deposit, withdraw, transfer and charge: every outcome of the PaymentResult union."""

from __future__ import annotations

from tests.api.conftest import new_key


async def test_deposit_and_withdraw(gql):
    user, wallet = await gql.funded(amount=None)
    result = await gql.pay(
        "deposit", user["token"], walletId=wallet["id"], amount="10.5", description="salary"
    )
    assert result["__typename"] == "PaymentPayload"
    assert result["replayed"] is False
    tx = result["transaction"]
    assert (tx["kind"], tx["status"], tx["amount"], tx["currency"]) == (
        "DEPOSIT", "POSTED", "10.50", {"code": "USD"},
    )  # fmt: skip
    assert (tx["source"], tx["destination"]["walletId"]) == (None, wallet["id"])
    assert (tx["description"], tx["failureReason"], tx["operation"]) == ("salary", None, None)
    assert result["wallet"]["balance"] == "10.50" and result["wallet"]["version"] == 1
    assert result["wallet"]["token"] == wallet["token"]  # the owner sees its own token
    out = await gql.pay("withdraw", user["token"], walletId=wallet["id"], amount=3)
    assert out["transaction"]["kind"] == "WITHDRAWAL"
    assert (out["transaction"]["source"]["walletId"], out["transaction"]["destination"]) == (
        wallet["id"], None,
    )  # fmt: skip
    assert (out["wallet"]["balance"], out["wallet"]["version"]) == ("7.50", 2)
    refused = await gql.pay("withdraw", user["token"], walletId=wallet["id"], amount="7.51")
    assert refused["__typename"] == "InsufficientFunds"
    assert (refused["available"], refused["requested"]) == ("7.50", "7.51")


async def test_transfer_to_wallet_and_to_user(gql):
    ann, source = await gql.funded("100")
    bob = await gql.signup(name="Bob")
    oldest = await gql.wallet(bob["token"], "USD")
    newer = await gql.wallet(bob["token"], "USD")
    result = await gql.pay(
        "transfer", ann["token"], fromWalletId=source["id"], toWalletId=newer["id"], amount="30"
    )
    tx = result["transaction"]
    assert (tx["kind"], tx["amount"], tx["source"], tx["destination"]) == (
        "TRANSFER", "30.00",
        {"walletId": source["id"], "name": "Test User"},
        {"walletId": newer["id"], "name": "Bob"},
    )  # fmt: skip
    assert (result["wallet"]["id"], result["wallet"]["balance"]) == (source["id"], "70.00")
    result = await gql.pay(
        "transfer", ann["token"], fromWalletId=source["id"], toUserId=bob["id"], amount="5"
    )
    assert result["transaction"]["destination"]["walletId"] == oldest["id"]
    assert (await gql.get_wallet(bob["token"], oldest["id"]))["balance"] == "5.00"
    assert (await gql.get_wallet(bob["token"], newer["id"]))["balance"] == "30.00"


async def test_transfer_refusals(gql):
    ann, source = await gql.funded("100")
    ann_eur = await gql.wallet(ann["token"], "EUR")
    bob, bobs = await gql.funded("100")
    nobody = await gql.signup()

    async def transfer(**fields):
        return await gql.pay(
            "transfer", ann["token"], fromWalletId=source["id"], amount="1", **fields
        )

    for fields in ({}, {"toWalletId": bobs["id"], "toUserId": bob["id"]}):
        result = await transfer(**fields)
        assert (result["__typename"], result["code"]) == ("ValidationError", "BAD_INPUT")
    for fields in ({"toWalletId": source["id"]}, {"toUserId": ann["id"]}):
        result = await transfer(**fields)
        assert (result["__typename"], result["code"]) == ("ValidationError", "SELF_TRANSFER")
    result = await transfer(toWalletId=ann_eur["id"])
    assert (result["__typename"], result["code"]) == ("CurrencyMismatch", "CURRENCY_MISMATCH")
    for fields in (
        {"toUserId": nobody["id"]},
        {"toUserId": "-1"},
        {"toWalletId": "abc"},
        {"toWalletId": "999999999"},
    ):
        result = await transfer(**fields)
        assert (result["__typename"], result["message"]) == (
            "NotFound",
            "Recipient wallet not found",
        )
    # another user's wallet as the source is NotFound, exactly like a missing one
    stolen = await gql.pay(
        "transfer", ann["token"], fromWalletId=bobs["id"], toWalletId=source["id"], amount="1"
    )
    missing = await gql.pay(
        "transfer", ann["token"], fromWalletId="999999999", toWalletId=source["id"], amount="1"
    )
    malformed = await gql.pay(
        "transfer", ann["token"], fromWalletId="abc", toWalletId=source["id"], amount="1"
    )
    assert stolen == missing == malformed
    assert stolen == {"__typename": "NotFound", "code": "NOT_FOUND", "message": "Wallet not found"}
    for mutation in ("deposit", "withdraw"):
        result = await gql.pay(mutation, ann["token"], walletId=bobs["id"], amount="1")
        assert (result["__typename"], result["message"]) == ("NotFound", stolen["message"])
    assert (await gql.get_wallet(bob["token"], bobs["id"]))["version"] == 1
    assert (await gql.get_wallet(ann["token"], source["id"]))["version"] == 1


async def test_payments_need_a_caller(gql):
    _, wallet = await gql.funded("1")
    result = await gql.pay("deposit", None, walletId=wallet["id"], amount="1")
    assert (result["__typename"], result["code"]) == ("NotAuthenticated", "UNAUTHENTICATED")


async def test_charge(gql):
    ann, card = await gql.funded("50")
    shop, till = await gql.funded(None, role="MERCHANT")
    result = await gql.pay(
        "charge", shop["token"], walletToken=card["token"], amount="12.5", description="Coffee"
    )
    assert result["__typename"] == "PaymentPayload"
    tx = result["transaction"]
    assert (tx["kind"], tx["amount"], tx["description"]) == ("CHARGE", "12.50", "Coffee")
    assert tx["source"] == {"walletId": card["id"], "name": "Test User"}
    assert tx["destination"] == {"walletId": till["id"], "name": "Acme Ltd"}  # the company name
    assert (result["wallet"]["id"], result["wallet"]["balance"]) == (till["id"], "12.50")
    assert result["wallet"]["token"] == till["token"]
    assert (await gql.get_wallet(ann["token"], card["id"]))["balance"] == "37.50"
    explicit = await gql.pay(
        "charge", shop["token"], walletToken=card["token"], amount="1", description="Tip",
        toWalletId=till["id"],
    )  # fmt: skip
    assert explicit["wallet"]["balance"] == "13.50"


async def test_charge_refusals(gql):
    ann, card = await gql.funded("50")
    shop, till = await gql.funded(None, role="MERCHANT")
    other_shop, other_till = await gql.funded(None, role="MERCHANT")
    euro_shop, euro_till = await gql.funded(None, "EUR", role="MERCHANT")
    bare_shop = await gql.signup("MERCHANT")

    async def charge(user, **fields):
        fields = {"walletToken": card["token"], "amount": "1", "description": "Coffee", **fields}
        return await gql.pay("charge", user["token"], **fields)

    assert (await charge(ann))["__typename"] == "Forbidden"
    assert (await charge(ann))["code"] == "FORBIDDEN"
    for token in ("no-such-token", "", "x" * 65):
        assert (await charge(shop, walletToken=token))["__typename"] == "NotFound"
    own = await charge(shop, walletToken=till["token"])
    assert (own["__typename"], own["code"]) == ("ValidationError", "SELF_CHARGE")
    for description in ("", "   ", "x" * 141):
        result = await charge(shop, description=description)
        assert (result["__typename"], result["field"]) == ("ValidationError", "description")
    assert (await charge(shop, description="x" * 140))["__typename"] == "PaymentPayload"
    no_wallet = await charge(bare_shop)
    assert no_wallet["__typename"] == "NotFound"
    assert "createWallet" in no_wallet["message"]
    assert (await charge(euro_shop))["__typename"] == "NotFound"  # no USD wallet either
    stolen = await charge(shop, toWalletId=other_till["id"])
    assert (stolen["__typename"], stolen["code"]) == ("NotFound", "NOT_FOUND")
    mismatch = await charge(euro_shop, toWalletId=euro_till["id"])
    assert (mismatch["__typename"], mismatch["code"]) == ("CurrencyMismatch", "CURRENCY_MISMATCH")
    assert (await gql.get_wallet(ann["token"], card["id"]))["balance"] == "49.00"
    assert (await gql.get_wallet(other_shop["token"], other_till["id"]))["version"] == 0


async def test_declined_charge_is_recorded_on_both_wallets(gql):
    ann, card = await gql.funded("10.5")
    shop, till = await gql.funded(None, role="MERCHANT")
    key = new_key()
    fields = {
        "walletToken": card["token"],
        "amount": "20",
        "description": "TV",
        "idempotencyKey": key,
    }
    result = await gql.pay("charge", shop["token"], **fields)
    assert result["__typename"] == "InsufficientFunds"
    # A merchant never learns the customer's balance, not even from a declined charge.
    assert (result["code"], result["available"], result["requested"]) == (
        "INSUFFICIENT_FUNDS", None, "20.00",
    )  # fmt: skip
    replayed = await gql.pay("charge", shop["token"], **fields)  # and not from its replay
    assert (replayed["__typename"], replayed["available"]) == ("InsufficientFunds", None)
    rejected = result["rejected"]
    assert (rejected["status"], rejected["failureReason"], rejected["amount"]) == (
        "REJECTED", "INSUFFICIENT_FUNDS", "20.00",
    )  # fmt: skip
    history = """query($id: ID!) { wallet(id: $id) { balance version history { totalCount
        edges { node { direction amount balanceAfter transaction { id status } } } } } }"""
    seen = {}
    for user, wallet in ((ann, card), (shop, till)):
        seen[wallet["id"]] = (await gql.ok(history, {"id": wallet["id"]}, user["token"]))["wallet"]
    assert seen[card["id"]]["history"]["edges"][0]["node"] == {
        "direction": "DEBIT",
        "amount": "20.00",
        "balanceAfter": None,
        "transaction": {"id": rejected["id"], "status": "REJECTED"},
    }
    assert (seen[card["id"]]["balance"], seen[card["id"]]["version"]) == ("10.50", 1)
    assert seen[till["id"]]["history"]["totalCount"] == 1
    assert seen[till["id"]]["history"]["edges"][0]["node"] == {
        "direction": "CREDIT",
        "amount": "20.00",
        "balanceAfter": None,
        "transaction": {"id": rejected["id"], "status": "REJECTED"},
    }
    assert (seen[till["id"]]["balance"], seen[till["id"]]["version"]) == ("0.00", 0)
    # a replay answers the stored decision, even after the customer has topped up
    await gql.deposit(ann["token"], card["id"], "100")
    again = await gql.pay("charge", shop["token"], **fields)
    assert again == result


async def test_idempotent_replay_moves_money_once(gql):
    user, wallet = await gql.funded(None)
    key = new_key()
    first = await gql.pay(
        "deposit", user["token"], walletId=wallet["id"], amount="10", idempotencyKey=key
    )
    again = await gql.pay(
        "deposit", user["token"], walletId=wallet["id"], amount="10.00", idempotencyKey=key
    )
    assert (first["replayed"], again["replayed"]) == (False, True)
    assert first["transaction"] == again["transaction"]
    assert (again["wallet"]["balance"], again["wallet"]["version"]) == ("10.00", 1)
    conflict = await gql.pay(
        "deposit", user["token"], walletId=wallet["id"], amount="11", idempotencyKey=key
    )
    assert (conflict["__typename"], conflict["code"]) == (
        "IdempotencyConflict",
        "IDEMPOTENCY_CONFLICT",
    )
    other_kind = await gql.pay(
        "withdraw", user["token"], walletId=wallet["id"], amount="10", idempotencyKey=key
    )
    assert other_kind["__typename"] == "IdempotencyConflict"
    state = await gql.get_wallet(user["token"], wallet["id"])
    assert (state["balance"], state["version"]) == ("10.00", 1)
    # keys belong to their initiator: another user may use the same one
    bob, bobs = await gql.funded(None)
    theirs = await gql.pay(
        "deposit", bob["token"], walletId=bobs["id"], amount="10", idempotencyKey=key
    )
    assert (theirs["replayed"], theirs["wallet"]["balance"]) == (False, "10.00")
