"""createWallet and the wallet limits, labels, floors and statuses clients see."""

from __future__ import annotations

from decimal import Decimal

from walletql import ids

CREATE = """mutation($input: CreateWalletInput!) { createWallet(input: $input) {
    __typename
    ... on WalletPayload { wallet {
        id token label balance minimumBalance version status currency { code name decimals } } }
    ... on Error { code message }
    ... on ValidationError { field }
    ... on AlreadyExists { field }
    ... on WalletLimitReached { limit }
} }"""


async def create(gql, token, currency="USD", label=None):
    data = await gql.ok(CREATE, {"input": {"currency": currency, "label": label}}, token)
    return data["createWallet"]


async def test_create_wallet(gql):
    user = await gql.signup()
    result = await create(gql, user["token"], "btc", "Savings")
    assert result["__typename"] == "WalletPayload"
    wallet = result["wallet"]
    assert wallet["id"] and len(wallet["token"]) >= 22  # >= 128 random bits, url-safe base64
    assert {k: v for k, v in wallet.items() if k not in ("id", "token")} == {
        "label": "Savings",
        "balance": "0.00000000",
        "minimumBalance": "0.00000000",
        "version": 0,
        "status": "ACTIVE",
        "currency": {"code": "BTC", "name": "Bitcoin", "decimals": 8},
    }
    assert await gql.get_wallet(user["token"], wallet["id"]) == {
        "id": wallet["id"],
        "token": wallet["token"],
        "label": "Savings",
        "balance": "0.00000000",
        "minimumBalance": "0.00000000",
        "version": 0,
        "status": "ACTIVE",
        "currency": {"code": "BTC"},
    }


async def test_unknown_currency(gql):
    user = await gql.signup()
    for currency in ("DOGE", "", "US D"):
        result = await create(gql, user["token"], currency)
        assert result["__typename"] == "ValidationError", result
        assert (result["code"], result["field"]) == ("UNKNOWN_CURRENCY", "currency")
    assert (await gql.ok("{ me { wallets { id } } }", token=user["token"]))["me"]["wallets"] == []


async def test_label_is_unique_per_owner_case_insensitively(gql):
    ann, bob = await gql.signup(), await gql.signup()
    assert (await create(gql, ann["token"], "USD", "Travel"))["__typename"] == "WalletPayload"
    taken = await create(gql, ann["token"], "EUR", "tRAVEL")
    assert taken["__typename"] == "AlreadyExists"
    assert (taken["code"], taken["field"]) == ("ALREADY_EXISTS", "label")
    # another owner may use the same label, and unlabelled wallets never collide
    assert (await create(gql, bob["token"], "USD", "Travel"))["__typename"] == "WalletPayload"
    for _ in range(2):
        assert (await create(gql, ann["token"], "USD"))["__typename"] == "WalletPayload"


async def test_customers_hold_any_number_of_wallets(gql):
    user = await gql.signup()
    for currency in ("USD", "USD", "EUR", "BTC", "ETH", "MATIC", "CREDIT"):
        assert (await create(gql, user["token"], currency))["__typename"] == "WalletPayload"


async def test_merchant_limit_is_one(gql):
    shop = await gql.signup("MERCHANT")
    assert (await create(gql, shop["token"], "USD"))["__typename"] == "WalletPayload"
    refused = await create(gql, shop["token"], "EUR")
    assert refused["__typename"] == "WalletLimitReached"
    assert (refused["code"], refused["limit"]) == ("WALLET_LIMIT_REACHED", 1)
    wallets = await gql.ok("{ me { wallets { currency { code } } } }", token=shop["token"])
    assert wallets["me"]["wallets"] == [{"currency": {"code": "USD"}}]


async def test_create_wallet_needs_a_caller(gql):
    result = await create(gql, None)
    assert result["__typename"] == "NotAuthenticated"
    assert result["code"] == "UNAUTHENTICATED"


async def test_minimum_balance_floor(gql, gql_with):
    user = await gql.signup()
    floored = await gql_with(minimum_balance=Decimal("20"))
    wallet = await floored.wallet(user["token"], "USD")
    state = await floored.get_wallet(user["token"], wallet["id"])
    assert state["minimumBalance"] == "20.00"
    assert (await floored.deposit(user["token"], wallet["id"], "100"))["wallet"]["balance"] == (
        "100.00"
    )
    out = await floored.pay("withdraw", user["token"], walletId=wallet["id"], amount="80")
    assert out["__typename"] == "PaymentPayload"
    assert out["wallet"]["balance"] == "20.00"
    refused = await floored.pay("withdraw", user["token"], walletId=wallet["id"], amount="0.01")
    assert refused["__typename"] == "InsufficientFunds"
    assert (refused["available"], refused["requested"]) == ("0.00", "0.01")
    assert refused["rejected"]["failureReason"] == "INSUFFICIENT_FUNDS"
    state = await gql.get_wallet(user["token"], wallet["id"])
    assert (state["balance"], state["version"], state["minimumBalance"]) == ("20.00", 2, "20.00")


async def test_frozen_wallet_refuses_postings_but_reads_work(gql):
    ann, bob = await gql.signup(), await gql.signup()
    frozen = await gql.wallet(ann["token"], "USD")
    other = await gql.wallet(ann["token"], "USD")
    bobs = await gql.wallet(bob["token"], "USD")
    await gql.deposit(ann["token"], frozen["id"], "10")
    await gql.deposit(ann["token"], other["id"], "10")
    frozen_id = ids.decode(ids.WALLET, frozen["id"])
    await gql.sql(f"UPDATE wallets SET status = 'FROZEN' WHERE id = {frozen_id}")
    attempts = [
        ("deposit", {"walletId": frozen["id"], "amount": "1"}),
        ("withdraw", {"walletId": frozen["id"], "amount": "1"}),
        ("transfer", {"fromWalletId": frozen["id"], "toWalletId": bobs["id"], "amount": "1"}),
        ("transfer", {"fromWalletId": other["id"], "toWalletId": frozen["id"], "amount": "1"}),
    ]
    for mutation, fields in attempts:
        result = await gql.pay(mutation, ann["token"], **fields)
        assert result["__typename"] == "WalletInactive", (mutation, result)
        assert result["code"] == "WALLET_INACTIVE"
    shop, _ = await gql.funded(None, role="MERCHANT")
    charge = {"walletToken": frozen["token"], "amount": "1", "description": "Tea"}
    assert (await gql.pay("charge", shop["token"], **charge))["__typename"] == "WalletInactive"
    state = await gql.get_wallet(ann["token"], frozen["id"])
    assert (state["status"], state["balance"], state["version"]) == ("FROZEN", "10.00", 1)
    assert (await gql.get_wallet(ann["token"], other["id"]))["balance"] == "10.00"
