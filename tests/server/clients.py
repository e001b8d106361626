"""Clients for a real walletql server: GraphQL over HTTP (httpx) and over websockets.

`WsClient` is a deliberately small graphql-transport-ws client (and legacy graphql-ws, for the
one test of that protocol) written against the protocol text, so the tests see exactly what
goes over the wire. Every wait is bounded by WAIT: a hang becomes a failure, never a measure.
"""

from __future__ import annotations

import asyncio
import json
import secrets
from contextlib import asynccontextmanager

import httpx
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

WAIT = 10.0  # seconds; generous, only to turn a hang into a failure

PAYMENT = """
  __typename
  ... on PaymentPayload {
    replayed
    transaction { id kind status amount }
    wallet { id balance version }
  }
  ... on InsufficientFunds { rejected: transaction { id status } }
  ... on Error { code message }
"""

BALANCE_UPDATES = """
subscription($walletId: ID, $afterVersion: Int) {
  balanceUpdates(walletId: $walletId, afterVersion: $afterVersion) {
    walletId balance version
    transaction { id kind status amount source { walletId } destination { walletId } }
  }
}"""


class Api:
    """GraphQL over real HTTP."""

    def __init__(self, base_url: str) -> None:
        # Idle connections are dropped before uvicorn's 5 s keep-alive closes them: reusing one
        # the server is closing that moment ends in "Server disconnected" (seen in CI).
        self.http = httpx.AsyncClient(
            base_url=base_url, timeout=30.0, limits=httpx.Limits(keepalive_expiry=2.0)
        )

    async def aclose(self) -> None:
        await self.http.aclose()

    async def gql(self, query: str, variables: dict | None = None, token: str | None = None):
        headers = {"authorization": f"Bearer {token}"} if token else {}
        response = await self.http.post(
            "/graphql", json={"query": query, "variables": variables or {}}, headers=headers
        )
        assert response.status_code == 200, response.text
        body = response.json()
        return body

    async def data(self, query: str, variables: dict | None = None, token: str | None = None):
        body = await self.gql(query, variables, token)
        assert not body.get("errors"), body
        return body["data"]

    async def signup(self, role: str = "CUSTOMER", name: str = "Server Test") -> dict:
        variables = {
            "input": {
                "email": f"s{secrets.token_hex(6)}@example.com",
                "password": "correct horse battery",
                "name": name,
                "role": role,
                **({"company": {"name": "Acme Ltd"}} if role == "MERCHANT" else {}),
            }
        }
        data = await self.data(
            """mutation($input: SignupInput!) { signup(input: $input) {
                __typename ... on AuthPayload { token user { id role } }
                ... on Error { code message } } }""",
            variables,
        )
        result = data["signup"]
        assert result["__typename"] == "AuthPayload", result
        return {"token": result["token"], "id": result["user"]["id"]}

    async def create_wallet(self, token: str, currency: str = "USD") -> dict:
        data = await self.data(
            """mutation($input: CreateWalletInput!) { createWallet(input: $input) {
                __typename ... on WalletPayload { wallet { id token balance version } }
                ... on Error { code message } } }""",
            {"input": {"currency": currency}},
            token,
        )
        result = data["createWallet"]
        assert result["__typename"] == "WalletPayload", result
        return result["wallet"]

    async def pay(self, mutation: str, input_type: str, token: str, **fields) -> dict:
        fields.setdefault("idempotencyKey", secrets.token_hex(8))
        data = await self.data(
            f"mutation($input: {input_type}!) {{ {mutation}(input: $input) {{ {PAYMENT} }} }}",
            {"input": fields},
            token,
        )
        return data[mutation]

    async def deposit(self, token: str, wallet_id: str, amount: str) -> dict:
        result = await self.pay("deposit", "DepositInput", token, walletId=wallet_id, amount=amount)
        assert result["__typename"] == "PaymentPayload", result
        return result

    async def transfer(self, token: str, source: str, target: str, amount: str) -> dict:
        return await self.pay(
            "transfer",
            "TransferInput",
            token,
            fromWalletId=source,
            toWalletId=target,
            amount=amount,
        )

    async def wallet(self, token: str, wallet_id: str) -> dict:
        data = await self.data(
            "query($id: ID!) { wallet(id: $id) { id balance version } }", {"id": wallet_id}, token
        )
        return data["wallet"]

    async def subscribers(self) -> int:
        """Live balance subscribers of the (single-worker) server, from /healthz."""
        response = await self.http.get("/healthz")
        assert response.status_code == 200, response.text
        return response.json()["subscribers"]

    async def wait_subscribers(self, expected: int) -> None:
        """Poll /healthz until the server holds exactly `expected` subscribers (bounded)."""
        count = None
        for _ in range(int(WAIT / 0.05)):
            count = await self.subscribers()
            if count == expected:
                return
            await asyncio.sleep(0.05)
        raise AssertionError(f"server holds {count} subscribers, expected {expected}")


class WsClient:
    """One websocket speaking graphql-transport-ws (or legacy graphql-ws)."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.legacy = ws.subprotocol == "graphql-ws"

    async def send(self, message: dict) -> None:
        await self.ws.send(json.dumps(message))

    async def recv(self, wait: float = WAIT) -> dict:
        """The next protocol message, answering pings and skipping keep-alives."""
        while True:
            message = json.loads(await asyncio.wait_for(self.ws.recv(), wait))
            if message["type"] == "ping":
                await self.send({"type": "pong"})
            elif message["type"] not in ("pong", "ka"):
                return message

    async def init(self, payload: dict | None) -> dict:
        message = {"type": "connection_init"}
        if payload is not None:
            message["payload"] = payload
        await self.send(message)
        return await self.recv()

    async def subscribe(self, op_id: str, wallet_id=None, after_version=None) -> None:
        variables = {"walletId": wallet_id, "afterVersion": after_version}
        payload = {"query": BALANCE_UPDATES, "variables": variables}
        kind = "start" if self.legacy else "subscribe"
        await self.send({"id": op_id, "type": kind, "payload": payload})

    async def complete(self, op_id: str) -> None:
        await self.send({"id": op_id, "type": "stop" if self.legacy else "complete"})

    async def update(self, wait: float = WAIT) -> dict:
        """The next balance update; fails on anything else (error, complete, errors in data)."""
        message = await self.recv(wait)
        assert message["type"] == ("data" if self.legacy else "next"), message
        assert not message["payload"].get("errors"), message
        return message["payload"]["data"]["balanceUpdates"]

    async def updates_until(self, version: int) -> list[dict]:
        """Updates until one with `version` (or a higher one) arrives."""
        seen: list[dict] = []
        while not seen or seen[-1]["version"] < version:
            seen.append(await self.update())
        return seen

    async def closed_code(self) -> int | None:
        """Wait for the server to close the socket; its close code (a message is a failure)."""
        try:
            message = await self.recv()
        except ConnectionClosed as closed:
            return closed.rcvd.code if closed.rcvd else None
        raise AssertionError(f"expected the socket to close, got {message}")


class Collector:
    """Reads one subscription's updates in the background while the test does other work."""

    def __init__(self, client: WsClient) -> None:
        self.seen: list[dict] = []
        self._task = asyncio.create_task(self._run(client))

    async def _run(self, client: WsClient) -> None:
        while True:
            self.seen.append(await client.update(wait=120))

    async def until(self, version: int) -> list[dict]:
        """Everything received once an update with `version` (or higher) is in (bounded)."""
        for _ in range(int(WAIT / 0.02)):
            if self._task.done():
                self._task.result()  # the reader failed: raise its assertion here
                raise AssertionError("the subscription reader stopped")
            if self.seen and self.seen[-1]["version"] >= version:
                return self.seen
            await asyncio.sleep(0.02)
        raise AssertionError(f"version {version} not received; got {self.seen[-3:]}")

    async def stop(self) -> None:
        self._task.cancel()
        await asyncio.wait({self._task})


@asynccontextmanager
async def ws_connect(
    url: str,
    *,
    protocol: str = "graphql-transport-ws",
    headers: dict | None = None,
    origin: str | None = None,
):
    async with connect(
        url,
        subprotocols=[protocol],
        additional_headers=headers,
        origin=origin,
        open_timeout=WAIT,
        close_timeout=5,
    ) as ws:
        assert ws.subprotocol == protocol
        yield WsClient(ws)


@asynccontextmanager
async def subscriber(url: str, token: str, *, protocol: str = "graphql-transport-ws"):
    """An acknowledged connection authenticated by the connection_init payload."""
    async with ws_connect(url, protocol=protocol) as client:
        ack = await client.init({"authorization": f"Bearer {token}"})
        assert ack["type"] == "connection_ack", ack
        yield client
