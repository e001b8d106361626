"""A websocket acts for its token only while the token is valid (real servers, real sockets).

Found by an attack run: after `logout` over HTTP, the same socket still read `me`, withdrew
money and kept its subscriptions; likewise after its token expired. Now a revocation or an
expiry closes the socket with 4401 within seconds, on every server process, and an operation
sent meanwhile is refused.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta

from websockets.exceptions import ConnectionClosed

from tests.server.clients import WAIT, subscriber
from walletql.auth import token_digest
from walletql.ledger.verify import verify
from walletql.models import AuthToken

WITHDRAW = """mutation($input: WithdrawInput!) { withdraw(input: $input) {
  __typename ... on Error { code } } }"""
LOGIN = """mutation($input: LoginInput!) { login(input: $input) {
  ... on AuthPayload { token } } }"""


async def _customer(api, amount: str) -> tuple[dict, dict]:
    user = await api.signup()
    user["email"] = (await api.data("{ me { email } }", token=user["token"]))["me"]["email"]
    wallet = await api.create_wallet(user["token"], "USD")
    await api.deposit(user["token"], wallet["id"], amount)
    return user, wallet


async def _withdraw_on(ws, op_id: str, wallet_id: str) -> None:
    payload = {
        "query": WITHDRAW,
        "variables": {"input": {"walletId": wallet_id, "amount": "1.00", "idempotencyKey": op_id}},
    }
    await ws.send({"id": op_id, "type": "subscribe", "payload": payload})


async def _next_or_close(ws) -> dict | int | None:
    """The socket's next message, or its close code once the server closed it."""
    try:
        return await ws.recv()
    except ConnectionClosed as closed:
        return closed.rcvd.code if closed.rcvd else None


async def test_logout_over_http_closes_the_socket_and_moves_no_money(
    server, api, start_server, make_api
):
    user, wallet = await _customer(api, "2.00")
    other = make_api(await start_server())  # the logout goes through another server process
    async with subscriber(server.ws_url, user["token"]) as ws:
        await ws.subscribe("live", wallet["id"])
        await api.wait_subscribers(1)
        await _withdraw_on(ws, "before", wallet["id"])
        by_id: dict[str, list[dict]] = {"before": [], "live": []}
        while len(by_id["before"]) < 2 or not by_id["live"]:  # answer and complete; an update
            message = await ws.recv()
            by_id[message["id"]].append(message)
        answered, completed = by_id["before"]
        assert answered["payload"]["data"]["withdraw"]["__typename"] == "PaymentPayload"
        assert completed["type"] == "complete"
        assert by_id["live"][0]["payload"]["data"]["balanceUpdates"]["balance"] == "1.00"
        assert (await other.data("mutation { logout }", token=user["token"]))["logout"]
        # Whatever the socket gets now is a refusal or its close; never a posting.
        seen: list[dict] = []
        try:
            await _withdraw_on(ws, "after", wallet["id"])
        except ConnectionClosed as closed:  # already closed: the close code is what counts
            outcome = closed.rcvd.code if closed.rcvd else None
        else:
            while not isinstance(outcome := await _next_or_close(ws), int | None):
                seen.append(outcome)
        assert outcome == 4401, (outcome, seen)
        for message in seen:
            data = (message.get("payload") or {}).get("data") or {}
            assert "balanceUpdates" not in data, message
            if "withdraw" in data:
                assert data["withdraw"] == {
                    "__typename": "NotAuthenticated",
                    "code": "UNAUTHENTICATED",
                }
    await api.wait_subscribers(0)  # the subscription ended with the socket
    fresh = await api.data(
        "query($id: ID!) { wallet(id: $id) { balance version } }",
        {"id": wallet["id"]},
        token=(await _relogin(api, user["email"]))["token"],
    )
    assert fresh["wallet"] == {"balance": "1.00", "version": 2}
    assert await verify() == []


async def _relogin(api, email: str) -> dict:
    data = await api.data(LOGIN, {"input": {"email": email, "password": "correct horse battery"}})
    return data["login"]


async def test_an_expired_token_closes_its_socket(server, api):
    user, wallet = await _customer(api, "2.00")
    # A new token, not used yet: the server first reads it when the socket signs in, with the
    # expiry set here, two seconds from now.
    token = (await _relogin(api, user["email"]))["token"]
    await AuthToken.filter(token_hash=token_digest(token)).update(
        expires_at=datetime.now(UTC) + timedelta(seconds=2)
    )
    async with subscriber(server.ws_url, token) as ws:
        await ws.subscribe("live", wallet["id"])
        await api.wait_subscribers(1)
        outcome = await _next_or_close(ws)
        assert outcome == 4401, outcome
    await api.wait_subscribers(0)


async def test_a_socket_of_another_token_of_the_same_user_stays_open(server, api):
    user, wallet = await _customer(api, "2.00")
    second = await _relogin(api, user["email"])
    async with subscriber(server.ws_url, second["token"]) as ws:
        await ws.subscribe("live", wallet["id"])
        await api.wait_subscribers(1)
        assert (await api.data("mutation { logout }", token=user["token"]))["logout"]
        key = secrets.token_hex(4)
        await api.pay("deposit", "DepositInput", second["token"], walletId=wallet["id"],
                      amount="1.00", idempotencyKey=key)  # fmt: skip
        update = await ws.update(wait=WAIT)
        assert update["balance"] == "3.00"
        await ws.complete("live")
    await api.wait_subscribers(0)
