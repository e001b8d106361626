"""A Python client of walletql with `gql`: over HTTP, and live balances over graphql-transport-ws.

    .venv/bin/pip install -e '.[examples]'      # gql[httpx,websockets], pinned in pyproject.toml
    .venv/bin/python examples/python/live_balance.py --url http://127.0.0.1:8000/graphql

It signs up a new customer, opens a USD wallet and deposits over HTTP, subscribes to
`balanceUpdates`, disconnects, lets two deposits happen while it is away, and reconnects with
`afterVersion` set to the last version it saw: the missed postings arrive first, in order, with
no gap and no duplicate. It prints what it sees, then one JSON line (versions and balance).

gql's WebsocketsTransport offers the legacy `graphql-ws` subprotocol first; walletql speaks both,
and this client asks for `graphql-transport-ws` (the maintained one) by name.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import secrets
from decimal import Decimal

from gql import Client, GraphQLRequest, gql
from gql.transport.httpx import HTTPXAsyncTransport
from gql.transport.websockets import WebsocketsTransport

SIGNUP = gql("""
mutation($input: SignupInput!) { signup(input: $input) {
  __typename ... on AuthPayload { token user { id } } ... on Error { code message } } }
""")
CREATE_WALLET = gql("""
mutation { createWallet(input: {currency: "USD"}) {
  __typename ... on WalletPayload { wallet { id balance version } } ... on Error { code message } } }
""")
DEPOSIT = gql("""
mutation($input: DepositInput!) { deposit(input: $input) {
  __typename ... on PaymentPayload { replayed wallet { balance version } }
  ... on Error { code message } } }
""")
BALANCE_UPDATES = gql("""
subscription($walletId: ID, $afterVersion: Int) {
  balanceUpdates(walletId: $walletId, afterVersion: $afterVersion) {
    walletId balance version transaction { id kind amount } } }
""")


def answer(result: dict, field: str, expected: str) -> dict:
    """A mutation's union answer, or the error type's code and message as an exception."""
    value = result[field]
    if value["__typename"] != expected:
        raise RuntimeError(f"{field}: {value.get('code')} {value.get('message')}")
    return value


def http_client(url: str, token: str | None = None) -> Client:
    headers = {"authorization": f"Bearer {token}"} if token else None
    return Client(transport=HTTPXAsyncTransport(url=url, headers=headers))


def websocket_client(url: str, token: str) -> Client:
    transport = WebsocketsTransport(
        url=url.replace("http", "ws", 1),  # http -> ws, https -> wss
        init_payload={"authorization": f"Bearer {token}"},  # the connection_init payload
        subprotocols=[WebsocketsTransport.GRAPHQLWS_SUBPROTOCOL],  # "graphql-transport-ws"
    )
    return Client(transport=transport)


async def deposit(url: str, token: str, wallet_id: str, amount: str) -> dict:
    variables = {
        "input": {
            "walletId": wallet_id,
            "amount": amount,  # a string: money is never a float
            "idempotencyKey": secrets.token_hex(8),  # a retry with the same key is safe
        }
    }
    async with http_client(url, token) as session:
        result = await session.execute(GraphQLRequest(DEPOSIT, variable_values=variables))
    return answer(result, "deposit", "PaymentPayload")["wallet"]


async def updates(url: str, token: str, wallet_id: str, after: int, count: int, on_first=None):
    """`count` balance updates after version `after`, then disconnect."""
    seen: list[dict] = []
    async with websocket_client(url, token) as session:
        variables = {"walletId": wallet_id, "afterVersion": after}
        async for result in session.subscribe(
            GraphQLRequest(BALANCE_UPDATES, variable_values=variables)
        ):
            update = result["balanceUpdates"]
            print(f"  version {update['version']}: balance {update['balance']}")
            seen.append(update)
            if len(seen) == 1 and on_first is not None:
                await on_first()
            if len(seen) == count:
                break  # leaving the block closes the socket: a disconnect
    return seen


async def run(url: str) -> dict:
    variables = {
        "input": {
            "email": f"py-{secrets.token_hex(4)}@example.com",
            "password": "a long secret",
            "name": "Python client",
        }
    }
    async with http_client(url) as session:
        signup = answer(
            await session.execute(GraphQLRequest(SIGNUP, variable_values=variables)),
            "signup",
            "AuthPayload",
        )
    token = signup["token"]
    async with http_client(url, token) as session:
        result = await session.execute(CREATE_WALLET)
    wallet_id = answer(result, "createWallet", "WalletPayload")["wallet"]["id"]
    print(f"signed up {signup['user']['id']}, wallet {wallet_id}")

    await deposit(url, token, wallet_id, "10.00")
    print("live, from the start (afterVersion 0), a deposit while connected:")
    seen = await updates(
        url, token, wallet_id, after=0, count=2,
        on_first=lambda: deposit(url, token, wallet_id, "5.00"),
    )  # fmt: skip

    last = seen[-1]["version"]
    print(f"disconnected at version {last}; two deposits meanwhile")
    await deposit(url, token, wallet_id, "2.50")
    await deposit(url, token, wallet_id, "1.25")

    print(f"reconnected with afterVersion {last}:")
    seen += await updates(url, token, wallet_id, after=last, count=2)

    versions = [update["version"] for update in seen]
    if versions != list(range(1, len(versions) + 1)):
        raise RuntimeError(f"a gap or a duplicate: {versions}")
    balance = seen[-1]["balance"]
    if Decimal(balance) != Decimal("18.75"):
        raise RuntimeError(f"balance {balance}, expected 18.75")
    return {"wallet": wallet_id, "versions": versions, "balance": balance}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://127.0.0.1:8000/graphql")
    summary = asyncio.run(run(parser.parse_args().url))
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
