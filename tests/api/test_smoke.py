async def test_signup_deposit_charge_history(gql):
    alice = await gql.signup()
    shop = await gql.signup("MERCHANT")
    wallet = await gql.wallet(alice["token"], "USD")
    await gql.wallet(shop["token"], "USD")
    result = await gql.deposit(alice["token"], wallet["id"], "10.5")
    assert result["wallet"]["balance"] == "10.50", result
    body = await gql(
        """mutation($t: String!) { charge(input: {walletToken: $t, amount: "20",
            idempotencyKey: "c1", description: "Coffee"}) { __typename
            ... on InsufficientFunds { available requested transaction { status } } } }""",
        {"t": wallet["token"]},
        shop["token"],
    )
    assert body["data"]["charge"] == {
        "__typename": "InsufficientFunds",
        "available": "10.50",
        "requested": "20.00",
        "transaction": {"status": "REJECTED"},
    }, body
    body = await gql(
        """query($id: ID!) { wallet(id: $id) { history(first: 10) { totalCount edges { node {
            direction amount balanceAfter transaction { kind status source { name } } } } }
            summary { creditTotal rejectedCount } balanceAt(at: "2999-01-01T00:00:00Z") } }""",
        {"id": wallet["id"]},
        alice["token"],
    )
    assert "errors" not in body, body
    w = body["data"]["wallet"]
    assert w["history"]["totalCount"] == 2
    assert w["summary"] == {"creditTotal": "10.50", "rejectedCount": 1}
    assert w["balanceAt"] == "10.50"
