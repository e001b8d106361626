"""The whole money path over real HTTP against real uvicorn processes (two workers)."""

from __future__ import annotations

import httpx

from tests.server.clients import Api
from walletql.ledger.verify import verify

HISTORY = """query($id: ID!) { wallet(id: $id) {
  balance version
  history(first: 10) { totalCount edges { node {
    direction amount balanceAfter
    transaction { kind status amount failureReason source { walletId } destination { walletId } }
  } } }
} }"""


def _rows(wallet: dict) -> list[tuple]:
    return [
        (
            edge["node"]["transaction"]["kind"],
            edge["node"]["transaction"]["status"],
            edge["node"]["direction"],
            edge["node"]["amount"],
            edge["node"]["balanceAfter"],
        )
        for edge in wallet["history"]["edges"]
    ]


async def test_money_path_over_http_with_two_workers(start_server, make_api):
    server = await start_server(workers=2)
    api = make_api(server)
    for path, status in (("/healthz", "ok"), ("/readyz", "ready")):
        response = await api.http.get(path)
        assert response.status_code == 200, (path, response.text)
        assert response.json()["status"] == status

    customer = await api.signup("CUSTOMER", name="Carla Customer")
    merchant = await api.signup("MERCHANT")
    paying = await api.create_wallet(customer["token"], "USD")
    till = await api.create_wallet(merchant["token"], "USD")
    assert (paying["balance"], paying["version"]) == ("0.00", 0)
    assert paying["token"], "the owner sees the wallet's payment token"

    deposit = await api.deposit(customer["token"], paying["id"], "100.5")
    assert deposit["wallet"] == {"id": paying["id"], "balance": "100.50", "version": 1}
    assert deposit["transaction"]["kind"] == "DEPOSIT"

    charge = await api.pay(
        "charge",
        "ChargeInput",
        merchant["token"],
        walletToken=paying["token"],
        amount="30.25",
        description="Coffee beans",
    )
    assert charge["__typename"] == "PaymentPayload", charge
    assert charge["wallet"] == {"id": till["id"], "balance": "30.25", "version": 1}
    assert (charge["transaction"]["kind"], charge["transaction"]["amount"]) == ("CHARGE", "30.25")

    declined = await api.pay(
        "charge",
        "ChargeInput",
        merchant["token"],
        walletToken=paying["token"],
        amount="70.26",
        description="Too much",
    )
    assert declined["__typename"] == "InsufficientFunds", declined
    assert declined["rejected"]["status"] == "REJECTED"

    # The merchant may not read the customer's wallet: NOT_FOUND, like a missing one.
    body = await api.gql(HISTORY, {"id": paying["id"]}, merchant["token"])
    assert body["data"]["wallet"] is None
    assert body["errors"][0]["extensions"]["code"] == "NOT_FOUND"

    mine = (await api.data(HISTORY, {"id": paying["id"]}, customer["token"]))["wallet"]
    assert (mine["balance"], mine["version"]) == ("70.25", 2)
    assert mine["history"]["totalCount"] == 3
    assert _rows(mine) == [
        ("CHARGE", "REJECTED", "DEBIT", "70.26", None),
        ("CHARGE", "POSTED", "DEBIT", "30.25", "70.25"),
        ("DEPOSIT", "POSTED", "CREDIT", "100.50", "100.50"),
    ]
    newest = mine["history"]["edges"][0]["node"]["transaction"]
    assert newest["failureReason"] == "INSUFFICIENT_FUNDS"
    posted = mine["history"]["edges"][1]["node"]["transaction"]
    assert posted["source"] == {"walletId": paying["id"]}
    assert posted["destination"] == {"walletId": till["id"]}

    theirs = (await api.data(HISTORY, {"id": till["id"]}, merchant["token"]))["wallet"]
    assert (theirs["balance"], theirs["version"]) == ("30.25", 1)
    # The declined charge named the merchant's wallet as destination: it is listed there too.
    assert _rows(theirs) == [
        ("CHARGE", "REJECTED", "CREDIT", "70.26", None),
        ("CHARGE", "POSTED", "CREDIT", "30.25", "30.25"),
    ]

    # Every request above may have reached either worker: the token works on both.
    for _ in range(6):
        me = await api.data("{ me { id } }", token=customer["token"])
        assert me["me"] == {"id": customer["id"]}
    assert await verify() == []


async def test_walletql_serve_cli_starts_a_working_server(start_server):
    server = await start_server(cli=True)
    async with httpx.AsyncClient(base_url=server.url, timeout=30.0) as http:
        assert (await http.get("/readyz")).status_code == 200
        api = Api.__new__(Api)
        api.http = http
        body = await api.data("{ currencies { code decimals } }")
        assert {"code": "BTC", "decimals": 8} in body["currencies"]
