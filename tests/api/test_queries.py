"""Queries (me, wallet, transaction, currencies, operations) and the Decimal/DateTime scalars."""

from __future__ import annotations

import pytest

from tests.api.conftest import PAYMENT_FIELDS, new_key

BAD_AMOUNTS = ["NaN", "Infinity", "-Infinity", "1e-10", "1E2", " 5 ", "", "0", "0.00", "-5"]
BAD_AMOUNTS += ["1.001", "1,5", "+5", "0x10", "5.", ".5", "\u0665"]  # last: an Arabic-Indic five


async def test_money_is_served_with_the_currency_decimals(gql):
    user = await gql.signup()
    for currency, sent, served in [
        ("BTC", "0.1", "0.10000000"),
        ("ETH", "1", "1.000000000000000000"),
        ("CREDIT", 3, "3"),
        ("USD", "0012.500", "12.50"),
        ("EUR", "99999999999999999999", "99999999999999999999.00"),
    ]:
        wallet = await gql.wallet(user["token"], currency)
        result = await gql.pay("deposit", user["token"], walletId=wallet["id"], amount=sent)
        assert (result["transaction"]["amount"], result["wallet"]["balance"]) == (served, served)


@pytest.mark.parametrize("amount", [*BAD_AMOUNTS, 1.5, 10.0, True, -5, 0])
async def test_bad_amount_is_refused_and_stores_nothing(gql, amount):
    user, wallet = await gql.funded("10")
    key = new_key()
    result = await gql.pay(
        "deposit", user["token"], walletId=wallet["id"], amount=amount, idempotencyKey=key
    )
    assert result["__typename"] == "ValidationError", result
    assert (result["code"], result["field"]) == ("BAD_AMOUNT", "amount")
    state = await gql.get_wallet(user["token"], wallet["id"])
    assert (state["balance"], state["version"]) == ("10.00", 1)
    # the refused request did not use up its idempotency key
    ok = await gql.pay(
        "deposit", user["token"], walletId=wallet["id"], amount="1", idempotencyKey=key
    )
    assert (ok["replayed"], ok["wallet"]["balance"]) == (False, "11.00")


@pytest.mark.parametrize("literal", ["1.5", "1e2", "-5", "0", '"1.001"', '" 5 "', '"NaN"'])
async def test_bad_amount_literal_is_refused(gql, literal):
    user, wallet = await gql.funded("10")
    body = await gql(
        f"""mutation($w: ID!) {{ deposit(input: {{walletId: $w, amount: {literal},
            idempotencyKey: "k"}}) {{ {PAYMENT_FIELDS} }} }}""",
        {"w": wallet["id"]},
        user["token"],
    )
    result = body["data"]["deposit"]
    assert (result["__typename"], result["code"], result["field"]) == (
        "ValidationError", "BAD_AMOUNT", "amount",
    )  # fmt: skip
    state = await gql.get_wallet(user["token"], wallet["id"])
    assert (state["balance"], state["version"]) == ("10.00", 1)


async def test_amount_as_integer_or_string_literal(gql):
    user, wallet = await gql.funded(amount=None)
    for literal, balance in [("5", "5.00"), ('"2.25"', "7.25")]:
        data = await gql.ok(
            f"""mutation($w: ID!) {{ deposit(input: {{walletId: $w, amount: {literal},
                idempotencyKey: "{new_key()}"}}) {{ {PAYMENT_FIELDS} }} }}""",
            {"w": wallet["id"]},
            user["token"],
        )
        assert data["deposit"]["wallet"]["balance"] == balance


async def test_every_payment_refuses_a_bad_amount(gql):
    ann, source = await gql.funded("10")
    bob, target = await gql.funded(None)
    shop, _ = await gql.funded(None, role="MERCHANT")
    attempts = [
        ("withdraw", ann, {"walletId": source["id"]}),
        ("transfer", ann, {"fromWalletId": source["id"], "toWalletId": target["id"]}),
        ("charge", shop, {"walletToken": source["token"], "description": "Coffee"}),
    ]
    for mutation, user, fields in attempts:
        for amount in ("1.001", 1.5, "-1", "0"):
            result = await gql.pay(mutation, user["token"], amount=amount, **fields)
            assert (result["__typename"], result["code"], result["field"]) == (
                "ValidationError", "BAD_AMOUNT", "amount",
            ), (mutation, amount, result)  # fmt: skip
    assert (await gql.get_wallet(ann["token"], source["id"]))["version"] == 1
    assert (await gql.get_wallet(bob["token"], target["id"]))["version"] == 0


async def test_datetime_without_offset_is_bad_user_input(gql):
    user, wallet = await gql.funded("1")
    for at in ('"2024-01-01T00:00:00"', '"yesterday"', '"2024-13-01T00:00:00Z"', "1700000000"):
        body = await gql(
            f"""query($id: ID!) {{ wallet(id: $id) {{ balanceAt(at: {at}) }} }}""",
            {"id": wallet["id"]},
            user["token"],
        )
        assert body.get("data") is None, body
        assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT", body
    body = await gql(
        "query($id: ID!, $at: DateTime!) { wallet(id: $id) { balanceAt(at: $at) } }",
        {"id": wallet["id"], "at": "2024-01-01T00:00:00"},
        user["token"],
    )
    assert body.get("data") is None
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert "offset" in body["errors"][0]["message"]
    for at in ("2024-01-01T00:00:00Z", "2024-01-01T02:00:00+02:00"):
        data = await gql.ok(
            "query($id: ID!, $at: DateTime!) { wallet(id: $id) { balanceAt(at: $at) } }",
            {"id": wallet["id"], "at": at},
            user["token"],
        )
        assert data["wallet"]["balanceAt"] == "0.00"


async def test_me_wallets_and_balances(gql):
    user = await gql.signup()
    usd1 = await gql.wallet(user["token"], "USD", "a")
    usd2 = await gql.wallet(user["token"], "USD", "b")
    btc = await gql.wallet(user["token"], "BTC")
    await gql.wallet(user["token"], "CREDIT")
    await gql.deposit(user["token"], usd1["id"], "10.10")
    await gql.deposit(user["token"], usd2["id"], "0.2")
    await gql.deposit(user["token"], btc["id"], "0.00000001")
    query = """query($c: String) { me {
        wallets(currency: $c) { id currency { code } }
        balances(currency: $c) { currency { code decimals } balance } } }"""
    me = (await gql.ok(query, {"c": None}, user["token"]))["me"]
    assert [w["currency"]["code"] for w in me["wallets"]] == ["USD", "USD", "BTC", "CREDIT"]
    assert me["balances"] == [
        {"currency": {"code": "BTC", "decimals": 8}, "balance": "0.00000001"},
        {"currency": {"code": "CREDIT", "decimals": 0}, "balance": "0"},
        {"currency": {"code": "USD", "decimals": 2}, "balance": "10.30"},
    ]  # no EUR, ETH or MATIC: currencies without a wallet are omitted
    me = (await gql.ok(query, {"c": "usd"}, user["token"]))["me"]
    assert [w["id"] for w in me["wallets"]] == [usd1["id"], usd2["id"]]
    assert me["balances"] == [{"currency": {"code": "USD", "decimals": 2}, "balance": "10.30"}]
    me = (await gql.ok(query, {"c": "EUR"}, user["token"]))["me"]
    assert me == {"wallets": [], "balances": []}


async def test_wallet_of_someone_else_is_not_found_like_a_missing_one(gql):
    ann, bob = await gql.signup(), await gql.signup()
    mine = await gql.wallet(ann["token"])
    theirs = await gql.wallet(bob["token"])
    assert (await gql.get_wallet(ann["token"], mine["id"]))["id"] == mine["id"]
    errors = []
    for wallet_id in (theirs["id"], "abc", "-1", "0", "999999999999", "1.0", "", "9" * 40):
        body = await gql(
            "query($id: ID!) { wallet(id: $id) { id } }", {"id": wallet_id}, ann["token"]
        )
        assert body["data"] == {"wallet": None}, body
        (error,) = body["errors"]
        errors.append((error["message"], error["extensions"]))
    assert errors == [("Wallet not found", {"code": "NOT_FOUND"})] * len(errors)


async def test_transaction_visible_to_initiator_and_wallet_owners_only(gql):
    ann, card = await gql.funded("50")
    bob, bobs = await gql.funded(None)
    shop, till = await gql.funded(None, role="MERCHANT")
    carol = await gql.signup()
    transfer = await gql.pay(
        "transfer", ann["token"], fromWalletId=card["id"], toWalletId=bobs["id"], amount="5"
    )
    charge = await gql.pay(
        "charge", shop["token"], walletToken=card["token"], amount="5", description="Tea"
    )
    query = "query($id: ID!) { transaction(id: $id) { id kind amount } }"
    for tx, viewers in (
        (transfer["transaction"], (ann, bob)),
        (charge["transaction"], (ann, shop)),
    ):
        for viewer in viewers:
            data = await gql.ok(query, {"id": tx["id"]}, viewer["token"])
            assert data["transaction"] == {"id": tx["id"], "kind": tx["kind"], "amount": "5.00"}
        outsiders = [carol] + [u for u in (bob, shop) if u not in viewers]
        for outsider in outsiders:
            body = await gql(query, {"id": tx["id"]}, outsider["token"])
            assert body["data"] == {"transaction": None}
            assert body["errors"][0]["message"] == "Transaction not found"
            assert body["errors"][0]["extensions"] == {"code": "NOT_FOUND"}
    for bad in ("abc", "-1", "999999999999"):
        body = await gql(query, {"id": bad}, ann["token"])
        assert (body["data"], body["errors"][0]["message"]) == (
            {"transaction": None}, "Transaction not found",
        )  # fmt: skip
    assert till  # the merchant's wallet received the charge


async def test_currencies_and_operations_are_public(gql):
    data = await gql.ok("{ currencies { code name decimals } }")
    assert {c["code"]: c["decimals"] for c in data["currencies"]} == {
        "BTC": 8, "ETH": 18, "MATIC": 18, "USD": 2, "EUR": 2, "CREDIT": 0,
    }  # fmt: skip
    assert {c["code"]: c["name"] for c in data["currencies"]}["BTC"] == "Bitcoin"
    data = await gql.ok("{ operations { code amount currency { code } shared } }")
    assert {
        o["code"]: (o["amount"], o["currency"]["code"], o["shared"]) for o in data["operations"]
    } == {
        "DAILY_REWARD": ("1", "CREDIT", True),
        "SIGNUP_CREDIT": ("3", "CREDIT", True),
        "CREDIT_SPEND": ("-1", "CREDIT", True),
        "CREDIT_ADD": ("10", "CREDIT", True),
        "CONTENT_CREATION": ("-5", "CREDIT", False),
        "CONTENT_ACCESS": ("0", "CREDIT", False),
    }
