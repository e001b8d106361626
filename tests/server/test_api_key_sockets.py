"""API keys on real servers: a key signs a websocket in (connection_init), acts there within its
scopes, and revoking it through one server process closes its sockets on another and refuses it
there at once, as logout does for a token."""

from __future__ import annotations

import asyncio
import hashlib
import secrets
import time

from tests.server.clients import subscriber
from walletql.ledger.verify import verify

ME = "{ me { id } }"
CREATE = """mutation($input: CreateApiKeyInput!) { createApiKey(input: $input) {
  ... on ApiKeyPayload { secret apiKey { id } } ... on Error { code } } }"""
REVOKE = """mutation($id: ID!) { revokeApiKey(id: $id) {
  __typename ... on ApiKeyPayload { apiKey { revokedAt } } } }"""


async def _key(api, token: str, *scopes: str) -> dict:
    made = await api.data(CREATE, {"input": {"name": "srv", "scopes": list(scopes)}}, token)
    return made["createApiKey"]


async def test_a_key_subscribes_and_its_revocation_closes_the_socket_everywhere(
    server, api, start_server, make_api
):
    user = await api.signup()
    wallet = await api.create_wallet(user["token"], "USD")
    key = await _key(api, user["token"], "READ")
    other = make_api(await start_server())
    async with subscriber(server.ws_url, key["secret"]) as ws:
        await ws.subscribe("live", wallet["id"])
        await api.wait_subscribers(1)
        await api.deposit(user["token"], wallet["id"], "3")
        update = await ws.update()
        assert (update["walletId"], update["balance"]) == (wallet["id"], "3.00")
        for _ in range(2):  # the other process reads the key once, then remembers it
            assert (await other.data(ME, token=key["secret"]))["me"]["id"] == user["id"]
        revoked = await other.data(REVOKE, {"id": key["apiKey"]["id"]}, user["token"])
        assert revoked["revokeApiKey"]["apiKey"]["revokedAt"] is not None
        assert await ws.closed_code() == 4401
    deadline = time.monotonic() + 5  # a notification's delivery, not a cache lifetime
    while (await api.data(ME, token=key["secret"]))["me"] is not None:
        assert time.monotonic() < deadline, "the server still accepts the revoked key"
        await asyncio.sleep(0.01)
    assert await verify() == []


async def test_a_key_without_read_cannot_subscribe(server, api):
    user = await api.signup()
    wallet = await api.create_wallet(user["token"], "USD")
    key = await _key(api, user["token"], "PAYMENTS")
    async with subscriber(server.ws_url, key["secret"]) as ws:
        await ws.send(
            {
                "id": "s",
                "type": "subscribe",
                "payload": {
                    "query": "subscription($w: ID) { balanceUpdates(walletId: $w) { version } }",
                    "variables": {"w": wallet["id"]},
                },
            }
        )
        message = await ws.recv()
        assert message["type"] in ("error", "next"), message
        errors = message["payload"] if message["type"] == "error" else message["payload"]["errors"]
        assert errors[0]["extensions"]["code"] == "FORBIDDEN", message
        # The key still posts over the same socket: PAYMENTS is what it may do.
        payload = {
            "query": """mutation($input: DepositInput!) { deposit(input: $input) {
                __typename ... on PaymentPayload { wallet { balance } } } }""",
            "variables": {
                "input": {
                    "walletId": wallet["id"],
                    "amount": "2",
                    "idempotencyKey": secrets.token_hex(8),
                }
            },
        }
        await ws.send({"id": "d", "type": "subscribe", "payload": payload})
        answer = await ws.recv()
        while answer.get("id") != "d":  # the refused subscription's own end comes first
            answer = await ws.recv()
        assert answer["payload"]["data"]["deposit"]["wallet"]["balance"] == "2.00", answer


async def test_a_key_never_reaches_the_log_at_any_level(start_server, make_api):
    """Made, used over HTTP and a websocket, used in a failing request, revoked, used revoked:
    the server logs at DEBUG (its SQL included) and the log holds neither the secret nor its
    sha256 (which finds the key as well as the secret does, in a leaked log)."""
    server = await start_server(cli=True, log_level="DEBUG")
    api = make_api(server)
    user = await api.signup()
    wallet = await api.create_wallet(user["token"], "USD")
    key = await _key(api, user["token"], "READ", "PAYMENTS")
    secret = key["secret"]
    await api.data(ME, token=secret)
    await api.deposit(secret, wallet["id"], "1")
    await api.gql("{ me { nonsense } }", token=secret)  # a failing request
    async with subscriber(server.ws_url, secret) as ws:
        await ws.subscribe("live", wallet["id"])
        await api.wait_subscribers(1)  # subscribed before the deposit, or the update is missed
        await api.deposit(user["token"], wallet["id"], "1")
        await ws.update()
    await api.data(REVOKE, {"id": key["apiKey"]["id"]}, user["token"])
    await api.gql(ME, token=secret)
    log = server.log()
    assert "DEBUG" in log  # the level the test asked for was in force
    assert secret not in log and secret[4:] not in log
    assert hashlib.sha256(secret.encode()).hexdigest() not in log
