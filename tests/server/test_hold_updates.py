"""balanceUpdates for holds, over a real websocket: placing, capturing and releasing a hold are
postings, each delivered with the held and available figures and the wallet as that posting left
it, live and when replayed with afterVersion."""

from __future__ import annotations

import asyncio
import secrets

from tests.server.clients import subscriber
from walletql.ledger.verify import verify

WAIT_EXPIRY = 30.0  # seconds: only turns a sweeper that never runs into a failure

HOLD_UPDATES = """
subscription($walletId: ID, $afterVersion: Int) {
  balanceUpdates(walletId: $walletId, afterVersion: $afterVersion) {
    walletId balance held available version
    transaction { kind status amount hold { status remaining } }
    wallet { id token balance held available version }
  }
}"""

HOLD = """
  __typename
  ... on HoldPayload { hold { id status remaining } transaction { id kind } }
  ... on Error { code message }
"""


async def _hold_call(api, mutation: str, input_type: str, token: str, **fields) -> dict:
    fields.setdefault("idempotencyKey", secrets.token_hex(8))
    query = f"mutation($input: {input_type}!) {{ {mutation}(input: $input) {{ {HOLD} }} }}"
    result = (await api.data(query, {"input": fields}, token))[mutation]
    assert result["__typename"] == "HoldPayload", result
    return result


def _expected(wallet: dict, version: int, balance: str, held: str, kind: str, **hold) -> dict:
    available = f"{float(balance) - float(held):.2f}"
    figures = {"balance": balance, "held": held, "available": available, "version": version}
    return {
        "walletId": wallet["id"],
        **figures,
        "transaction": {
            "kind": kind,
            "status": "POSTED",
            "amount": hold.pop("amount"),
            "hold": hold,
        },
        # The wallet as this posting left it, and its token: the subscriber owns it.
        "wallet": {"id": wallet["id"], "token": wallet["token"], **figures},
    }


async def test_a_hold_placed_captured_and_released_is_three_updates(server, api):
    customer = await api.signup()
    wallet = await api.create_wallet(customer["token"], "USD")
    await api.deposit(customer["token"], wallet["id"], "100")
    shop = await api.signup("MERCHANT")
    await api.create_wallet(shop["token"], "USD")

    expected = [
        _expected(
            wallet,
            2,
            "100.00",
            "30.00",
            "HOLD",
            amount="30.00",
            status="CAPTURED",
            remaining="0.00",
        ),
        _expected(
            wallet,
            3,
            "90.00",
            "20.00",
            "CAPTURE",
            amount="10.00",
            status="CAPTURED",
            remaining="0.00",
        ),
        _expected(
            wallet,
            4,
            "90.00",
            "0.00",
            "RELEASE",
            amount="20.00",
            status="CAPTURED",
            remaining="0.00",
        ),
    ]
    async with subscriber(server.ws_url, customer["token"]) as ws:
        variables = {"walletId": wallet["id"], "afterVersion": None}
        payload = {"query": HOLD_UPDATES, "variables": variables}
        await ws.send({"id": "1", "type": "subscribe", "payload": payload})
        await api.wait_subscribers(1)
        placed = await _hold_call(
            api,
            "authorize",
            "AuthorizeInput",
            shop["token"],
            walletToken=wallet["token"],
            amount="30",
            description="Books",
        )
        first = await ws.update()
        # Read before the capture: the hold as it is now is still HELD.
        assert first["transaction"]["hold"] == {"status": "HELD", "remaining": "30.00"}
        first["transaction"]["hold"] = expected[0]["transaction"]["hold"]
        assert first == expected[0]
        await _hold_call(
            api,
            "capture",
            "CaptureInput",
            shop["token"],
            holdId=placed["hold"]["id"],
            amount="10",
            final=True,
        )
        assert [await ws.update(), await ws.update()] == expected[1:]

    # Replayed from the stored entries: the same figures.
    async with subscriber(server.ws_url, customer["token"]) as ws:
        variables = {"walletId": wallet["id"], "afterVersion": 1}
        payload = {"query": HOLD_UPDATES, "variables": variables}
        await ws.send({"id": "2", "type": "subscribe", "payload": payload})
        replayed = [await ws.update() for _ in range(3)]
    assert replayed == expected
    assert await verify() == []


async def test_expired_holds_are_released_once_by_servers_sweeping_together(start_server, make_api):
    """Two server processes sweep every second: every expired hold is released exactly once
    (FOR UPDATE SKIP LOCKED), and the money is available again."""
    first = make_api(await start_server(hold_sweep_seconds=1))
    await start_server(hold_sweep_seconds=1)  # the other sweeper, on the same database
    shop = await first.signup("MERCHANT")
    await first.create_wallet(shop["token"], "USD")
    customers = []
    for _ in range(12):
        customer = await first.signup()
        wallet = await first.create_wallet(customer["token"], "USD")
        await first.deposit(customer["token"], wallet["id"], "10")
        customers.append((customer, wallet))
    holds = []
    for _, wallet in customers:
        for amount in ("1", "2"):
            placed = await _hold_call(
                first,
                "authorize",
                "AuthorizeInput",
                shop["token"],
                walletToken=wallet["token"],
                amount=amount,
                description="Expiring",
                expiresInSeconds=1,
            )
            holds.append(placed["hold"]["id"])
    query = """query($id: ID!) { hold(id: $id) { status remaining
        transactions { kind amount } } }"""
    for _ in range(int(WAIT_EXPIRY / 0.2)):  # observed, bounded: a hang is a failure
        states = [(await first.data(query, {"id": h}, shop["token"]))["hold"] for h in holds]
        if all(state["status"] == "EXPIRED" for state in states):
            break
        await asyncio.sleep(0.2)
    else:
        raise AssertionError(f"holds not all released: {states}")
    for state in states:
        kinds = [t["kind"] for t in state["transactions"]]
        assert kinds == ["HOLD", "RELEASE"], state  # released once, by one of the two
        assert state["remaining"] == "0.00"
    wallet_query = "query($id: ID!) { wallet(id: $id) { balance held available version } }"
    for customer, wallet in customers:
        seen = (await first.data(wallet_query, {"id": wallet["id"]}, customer["token"]))["wallet"]
        assert seen == {"balance": "10.00", "held": "0.00", "available": "10.00", "version": 5}
    assert await verify() == []
