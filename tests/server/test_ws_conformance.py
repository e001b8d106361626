"""Every message type of both websocket subprotocols, in and out of order, against a real server.

Each answer is the one the protocol's text gives: graphql-transport-ws (graphql-ws's
PROTOCOL.md: 4400 bad request, 4401 unauthorized, 4403 forbidden, 4409 duplicate id, 4429 a
second init) and the legacy graphql-ws (subscriptions-transport-ws's PROTOCOL.md:
`connection_error` for what it cannot parse, `ka` right after `connection_ack`, `data`,
`error`, `complete`). Never INTERNAL_SERVER_ERROR, never a traceback in the server's log, and
the server still serves afterwards. "Nothing answered" is checked by the next answer being the
one to a later probe (a ping, or a query), never by waiting.
"""

from __future__ import annotations

import asyncio
import json
import secrets
from contextlib import asynccontextmanager

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from tests.server.clients import WAIT

ME = {"query": "{ me { id } }"}
DEPOSIT = """mutation($input: DepositInput!) { deposit(input: $input) {
  __typename ... on PaymentPayload { wallet { balance version } } ... on Error { code } } }"""
UPDATES = """subscription($w: ID) { balanceUpdates(walletId: $w) { balance version } }"""
INVALID = {"query": "{ me { nope } }"}  # parses, fails validation


class Socket:
    """One raw websocket: exactly what the server sends, in order."""

    def __init__(self, ws) -> None:
        self.ws = ws

    async def send(self, message: object) -> None:
        await self.ws.send(message if isinstance(message, str) else json.dumps(message))

    async def recv(self) -> dict:
        message = json.loads(await asyncio.wait_for(self.ws.recv(), WAIT))
        assert not _internal(message), message
        return message

    async def closed(self) -> tuple[int, str]:
        """The close code and reason, once the server closes (a message meanwhile fails)."""
        try:
            message = await asyncio.wait_for(self.ws.recv(), WAIT)
        except ConnectionClosed as closed:
            assert closed.rcvd is not None, closed
            return closed.rcvd.code, closed.rcvd.reason
        raise AssertionError(f"expected the socket to close, got {message}")


def _internal(message: dict) -> bool:
    return "INTERNAL_SERVER_ERROR" in json.dumps(message) or "Traceback" in json.dumps(message)


@asynccontextmanager
async def socket(server, protocol: str):
    async with connect(server.ws_url, subprotocols=[protocol], open_timeout=WAIT) as ws:
        assert ws.subprotocol == protocol
        yield Socket(ws)


@pytest.fixture
def clean_log(server):
    start = len(server.log())
    yield
    added = server.log()[start:]
    assert "Traceback" not in added and "ERROR" not in added, added[-3000:]


@pytest.fixture
async def customer(api):
    user = await api.signup()
    wallet = await api.create_wallet(user["token"], "USD")
    auth = {"authorization": f"Bearer {user['token']}"}
    return {"token": user["token"], "auth": auth, "id": wallet["id"]}


def _deposit(wallet_id: str, amount: str) -> dict:
    key = secrets.token_hex(8)
    fields = {"walletId": wallet_id, "amount": amount, "idempotencyKey": key}
    return {"query": DEPOSIT, "variables": {"input": fields}}


# --- graphql-transport-ws --------------------------------------------------------------------

TRANSPORT = "graphql-transport-ws"
TRANSPORT_ACK = {"type": "connection_ack", "payload": None}  # "payload?: Record | null"


async def _pong(ws: Socket) -> None:
    """A ping's pong is the very next message: nothing was answered before it."""
    await ws.send({"type": "ping"})
    assert await ws.recv() == {"type": "pong"}


async def test_transport_ws_before_connection_init(server, customer, clean_log):
    async with socket(server, TRANSPORT) as ws:
        await ws.send({"type": "pong"})  # unanswered
        await ws.send({"type": "complete", "id": "nobody"})  # no such operation: ignored
        await _pong(ws)  # ping and pong are allowed at any time
        await ws.send({"type": "ping", "payload": {"at": 1}})
        assert await ws.recv() == {"type": "pong"}
        await ws.send({"type": "subscribe", "id": "1", "payload": ME})
        assert await ws.closed() == (4401, "Unauthorized")


@pytest.mark.parametrize(
    ("init", "closed"),
    [
        ({"type": "connection_init"}, (4403, "Forbidden")),
        ({"type": "connection_init", "payload": None}, (4403, "Forbidden")),
        ({"type": "connection_init", "payload": {"authorization": "Bearer nope"}}, (4403, "Forbidden")),
        ({"type": "connection_init", "payload": "token"}, (4400, "Invalid connection init payload")),
    ],
    ids=["no payload", "null payload", "bad token", "payload a string"],
)  # fmt: skip
async def test_transport_ws_refused_connection_init(server, clean_log, init, closed):
    async with socket(server, TRANSPORT) as ws:
        await ws.send(init)
        assert await ws.closed() == closed


async def test_transport_ws_a_second_connection_init_closes_with_4429(server, customer, clean_log):
    async with socket(server, TRANSPORT) as ws:
        await ws.send({"type": "connection_init", "payload": customer["auth"]})
        assert await ws.recv() == TRANSPORT_ACK
        await ws.send({"type": "connection_init", "payload": customer["auth"]})
        assert await ws.closed() == (4429, "Too many initialisation requests")


@pytest.mark.parametrize(
    "message",
    [
        {"type": "start", "id": "1", "payload": ME},
        {"type": "stop", "id": "1"},
        {"type": "connection_terminate"},
        {"type": "ka"},
        {"type": "next", "id": "1", "payload": {"data": {}}},
        {"type": "connection_ack"},
        {"type": "whatever"},
        "not json",
        {"id": "1", "payload": ME},
        {"type": "subscribe", "id": "1", "payload": "{ me { id } }"},
        {"type": "subscribe", "id": 1, "payload": ME},
    ],
    ids=[
        "legacy start",
        "legacy stop",
        "legacy connection_terminate",
        "ka",
        "server's next",
        "server's connection_ack",
        "unknown type",
        "not json",
        "no type",
        "payload a string",
        "id a number",
    ],
)
async def test_transport_ws_an_unknown_or_malformed_message_closes_with_4400(
    server, customer, clean_log, message
):
    async with socket(server, TRANSPORT) as ws:
        await ws.send({"type": "connection_init", "payload": customer["auth"]})
        assert await ws.recv() == TRANSPORT_ACK
        await ws.send(message)
        code, _reason = await ws.closed()
        assert code == 4400


async def test_transport_ws_operations_in_order_and_out(server, api, customer, clean_log):
    wallet = customer["id"]
    async with socket(server, TRANSPORT) as ws:
        await ws.send({"type": "connection_init", "payload": customer["auth"]})
        assert await ws.recv() == TRANSPORT_ACK
        await _pong(ws)

        await ws.send({"type": "subscribe", "id": "q", "payload": ME})
        me = await ws.recv()
        assert me["type"] == "next" and me["id"] == "q" and me["payload"]["data"]["me"]["id"]
        assert await ws.recv() == {"type": "complete", "id": "q"}

        await ws.send({"type": "subscribe", "id": "m", "payload": _deposit(wallet, "3.00")})
        assert await ws.recv() == {
            "type": "next",
            "id": "m",
            "payload": {
                "data": {
                    "deposit": {
                        "__typename": "PaymentPayload",
                        "wallet": {"balance": "3.00", "version": 1},
                    }
                }
            },
        }
        assert await ws.recv() == {"type": "complete", "id": "m"}

        await ws.send({"type": "subscribe", "id": "bad", "payload": INVALID})
        error = await ws.recv()
        assert error["type"] == "error" and error["id"] == "bad", error
        assert [e["extensions"]["code"] for e in error["payload"]] == ["BAD_USER_INPUT"]
        await ws.send({"type": "complete", "id": "bad"})  # already over: ignored
        await ws.send({"type": "complete", "id": "never"})  # never started: ignored
        await _pong(ws)

        subscription = {"query": UPDATES, "variables": {"w": wallet}}
        await ws.send({"type": "subscribe", "id": "s", "payload": subscription})
        await api.wait_subscribers(1)
        await api.deposit(customer["token"], wallet, "1.00")
        update = {"balanceUpdates": {"balance": "4.00", "version": 2}}
        assert await ws.recv() == {"type": "next", "id": "s", "payload": {"data": update}}
        await ws.send({"type": "pong"})  # unsolicited pong: unanswered
        await ws.send({"type": "complete", "id": "s"})
        await api.wait_subscribers(0)
        await api.deposit(customer["token"], wallet, "1.00")  # no longer delivered
        await _pong(ws)

        # an id in use by a running operation: 4409
        await ws.send({"type": "subscribe", "id": "s2", "payload": subscription})
        await api.wait_subscribers(1)
        await ws.send({"type": "subscribe", "id": "s2", "payload": ME})
        assert await ws.closed() == (4409, "Subscriber for s2 already exists")
    await api.wait_subscribers(0)


# --- legacy graphql-ws -----------------------------------------------------------------------

LEGACY = "graphql-ws"


async def _acknowledged(ws: Socket, auth: dict) -> None:
    await ws.send({"type": "connection_init", "payload": auth})
    assert await ws.recv() == {"type": "connection_ack"}
    assert await ws.recv() == {"type": "ka"}  # "right after each GQL_CONNECTION_ACK"


async def _probe(ws: Socket, op_id: str = "probe") -> None:
    """A query's answer is the very next message: nothing was answered before it."""
    await ws.send({"type": "start", "id": op_id, "payload": ME})
    data = await ws.recv()
    assert data["type"] == "data" and data["id"] == op_id and data["payload"]["data"]["me"], data
    assert await ws.recv() == {"type": "complete", "id": op_id}


def _connection_error(message: str) -> dict:
    return {"type": "connection_error", "payload": {"message": message}}


async def test_legacy_before_connection_init(server, customer, clean_log):
    async with socket(server, LEGACY) as ws:
        await ws.send({"type": "stop", "id": "nobody"})  # no such operation: ignored
        await ws.send("not json")
        assert await ws.recv() == _connection_error("A message must be JSON")
        await ws.send({"type": "start", "id": "1", "payload": ME})
        assert await ws.closed() == (4401, "Unauthorized")
    async with socket(server, LEGACY) as ws:
        await ws.send({"type": "connection_terminate"})
        assert await ws.closed() == (1000, "")


@pytest.mark.parametrize(
    ("init", "answer", "closed"),
    [
        ({"type": "connection_init"}, "Forbidden", (4403, "Forbidden")),
        ({"type": "connection_init", "payload": None}, "Forbidden", (4403, "Forbidden")),
        ({"type": "connection_init", "payload": {"authorization": "Bearer nope"}}, "Forbidden", (4403, "Forbidden")),
        ({"type": "connection_init", "payload": ["token"]}, "The connection_init payload must be an object", (4400, "Invalid connection init payload")),
    ],
    ids=["no payload", "null payload", "bad token", "payload a list"],
)  # fmt: skip
async def test_legacy_refused_connection_init(server, clean_log, init, answer, closed):
    async with socket(server, LEGACY) as ws:
        await ws.send(init)
        assert await ws.recv() == _connection_error(answer)
        assert await ws.closed() == closed


async def test_legacy_messages_it_cannot_take_answer_connection_error(server, customer, clean_log):
    async with socket(server, LEGACY) as ws:
        await _acknowledged(ws, customer["auth"])
        await ws.send({"type": "connection_init", "payload": customer["auth"]})
        assert await ws.recv() == _connection_error("Too many initialisation requests")
        for message in (
            {"type": "subscribe", "id": "1", "payload": ME},  # graphql-transport-ws's types
            {"type": "complete", "id": "1"},
            {"type": "ping"},
            {"type": "pong"},
            {"type": "ka"},
            {"type": "data", "id": "1", "payload": {"data": {}}},
            {"type": "whatever"},
            {"id": "1", "payload": ME},
            ["start"],
            "null",
        ):
            await ws.send(message)
            assert await ws.recv() == _connection_error("Unknown message type"), message
        await ws.send("{not json")
        assert await ws.recv() == _connection_error("A message must be JSON")
        await _probe(ws)  # still serving, and no second keep-alive was started


async def test_legacy_operations_in_order_and_out(server, api, customer, clean_log):
    wallet = customer["id"]
    async with socket(server, LEGACY) as ws:
        await _acknowledged(ws, customer["auth"])
        await _probe(ws, "q")

        await ws.send({"type": "start", "id": "m", "payload": _deposit(wallet, "3.00")})
        assert await ws.recv() == {
            "type": "data",
            "id": "m",
            "payload": {
                "data": {
                    "deposit": {
                        "__typename": "PaymentPayload",
                        "wallet": {"balance": "3.00", "version": 1},
                    }
                }
            },
        }
        assert await ws.recv() == {"type": "complete", "id": "m"}

        await ws.send({"type": "start", "id": "bad", "payload": INVALID})
        error = await ws.recv()
        assert error["type"] == "error" and error["id"] == "bad", error
        assert error["payload"]["extensions"]["code"] == "BAD_USER_INPUT", error
        await ws.send({"type": "stop", "id": "bad"})  # already over: ignored
        await ws.send({"type": "stop", "id": "never"})  # never started: ignored
        await _probe(ws)

        subscription = {"query": UPDATES, "variables": {"w": wallet}}
        await ws.send({"type": "start", "id": "s", "payload": subscription})
        await api.wait_subscribers(1)
        await api.deposit(customer["token"], wallet, "1.00")
        update = {"balanceUpdates": {"balance": "4.00", "version": 2}}
        assert await ws.recv() == {"type": "data", "id": "s", "payload": {"data": update}}

        # the same id started again: the first operation completes, the second runs
        await ws.send({"type": "start", "id": "s", "payload": subscription})
        assert await ws.recv() == {"type": "complete", "id": "s"}
        await api.wait_subscribers(1)
        await api.deposit(customer["token"], wallet, "1.00")
        update = {"balanceUpdates": {"balance": "5.00", "version": 3}}
        assert await ws.recv() == {"type": "data", "id": "s", "payload": {"data": update}}

        await ws.send({"type": "stop", "id": "s"})
        assert await ws.recv() == {"type": "complete", "id": "s"}
        await api.wait_subscribers(0)
        await _probe(ws)

        await ws.send({"type": "connection_terminate"})
        assert await ws.closed() == (1000, "")


async def test_the_server_still_serves_both_protocols_afterwards(server, customer, clean_log):
    async with socket(server, TRANSPORT) as ws:
        await ws.send({"type": "connection_init", "payload": customer["auth"]})
        assert await ws.recv() == TRANSPORT_ACK
        await ws.send({"type": "subscribe", "id": "1", "payload": ME})
        assert (await ws.recv())["payload"]["data"]["me"]["id"]
    async with socket(server, LEGACY) as ws:
        await _acknowledged(ws, customer["auth"])
        await _probe(ws)
