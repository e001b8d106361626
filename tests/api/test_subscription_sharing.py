"""Subscribers that sent the same document share one execution per posting (walletql.fanout,
with fast paths on), and each still gets exactly its own update: nothing under BalanceUpdate
reads anything about the caller but the principal, which is part of the sharing key."""

from __future__ import annotations

import asyncio
import types

import pytest
from graphql import (
    get_named_type,
    is_abstract_type,
    is_leaf_type,
    is_required_argument,
    parse,
)

from tests.api.conftest import direct_context
from tests.calls import ledger
from walletql import auth, ids
from walletql.api import build_schema
from walletql.fanout import Fanout, SharedData, SharedKey, asked_by
from walletql.ledger.verify import verify
from walletql.schema.context import Context
from walletql.services import build_services
from walletql.settings import Settings
from walletql.shortcuts.graphql_core import SharedEventExecution

# With counterparty names the execution is asynchronous (a loader); without, synchronous.
DOCUMENTS = {
    "async": """subscription($w: ID!) { balanceUpdates(walletId: $w) {
        walletId balance version transaction { id kind destination { name } } } }""",
    "sync": """subscription($w: ID!) { balanceUpdates(walletId: $w) {
        walletId balance version transaction { id kind } } }""",
}


async def _first_update(schema, document, context, wallet_id, subscribed: asyncio.Event):
    stream = await schema.subscribe(
        document,
        variable_values={"w": ids.encode(ids.WALLET, wallet_id)},
        context_value=context,
    )
    async with asyncio.timeout(10):
        first = asyncio.ensure_future(anext(stream))
        subscribed.set()
        return await first


@pytest.mark.parametrize("kind", ["async", "sync"])
async def test_same_document_is_executed_once_per_event(gql, database_url, kind):
    services = build_services(Settings(database_url=database_url, fast_paths=True))
    feed, shared = services.feed, services.fanout
    await feed.start(database_url)
    try:
        owner = await gql.signup(name="Ana")
        principal = auth.Principal(user_id=ids.decode(ids.USER, owner["id"]), role="CUSTOMER")
        wallet = await ledger.create_wallet(principal, "USD")
        schema = build_schema(services.settings)
        ready = [asyncio.Event() for _ in range(5)]
        waiting = [
            asyncio.ensure_future(
                _first_update(
                    schema,
                    DOCUMENTS[kind],
                    # Each its own principal object, equal to the others: the same viewer.
                    direct_context(
                        services, principal=auth.Principal(principal.user_id, "CUSTOMER")
                    ),
                    wallet.id,
                    ready[i],
                )
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
        assert len(shared) == 0
        posted = await ledger.deposit(principal, wallet.id, "2.50", "share-1")
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
    assert len(shared) == 1  # one execution for five subscribers
    # ...whose data is one object, encoded as JSON once for all of them (walletql.app)
    assert isinstance(results[0].data, SharedData)
    assert all(r.data is results[0].data for r in results)
    assert await verify() == []


def test_each_event_gets_its_own_executor():
    """graphql-core copies the subscription's executor per event (walletql copies it directly):
    the copy takes the event as its root and collects its own errors, and shares the rest."""
    document = parse("subscription { balanceUpdates { walletId } }")
    schema = build_schema(Settings(fast_paths=True))._schema
    executor = SharedEventExecution.build(schema, document, root_value="start")
    event = executor.build_per_event_executor("event")
    assert type(event) is SharedEventExecution and event is not executor
    assert (event.root_value, executor.root_value) == ("event", "start")
    assert event.collected_errors is not executor.collected_errors
    shared = {name for name, value in vars(executor).items() if vars(event)[name] is value}
    assert shared == set(vars(executor)) - {"root_value", "collected_errors"}


def test_a_different_viewer_gets_its_own_result():
    fanout = Fanout()
    runs = []

    def execute(name):
        def run():
            runs.append(name)
            return types.SimpleNamespace(data={"who": name})

        return run

    operation = object()
    ana, bob = auth.Principal(1, "CUSTOMER"), auth.Principal(2, "OPERATOR")

    def key(viewer):
        return SharedKey((7, 1), asked_by(viewer, operation, {"w": "wal_1"}))

    first = fanout.result(key(ana), operation, execute("ana"))
    again = fanout.result(key(auth.Principal(1, "CUSTOMER")), operation, execute("ana again"))
    other = fanout.result(key(bob), operation, execute("bob"))
    back = fanout.result(key(ana), operation, execute("ana once more"))  # not the last one
    assert back is first
    assert runs == ["ana", "bob"] and again is first and other is not first
    assert first.data == {"who": "ana"} and other.data == {"who": "bob"}


# What a Context knows about who is asking, besides the principal (which the sharing key holds).
VIEWER = {"user", "token_digest", "request", "response", "connection_params", "session"}


class _Watched(Context):
    """A Context that notes which of its attributes are read once `watching` is set."""

    def __getattribute__(self, name):
        if not name.startswith("_") and object.__getattribute__(self, "__dict__").get("watching"):
            object.__getattribute__(self, "__dict__")["read"].add(name)
        return super().__getattribute__(name)


def _every_field(schema, type_name: str, seen: frozenset = frozenset()) -> str:
    """A selection of every field reachable from the type, each type once along a path."""
    graphql_type = schema.type_map[type_name]
    parts = ["__typename"]
    if is_abstract_type(graphql_type):
        for possible in schema.get_possible_types(graphql_type):
            if possible.name not in seen:
                parts.append(
                    f"... on {possible.name} {{ {_every_field(schema, possible.name, seen)} }}"
                )
        return " ".join(parts)
    for name, field in graphql_type.fields.items():
        if any(is_required_argument(argument) for argument in field.args.values()):
            continue
        named = get_named_type(field.type)
        if is_leaf_type(named):
            parts.append(name)
        elif named.name not in seen:
            inner = _every_field(schema, named.name, seen | {type_name, named.name})
            parts.append(f"{name} {{ {inner} }}")
    return " ".join(parts)


async def test_nothing_under_balance_update_reads_who_is_asking_but_the_principal(
    gql, database_url
):
    # Every field at once (BalanceUpdate.wallet reaches its history and holds) costs more than
    # a client may ask by default.
    settings = Settings(database_url=database_url, fast_paths=True, max_query_cost=1_000_000)
    services = build_services(settings)
    feed = services.feed
    await feed.start(database_url)
    try:
        owner = await gql.signup(name="Ana")
        principal = auth.Principal(user_id=ids.decode(ids.USER, owner["id"]), role="CUSTOMER")
        wallet = await ledger.create_wallet(principal, "USD")
        other = await gql.signup(name="Bob")
        payee = auth.Principal(user_id=ids.decode(ids.USER, other["id"]), role="CUSTOMER")
        target = await ledger.create_wallet(payee, "USD")
        await ledger.deposit(principal, wallet.id, "5", "viewer-0")
        schema = build_schema(services.settings)
        selection = _every_field(schema._schema, "BalanceUpdate")
        assert "transaction {" in selection and "source {" in selection
        document = f"subscription($w: ID!) {{ balanceUpdates(walletId: $w) {{ {selection} }} }}"
        direct_context(services)  # amounts are served in its currencies, as the app's are
        context = _Watched(services=services, principal=principal)
        vars(context).update(watching=False, read=set())
        ready = asyncio.Event()
        waiting = asyncio.ensure_future(_first_update(schema, document, context, wallet.id, ready))
        await asyncio.wait_for(ready.wait(), 10)
        for _ in range(1000):
            if feed.subscriber_count == 1:
                break
            await asyncio.sleep(0.01)
        vars(context)["watching"] = True  # from here on: the event's execution
        await ledger.transfer(principal, wallet.id, "2", "viewer-1", to_wallet_id=target.id)
        result = await waiting
    finally:
        await feed.stop()
    assert not result.errors, result.errors
    assert result.data["balanceUpdates"]["transaction"]["kind"] == "TRANSFER"
    read = vars(context)["read"]
    assert read, "the watch saw nothing: it would not see a field reading the viewer either"
    assert not read & VIEWER, read & VIEWER
    assert await verify() == []
