"""Hostile websocket messages against a real server: never a crash, never INTERNAL_SERVER_ERROR.

Found on main: a graphql-transport-ws `subscribe` whose payload is a string ended the socket with
1006 and a traceback in the server log; a query or a mutation over the legacy graphql-ws
subprotocol answered INTERNAL_SERVER_ERROR (InvalidOperationTypeError), though API.graphql says
both subprotocols carry them. Now a malformed graphql-transport-ws message closes the socket
with 4400 (the protocol's code for it), the legacy subprotocol runs queries and mutations and
answers a malformed `start` with an `error` message, and the server log holds no traceback.
"""

from __future__ import annotations

import json
import secrets

import pytest
from websockets.exceptions import ConnectionClosed

from tests.server.clients import subscriber, ws_connect

NUL = "\x00"
SURROGATE = "\ud800"
PAYMENT = """mutation($input: DepositInput!) { deposit(input: $input) {
  __typename ... on PaymentPayload { wallet { balance } } ... on Error { code }
  ... on ValidationError { field } } }"""


@pytest.fixture
def clean_log(server):
    """Asserts, after the test, that the server logged no error or traceback meanwhile."""
    start = len(server.log())
    yield
    added = server.log()[start:]
    assert "Traceback" not in added and "ERROR" not in added, added[-3000:]


async def _customer(api) -> tuple[str, dict]:
    user = await api.signup()
    wallet = await api.create_wallet(user["token"], "USD")
    return user["token"], wallet


async def _closed_with(ws, wait: float = 5.0) -> int | None:
    """The close code once the server closes the socket (any message meanwhile is a failure)."""
    try:
        message = await ws.recv(wait)
    except ConnectionClosed as closed:
        return closed.rcvd.code if closed.rcvd else None
    raise AssertionError(f"expected the socket to close, got {message}")


def _errors_of(message: dict) -> list[dict]:
    payload = message["payload"]
    return payload if isinstance(payload, list) else payload.get("errors") or []


def _no_internal(message: dict) -> None:
    for error in _errors_of(message):
        assert (error.get("extensions") or {}).get("code") != "INTERNAL_SERVER_ERROR", message


# --- graphql-transport-ws --------------------------------------------------------------------

OPERATION = {"query": "{ me { id } }"}
MALFORMED = {
    "subscribe with a string payload": {"id": "1", "type": "subscribe", "payload": "s"},
    "subscribe with no payload": {"id": "1", "type": "subscribe"},
    "subscribe with a null payload": {"id": "1", "type": "subscribe", "payload": None},
    "subscribe with a list payload": {"id": "1", "type": "subscribe", "payload": []},
    "query not a string": {"id": "1", "type": "subscribe", "payload": {"query": 123}},
    "no query": {"id": "1", "type": "subscribe", "payload": {"variables": {}}},
    "variables a list": {"id": "1", "type": "subscribe", "payload": {**OPERATION, "variables": []}},
    "variables a string": {"id": "1", "type": "subscribe", "payload": {**OPERATION, "variables": "x"}},
    "extensions a number": {"id": "1", "type": "subscribe", "payload": {**OPERATION, "extensions": 1}},
    "operationName a number": {"id": "1", "type": "subscribe", "payload": {**OPERATION, "operationName": 1}},
    "operationName with a surrogate": {"id": "1", "type": "subscribe", "payload": {**OPERATION, "operationName": "A" + SURROGATE}},
    "id a number": {"id": 1, "type": "subscribe", "payload": OPERATION},
    "id a list": {"id": [1], "type": "subscribe", "payload": OPERATION},
    "id an object": {"id": {}, "type": "subscribe", "payload": OPERATION},
    "id missing": {"type": "subscribe", "payload": OPERATION},
    "id empty": {"id": "", "type": "subscribe", "payload": OPERATION},
    "id of 10,000 characters": {"id": "x" * 10_000, "type": "subscribe", "payload": OPERATION},
    "id with a NUL": {"id": "a" + NUL, "type": "subscribe", "payload": OPERATION},
    "id with a surrogate": {"id": "a" + SURROGATE, "type": "subscribe", "payload": OPERATION},
    "complete with a list id": {"id": [], "type": "complete"},
    "type a list": {"id": "1", "type": [], "payload": OPERATION},
    "type of 10,000 characters": {"type": "x" * 10_000},
    "type with a surrogate": {"type": SURROGATE},
    "no type": {"id": "1", "payload": OPERATION},
    "a string": "subscribe",
    "a list": [],
    "a number": 1,
    "null": None,
}  # fmt: skip


@pytest.mark.parametrize("message", MALFORMED.values(), ids=MALFORMED.keys())
async def test_a_malformed_message_closes_with_4400(server, api, clean_log, message):
    token, _wallet = await _customer(api)
    async with subscriber(server.ws_url, token) as ws:
        await ws.send(message)
        assert await _closed_with(ws) == 4400


RAW_FRAMES = {
    "not json": "{type: subscribe}",
    "json nested 10,000 deep": "[" * 10_000 + "]" * 10_000,
    "an integer of 5,000 digits": '{"type": "ping", "payload": {"n": ' + "9" * 5000 + "}}",
}


@pytest.mark.parametrize("frame", RAW_FRAMES.values(), ids=RAW_FRAMES.keys())
async def test_an_unreadable_frame_closes_with_4400(server, api, clean_log, frame):
    token, _wallet = await _customer(api)
    async with subscriber(server.ws_url, token) as ws:
        await ws.ws.send(frame)
        assert await _closed_with(ws) == 4400


async def test_a_surrogate_in_the_connection_init_token_is_refused_with_4403(server, clean_log):
    async with ws_connect(server.ws_url) as ws:
        await ws.send(
            {"type": "connection_init", "payload": {"authorization": "Bearer a" + SURROGATE}}
        )
        assert await _closed_with(ws) == 4403


async def test_long_names_in_refusals_still_close_cleanly(server, api, clean_log):
    """A refusal quoting the client (an unknown operation name, an unexpected token) must fit a
    close frame's reason (123 bytes), or closing fails."""
    token, _wallet = await _customer(api)
    name = "A" * 500
    for payload in (
        {"query": "query B { me { id } }", "operationName": name},
        {"query": "{ me { id } } " + name},
    ):
        async with subscriber(server.ws_url, token) as ws:
            await ws.send({"id": "1", "type": "subscribe", "payload": payload})
            assert await _closed_with(ws) == 4400


async def test_hostile_strings_in_operations_over_a_socket_are_client_errors(
    server, api, clean_log
):
    token, wallet = await _customer(api)
    async with subscriber(server.ws_url, token) as ws:
        deposit = {
            "walletId": wallet["id"],
            "amount": "1.00",
            "idempotencyKey": "k" + NUL,
            "description": SURROGATE,
        }
        at = '"0001-01-01T00:00:00+23:59"'
        operations = {
            "id": ("query($v: ID!) { wallet(id: $v) { id } }", {"v": SURROGATE}),
            "int": ("{ me { wallets { history(first: " + "9" * 5000 + ") { totalCount } } } }", {}),
            "datetime": (
                "query($w: ID!) { wallet(id: $w) { balanceAt(at: " + at + ") } }",
                {"w": wallet["id"]},
            ),
            "deposit": (PAYMENT, {"input": deposit}),
        }
        for op_id, (query, variables) in operations.items():
            payload = {"query": query, "variables": variables}
            await ws.send({"id": op_id, "type": "subscribe", "payload": payload})
            message = await ws.recv()
            assert message["id"] == op_id, message
            _no_internal(message)
            if op_id == "deposit":
                assert message["payload"]["data"]["deposit"] == {
                    "__typename": "ValidationError",
                    "code": "BAD_INPUT",
                    "field": "idempotencyKey",
                }
            else:
                assert _errors_of(message), message
            if message["type"] == "next":
                assert (await ws.recv())["type"] == "complete"
        # the socket is still usable afterwards
        await ws.send({"id": "me", "type": "subscribe", "payload": {"query": "{ me { id } }"}})
        assert (await ws.recv())["payload"]["data"]["me"]["id"]


# --- legacy graphql-ws -----------------------------------------------------------------------


async def test_queries_and_mutations_run_over_the_legacy_subprotocol(server, api, clean_log):
    token, wallet = await _customer(api)
    async with subscriber(server.ws_url, token, protocol="graphql-ws") as ws:
        await ws.send(
            {"id": "q", "type": "start", "payload": {"query": "{ me { wallets { id } } }"}}
        )
        message = await ws.recv()
        assert message == {
            "type": "data",
            "id": "q",
            "payload": {"data": {"me": {"wallets": [{"id": wallet["id"]}]}}},
        }
        assert await ws.recv() == {"type": "complete", "id": "q"}

        fields = {
            "walletId": wallet["id"],
            "amount": "2.50",
            "idempotencyKey": secrets.token_hex(8),
        }
        await ws.send(
            {
                "id": "m",
                "type": "start",
                "payload": {"query": PAYMENT, "variables": {"input": fields}},
            }
        )
        message = await ws.recv()
        assert message["type"] == "data", message
        assert message["payload"]["data"]["deposit"] == {
            "__typename": "PaymentPayload",
            "wallet": {"balance": "2.50"},
        }
        assert await ws.recv() == {"type": "complete", "id": "m"}
        assert (await api.wallet(token, wallet["id"]))["balance"] == "2.50"

        # and subscriptions still stream
        await ws.subscribe("s", wallet["id"])
        await api.wait_subscribers(1)
        await api.deposit(token, wallet["id"], "1.00")
        assert (await ws.update())["balance"] == "3.50"
        await ws.complete("s")


async def test_the_legacy_subprotocol_answers_a_malformed_start_with_an_error(
    server, api, clean_log
):
    token, _wallet = await _customer(api)
    async with subscriber(server.ws_url, token, protocol="graphql-ws") as ws:
        for payload in ("s", None, [], {"query": 1}, {"query": "{ me { id } }", "variables": []}):
            await ws.send({"id": "bad", "type": "start", "payload": payload})
            message = await ws.recv()
            assert message["type"] == "error" and message["id"] == "bad", message
        # messages of no known shape are answered connection_error, the connection stays
        for message in ("start", [], 1, None, {"type": []}, {"type": "x" * 1000}):
            await ws.send(message)
            assert (await ws.recv())["type"] == "connection_error", message
        await ws.ws.send("[" * 10_000 + "]" * 10_000)
        assert (await ws.recv())["type"] == "connection_error"
        for payload in (
            {"query": "{ me { id } } }"},
            {"query": "{ me { id } }", "operationName": "Nope"},
        ):
            await ws.send({"id": "pre", "type": "start", "payload": payload})
            message = await ws.recv()
            assert message["type"] == "error", message
            assert message["payload"]["extensions"]["code"] == "BAD_USER_INPUT", message
        await ws.send({"id": "ok", "type": "start", "payload": {"query": "{ me { id } }"}})
        message = await ws.recv()
        assert message["type"] == "data" and message["payload"]["data"]["me"]["id"], message
        assert await ws.recv() == {"type": "complete", "id": "ok"}
        # a start or stop without a usable id cannot be answered: closed
        await ws.send({"id": ["x"], "type": "stop"})
        assert await _closed_with(ws) == 4400


async def test_the_legacy_subprotocol_refuses_an_unusable_start_id(server, api, clean_log):
    token, _wallet = await _customer(api)
    for operation_id in (1, None, "", "x" * 1000, "a" + SURROGATE):
        async with subscriber(server.ws_url, token, protocol="graphql-ws") as ws:
            message = {"type": "start", "payload": {"query": "{ me { id } }"}}
            if operation_id is not None:
                message["id"] = operation_id
            await ws.send(message)
            assert await _closed_with(ws) == 4400, operation_id


async def test_an_unacknowledged_legacy_start_is_unauthorized(server, clean_log):
    async with ws_connect(server.ws_url, protocol="graphql-ws") as ws:
        await ws.send({"id": "1", "type": "start", "payload": "s"})
        assert await _closed_with(ws) == 4401


def test_messages_here_are_json_serializable():
    # The client encodes with json.dumps (lone surrogates escaped as \ud800): check it can.
    assert json.dumps(MALFORMED)


async def test_requests_strawberry_refuses_whole_are_client_errors(server, api, clean_log):
    """No query, or no operation by that name: refused before execution, never masked as
    INTERNAL_SERVER_ERROR (graphql-transport-ws closes with 4400 for the unknown name)."""
    token, _wallet = await _customer(api)
    for protocol in ("graphql-transport-ws", "graphql-ws"):
        for payload in ({"query": ""}, {"query": "query A { me { id } }", "operationName": "B"}):
            async with subscriber(server.ws_url, token, protocol=protocol) as ws:
                kind = "start" if ws.legacy else "subscribe"
                await ws.send({"id": "1", "type": kind, "payload": payload})
                try:
                    message = await ws.recv()
                except ConnectionClosed as closed:
                    assert closed.rcvd is not None and closed.rcvd.code == 4400, closed
                    continue
                assert message["type"] == "error", message
                _no_internal(message)
                errors = _errors_of(message) or [message["payload"]]
                assert all(e["extensions"]["code"] == "BAD_USER_INPUT" for e in errors), message
