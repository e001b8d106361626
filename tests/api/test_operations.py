"""applyOperation: configured ledger operations, applied by operator accounts only."""

from __future__ import annotations

from tests.api.conftest import PAYMENT_FIELDS, new_key


async def apply(gql, operator, wallet_id, operation, key=None):
    return await gql.pay(
        "applyOperation",
        operator["token"],
        walletId=wallet_id,
        operation=operation,
        idempotencyKey=key or new_key(),
    )


async def test_daily_reward_credits_a_customer_wallet(gql):
    operator = await gql.operator()
    me = await gql.ok("{ me { role } }", token=operator["token"])
    assert me == {"me": {"role": "OPERATOR"}}
    ann, credits = await gql.funded(None, "CREDIT", name="Ann")
    result = await apply(gql, operator, credits["id"], "DAILY_REWARD")
    assert result["__typename"] == "PaymentPayload", result
    tx = result["transaction"]
    assert (tx["kind"], tx["status"], tx["operation"], tx["amount"]) == (
        "OPERATION", "POSTED", "DAILY_REWARD", "1",
    )  # fmt: skip
    assert (tx["source"], tx["destination"]) == (None, {"walletId": credits["id"], "name": "Ann"})
    wallet = result["wallet"]
    assert (wallet["id"], wallet["balance"], wallet["version"]) == (credits["id"], "1", 1)
    # the operator acts on the wallet but does not own it: no payment token for it
    assert wallet["token"] is None
    assert (await gql.get_wallet(ann["token"], credits["id"]))["token"] == credits["token"]
    # the customer sees the operation, and so does the operator that applied it
    query = "query($id: ID!) { transaction(id: $id) { operation amount } }"
    for user in (ann, operator):
        data = await gql.ok(query, {"id": tx["id"]}, user["token"])
        assert data["transaction"] == {"operation": "DAILY_REWARD", "amount": "1"}


async def test_operation_amounts_are_signed(gql):
    operator = await gql.operator()
    ann, credits = await gql.funded(None, "CREDIT")
    assert (await apply(gql, operator, credits["id"], "CREDIT_ADD"))["wallet"]["balance"] == "10"
    spend = await apply(gql, operator, credits["id"], "CONTENT_CREATION")
    tx = spend["transaction"]
    assert (tx["operation"], tx["amount"], tx["destination"]) == ("CONTENT_CREATION", "5", None)
    assert tx["source"]["walletId"] == credits["id"]
    assert (spend["wallet"]["balance"], spend["wallet"]["version"]) == ("5", 2)


async def test_operation_codes_match_exactly(gql):
    operator = await gql.operator()
    ann, credits = await gql.funded(None, "CREDIT")
    await apply(gql, operator, credits["id"], "CREDIT_ADD")
    history = """query($id: ID!) { wallet(id: $id) { balance version
        history(first: 10) { edges { node { transaction { id } } } } } }"""
    before = await gql.ok(history, {"id": credits["id"]}, ann["token"])
    assert (before["wallet"]["balance"], before["wallet"]["version"]) == ("10", 1)
    for code in ("credit_add", " CREDIT_ADD", "CREDIT_ADD ", "Credit_Add"):
        result = await apply(gql, operator, credits["id"], code)
        assert result["__typename"] == "ValidationError", (code, result)
        assert (result["code"], result["field"]) == ("UNKNOWN_OPERATION", "operation"), code
        assert await gql.ok(history, {"id": credits["id"]}, ann["token"]) == before, code


async def test_credit_spend_on_an_empty_wallet_is_insufficient_funds(gql):
    operator = await gql.operator()
    ann, credits = await gql.funded(None, "CREDIT")
    key = new_key()
    result = await apply(gql, operator, credits["id"], "CREDIT_SPEND", key)
    assert result["__typename"] == "InsufficientFunds"
    assert (result["available"], result["requested"]) == ("0", "1")
    assert (result["rejected"]["status"], result["rejected"]["failureReason"]) == (
        "REJECTED", "INSUFFICIENT_FUNDS",
    )  # fmt: skip
    assert (await apply(gql, operator, credits["id"], "CREDIT_SPEND", key)) == result
    state = await gql.get_wallet(ann["token"], credits["id"])
    assert (state["balance"], state["version"]) == ("0", 0)


async def test_zero_amount_operation_is_a_posting(gql):
    operator = await gql.operator()
    ann, credits = await gql.funded(None, "CREDIT")
    await apply(gql, operator, credits["id"], "SIGNUP_CREDIT")
    result = await apply(gql, operator, credits["id"], "CONTENT_ACCESS")
    assert result["__typename"] == "PaymentPayload", result
    tx = result["transaction"]
    assert (tx["operation"], tx["amount"], tx["source"]) == ("CONTENT_ACCESS", "0", None)
    assert tx["destination"]["walletId"] == credits["id"]
    assert (result["wallet"]["balance"], result["wallet"]["version"]) == ("3", 2)
    history = await gql.ok(
        """query($id: ID!) { wallet(id: $id) { history(first: 1) { edges { node {
            direction amount balanceAfter transaction { id } } } } } }""",
        {"id": credits["id"]},
        ann["token"],
    )
    assert history["wallet"]["history"]["edges"][0]["node"] == {
        "direction": "CREDIT",
        "amount": "0",
        "balanceAfter": "3",
        "transaction": {"id": tx["id"]},
    }


async def test_operation_idempotency(gql):
    operator = await gql.operator()
    ann, credits = await gql.funded(None, "CREDIT")
    key = new_key()
    first = await apply(gql, operator, credits["id"], "DAILY_REWARD", key)
    again = await apply(gql, operator, credits["id"], "DAILY_REWARD", key)
    assert (first["replayed"], again["replayed"]) == (False, True)
    assert first["transaction"]["id"] == again["transaction"]["id"]
    assert (again["wallet"]["balance"], again["wallet"]["version"]) == ("1", 1)
    conflict = await apply(gql, operator, credits["id"], "CREDIT_ADD", key)
    assert (conflict["__typename"], conflict["code"]) == (
        "IdempotencyConflict",
        "IDEMPOTENCY_CONFLICT",
    )


async def test_operation_refusals(gql):
    operator = await gql.operator()
    ann, credits = await gql.funded(None, "CREDIT")
    ann_usd = await gql.wallet(ann["token"], "USD")
    unknown = await apply(gql, operator, credits["id"], "FREE_MONEY")
    assert (unknown["__typename"], unknown["code"], unknown["field"]) == (
        "ValidationError", "UNKNOWN_OPERATION", "operation",
    )  # fmt: skip
    mismatch = await apply(gql, operator, ann_usd["id"], "DAILY_REWARD")
    assert (mismatch["__typename"], mismatch["code"]) == ("CurrencyMismatch", "CURRENCY_MISMATCH")
    for wallet_id in ("abc", "999999999999"):
        missing = await apply(gql, operator, wallet_id, "DAILY_REWARD")
        assert (missing["__typename"], missing["message"]) == ("NotFound", "Wallet not found")
    shop = await gql.signup("MERCHANT")
    for user in (ann, shop):
        refused = await apply(gql, user, credits["id"], "DAILY_REWARD")
        assert (refused["__typename"], refused["code"]) == ("Forbidden", "FORBIDDEN")
    anonymous = await apply(gql, {"token": None}, credits["id"], "DAILY_REWARD")
    assert anonymous["__typename"] == "NotAuthenticated"
    state = await gql.get_wallet(ann["token"], credits["id"])
    assert (state["balance"], state["version"]) == ("0", 0)


async def test_operation_takes_no_amount_from_the_client(gql):
    operator = await gql.operator()
    ann, credits = await gql.funded(None, "CREDIT")
    body = await gql(
        f"""mutation($w: ID!) {{ applyOperation(input: {{walletId: $w,
            operation: "CREDIT_ADD", idempotencyKey: "k", amount: "1000"}}) {{ {PAYMENT_FIELDS} }} }}""",
        {"w": credits["id"]},
        operator["token"],
    )
    assert body.get("data") is None
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert "amount" in body["errors"][0]["message"]
    body = await gql(
        f"""mutation($input: ApplyOperationInput!) {{ applyOperation(input: $input) {{
            {PAYMENT_FIELDS} }} }}""",
        {"input": {"walletId": credits["id"], "operation": "CREDIT_ADD", "idempotencyKey": "k",
                   "amount": "1000"}},
        operator["token"],
    )  # fmt: skip
    assert body.get("data") is None
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    state = await gql.get_wallet(ann["token"], credits["id"])
    assert (state["balance"], state["version"]) == ("0", 0)
