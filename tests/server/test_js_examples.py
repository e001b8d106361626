"""The JavaScript examples (examples/js: Apollo Client, urql, graphql-ws on `ws`), each run with
`node` against a real server: sign up, open a wallet, subscribe, deposit, see the update live,
read the balance back. Needs `npm ci --prefix examples/js` (see tests/node_examples.py)."""

from __future__ import annotations

import asyncio
import json

import pytest

from tests.node_examples import EXAMPLES_JS, node_with_examples
from tests.server.clients import WAIT
from tests.server.conftest import free_port

# Each example deposits its own amount, answered back with the currency's two decimals.
AMOUNTS = {
    "apollo.mjs": ("12.34", "12.34"),
    "urql.mjs": ("0.5", "0.50"),
    "graphql-ws.mjs": ("7", "7.00"),
}


@pytest.fixture(scope="module")
def node() -> str:
    return node_with_examples()


async def _run(node: str, script: str, *args: str) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        node, script, *args, cwd=EXAMPLES_JS,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        out, err = await asyncio.wait_for(process.communicate(), 3 * WAIT)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    return process.returncode, out.decode(), err.decode()


async def _summary(node: str, script: str, url: str, amount: str) -> dict:
    code, out, err = await _run(node, script, url, amount)
    assert code == 0, f"{script} exited {code}:\n{out}\n{err[-3000:]}"
    return json.loads(out.strip().splitlines()[-1])


@pytest.mark.parametrize("script", sorted(AMOUNTS))
async def test_example_sees_its_deposit_live(node, server, api, script):
    amount, answered = AMOUNTS[script]
    summary = await _summary(node, script, f"{server.url}/graphql", amount)
    update = summary["update"]
    assert update["walletId"] == summary["walletId"]
    assert (update["version"], update["balance"]) == (1, answered)
    assert update["transaction"]["kind"] == "DEPOSIT"
    assert update["transaction"]["id"].startswith("txn_")
    assert summary["balance"] == answered
    # Each example ends its subscription and closes its socket before exiting.
    await api.wait_subscribers(0)


async def test_apollo_needs_possible_types_to_see_errors_as_data(node, server):
    """The Apollo example sends a bad amount twice: with the generated possibleTypes the cache
    keeps `... on Error { code }`; without them Apollo drops it silently (why docs/clients.md
    insists on possibleTypes)."""
    summary = await _summary(node, "apollo.mjs", f"{server.url}/graphql", "1")
    assert summary["error"] == {"typename": "ValidationError", "code": "BAD_AMOUNT"}
    assert summary["errorWithoutPossibleTypes"] == {"typename": "ValidationError", "code": None}


async def test_example_without_a_server_exits_1(node):
    url = f"http://127.0.0.1:{free_port()}/graphql"  # nothing listens there
    code, out, err = await _run(node, "graphql-ws.mjs", url, "1")
    assert code == 1 and out == ""
    assert "graphql-ws example failed" in err
