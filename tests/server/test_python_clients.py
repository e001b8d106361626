"""Python's `gql` against a real server: examples/python/live_balance.py as a user runs it, and
gql's default websocket transport, which offers the legacy graphql-ws subprotocol first (a query
over it answered INTERNAL_SERVER_ERROR before walletql ran queries and mutations there too)."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path

from gql import Client, GraphQLRequest, gql
from gql.transport.websockets import WebsocketsTransport

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "python" / "live_balance.py"


async def test_the_python_example_resumes_with_no_gap(server, api):
    run = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, str(EXAMPLE), "--url", f"{server.url}/graphql"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    summary = json.loads(run.stdout.splitlines()[-1])
    assert summary["versions"] == [1, 2, 3, 4]
    assert summary["balance"] == "18.75"
    assert "reconnected with afterVersion 2:" in run.stdout
    await api.wait_subscribers(0)  # both of its sockets are gone


async def test_gql_default_transport_speaks_legacy_graphql_ws(server, api):
    user = await api.signup()
    wallet = await api.create_wallet(user["token"])
    transport = WebsocketsTransport(
        url=server.ws_url, init_payload={"authorization": f"Bearer {user['token']}"}
    )
    async with Client(transport=transport) as session:
        assert transport.subprotocol == "graphql-ws"
        me = await session.execute(gql("{ me { id wallets { id } } }"))
        assert me == {"me": {"id": user["id"], "wallets": [{"id": wallet["id"]}]}}
        deposit = gql("""mutation($input: DepositInput!) { deposit(input: $input) {
            __typename ... on PaymentPayload { wallet { balance version } } } }""")
        fields = {"walletId": wallet["id"], "amount": "4.00", "idempotencyKey": "gql-legacy"}
        result = await session.execute(GraphQLRequest(deposit, variable_values={"input": fields}))
        assert result["deposit"] == {
            "__typename": "PaymentPayload",
            "wallet": {"balance": "4.00", "version": 1},
        }
        updates = gql("""subscription($w: ID, $v: Int) {
            balanceUpdates(walletId: $w, afterVersion: $v) { balance version } }""")
        variables = {"w": wallet["id"], "v": 0}
        async for update in session.subscribe(GraphQLRequest(updates, variable_values=variables)):
            assert update == {"balanceUpdates": {"balance": "4.00", "version": 1}}
            break
    await api.wait_subscribers(0)
