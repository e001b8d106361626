"""Subscribers that sent the same document share one execution per posting, and each still
gets exactly its own update."""

from __future__ import annotations

import asyncio

import pytest
from graphql import parse

from walletql import auth, events, ids
from walletql.api import build_schema
from walletql.execution import SharedEventExecution
from walletql.ledger import accounts, payments
from walletql.ledger.verify import verify
from walletql.schema.context import Context

# With counterparty names the execution is asynchronous (a loader); without, synchronous.
DOCUMENTS = {
    "async": """subscription($w: ID!) { balanceUpdates(walletId: $w) {
        walletId balance version transaction { id kind destination { name } } } }""",
    "sync": """subscription($w: ID!) { balanceUpdates(walletId: $w) {
        walletId balance version transaction { id kind } } }""",
}


async def _first_update(schema, document, principal, wallet_id, subscribed: asyncio.Event):
    stream = await schema.subscribe(
        document,
        variable_values={"w": ids.encode(ids.WALLET, wallet_id)},
        context_value=Context(principal=principal),
    )
    async with asyncio.timeout(10):
        first = asyncio.ensure_future(anext(stream))
        subscribed.set()
        return await first


@pytest.mark.parametrize("kind", ["async", "sync"])
async def test_same_document_is_executed_once_per_event(gql, database_url, monkeypatch, kind):
    feed = events.BalanceFeed()
    await feed.start(database_url)
    monkeypatch.setattr("walletql.resolvers.subscription.get_feed", lambda: feed)
    try:
        owner = await gql.signup(name="Ana")
        principal = auth.Principal(user_id=ids.decode(ids.USER, owner["id"]), role="CUSTOMER")
        wallet = await accounts.create_wallet(principal, "USD")
        schema = build_schema()
        ready = [asyncio.Event() for _ in range(5)]
        waiting = [
            asyncio.ensure_future(
                _first_update(schema, DOCUMENTS[kind], principal, wallet.id, ready[i])
            )
            for i in range(5)
        ]
        for event in ready:
            await asyncio.wait_for(event.wait(), 10)
        for _ in range(1000):  # registration completes on the subscribers' first await
            if feed.subscriber_count == 5:
                break
            await asyncio.sleep(0.01)
        assert feed.subscriber_count == 5
        before = dict(SharedEventExecution._results)
        posted = await payments.deposit(principal, wallet.id, "2.50", "share-1")
        results = await asyncio.gather(*waiting)
    finally:
        await feed.stop()
    transaction = {"id": ids.encode(ids.TRANSACTION, posted.transaction.id), "kind": "DEPOSIT"}
    if kind == "async":
        transaction["destination"] = {"name": "Ana"}
    expected = {
        "balanceUpdates": {
            "walletId": ids.encode(ids.WALLET, wallet.id),
            "balance": "2.50",
            "version": 1,
            "transaction": transaction,
        }
    }
    assert [r.data for r in results] == [expected] * 5
    assert all(not r.errors for r in results)
    new_keys = [k for k in SharedEventExecution._results if k not in before]
    assert [k[0] for k in new_keys] == [(wallet.id, 1)]  # one execution for five subscribers
    assert await verify() == []


def test_each_event_gets_its_own_executor():
    """graphql-core copies the subscription's executor per event (walletql copies it directly):
    the copy takes the event as its root and collects its own errors, and shares the rest."""
    document = parse("subscription { balanceUpdates { walletId } }")
    executor = SharedEventExecution.build(build_schema()._schema, document, root_value="start")
    event = executor.build_per_event_executor("event")
    assert type(event) is SharedEventExecution and event is not executor
    assert (event.root_value, executor.root_value) == ("event", "start")
    assert event.collected_errors is not executor.collected_errors
    shared = {name for name, value in vars(executor).items() if vars(event)[name] is value}
    assert shared == set(vars(executor)) - {"root_value", "collected_errors"}
