"""A request's objects are freed by reference counting as soon as it is answered.

graphql-core's executor holds bound methods of itself (its async helpers): left as they are,
every executor sits in a reference cycle and takes the whole request with it (context, request,
results; ~90 objects per request), which only the garbage collector's pauses could free
(bench/FINDINGS.md, finding 12). walletql.shortcuts.graphql_core.Execution breaks that cycle.
"""

from __future__ import annotations

import collections
import gc

from tests.api.conftest import new_key

REQUESTS = 20
# Where a request's objects come from on the server side. The test client (httpx) leaves cycles
# of its own (a response and its stream), which a real server never sees: not counted.
SERVER_SIDE = ("walletql", "strawberry", "graphql", "starlette", "asyncpg", "tortoise")


async def _server_garbage_after(requests) -> collections.Counter:
    """Server-side objects the collector finds unreachable after `requests`, by type."""
    gc.collect()
    gc.disable()
    try:
        await requests()
        gc.set_debug(gc.DEBUG_SAVEALL)  # keep what it finds, to look at it
        gc.collect()
        return collections.Counter(
            f"{type(o).__module__}.{type(o).__qualname__}"
            for o in gc.garbage
            if type(o).__module__.split(".")[0] in SERVER_SIDE
        )
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        gc.enable()


async def test_transfers_and_history_pages_leave_no_cyclic_garbage(fast_gql):
    gql = fast_gql
    user, wallet = await gql.funded("100.00")
    token = user["token"]
    target = await gql.wallet((await gql.signup())["token"])
    transfer = """mutation($f: ID!, $t: ID!, $k: String!) {
        transfer(input: {fromWalletId: $f, toWalletId: $t, amount: "0.01", idempotencyKey: $k}) {
            __typename ... on PaymentPayload { transaction { id status } wallet { balance } } } }"""
    history = """query($w: ID!) { wallet(id: $w) { history(first: 5) { edges { cursor node {
        direction amount balanceAfter transaction { id kind createdAt source { name } } } } } } }"""

    async def run() -> None:
        for _ in range(REQUESTS):
            variables = {"f": wallet["id"], "t": target["id"], "k": new_key()}
            answer = await gql(transfer, variables, token)
            assert answer["data"]["transfer"]["__typename"] == "PaymentPayload", answer
            page = await gql(history, {"w": wallet["id"]}, token)
            assert page["data"]["wallet"]["history"]["edges"], page

    await run()  # first sightings: the parse and validation caches, the token, the loaders
    found = await _server_garbage_after(run)
    assert not found, f"left to the garbage collector by {2 * REQUESTS} requests: {found}"
